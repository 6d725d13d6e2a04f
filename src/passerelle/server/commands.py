"""Wire frames to the services' commands: the one place a frame becomes a use case's input."""

from __future__ import annotations

from passerelle.domain.business.ids import PhoneNumberId
from passerelle.domain.ids import AccountId, ClientMessageId, ConversationId
from passerelle.proto.frames import BizMeta, Receipt, Send
from passerelle.service.business.sends import DeclaredSend
from passerelle.service.messaging.commands import SendMessage, SendReceipt


def send_message(frame: Send) -> SendMessage:
    return SendMessage(
        id=ClientMessageId(frame.id),
        payloads=frame.payloads,
        to=None if frame.to is None else AccountId(frame.to),
        conv=None if frame.conv is None else ConversationId(frame.conv),
        ttl=frame.ttl,
        body=bytes(frame.body) if frame.body else None,
        biz=None if frame.biz is None else declared(frame.biz),
    )


def declared(meta: BizMeta) -> DeclaredSend:
    return DeclaredSend(
        number=PhoneNumberId(meta.number),
        kind=meta.kind,
        wamid=meta.wamid,
        template=meta.template,
        language=meta.lang,
    )


def send_receipt(frame: Receipt) -> SendReceipt:
    return SendReceipt(
        conv=ConversationId(frame.conv), to=AccountId(frame.to), kind=frame.kind, ids=frame.ids
    )
