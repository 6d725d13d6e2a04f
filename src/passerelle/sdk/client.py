"""Client: the Python SDK's public API. One Client is one device of one account.

```python
client = await Client.register("https://chat.example", Path("alice-store"), app="photo",
                               handle="alice", password="correct horse", display_name="Alice")
async with client:                                  # connects; closes everything on exit
    bob = await client.lookup("photo:bob")
    await client.send_text(bob.account_id, "hello")
    async for message in client.messages():
        print(message.sender, message.text)
```
Later: ``await Client.open(store_dir)`` resumes the device (it logs in again with its key when its
token is missing or expired). Every method raises an ``SdkError`` subclass on failure.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from passerelle.crypto import DeviceCrypto
from passerelle.domain.business.hosting import HostingStatement
from passerelle.domain.business.ids import ADDRESS_APP
from passerelle.domain.conversations import direct_conversation_id
from passerelle.domain.ids import AccountId, AppName, ConversationId, DeviceId, MessageId
from passerelle.proto.cloud.content import INTERACTIVE_FEATURE, typed_choice
from passerelle.proto.frames import MAX_RECEIPT_IDS, BizMeta
from passerelle.sdk.businesses import BusinessesApi
from passerelle.sdk.content.api import ContentApi
from passerelle.sdk.content.features import Features
from passerelle.sdk.core import enrol
from passerelle.sdk.core.connection import Connection
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.core.credentials import Credentials
from passerelle.sdk.core.dispatch import Callback, Dispatcher
from passerelle.sdk.core.transport import websocket_url
from passerelle.sdk.directory.account import MyAccount
from passerelle.sdk.directory.contacts import ContactBook
from passerelle.sdk.directory.conversations import ConversationBook
from passerelle.sdk.directory.devices import DeviceDirectory
from passerelle.sdk.errors import NotConnected
from passerelle.sdk.events import (
    BusinessMismatchEvent,
    Contact,
    Conversation,
    DeviceEvent,
    DeviceInfo,
    Event,
    Message,
    MessageState,
    ReceiptEvent,
    SentMessage,
    Settings,
    TimerEvent,
    TypingEvent,
)
from passerelle.sdk.groups.api import GroupsApi
from passerelle.sdk.links import LinksApi
from passerelle.sdk.media.api import MediaApi
from passerelle.sdk.messaging.inbox import Inbox
from passerelle.sdk.messaging.outbox import Outbox
from passerelle.sdk.messaging.receiver import Receiver
from passerelle.sdk.privacy.api import PrivacyApi
from passerelle.sdk.rest import RestApi
from passerelle.sdk.schema import TextContent
from passerelle.sdk.store import history
from passerelle.sdk.store.local import Identity, LocalStore
from passerelle.sdk.stories.api import StoriesApi

DEFAULT_DEVICE_NAME = "Passerelle SDK"


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions:
    now_ms: Callable[[], int] = wall_clock_ms
    """The clock (milliseconds since the epoch); tests move it to expire messages."""
    ping_interval_s: float = 20.0
    send_timeout_s: float = 60.0
    rest_transport: httpx.AsyncBaseTransport | None = None
    """How REST calls reach the server: None for HTTP to its URL. A hosted business endpoint runs in
    the server's own process and passes an in-process transport (``server.endpoint.hosted``); the
    WebSocket, the keys and the protocol are the same."""


class Client:
    """One device: its keys, its local store, its connection. Build it with ``register``,
    ``add_device`` or ``open``."""

    def __init__(
        self,
        *,
        store: LocalStore,
        identity: Identity,
        crypto: DeviceCrypto,
        rest: RestApi,
        options: ClientOptions | None = None,
    ) -> None:
        """Build the device's parts in dependency order: the connection (which needs only the
        credentials), the context every part shares, the directory, then the capabilities."""
        options = options or ClientOptions()
        self._store = store
        self._me = identity
        self._rest = rest
        self._now = options.now_ms
        self._closed = False
        crypto.set_owner(identity.account_id, identity.device_id)
        self._credentials = Credentials(
            device_id=identity.device_id, crypto=crypto, store=store, rest=rest, now_ms=options.now_ms
        )
        self._dispatch = Dispatcher()
        self._connection = Connection(
            url=websocket_url(identity.server_url),
            get_token=self._credentials.ws_token,
            login=self._credentials,
            dispatch=self._dispatch,
            ping_interval_s=options.ping_interval_s,
            send_timeout_s=options.send_timeout_s,
        )
        ctx = SdkContext(
            me=identity,
            crypto=crypto,
            store=store,
            rest=rest,
            link=self._connection,
            events=self._dispatch,
            now_ms=options.now_ms,
        )
        devices = DeviceDirectory(ctx)
        self._convs = ConversationBook(ctx)
        self._contacts = ContactBook(ctx)
        self._dispatch.subscribe(Message, self._contacts.heard_from)
        self._account = MyAccount(ctx, devices)
        features = Features(rest, app=identity.app)
        self._features = features
        self._outbox = Outbox(ctx, devices, self._convs)
        self.groups = GroupsApi(ctx, devices, self._convs, features=features.mine)
        self.content = ContentApi(
            ctx, self._convs, outbox=self._outbox, groups=self.groups, features=features
        )
        self.stories = StoriesApi(ctx, outbox=self._outbox)
        self.media = MediaApi(ctx, self._convs, outbox=self._outbox)
        self.privacy = PrivacyApi(ctx)
        self.links = LinksApi(rest)
        self.businesses = BusinessesApi(
            rest=rest, send=self.send_content, now_ms=options.now_ms, profile=self.profile
        )
        inbox = Inbox(
            ctx,
            devices,
            self._convs,
            groups=self.stories.inbox_handler(self.groups.inbox),
            features=features.mine,
        )
        self._receiver = Receiver(
            ctx,
            inbox=inbox,
            outbox=self._outbox,
            credentials=self._credentials,
            devices=devices,
            conversations=self._convs,
            on_mismatch=self.businesses.report_mismatch,
        )

    # --- construction -----------------------------------------------------------------------------

    @staticmethod
    async def request_code(server_url: str, app: str, phone: str) -> int:
        """Ask the server to text a one-time code to ``phone`` (phone apps). Returns its lifetime (s)."""
        rest = RestApi(server_url)
        try:
            return await rest.request_code(app, phone)
        finally:
            await rest.aclose()

    @classmethod
    async def register(
        cls,
        server_url: str,
        store_dir: Path,
        *,
        app: str,
        phone: str | None = None,
        code: str | None = None,
        handle: str | None = None,
        username: str | None = None,
        password: str | None = None,
        display_name: str | None = None,
        device_name: str = DEFAULT_DEVICE_NAME,
        passphrase: str | None = None,
        options: ClientOptions | None = None,
    ) -> Client:
        """Create an account and this device (its store goes in ``store_dir``, which must not hold one).

        Raises:
            AliasTaken, InvalidInput, Unauthorized (wrong code), RateLimited, StoreError ...
        """
        proof = enrol.Proof(phone=phone, code=code, handle=handle, username=username, password=password)
        device = enrol.NewDevice(name=device_name, display_name=display_name, passphrase=passphrase)
        return await cls._enrol(server_url, store_dir, app, proof, device, adding=False, options=options)

    @classmethod
    async def add_device(
        cls,
        server_url: str,
        store_dir: Path,
        *,
        app: str,
        phone: str | None = None,
        code: str | None = None,
        handle: str | None = None,
        username: str | None = None,
        password: str | None = None,
        device_name: str = DEFAULT_DEVICE_NAME,
        passphrase: str | None = None,
        options: ClientOptions | None = None,
    ) -> Client:
        """Add this device to an existing account, proving the identity again (code or password)."""
        proof = enrol.Proof(phone=phone, code=code, handle=handle, username=username, password=password)
        device = enrol.NewDevice(name=device_name, display_name=None, passphrase=passphrase)
        return await cls._enrol(server_url, store_dir, app, proof, device, adding=True, options=options)

    @classmethod
    async def enrol_business_endpoint(
        cls,
        server_url: str,
        store_dir: Path,
        *,
        enrolment_token: str,
        device_name: str = "Business endpoint",
        passphrase: str | None = None,
        options: ClientOptions | None = None,
    ) -> Client:
        """Make this device a business's endpoint (docs/business.md section 4) with the one-time
        token the operator issued, then sign and send the hosting statement (the mode it was
        enrolled in). Raises Unauthorized for a bad token."""
        device = enrol.NewDevice(name=device_name, display_name=None, passphrase=passphrase)
        done = await enrol.enrol(
            server_url,
            Path(store_dir),
            app=ADDRESS_APP,
            proof=enrol.Proof(),
            device=device,
            adding=False,
            enrolment_token=enrolment_token,
            transport=None if options is None else options.rest_transport,
        )
        client = cls(
            store=done.store, identity=done.identity, crypto=done.crypto, rest=done.rest, options=options
        )
        grant = done.endpoint
        assert grant is not None
        try:
            await client.businesses.state_hosting(
                done.crypto,
                HostingStatement(
                    business=grant.business_id,
                    device=grant.device_id,
                    mode=grant.mode,
                    operator=grant.operator,
                    issued_at=client._now(),
                ),
            )
        except BaseException:
            await client.close()
            raise
        return client

    @classmethod
    async def _enrol(
        cls,
        server_url: str,
        store_dir: Path,
        app: str,
        proof: enrol.Proof,
        device: enrol.NewDevice,
        *,
        adding: bool,
        options: ClientOptions | None,
    ) -> Client:
        done = await enrol.enrol(
            server_url,
            Path(store_dir),
            app=app,
            proof=proof,
            device=device,
            adding=adding,
            transport=None if options is None else options.rest_transport,
        )
        return cls(
            store=done.store, identity=done.identity, crypto=done.crypto, rest=done.rest, options=options
        )

    @classmethod
    async def open(
        cls,
        store_dir: Path,
        passphrase: str | None = None,
        *,
        options: ClientOptions | None = None,
        server_url: str | None = None,
    ) -> Client:
        """Resume a device from its store. No network is needed until it is used. ``server_url``:
        the server moved (a new address for the same server); kept in the store from now on.

        Raises:
            StoreError: no store there, or a wrong passphrase.
        """
        store = await LocalStore.open(Path(store_dir), passphrase=passphrase)
        try:
            identity = await store.identity()
            if server_url is not None and server_url != identity.server_url:
                identity = dataclasses.replace(identity, server_url=server_url)
                await store.save_identity(identity)
            crypto = await store.load_crypto()
            token = await store.token()
        except BaseException:
            await store.close()
            raise
        rest = RestApi(
            identity.server_url,
            token=token[0] if token else None,
            transport=None if options is None else options.rest_transport,
        )
        client = cls(store=store, identity=identity, crypto=crypto, rest=rest, options=options)
        await client.purge_expired()
        return client

    # --- identity and lifecycle -------------------------------------------------------------------

    @property
    def server_url(self) -> str:
        """The server this device is registered with (kept in its store)."""
        return self._me.server_url

    @property
    def account_id(self) -> AccountId:
        return self._me.account_id

    @property
    def device_id(self) -> DeviceId:
        return self._me.device_id

    @property
    def app(self) -> AppName:
        return self._me.app

    @property
    def address(self) -> str | None:
        return self._me.address

    @property
    def connected(self) -> bool:
        return self._connection.connected

    async def connect(self, *, timeout_s: float = 30.0) -> None:
        """Open the WebSocket and wait for the server's welcome; it then stays open (reconnecting
        with backoff) until ``close``. Mailbox items that arrived meanwhile are delivered first."""
        await self._connection.start(self._receiver, timeout_s=timeout_s)

    async def close(self) -> None:
        """Disconnect and close the local store; the Client cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        await self._connection.stop()
        self._dispatch.close()
        await self._rest.aclose()
        await self._store.close()

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- people and conversations -------------------------------------------------------------------

    async def lookup(self, address: str) -> Contact:
        """Find a person by address (``photo:alice``). Raises NotFound when hidden or absent."""
        return await self._contacts.lookup(address)

    async def profile(self, account_id: str) -> Contact:
        """Who an account is, asked of the server and kept like a lookup. NotFound: hidden or absent."""
        return await self._contacts.profile(AccountId(account_id))

    async def contact(self, account_id: str) -> Contact | None:
        """A person known here: looked up, or who wrote to me (fetched in the background then)."""
        return await self._contacts.get(AccountId(account_id))

    async def conversations(self, *, refresh: bool = False) -> list[Conversation]:
        if refresh:
            return await self._convs.sync()
        return await self._store.db.run(history.conversations_txn)

    async def history(self, conv: str, limit: int = 50) -> list[Message]:
        """The last ``limit`` messages of ``conv`` (oldest first); expired ones are never returned."""
        stored = await self._store.history(conv, limit=limit, now=self._now())
        return [m.to_message() for m in stored]

    async def set_timer(self, conv: str, seconds: int) -> None:
        """Set the conversation's disappearing timer (0: off) for every member."""
        await self._convs.change_timer(ConversationId(conv), seconds)

    async def purge_expired(self) -> int:
        """Delete the messages whose disappearing time has passed; returns how many."""
        return await self._store.purge_expired(self._now())

    # --- messages ------------------------------------------------------------------------------------

    async def send_text(self, account_id: str, text: str, *, ttl: int | None = None) -> SentMessage:
        """Send ``text`` to every device of ``account_id`` (and a copy to my other devices); returns
        once the server has stored it. ``ttl``: this message disappears after so many seconds. A stop
        word sent to a business revokes its marketing first (docs/business.md section 8). On an app
        that shows no buttons, a number typed after a business's choices is the tap of that choice
        (docs/bots.md, "Fallback")."""
        offered = await self._typed_choice(account_id, text)
        if offered is not None:
            return await self.businesses.tap(*offered)
        await self.businesses.stop_before_sending(account_id, text)
        return await self._outbox.send_text(AccountId(account_id), text, ttl=ttl)

    async def _typed_choice(self, account_id: str, text: str) -> tuple[Message, str] | None:
        """(the offer, the choice's id) when ``text`` is a number that picks one of the choices
        of the last message ``account_id`` sent me — if my app shows no buttons and I wrote nothing
        since."""
        if len(text) > 4 or not text.strip() or text.strip()[0] not in "0123456789":
            return None
        mine = await self._features.mine()
        if mine is None or INTERACTIVE_FEATURE in mine:
            return None
        conv = direct_conversation_id(self.account_id, AccountId(account_id))
        for message in reversed(await self.history(conv, limit=10)):
            if message.outgoing or message.sender != account_id:
                return None
            if message.cloud is not None:
                choice = typed_choice(message.cloud, text)
                return None if choice is None else (message, choice)
        return None

    async def send_content(
        self, account_id: str, content: TextContent, *, biz: BizMeta | None = None
    ) -> SentMessage:
        """Send prepared content (its own id, any msgtype, a ``cloud`` object) to ``account_id``;
        ``biz``: a business endpoint's declaration of the send (docs/business.md section 5)."""
        return await self._outbox.send_content(AccountId(account_id), content, biz=biz)

    async def message_by_id(self, mid: MessageId | int) -> Message | None:
        """A stored message by its server id (None: not here, or gone)."""
        found = await self._store.db.run(history.message_by_mid_txn, self._store.key, int(mid))
        return None if found is None else found.to_message()

    async def incoming_after(self, mid: MessageId | int, *, limit: int = 100) -> list[Message]:
        """Stored incoming messages whose server id is above ``mid``, by server id."""
        found = await self._store.db.run(history.incoming_after_txn, self._store.key, int(mid), limit=limit)
        return [m.to_message() for m in found]

    async def mark_read(self, conv: str, ids: Iterable[MessageId | int]) -> None:
        """Mark incoming messages read here and on my other devices, and tell their senders unless
        my read receipts are off."""
        mids = [int(i) for i in ids]
        changed = await self._store.db.run(
            history.advance_state_txn, self._store.key, mids, MessageState.READ, outgoing=False
        )
        if not changed or not (await self.settings()).read_receipts:
            return
        by_sender: dict[str, list[int]] = {}
        for msg in changed:
            if msg.mid is not None and msg.sender != self._me.account_id:
                by_sender.setdefault(msg.sender, []).append(msg.mid)
        for sender, sender_mids in by_sender.items():
            for start in range(0, len(sender_mids), MAX_RECEIPT_IDS):
                chunk = sender_mids[start : start + MAX_RECEIPT_IDS]
                frame = self._connection.core.receipt(conv=conv, to=sender, kind="read", ids=chunk)
                await self._connection.write(frame)

    async def set_typing(self, conv: str, typing: bool = True) -> None:
        if not self.connected:
            raise NotConnected("typing needs a live connection")
        await self._connection.write(self._connection.core.typing(conv=conv, typing=typing))

    def messages(self) -> AsyncIterator[Message]:
        """Every message stored from now on (incoming, and outgoing from my other devices)."""
        return self._dispatch.stream(Message)

    def business_mismatches(self) -> AsyncIterator[BusinessMismatchEvent]:
        """A business's messages whose content was not what its endpoint declared (each also
        reported to the server by the client itself): an app may warn the person."""
        return self._dispatch.stream(BusinessMismatchEvent)

    def events(self) -> AsyncIterator[Event]:
        """Every SDK event from now on: messages, receipts, typing, timers, device changes, and the
        connection going down or coming back (``ConnectionEvent``)."""
        return self._dispatch.stream_all()

    def on_message(self, callback: Callback[Message]) -> Callable[[], None]:
        return self._dispatch.subscribe(Message, callback)

    def on_receipt(self, callback: Callback[ReceiptEvent]) -> Callable[[], None]:
        return self._dispatch.subscribe(ReceiptEvent, callback)

    def on_typing(self, callback: Callback[TypingEvent]) -> Callable[[], None]:
        return self._dispatch.subscribe(TypingEvent, callback)

    def on_timer(self, callback: Callback[TimerEvent]) -> Callable[[], None]:
        return self._dispatch.subscribe(TimerEvent, callback)

    def on_device(self, callback: Callback[DeviceEvent]) -> Callable[[], None]:
        return self._dispatch.subscribe(DeviceEvent, callback)

    # --- keys, devices, settings (see passerelle.sdk.directory.account) -------------------------------------

    async def safety_number(self, account_id: str) -> str:
        """60 digits both people see the same when each side has the other's real keys."""
        return await self._account.safety_number(AccountId(account_id))

    async def safety_qr(self, account_id: str) -> str:
        """The payload to show as a QR code for the other person to scan."""
        return await self._account.safety_qr(AccountId(account_id))

    async def verify_safety_qr(self, account_id: str, scanned: str) -> bool:
        """True when the QR code scanned from their screen matches the keys this device knows."""
        return await self._account.verify_safety_qr(AccountId(account_id), scanned)

    async def devices(self) -> list[DeviceInfo]:
        """The devices of my account, this one flagged ``current``."""
        return await self._account.devices()

    async def remove_device(self, device_id: str) -> None:
        """Remove a device of my account (its keys, tokens and mailbox go at once)."""
        await self._account.remove_device(DeviceId(device_id))

    async def settings(
        self, *, findability: str | None = None, read_receipts: bool | None = None
    ) -> Settings:
        """My privacy settings; given values are changed first."""
        return await self._account.settings(findability=findability, read_receipts=read_receipts)
