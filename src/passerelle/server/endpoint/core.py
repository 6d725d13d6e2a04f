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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Generic, Protocol, TypeVar

import msgspec

from passerelle.crypto.attachments import AttachmentInvalid
from passerelle.domain.business.consent import Category
from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.templates import render as render_template
from passerelle.domain.errors import Unavailable as ServerUnavailable
from passerelle.domain.ids import AccountId, MessageId
from passerelle.proto.cloud.checks import MEDIA_KINDS, CheckedMessage, CheckedRead, check_message_request
from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.content import cloud_object, render
from passerelle.proto.cloud.messages import Contact, Location, Media, MessageRequest
from passerelle.proto.cloud.responses import MediaUploaded, MediaUrl, SendResponse, SentContact, Success
from passerelle.proto.cloud.responses import SentMessage as SentOut
from passerelle.proto.cloud.webhooks import (
    ButtonReply,
    InboundButton,
    InboundContext,
    InboundInteractive,
    InboundMedia,
    InboundMessage,
    InboundReaction,
    InboundText,
    ListReply,
    Metadata,
    Profile,
    Status,
    Value,
    WebhookContact,
    WebhookPayload,
    one_event,
)
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
from passerelle.sdk.media.api import fallback_text
from passerelle.sdk.schema import Attachment, ReplyRef, TextContent
from passerelle.server.endpoint.media import (
    KINDS,
    MAX_TTL_MINUTES,
    SDK_KIND,
    MediaShelf,
    Stored,
    check_magic,
    check_size,
    fetch_link,
    kind_of,
)

log = logging.getLogger("passerelle.endpoint")

OUT_PREFIX = "wamid.B"
IN_PREFIX = "wamid.P"
CACHE_ENTRIES = 10_000
QUEUE_SIZE = 1_000
REPLAY_BATCH = 100
REFRESH_AFTER_S = 5.0
MEDIA_AT_ONCE = 4
TEMPLATE_TTL_S = 30.0
"""How long a template read from the server is used before it is read again."""
TEMPLATE_ENTRIES = 1_000
UNSENDABLE = frozenset({"PENDING", "REJECTED"})
"""Statuses a send sees as no template (132001); the server judges the others (132015, 132016)."""

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A bounded map: the least recently used entry goes first."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)


class EventSink(Protocol):
    """Where webhooks go: a durable outbox (the server's for a hosted endpoint, the endpoint's own
    SQLite file for a self-run one). Returns once the event is stored."""

    async def enqueue(self, payload: WebhookPayload) -> None: ...


class Cursor(Protocol):
    """The server id of the last incoming message handed to the sink (the replay's start)."""

    async def load(self) -> int: ...

    async def save(self, mid: int) -> None: ...


