"""``Endpoint``: one business's endpoint, an SDK ``Client`` of the business's account.

Rules:
- A bot's message (``POST /{phone_number_id}/messages``) is checked as the Cloud API checks it
  (``proto.cloud.checks``), encrypted to the person's devices with the normal protocol, and sent
  with its declaration in the clear (``BizMeta``: number, kind, wamid); the server's refusal (an
  ``error`` with a ``failure``) is answered to the bot synchronously with the Cloud API's code.
- Message ids the bot sees: ``wamid.B…`` for the business's own messages (the content's id, the
  same on every device), ``wamid.P<server id>`` for a customer's (so a reply or a read receipt finds
  it again after a restart, from the local history).
- What customers send, and their devices' delivery and read receipts, become webhooks (``Value`` of
  ``proto.cloud.webhooks``), handed to a durable ``EventSink``. An incoming message is handed on
  before the replay cursor moves past it, and on start the messages stored after the cursor are
  handed on again: at least once across a crash or a restart.
- Everything the endpoint keeps in memory (people's ids and names, sent messages) is bounded.

The parts: the Cloud API ⇄ content translation (``endpoint.cloud``, pure), the files in motion
(``endpoint.files``), the people (``endpoint.people``), the bounded maps, sink and cursor
(``endpoint.state``); this module connects them to the business's device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.errors import Unavailable as ServerUnavailable
from passerelle.domain.ids import AccountId, MessageId
from passerelle.proto.cloud.checks import MEDIA_KINDS, CheckedMessage, CheckedRead, check_message_request
from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.commerce_checks import COMMERCE_TYPES
from passerelle.proto.cloud.messages import MessageRequest
from passerelle.proto.cloud.responses import SendResponse, SentContact, Success
from passerelle.proto.cloud.responses import SentMessage as SentOut
from passerelle.proto.cloud.webhooks import InboundMessage, InboundReaction, WebhookPayload, one_event
from passerelle.proto.frames import BizMeta
from passerelle.proto.rest.business import (
    BusinessPersonOut,
    EndpointConfig,
    EndpointNumber,
    EndpointTemplateOut,
)
from passerelle.sdk import Client
from passerelle.sdk.errors import BusinessRefused, NotFound, RateLimited, SdkError, Unavailable
from passerelle.sdk.events import Message, ReceiptEvent
from passerelle.sdk.schema import ReplyRef, TextContent
from passerelle.server.endpoint.cloud import (
    IN_PREFIX,
    OUT_PREFIX,
    UNSENDABLE,
    failure,
    inbound_base,
    inbound_cloud,
    inbound_media,
    inbound_text,
    media_member,
    message_value,
    now_ms,
    reaction_content,
    status_errors,
    status_value,
    template_content,
    text_content,
)
from passerelle.server.endpoint.commerce import commerce_content
from passerelle.server.endpoint.files import EndpointFiles
from passerelle.server.endpoint.media import MediaShelf
from passerelle.server.endpoint.people import People
from passerelle.server.endpoint.state import Cursor, EventSink, Lru, Sent
from passerelle.server.endpoint.undelivered import Pending, PendingJournal, Undelivered

log = logging.getLogger("passerelle.endpoint")

QUEUE_SIZE = 1_000
REPLAY_BATCH = 100
WORK_BATCH = 256
"""Live events taken together by the worker: their messages' webhooks are stored in one transaction."""
REFRESH_AFTER_S = 5.0
TEMPLATE_TTL_S = 30.0
"""How long a template read from the server is used before it is read again."""
TEMPLATE_ENTRIES = 1_000
UNDELIVERED_SWEEP_S = 60.0
"""How often the messages that expired undelivered are looked for (``failed`` statuses)."""
UNDELIVERED = (
    "No device of the person received the message before it expired: they stayed offline, "
    "removed their devices or deleted their account."
)


