"""ClientCore: the SDK's protocol state, sans-I/O. Bytes of frames in, typed events out; commands in,
bytes to write out. No sockets, no clock, no randomness, no store (h11-style).

Rules
1. Each connection gets a fresh ``ClientSession``; ``connection_made`` returns the ``hello`` to write
   (``connection_made_login`` the ``login`` of a device logging in on the connection, whose
   ``ChallengeIssued`` is answered with ``signed_hello``) and ``connection_lost`` forgets the
   session (end of input is an input).
2. A send is remembered from ``send_message`` until its ``sent`` or its ``error`` (``ref`` = client
   id) arrives. After every ``welcome`` the transport writes ``pending_frames()`` again: the server
   dedupes by (device, client id), so a send is never lost nor stored twice.
3. Acks never run ahead of the local store: ``stored(pos)`` is called only after the items up to
   ``pos`` are committed locally; ``ack()`` then returns one frame if the position moved.
4. Receipts asked for while disconnected are queued and come out of ``pending_frames()``; typing is
   ephemeral and is dropped while disconnected.
5. Keep-alive: ``ping()`` returns None when the previous ping is still unanswered; the transport then
   treats the connection as dead and reconnects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import msgspec

from passerelle.domain.ids import is_client_message_id
from passerelle.proto.errors import ProtocolError
from passerelle.proto.frames import (
    NO_BODY,
    Ack,
    BizMeta,
    ChallengeFrame,
    Deliver,
    Error,
    Frame,
    Item,
    KeysLow,
    Ping,
    Pong,
    Receipt,
    ReceiptKind,
    Send,
    Sent,
    Typing,
    TypingNotice,
    Welcome,
)
from passerelle.proto.session import ClientSession, ConnectionClosed, State
from passerelle.sdk.errors import InvalidInput, NotConnected, ProtocolViolation


@dataclass(frozen=True, slots=True, kw_only=True)
class Connected:
    account: str
    device: str
    otk_count: int
    server_time: int
    token: str | None = None
    """After a login on the connection: the device's new token (and when it expires, ms)."""
    expires_at: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeIssued:
    """The answer to ``login``: sign it and write ``signed_hello`` (docs/protocol.md section 4.5)."""

    challenge: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """The server refused the ``hello`` (bad token, unsupported version, too many connections or
    attempts); it closes the connection."""

    code: str
    message: str
    retry_after: float | None = None
    """Seconds to wait before connecting again (``rate_limited``, ``unavailable``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendSucceeded:
    client_id: str
    mid: int
    conv: str
    ts: int
    exp: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SendFailed:
    client_id: str
    code: str
    message: str
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    retry_after: float | None = None
    failure: str | None = None
    """``cloud_api``: the business rule that refused a business endpoint's send."""
    details: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemsReceived:
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TypingReceived:
    conv: str
    sender: str
    typing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysLowReceived:
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerError:
    """An ``error`` frame that answers no send (a refused receipt, a malformed frame of ours ...)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnected:
    pass


CoreEvent = (
    Connected
    | ChallengeIssued
    | Rejected
    | SendSucceeded
    | SendFailed
    | ItemsReceived
    | TypingReceived
    | KeysLowReceived
    | ServerError
    | Disconnected
)


class ClientCore:
    """The protocol state of one device across its successive connections."""

    __slots__ = ("_acked", "_awaiting_pong", "_ping_n", "_queued", "_sends", "_session", "_stored")

    def __init__(self) -> None:
        self._session: ClientSession | None = None
        self._sends: dict[str, bytes] = {}
        self._queued: list[Receipt] = []
        self._stored = 0
        self._acked = 0
        self._ping_n = 0
        self._awaiting_pong: int | None = None

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.state is State.OPEN

    @property
    def pending_sends(self) -> list[str]:
        return list(self._sends)

    # --- connection lifecycle -------------------------------------------------------------------

    def connection_made(self, token: str) -> bytes:
        """A new WebSocket is open: returns the ``hello`` to write first."""
        self._session = ClientSession()
        self._awaiting_pong = None
        return self._session.hello(token)

    def connection_made_login(self, device_id: str) -> bytes:
        """A new WebSocket is open and the device logs in on it: returns the ``login`` to write
        first; the ``ChallengeIssued`` that answers it is signed into ``signed_hello``."""
        self._session = ClientSession()
        self._awaiting_pong = None
        return self._session.login(device_id)

    def signed_hello(self, *, device_id: str, challenge: str, signature: str) -> bytes:
        if self._session is None:
            raise NotConnected("no connection to say hello on")
        return self._session.signed_hello(device=device_id, challenge=challenge, signature=signature)

    def connection_lost(self) -> Disconnected:
        if self._session is not None:
            self._session.receive_eof()
        self._session = None
        self._awaiting_pong = None
        return Disconnected()

    def receive(self, data: bytes | str) -> list[CoreEvent]:
        """One WebSocket message from the server.

        Raises:
            ProtocolViolation: the server broke the protocol (the transport reconnects).
        """
        if self._session is None:
            raise ProtocolViolation("received a frame without a connection")
        try:
            event = self._session.receive_frame(data)
        except ProtocolError as exc:
            raise ProtocolViolation(f"{exc.code}: {exc.message}") from exc
        if isinstance(event, ConnectionClosed):
            return []
        frame = event.frame
        match frame:
            case Welcome():
                return [
                    Connected(
                        account=frame.account,
                        device=frame.device,
                        otk_count=frame.otk_count,
                        server_time=frame.time,
                        token=frame.token,
                        expires_at=frame.expires_at,
                    )
                ]
            case ChallengeFrame():
                return [ChallengeIssued(challenge=frame.challenge)]
            case Sent():
                self._sends.pop(frame.id, None)
                return [
                    SendSucceeded(
                        client_id=frame.id, mid=frame.mid, conv=frame.conv, ts=frame.ts, exp=frame.exp
                    )
                ]
            case Error():
                return [self._error(frame)]
            case Deliver():
                return [ItemsReceived(items=tuple(frame.items))]
            case TypingNotice():
                return [TypingReceived(conv=frame.conv, sender=frame.sender, typing=frame.typing)]
            case KeysLow():
                return [KeysLowReceived(count=frame.count)]
            case Pong():
                if frame.n == self._awaiting_pong:
                    self._awaiting_pong = None
                return []
        return []  # pragma: no cover - every server frame is matched above

    def _error(self, frame: Error) -> CoreEvent:
        if frame.ref is not None and frame.ref in self._sends:
            del self._sends[frame.ref]
            return SendFailed(
                client_id=frame.ref,
                code=frame.code,
                message=frame.message,
                missing=tuple(frame.missing or ()),
                extra=tuple(frame.extra or ()),
                retry_after=frame.retry_after,
                failure=frame.failure,
                details=frame.details,
            )
        if self._session is not None and self._session.state is State.CLOSED:
            return Rejected(code=frame.code, message=frame.message, retry_after=frame.retry_after)
        return ServerError(code=frame.code, message=frame.message)

    def pending_frames(self) -> list[bytes]:
        """What to write right after ``welcome``: unanswered sends, then queued receipts."""
        if not self.connected:
            return []
        out = list(self._sends.values())
        out += [self._encode(f) for f in self._queued]
        self._queued.clear()
        return out

    # --- commands ----------------------------------------------------------------------------

    def send_message(
        self,
        *,
        client_id: str,
        payloads: Mapping[str, bytes],
        to: str | None = None,
        conv: str | None = None,
        ttl: int | None = None,
        body: bytes | None = None,
        biz: BizMeta | None = None,
    ) -> bytes | None:
        """Remember a send and return its frame, or None when disconnected (it goes out after the
        next ``welcome``). ``body``: a group message's Megolm envelope, fanned out by the server."""
        if not is_client_message_id(client_id):
            raise InvalidInput("a client message id has 1 to 64 printable ASCII characters")
        if (to is None) == (conv is None):
            raise InvalidInput("give exactly one of 'to' and 'conv'")
        raw = {device: msgspec.Raw(body) for device, body in payloads.items()}
        shared = NO_BODY if body is None else msgspec.Raw(body)
        data = msgspec.json.encode(
            Send(id=client_id, payloads=raw, to=to, conv=conv, ttl=ttl, body=shared, biz=biz)
        )
        self._sends[client_id] = data
        return data if self.connected else None

    def forget_send(self, client_id: str) -> None:
        """The caller gave up on a send: do not write it again after a reconnect."""
        self._sends.pop(client_id, None)

    def stored(self, pos: int) -> None:
        """Items up to ``pos`` are committed in the local store."""
        self._stored = max(self._stored, pos)

    def ack(self) -> bytes | None:
        if not self.connected or self._stored <= self._acked:
            return None
        self._acked = self._stored
        return self._encode(Ack(upto=self._stored))

    def receipt(self, *, conv: str, to: str, kind: ReceiptKind, ids: Sequence[int]) -> bytes | None:
        """A receipt frame, or None when disconnected (then it is queued for ``pending_frames``)."""
        frame = Receipt(conv=conv, to=to, kind=kind, ids=list(ids))
        if not self.connected:
            self._queued.append(frame)
            return None
        return self._encode(frame)

    def typing(self, *, conv: str, typing: bool) -> bytes:
        if not self.connected:
            raise NotConnected("typing needs a live connection")
        return self._encode(Typing(conv=conv, typing=typing))

    def ping(self) -> bytes | None:
        """A ping frame, or None when the previous one is still unanswered (the link is dead)."""
        if not self.connected or self._awaiting_pong is not None:
            return None
        self._ping_n += 1
        self._awaiting_pong = self._ping_n
        return self._encode(Ping(n=self._ping_n))

    def _encode(self, frame: Frame) -> bytes:
        assert self._session is not None
        return self._session.send(frame)