class FileCursor:
    """The cursor in a small file beside the endpoint's keys, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def load(self) -> int:
        def read() -> int:
            try:
                return int(self._path.read_text().strip() or 0)
            except (FileNotFoundError, ValueError):
                return 0

        return await asyncio.to_thread(read)

    async def save(self, mid: int) -> None:
        def write() -> None:
            temp = self._path.with_suffix(".tmp")
            temp.write_text(str(mid))
            temp.replace(self._path)

        await asyncio.to_thread(write)


@dataclass(frozen=True, slots=True)
class _Sent:
    wamid: str
    person: AccountId
    number: str
    tracker: str | None


Authorize = Callable[[str, str], Awaitable[None]]
"""(number, bearer token) → None, or raises ``CloudApiError`` (190, or 100 for another number)."""


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
    ) -> None:
        self.client = client
        self.media = media
        self.media_slots = asyncio.Semaphore(MEDIA_AT_ONCE)
        """Files being received from the bot or put on the server at once (each up to 100 MB on disk
        or in memory): the others wait."""
        self._hosted = hosted
        """A hosted endpoint runs in the operator's process: its ``link`` fetches reach only public
        addresses."""
        self.config = config
        self._sink = sink
        self._cursor = cursor
        self._numbers = {n.phone_number_id: n for n in config.numbers}
        self._ids: Lru[AccountId, BusinessPersonOut] = Lru()
        self._by_wa: Lru[str, BusinessPersonOut] = Lru()
        self._by_user: Lru[str, BusinessPersonOut] = Lru()
        self._names: Lru[AccountId, str] = Lru()
        self._sent: Lru[int, _Sent] = Lru()
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
        await self.client.connect()
        self._done = await self._cursor.load()
        await self._replay()
        self._worker = asyncio.create_task(self._work(), name=f"endpoint-{self.business_id}")

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self.client.close()

    async def _replay(self) -> None:
        while True:
            stored = await self.client.incoming_after(self._done, limit=REPLAY_BATCH)
            if not stored:
                return
            for message in stored:
                await self._incoming(message)

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                if isinstance(event, ReceiptEvent):
                    await self._receipt(event)
                else:
                    await self._incoming(event)
            except Exception:  # one bad event must not stop the others; the replay covers messages
                log.exception("business endpoint: an event could not be handed on")

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
        person = await self._recipient(checked)
        wamid = OUT_PREFIX + secrets.token_urlsafe(18)
        if rendered is not None:
            body, cloud = rendered
            content = TextContent(id=wamid, ts=_now_ms(), body=body, cloud=cloud)
        elif kind in MEDIA_KINDS:
            content = await self._media_content(req, kind, wamid, person)
        else:
            content = await self._content(req, kind, wamid, person)
        name, lang = checked.template or (None, None)
        biz = BizMeta(number=number.phone_number_id, kind=kind, wamid=wamid, template=name, lang=lang)
        try:
            sent = await self.client.send_content(person.account_id, content, biz=biz)
        except BusinessRefused as exc:
            raise CloudApiError(_failure(exc.failure), exc.details) from None
        except Unavailable as exc:  # the server did not answer in time: the bot may retry
            raise ServerUnavailable(exc.message) from None
        except RateLimited as exc:
            raise CloudApiError(Failure.THROUGHPUT, exc.message) from None
        except SdkError as exc:  # refused by the messaging rules (gone, blocked, ...)
            raise CloudApiError(Failure.UNDELIVERABLE, exc.message) from None
        account = AccountId(person.account_id)
        tracker = req.biz_opaque_callback_data
        self._sent.put(int(sent.id), _Sent(wamid, account, number.phone_number_id, tracker))
        self._last_number.put(account, number.phone_number_id)
        await self._status(number, person, wamid, "sent", sent.ts, tracker)
        answer = SendResponse(
            contacts=[SentContact(input=checked.input, wa_id=person.wa_id, user_id=person.user_id)],
            messages=[SentOut(id=wamid)],
        )
        return encode(answer)

    async def _content(
        self, req: MessageRequest, kind: str, wamid: str, person: BusinessPersonOut
    ) -> TextContent:
        now = _now_ms()
        reply = None if req.context is None else await self._ref(req.context.message_id or "", person)
        if kind == "reaction":
            reaction = req.reaction
            assert reaction is not None
            target = await self._ref(reaction.message_id or "", person, field="reaction.message_id")
            return TextContent(
                id=wamid, ts=now, body=reaction.emoji or "", msgtype="reaction", in_reply_to=target
            )
        return TextContent(
            id=wamid, ts=now, body=render(req, kind), in_reply_to=reply, cloud=cloud_object(req, kind)
        )

    async def _media_content(
        self, req: MessageRequest, kind: str, wamid: str, person: BusinessPersonOut
    ) -> TextContent:
        """An image, video, audio, document or sticker: the uploaded media (``id``) or the file at
        ``link``, its ciphertext uploaded into the person's conversation, its key in the content."""
        member = getattr(req, kind)
        assert isinstance(member, Media)
        spec = KINDS[kind]
        if member.caption is not None and not spec.caption:
            raise CloudApiError(
                Failure.INVALID_PARAMETER,
                f"is not allowed: {kind} messages have no caption",
                field=f"{kind}.caption",
            )
        reply = None if req.context is None else await self._ref(req.context.message_id or "", person)
        temporary = member.id is None
        if member.id is not None:
            try:
                item = self.media.get(member.id)
            except CloudApiError:
                raise CloudApiError(
                    Failure.INVALID_PARAMETER, "is not a media of this business", field=f"{kind}.id"
                ) from None
            if item.mime not in spec.mimes and kind != "document":
                raise CloudApiError(
                    Failure.INVALID_PARAMETER,
                    f"is a {item.mime} media; a {kind} must be " + " or ".join(sorted(spec.mimes)),
                    field=f"{kind}.id",
                )
        else:
            assert member.link is not None
            source, mime, _size = await fetch_link(member.link, kind=spec, hosted=self._hosted)
            try:
                name = member.filename or _link_name(member.link)
                item = await self.media.seal_temporary(source, mime=mime, filename=name)
            finally:
                source.close()
        try:
            blob = await self._blob_for(item, person)
        finally:
            if temporary:
                await self.media.delete(item.id)
        filename = member.filename or item.filename or ""
        sdk_kind = SDK_KIND[kind]
        attachment = Attachment(
            kind=sdk_kind,
            blob=blob,
            mime=item.mime,
            size=item.size,
            key=item.key,
            nonce=item.nonce,
            sha256=item.blob_sha256,
            name=filename if kind in ("document", "audio") else "",
        )
        shown: dict[str, Any] = {"mime_type": item.mime}
        if member.caption:
            shown["caption"] = member.caption
        if kind == "document" and filename:
            shown["filename"] = filename
        return TextContent(
            id=wamid,
            ts=_now_ms(),
            body=member.caption or fallback_text(sdk_kind, attachment.name, None),
            msgtype=sdk_kind,
            attachment=attachment,
            in_reply_to=reply,
            cloud={"type": kind, kind: shown},
        )

    async def _blob_for(self, item: Stored, person: BusinessPersonOut) -> str:
        """The ciphertext on the server, in the person's conversation (uploaded once an hour)."""
        conv = f"direct:{person.account_id}"
        blob = self.media.reusable_blob(item, conv)
        if blob is None:
            try:
                async with self.media_slots:
                    ciphertext = await self.media.read_ciphertext(item)
                    blob = await self.client.media.upload_to(person.account_id, ciphertext)
            except SdkError as exc:
                raise CloudApiError(
                    Failure.MEDIA_UPLOAD, f"the file could not be stored: {exc.message}"
                ) from None
            await self.media.remember_blob(item, conv, blob)
        return blob

    # -- the bot's media ----------------------------------------------------------------------------

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
        """``POST /{phone_number_id}/media`` (multipart ``file``, ``type``, ``messaging_product``, and
        pywa's optional ``ttl_minutes``: a shorter life than the 30 days)."""
        if messaging_product != "whatsapp":
            raise CloudApiError(Failure.INVALID_PARAMETER, "must be 'whatsapp'", field="messaging_product")
        if file is None:
            raise CloudApiError(Failure.INVALID_PARAMETER, "is required: the file to upload", field="file")
        if not mime:
            raise CloudApiError(Failure.INVALID_PARAMETER, "is required: the file's MIME type", field="type")
        ttl_ms = None
        if ttl_minutes is not None:
            if not ttl_minutes.strip().isdigit() or not 1 <= int(ttl_minutes) <= MAX_TTL_MINUTES:
                raise CloudApiError(
                    Failure.INVALID_PARAMETER,
                    f"must be a number of minutes from 1 to {MAX_TTL_MINUTES}",
                    field="ttl_minutes",
                )
            ttl_ms = int(ttl_minutes) * 60_000
        kind = kind_of(mime)
        check_size(kind, size)
        clean = mime.split(";")[0].strip().lower()
        head = await asyncio.to_thread(file.read, 16)
        await asyncio.to_thread(file.seek, 0)
        check_magic(clean, head)
        name = (filename or "").replace("/", "_").replace("\\", "_")[:240] or None
        item = await self.media.add_upload(file, mime=clean, size=size, filename=name, ttl_ms=ttl_ms)
        return encode(MediaUploaded(id=item.id))

    def media_info(self, media_id: str, download_url: str) -> bytes:
        """``GET /{media_id}``: where the bot downloads it (with its token)."""
        item = self.media.get(media_id)
        answer = MediaUrl(
            url=download_url, mime_type=item.mime, sha256=item.sha256, file_size=item.size, id=item.id
        )
        return encode(answer)

    async def delete_media(self, media_id: str) -> bytes:
        self.media.get(media_id)
        await self.media.delete(media_id)
        return encode(Success())

    async def _render_template(
        self, number: EndpointNumber, req: MessageRequest, name: str, language: str
    ) -> tuple[str, dict[str, Any]]:
        """The template as the person sees it (its plain text and its ``cloud`` object), from the
        server's record of it (cached for ``TEMPLATE_TTL_S``); 132001 when the business has no such
        template that a send may use, 132000 when the parameters do not match its placeholders."""
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
        template = cached[1]
        if template is None or template.status in UNSENDABLE:
            details = f"template name ({name[:64]}) does not exist in {language[:16]}"
            raise CloudApiError(Failure.TEMPLATE_UNKNOWN, details)
        assert req.template is not None
        sent = msgspec.to_builtins(req.template.components or [])
        parts = render_template(
            components=msgspec.json.decode(template.components),
            parameter_format=template.parameter_format,
            category=Category(template.category),
            sent=sent,
        )
        payloads = _quick_reply_payloads(sent)
        shown: list[dict[str, Any]] = []
        lines: list[str] = []
        for part in parts:
            item = {k: v for k, v in dataclasses.asdict(part).items() if v is not None and v != ""}
            if part.button == "QUICK_REPLY" and part.index is not None:
                item["payload"] = payloads.get(part.index, part.text)
            shown.append(item)
            if part.type == "BUTTON":
                lines.append(f"[{part.text}]")
            elif part.text:
                lines.append(part.text)
        cloud = {
            "type": "template",
            "template": {
                "name": name,
                "language": language,
                "category": template.category,
                "components": shown,
            },
        }
        return "\n".join(lines), cloud

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

    async def _recipient(self, checked: CheckedMessage) -> BusinessPersonOut:
        if checked.recipient is not None:
            found = self._by_user.get(checked.recipient)
            query = {"user_id": checked.recipient}
        else:
            assert checked.to is not None
            found = self._by_wa.get(checked.to)
            query = {"wa_id": checked.to}
        if found is not None:
            return found
        try:
            person = await self.client.businesses.endpoint_person(**query)
        except NotFound:
            raise CloudApiError(
                Failure.UNDELIVERABLE, "No person with this id has a conversation with this business."
            ) from None
        self._remember(person)
        return person

    def _remember(self, person: BusinessPersonOut) -> None:
        self._ids.put(AccountId(person.account_id), person)
        self._by_wa.put(person.wa_id, person)
        self._by_user.put(person.user_id, person)

    async def _person(self, account: AccountId) -> BusinessPersonOut:
        found = self._ids.get(account)
        if found is None:
            found = await self.client.businesses.endpoint_person(account_id=account)
            self._remember(found)
        return found

    async def _name(self, account: AccountId) -> str:
        """The person's display name, as their own app shows it."""
        name = self._names.get(account)
        if name is None:
            try:
                name = (await self.client.profile(account)).display_name
            except SdkError:
                name = ""
            self._names.put(account, name)
        return name

    def _number_for(self, account: AccountId) -> EndpointNumber | None:
        last = self._last_number.get(account)
        if last is not None and last in self._numbers:
            return self._numbers[last]
        return self.config.numbers[0] if self.config.numbers else None

    # -- customers → the bot ------------------------------------------------------------------------

    async def _incoming(self, message: Message) -> None:
        me = self.client.account_id
        if message.outgoing or message.sender == me:
            if message.sender == me and message.reactions:
                await self._reacted(message)
            return
        if message.edited or message.deleted:
            return  # the Cloud API has no edits: the bot saw the message when it came
        mid = int(message.id) if message.id is not None else 0
        number = self._number_for(message.sender)
        if number is not None:
            person = await self._person(message.sender)
            inbound = await self._inbound(message, person, number)
            value = Value(
                metadata=_metadata(number),
                contacts=[
                    WebhookContact(
                        wa_id=person.wa_id,
                        user_id=person.user_id,
                        profile=Profile(name=await self._name(message.sender)),
                    )
                ],
                messages=[inbound],
            )
            await self._sink.enqueue(one_event(number.waba_id, "messages", value))
        if mid > self._done:
            self._done = mid
            await self._cursor.save(mid)

    async def _inbound(
        self, message: Message, person: BusinessPersonOut, number: EndpointNumber
    ) -> InboundMessage:
        base: dict[str, Any] = {
            "from_": person.wa_id,
            "id": f"{IN_PREFIX}{message.id}",
            "timestamp": str(message.ts // 1000),
        }
        ref = message.reply_to
        if ref is not None and ref.sender == self.client.account_id:
            base["context"] = InboundContext(from_=number.display_phone_number, id=ref.id)
        cloud = message.cloud or {}
        kind = cloud.get("type")
        if kind == "interactive":
            reply = cloud.get("interactive") or {}
            reply_type = reply.get("type")
            if reply_type == "button_reply":
                button = msgspec.convert(reply.get("button_reply"), ButtonReply)
                return InboundMessage(
                    type="interactive",
                    interactive=InboundInteractive(type="button_reply", button_reply=button),
                    **base,
                )
            if reply_type == "list_reply":
                row = msgspec.convert(reply.get("list_reply"), ListReply)
                return InboundMessage(
                    type="interactive",
                    interactive=InboundInteractive(type="list_reply", list_reply=row),
                    **base,
                )
        if kind == "button":  # a template's quick reply
            tapped = cloud.get("button") or {}
            quick = InboundButton(payload=str(tapped.get("payload", "")), text=str(tapped.get("text", "")))
            return InboundMessage(type="button", button=quick, **base)
        if kind == "location":
            return InboundMessage(
                type="location", location=msgspec.convert(cloud.get("location"), Location), **base
            )
        if kind == "contacts":
            cards = msgspec.convert(cloud.get("contacts"), list[Contact])
            return InboundMessage(type="contacts", contacts=cards, **base)
        if message.attachment is not None and message.id is not None:
            media = await self._inbound_media(message)
            if media is not None:
                return media(base)
        return InboundMessage(type="text", text=InboundText(body=message.text), **base)

    async def _inbound_media(self, message: Message) -> Callable[[dict[str, Any]], InboundMessage] | None:
        """A person's photo, video, voice note or file: kept (as ciphertext) for the bot to fetch
        with ``GET /{media_id}``; None when it cannot be fetched (the bot gets the text instead)."""
        att = message.attachment
        assert att is not None
        assert message.id is not None
        media_id = str(10**16 + int(message.id))
        try:
            if not self.media.has(media_id):
                ciphertext = await self.client.media.blobs.download(att.blob)
                await self.media.add_incoming(
                    media_id,
                    ciphertext,
                    key=att.key,
                    nonce=att.nonce,
                    blob_sha256=att.sha256,
                    size=att.size,
                    mime=att.mime,
                    filename=att.name or None,
                )
            item = self.media.get(media_id)
        except (SdkError, CloudApiError, ValueError, AttachmentInvalid) as exc:
            log.warning("a person's file could not be kept for the bot: %s", type(exc).__name__)
            return None
        if att.kind == "voice" or (att.kind == "file" and att.mime.startswith("audio/")):
            kind = "audio"
        elif att.kind == "image":
            kind = "sticker" if att.mime == "image/webp" else "image"
        elif att.kind == "video":
            kind = "video"
        else:
            kind = "document"
        caption = message.text if message.text != fallback_text(att.kind, att.name, att.duration_ms) else None
        inbound = InboundMedia(
            id=item.id,
            mime_type=item.mime,
            sha256=item.sha256,
            caption=caption if kind in ("image", "video", "document") else None,
            filename=(att.name or None) if kind == "document" else None,
        )

        def build(base: dict[str, Any]) -> InboundMessage:
            members: dict[str, Any] = {kind: inbound, **base}
            return InboundMessage(type=kind, **members)

        return build

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
            person = await self._person(account)
            inbound = InboundMessage(
                from_=person.wa_id,
                id=f"{IN_PREFIX}{message.id}.{secrets.token_hex(4)}",
                timestamp=str(_now_ms() // 1000),
                type="reaction",
                reaction=InboundReaction(message_id=message.client_id, emoji=emoji),
            )
            value = Value(
                metadata=_metadata(number),
                contacts=[
                    WebhookContact(
                        wa_id=person.wa_id,
                        user_id=person.user_id,
                        profile=Profile(name=await self._name(account)),
                    )
                ],
                messages=[inbound],
            )
            await self._sink.enqueue(one_event(number.waba_id, "messages", value))

    async def _receipt(self, event: ReceiptEvent) -> None:
        """The person's devices delivered or read the business's messages: statuses."""
        if event.sender == self.client.account_id or event.kind not in ("delivered", "read"):
            return
        person = await self._person(event.sender)
        for mid in event.ids:
            sent = self._sent.get(int(mid))
            if sent is None:
                stored = await self.client.message_by_id(mid)
                if stored is None or not stored.outgoing or not stored.client_id.startswith(OUT_PREFIX):
                    continue
                fallback = self._number_for(event.sender)
                sent = _Sent(
                    stored.client_id, event.sender, fallback.phone_number_id if fallback else "", None
                )
            number = self._numbers.get(sent.number)
            if number is not None:
                await self._status(number, person, sent.wamid, event.kind, _now_ms(), sent.tracker)

    async def _status(
        self,
        number: EndpointNumber,
        person: BusinessPersonOut,
        wamid: str,
        status: str,
        ts: int,
        tracker: str | None,
    ) -> None:
        value = Value(
            metadata=_metadata(number),
            contacts=[WebhookContact(wa_id=person.wa_id, user_id=person.user_id)],
            statuses=[
                Status(
                    id=wamid,
                    status=status,
                    timestamp=str(ts // 1000),
                    recipient_id=person.wa_id,
                    recipient_user_id=person.user_id,
                    biz_opaque_callback_data=tracker,
                )
            ],
        )
        await self._sink.enqueue(one_event(number.waba_id, "messages", value))


def _metadata(number: EndpointNumber) -> Metadata:
    return Metadata(display_phone_number=number.display_phone_number, phone_number_id=number.phone_number_id)


def _failure(name: str) -> Failure:
    try:
        return Failure(name)
    except ValueError:
        return Failure.UNDELIVERABLE


def _link_name(link: str) -> str | None:
    tail = link.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail[:240] or None


def _quick_reply_payloads(sent: list[Any]) -> dict[int, str]:
    """The payloads a send gives its quick-reply buttons, by button index."""
    found: dict[int, str] = {}
    for component in sent:
        if not isinstance(component, dict) or str(component.get("type", "")).lower() != "button":
            continue
        for parameter in component.get("parameters") or []:
            payload = parameter.get("payload") if isinstance(parameter, dict) else None
            index = str(component.get("index", ""))
            if isinstance(payload, str) and index.isdigit():
                found[int(index)] = payload
    return found


def _now_ms() -> int:
    return int(time.time() * 1000)
