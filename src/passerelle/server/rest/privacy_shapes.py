"""The service's privacy and safety records as the answers of docs/protocol.md section 9 (the shapes
are declared in ``passerelle.proto.rest.privacy``): reports, requests, settings and the export of
everything the server holds about a person."""

from __future__ import annotations

from passerelle.proto.rest import privacy as wire
from passerelle.service.privacy import PrivacyChoices
from passerelle.service.privacy_records import (
    AccountExport,
    DeviceExport,
    Relation,
    ReportRecord,
    RequestRecord,
)


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
    return wire.Report(
        report_id=report.id,
        reporter=report.reporter,
        reported=report.reported,
        conv=report.conv,
        reason=report.reason,
        created_at=report.created_at,
        messages=[
            wire.ReportedMessage(mid=m.mid, id=m.client_id, sender=m.sender, ts=m.ts, text=m.text)
            for m in report.messages
        ],
    )


def _device_json(d: DeviceExport) -> wire.ExportedDevice:
    return wire.ExportedDevice(
        device_id=d.device.id,
        name=d.device.name,
        curve25519=d.device.curve25519,
        ed25519=d.device.ed25519,
        signature=d.device.signature,
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
                conv=conv.id,
                kind=conv.kind.value,
                members=list(conv.members),
                timer=conv.timer_s,
                created_at=conv.created_at,
                state=state.value if state is not None else None,
            )
            for conv, state in data.conversations
        ],
        mailbox=[
            wire.ExportedItem(
                device_id=m.device,
                pos=m.pos,
                kind=m.kind,
                conv=m.conv,
                from_=m.sender,
                from_device=m.sender_device,
                ts=m.ts,
                expires_at=m.expires_at,
                size=m.size,
            )
            for m in data.mailbox
        ],
        sent=[
            wire.ExportedSent(
                device_id=s.device, id=s.client_id, mid=s.message_id, ts=s.ts, expires_at=s.expires_at
            )
            for s in data.sent
        ],
        reports=[report_json(r) for r in data.reports],
        uploads=[
            wire.ExportedUpload(
                blob=b.id,
                conv=b.conv,
                size=b.size,
                complete=b.complete,
                created_at=b.created_at,
                expires_at=b.expires_at,
            )
            for b in data.uploads
        ],
        stories=[
            wire.ExportedStory(
                story=s.id, created_at=s.created_at, expires_at=s.expires_at, audience_size=s.audience_size
            )
            for s in data.stories
        ],
        group_bars=[wire.GroupBar(conv=conv, since=since) for conv, since in data.group_bars],
        pending_code=(
            None
            if data.pending_code_expires_at is None
            else wire.PendingCode(expires_at=data.pending_code_expires_at)
        ),
    )