class Endpoint:
    def __init__(
        self,
        client: Client,
        *,
        config: EndpointConfig,
        sink: EventSink,
        cursor: Cursor,
        media: MediaShelf,
        hosted: bool = False,
        undelivered_sweep_s: float = UNDELIVERED_SWEEP_S,
        pending: PendingJournal | None = None,
    ) -> None:
        self.client = client
        self.media = media
        self.files = EndpointFiles(client, media, hosted=hosted)
        self.media_slots = self.files.slots
        """Files being received from the bot or put on the server at once: the others wait."""
        self.config = config
        self._sink = sink
        self._cursor = cursor
        self._numbers = {n.phone_number_id: n for n in config.numbers}
        self._people = People(client)
        self._sent: Lru[int, Sent] = Lru()
        self._undelivered = Undelivered(journal=pending)
        self._sweep_s = undelivered_sweep_s
        self._sweeper: asyncio.Task[None] | None = None
        self._last_number: Lru[AccountId, str] = Lru()
        self._reactions: Lru[tuple[int, AccountId], str] = Lru()
        self._queue: asyncio.Queue[Message | ReceiptEvent] = asyncio.Queue(QUEUE_SIZE)
        self._worker: asyncio.Task[None] | None = None
        self._done = -1
        self._unsubscribe: list[Callable[[], None]] = []
        self._refreshed = 0.0
        self._templates: Lru[tuple[str, str, str], tuple[float, EndpointTemplateOut | None]] = Lru(
            TEMPLATE_ENTRIES
        )

    @property
    def business_id(self) -> str:
        return self.config.business_id

    def numbers(self) -> list[EndpointNumber]:
        return list(self.config.numbers)

    def reconfigure(self, config: EndpointConfig) -> None:
        """New numbers (the operator added one) or a new webhook."""
        self.config = config
        self._numbers = {n.phone_number_id: n for n in config.numbers}

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, hand on what a previous run may not have, then follow the live traffic."""
        self._unsubscribe = [
            self.client.on_message(self._queue.put),
            self.client.on_receipt(self._queue.put),
        ]
        await self._undelivered.load()
        await self.client.connect()
        self._done = await self._cursor.load()
        await self._replay()
        self._worker = asyncio.create_task(self._work(), name=f"endpoint-{self.business_id}")
        self._sweeper = asyncio.create_task(self._sweep(), name=f"endpoint-failed-{self.business_id}")

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for task in (self._worker, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.client.close()
        await self._undelivered.close()

    async def _replay(self) -> None:
        while True:
            stored = await self.client.incoming_after(self._done, limit=REPLAY_BATCH)
            if not stored:
                return
            for message in stored:
                await self._incoming(message)

    async def _work(self) -> None:
        """The live traffic, in order. The messages waiting together are handed to the outbox in
        one transaction (one commit for many), then the cursor moves past them; a receipt first
        hands on the messages before it."""
        while True:
            events = [await self._queue.get()]
            while len(events) < WORK_BATCH and not self._queue.empty():
                events.append(self._queue.get_nowait())
            waiting: list[WebhookPayload] = []
            last = 0
            for event in events:
                try:
                    if isinstance(event, ReceiptEvent):
                        last = await self._hand_on(waiting, last)
                        await self._receipt(event)
                    else:
                        last = max(last, await self._incoming(event, waiting))
                except Exception:  # one bad event must not stop the others; the replay covers messages
                    log.exception("business endpoint: an event could not be handed on")
            try:
                await self._hand_on(waiting, last)
            except Exception:  # the replay at the next start hands them on
                log.exception("business endpoint: messages could not be handed on")

    async def _hand_on(self, waiting: list[WebhookPayload], last: int) -> int:
        """Store the waiting webhooks in one transaction, then move the cursor to ``last``."""
        if waiting:
            await self._sink.enqueue_many(waiting)
            waiting.clear()
        if last > self._done:
            self._done = last
            await self._cursor.save(last)
        return 0

    # -- the bot's sends ----------------------------------------------------------------------------

    async def messages(self, number: str, body: bytes) -> bytes:
        """``POST /{number}/messages`` once the bot's token is checked: the answer's bytes, or a
        ``CloudApiError`` / ``CloudBodyError``."""
        found = self._numbers.get(number)
        if found is None and time.monotonic() - self._refreshed > REFRESH_AFTER_S:
            self._refreshed = time.monotonic()  # a number added since: read the configuration again
            with contextlib.suppress(SdkError):
                self.reconfigure(await self.client.businesses.endpoint_config())
            found = self._numbers.get(number)
        if found is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, f"Unknown phone number id {number[:32]!r}.")
        req = decode(body, MessageRequest)
        checked = check_message_request(req)
        if isinstance(checked, CheckedRead):
            await self._read(checked)
            return encode(Success())
        return await self._send(found, req, checked)

    async def _send(self, number: EndpointNumber, req: MessageRequest, checked: CheckedMessage) -> bytes:
        kind = checked.kind
        rendered = None
        if checked.template is not None:  # rendered before anything is sent: 132001, 132000
            rendered = await self._render_template(number, req, *checked.template)
        person = await self._people.recipient(checked)
        wamid = OUT_PREFIX + secrets.token_urlsafe(18)
        if rendered is not None:
            body, cloud = rendered
            content = TextContent(id=wamid, ts=now_ms(), body=body, cloud=cloud)
        elif kind in MEDIA_KINDS:
            content = await self._media_content(req, kind, wamid, person)
        else:
            content = await self._content(req, kind, wamid, person)
        name, lang = checked.template or (None, None)
        biz = BizMeta(number=number.phone_number_id, kind=kind, wamid=wamid, template=name, lang=lang)
        try:
            sent = await self.client.send_content(person.account_id, content, biz=biz)
        except BusinessRefused as exc:
            raise CloudApiError(failure(exc.failure), exc.details) from None
        except Unavailable as exc:  # the server did not answer in time: the bot may retry
            raise ServerUnavailable(exc.message) from None
        except RateLimited as exc:
            raise CloudApiError(Failure.THROUGHPUT, exc.message) from None
        except SdkError as exc:  # refused by the messaging rules (gone, blocked, ...)
            raise CloudApiError(Failure.UNDELIVERABLE, exc.message) from None
        account = AccountId(person.account_id)
        tracker = req.biz_opaque_callback_data
        record = Sent(wamid, account, number.phone_number_id, tracker)
        self._sent.put(int(sent.id), record)
        pending = Pending(sent=record, person=person, exp=sent.server_exp)
        self._last_number.put(account, number.phone_number_id)
        await asyncio.gather(  # side by side: the journal (its own file) and the outbox (the server's)
            self._undelivered.sent(int(sent.id), pending, server_ts=sent.ts, local_ms=now_ms()),
            self._status(number, person, wamid, "sent", sent.ts, tracker),
        )
        answer = SendResponse(
            contacts=[SentContact(input=checked.input, wa_id=person.wa_id, user_id=person.user_id)],
            messages=[SentOut(id=wamid)],
        )
        return encode(answer)

    async def _content(
        self, req: MessageRequest, kind: str, wamid: str, person: BusinessPersonOut
    ) -> TextContent:
        reply = None if req.context is None else await self._ref(req.context.message_id or "", person)
        if kind == "reaction":
            reaction = req.reaction
            assert reaction is not None
            target = await self._ref(reaction.message_id or "", person, field="reaction.message_id")
            return reaction_content(req, wamid, target)
        if kind == "interactive" and req.interactive is not None and req.interactive.type in COMMERCE_TYPES:
            return await commerce_content(self.client, self.business_id, req, wamid, reply)
        return text_content(req, kind, wamid, reply)

    async def _media_content(
        self, req: MessageRequest, kind: str, wamid: str, person: BusinessPersonOut
    ) -> TextContent:
        """An image, video, audio, document or sticker (``endpoint.files``)."""
        member, spec = media_member(req, kind)
        reply = None if req.context is None else await self._ref(req.context.message_id or "", person)
        return await self.files.content(member, kind, spec, wamid, person, reply)

    async def _render_template(
        self, number: EndpointNumber, req: MessageRequest, name: str, language: str
    ) -> tuple[str, dict[str, Any]]:
        """The template as the person sees it, from the server's record of it (cached for
        ``TEMPLATE_TTL_S``; ``cloud.template_content``)."""
        key = (number.waba_id, name, language)
        cached = self._templates.get(key)
        if cached is None or time.monotonic() - cached[0] > TEMPLATE_TTL_S:
            try:
                found = await self.client.businesses.endpoint_template(number.waba_id, name, language)
            except NotFound:
                found = None
            cached = (time.monotonic(), found)
            if found is not None and found.status not in UNSENDABLE:  # an approval is seen at once
                self._templates.put(key, cached)
        return template_content(cached[1], req, name, language)

    async def _ref(
        self, wamid: str, person: BusinessPersonOut, *, field: str = "context.message_id"
    ) -> ReplyRef:
        """The message a bot's reply or reaction is about: the business's own, or the person's."""
        if wamid.startswith(OUT_PREFIX):
            return ReplyRef(id=wamid, sender=self.client.account_id)
        message = await self._stored(wamid)
        if message is None or message.sender != person.account_id:
            raise CloudApiError(
                Failure.INVALID_PARAMETER, "is not a message of this conversation", field=field
            )
        return ReplyRef(id=message.client_id, sender=message.sender, quote=message.text[:80])

    async def _stored(self, wamid: str) -> Message | None:
        digits = wamid[len(IN_PREFIX) :]
        if not wamid.startswith(IN_PREFIX) or not digits.isdigit() or len(digits) > 18:
            return None
        return await self.client.message_by_id(MessageId(int(digits)))

    async def _read(self, checked: CheckedRead) -> None:
        """``status: read``: the person's message is read (their devices are told), and with a
        typing indicator the person sees the business typing."""
        message = await self._stored(checked.message_id)
        if message is None or message.outgoing:
            raise CloudApiError(
                Failure.INVALID_PARAMETER, "is not a message this business received", field="message_id"
            )
        if message.id is not None:
            await self.client.mark_read(message.conv, [message.id])
        if checked.typing:
            with contextlib.suppress(SdkError):
                await self.client.set_typing(message.conv, True)

    def _number_for(self, account: AccountId) -> EndpointNumber | None:
        last = self._last_number.get(account)
        if last is not None and last in self._numbers:
            return self._numbers[last]
        return self.config.numbers[0] if self.config.numbers else None

    # -- the bot's media (``endpoint.files``) -------------------------------------------------------

    async def upload(
        self,
        *,
        messaging_product: str | None,
        mime: str | None,
        file: BinaryIO | None,
        size: int,
        filename: str | None,
        ttl_minutes: str | None = None,
    ) -> bytes:
        """``POST /{phone_number_id}/media``."""
        return await self.files.upload(
            messaging_product=messaging_product,
            mime=mime,
            file=file,
            size=size,
            filename=filename,
            ttl_minutes=ttl_minutes,
        )

    def media_info(self, media_id: str, download_url: str) -> bytes:
        """``GET /{media_id}``: where the bot downloads it (with its token)."""
        return self.files.info(media_id, download_url)

    async def delete_media(self, media_id: str) -> bytes:
        return await self.files.delete(media_id)

    # -- customers → the bot ------------------------------------------------------------------------

    async def _incoming(self, message: Message, waiting: list[WebhookPayload] | None = None) -> int:
        """Hand a message on: stored in the outbox at once and the cursor moved (``waiting`` None),
        or its webhook put in ``waiting`` and its id returned, for the caller to store and then move
        the cursor past (``_hand_on``)."""
        me = self.client.account_id
        if message.outgoing or message.sender == me:
            if message.sender == me and message.reactions:
                if waiting:  # in order: the messages before it first
                    await self._sink.enqueue_many(waiting)
                    waiting.clear()
                await self._reacted(message)
            return 0
        if message.edited or message.deleted:
            return 0  # the Cloud API has no edits: the bot saw the message when it came
        mid = int(message.id) if message.id is not None else 0
        number = self._number_for(message.sender)
        if number is not None:
            person = await self._people.person(message.sender)
            inbound = await self._inbound(message, person, number)
            value = message_value(number, person, await self._people.name(message.sender), inbound)
            payload = one_event(number.waba_id, "messages", value)
            if waiting is None:
                await self._sink.enqueue(payload)
            else:
                waiting.append(payload)
                return mid
        if waiting is None and mid > self._done:
            self._done = mid
            await self._cursor.save(mid)
        return mid

    async def _inbound(
        self, message: Message, person: BusinessPersonOut, number: EndpointNumber
    ) -> InboundMessage:
        base = inbound_base(message, person, number, self.client.account_id)
        found = inbound_cloud(message, base)
        if found is not None:
            return found
        if message.attachment is not None and message.id is not None:
            item = await self.files.keep(message)
            if item is not None:
                return inbound_media(message, item)(base)
        return inbound_text(message, base)

    async def _reacted(self, message: Message) -> None:
        """A customer reacted to one of the business's messages."""
        if message.id is None:
            return
        for account, emoji in message.reactions:
            if account == self.client.account_id:
                continue
            key = (int(message.id), account)
            if self._reactions.get(key) == emoji:
                continue
            self._reactions.put(key, emoji)
            number = self._number_for(account)
            if number is None:
                continue
            person = await self._people.person(account)
            inbound = InboundMessage(
                from_=person.wa_id,
                id=f"{IN_PREFIX}{message.id}.{secrets.token_hex(4)}",
                timestamp=str(now_ms() // 1000),
                type="reaction",
                reaction=InboundReaction(message_id=message.client_id, emoji=emoji),
            )
            value = message_value(number, person, await self._people.name(account), inbound)
            await self._sink.enqueue(one_event(number.waba_id, "messages", value))

    async def _receipt(self, event: ReceiptEvent) -> None:
        """The person's devices delivered or read the business's messages: statuses."""
        if event.sender == self.client.account_id or event.kind not in ("delivered", "read"):
            return
        person = await self._people.person(event.sender, wrote=False)
        for mid in event.ids:
            await self._undelivered.delivered(int(mid))
            sent = self._sent.get(int(mid))
            if sent is None:
                stored = await self.client.message_by_id(mid)
                if stored is None or not stored.outgoing or not stored.client_id.startswith(OUT_PREFIX):
                    continue
                fallback = self._number_for(event.sender)
                sent = Sent(
                    stored.client_id, event.sender, fallback.phone_number_id if fallback else "", None
                )
            number = self._numbers.get(sent.number)
            if number is not None:
                await self._status(number, person, sent.wamid, event.kind, now_ms(), sent.tracker)

    async def _sweep(self) -> None:
        """``failed`` statuses for the messages no device of the person took before they expired
        (``undelivered.Undelivered``)."""
        while True:
            await asyncio.sleep(self._sweep_s)
            stored: list[int] = []
            for mid, gone in self._undelivered.due(now_ms()):
                number = self._numbers.get(gone.sent.number)
                if number is None:
                    stored.append(mid)
                    continue
                errors = status_errors(Failure.UNDELIVERABLE, UNDELIVERED)
                value = status_value(
                    number, gone.person, gone.sent.wamid, "failed", now_ms(), gone.sent.tracker, errors
                )
                try:
                    await self._sink.enqueue(one_event(number.waba_id, "messages", value))
                except Exception:  # the next ones may still go; this one at the next start
                    log.exception("business endpoint: a failed status could not be stored")
                else:
                    stored.append(mid)
            await self._undelivered.done(stored)

    async def _status(
        self,
        number: EndpointNumber,
        person: BusinessPersonOut,
        wamid: str,
        status: str,
        ts: int,
        tracker: str | None,
    ) -> None:
        value = status_value(number, person, wamid, status, ts, tracker)
        await self._sink.enqueue(one_event(number.waba_id, "messages", value))
