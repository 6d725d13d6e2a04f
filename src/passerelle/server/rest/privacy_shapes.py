"""The service's privacy and safety records as the answers of docs/protocol.md section 9 (the shapes
are declared in ``passerelle.proto.rest.privacy``): reports, requests, settings and the export of
everything the server holds about a person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import msgspec
from msgspec.structs import asdict

from passerelle.proto.rest import privacy as wire
from passerelle.proto.rest.base import Answer
from passerelle.server.rest.accounts import device_json
from passerelle.server.rest.business import consent_out
from passerelle.server.rest.commerce import order_out
from passerelle.server.rest.conversations import conversation_json
from passerelle.service.privacy.privacy import PrivacyChoices
from passerelle.service.privacy.records import (
    AccountExport,
    DeviceExport,
    Relation,
    ReportRecord,
    RequestRecord,
)

AnswerT = TypeVar("AnswerT", bound=Answer)


def relation_json(relation: Relation) -> wire.Relation:
    return wire.Relation(account_id=relation.account, since=relation.since)


def request_json(request: RequestRecord) -> wire.MessageRequest:
    return wire.MessageRequest(
        conv=request.conv, from_=request.sender, state=request.state.value, since=request.since
    )


def choices_json(choices: PrivacyChoices) -> wire.PrivacyChoices:
    return wire.PrivacyChoices(
        findability=choices.findability.value,
        read_receipts=choices.read_receipts,
        message_from=choices.message_from.value,
        last_seen=choices.last_seen.value,
    )


def report_json(report: ReportRecord) -> wire.Report:
    return msgspec.convert(report, wire.Report, from_attributes=True)


def _by_attributes(records: Sequence[object], kind: type[AnswerT]) -> list[AnswerT]:
    """Records whose attribute names are the Struct's field names (the wire names may differ)."""
    return [msgspec.convert(r, kind, from_attributes=True) for r in records]


def _device_json(d: DeviceExport) -> wire.ExportedDevice:
    return wire.ExportedDevice(
        **asdict(device_json(d.device)),
        created_at=d.device.created_at,
        one_time_keys=[wire.ExportedKey(key_id=k, key=v) for k, v in d.one_time_keys],
        fallback_key=(
            None
            if d.fallback_key is None
            else wire.ExportedKey(key_id=d.fallback_key[0], key=d.fallback_key[1])
        ),
        tokens=[wire.ExportedToken(expires_at=t) for t in d.token_expiries],
    )


def export_json(data: AccountExport, *, exported_at: int) -> wire.Export:
    """Everything the server holds about the caller, and nothing about anybody else."""
    account = data.account
    return wire.Export(
        exported_at=exported_at,
        account=wire.ExportedAccount(
            account_id=account.id,
            app=account.app,
            alias=account.alias,
            address=f"{account.app}:{account.alias}",
            display_name=account.display_name,
            created_at=account.created_at,
            has_password=account.password_hash is not None,
        ),
        settings=wire.ExportedSettings(
            findability=account.findability.value if account.findability is not None else None,
            read_receipts=account.read_receipts,
            message_from=data.settings.message_from.value,
            last_seen=data.settings.last_seen.value,
            last_seen_at=data.settings.last_seen_at,
        ),
        devices=[_device_json(d) for d in data.devices],
        contacts=[relation_json(r) for r in data.contacts],
        blocks=[relation_json(r) for r in data.blocks],
        conversations=[
            wire.ExportedConversation(
                **asdict(conversation_json(conv)),
                created_at=conv.created_at,
                state=state.value if state is not None else None,
            )
            for conv, state in data.conversations
        ],
        mailbox=_by_attributes(data.mailbox, wire.ExportedItem),
        sent=_by_attributes(data.sent, wire.ExportedSent),
        reports=[report_json(r) for r in data.reports],
        uploads=_by_attributes(data.uploads, wire.ExportedUpload),
        stories=_by_attributes(data.stories, wire.ExportedStory),
        group_bars=[wire.GroupBar(conv=conv, since=since) for conv, since in data.group_bars],
        business_consents=wire.ExportedConsents(
            current=[consent_out(c) for c in data.business_consents],
            ledger=[consent_out(c) for c in data.business_consent_ledger],
        ),
        orders=[order_out(o, list(p)) for o, p in data.orders],
        linked_accounts=list(data.linked_accounts),
        shared_with=list(data.shared_with),
        pending_code=(
            None
            if data.pending_code_expires_at is None
            else wire.PendingCode(expires_at=data.pending_code_expires_at)
        ),
    )
