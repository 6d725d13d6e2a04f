"""The two ends of a WebSocket connection as state machines: ServerSession and ClientSession.

Rules
1. Everything that changes a session's state lives in this module.
2. A connection is AWAIT_HELLO until the client's Hello; then AUTHENTICATING until the edge calls
   ``accept`` or ``reject``; then OPEN; CLOSED after ``reject``, a fatal error or end of input.
   Before its Hello, a client may send one Login (a device logging in with its key on this
   connection); the edge answers it with ``challenge`` and the session awaits the Hello again,
   which then carries the signed challenge instead of a token.
3. One WebSocket message carries exactly one frame; ``receive_frame`` takes it and returns one event.
4. A frame is UTF-8 JSON: bytes that are not UTF-8 are a malformed frame (``bad_json``), so that
   nothing a client sends can reach another client as text it cannot decode.
5. A malformed frame from the peer is answered with an Error frame and the connection stays usable,
   until the peer has sent ``MAX_ERRORS`` of them; then the session is CLOSED (fatal).
6. End of input is an input: ``receive_eof``.
7. ``receive_ack`` is the fast path for the most frequent frame (a receiver acks every delivery): on
   an OPEN session it takes a well-formed ``ack`` and returns None for anything else, which then
   goes to ``receive_frame`` (errors included). It changes no state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from passerelle.proto import PROTOCOL_VERSION
from passerelle.proto.codec import decode_ack, decode_client_frame, decode_server_frame, encode
from passerelle.proto.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from passerelle.proto.frames import (
    Ack,
    ChallengeFrame,
    ClientFrame,
    Error,
    Frame,
    Hello,
    Login,
    Ping,
    Pong,
    ServerFrame,
    Welcome,
)
from passerelle.proto.payloads import utf8_problem

MAX_ERRORS = 20
ACK_PREFIX = b'{"t":"ack",'
"""How an ``ack`` frame starts when its writer puts the tag first (the SDK's codec and the browser's
JSON.stringify both do): what a WebSocket layer may look for before offering ``receive_ack`` a frame."""
MAX_ACK_BYTES = 128
"""Longer frames never take the ack fast path (a well-formed ack is about 30 bytes)."""


class State(enum.Enum):
    AWAIT_HELLO = "await_hello"
    AUTHENTICATING = "authenticating"
    OPEN = "open"
    CLOSED = "closed"


class FrameReceived(NamedTuple):
    """A well-formed client frame for the edge to act on (a tuple: built for every frame)."""

    frame: ClientFrame


@dataclass(frozen=True, slots=True)
class ServerFrameReceived:
    frame: ServerFrame


@dataclass(frozen=True, slots=True)
class Reply:
    """Bytes the session wants written (an error or a pong) with nothing for the edge to do."""

    data: bytes
    close: bool = False
    code: str = ""
    """The error code, when the reply is an error."""


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    pass


ServerEvent = FrameReceived | Reply | ConnectionClosed


class ServerSession:
    """The server's view of one connection."""

    __slots__ = ("challenged", "errors", "state")

    def __init__(self) -> None:
        self.state = State.AWAIT_HELLO
        self.errors = 0
        self.challenged = False
        """A Login came (one per connection)."""

    def receive_frame(self, data: bytes | str) -> ServerEvent:
        if self.state is State.CLOSED:
            return ConnectionClosed()
        if isinstance(data, bytes):
            problem = utf8_problem(data)
            if problem is not None:
                return self._fail(
                    RemoteProtocolError("bad_json", f"a frame is UTF-8 JSON: {problem}"), ref=None
                )
        try:
            frame = decode_client_frame(data)
        except RemoteProtocolError as exc:
            return self._fail(exc, ref=None)
        if self.state is State.OPEN:
            if type(frame) is Ping:
                return Reply(encode(Pong(n=frame.n)))
            if type(frame) is Hello or type(frame) is Login:
                return self._fail(RemoteProtocolError("bad_state", "already authenticated"), ref=None)
            return FrameReceived(frame)
        if self.state is State.AWAIT_HELLO:
            kind = type(frame)
            if kind is not Hello and kind is not Login:
                first = RemoteProtocolError("unauthorized", "the first frame must be hello", fatal=True)
                return self._fail(first, ref=None)
            assert isinstance(frame, (Hello, Login))
            if frame.v != PROTOCOL_VERSION:
                msg = f"protocol version {frame.v} is not supported; this server speaks {PROTOCOL_VERSION}"
                return self._fail(RemoteProtocolError("unsupported_version", msg, fatal=True), ref=None)
            if type(frame) is Login:
                if self.challenged:
                    once = RemoteProtocolError("bad_state", "login is sent once, before hello", fatal=True)
                    return self._fail(once, ref=None)
                self.challenged = True
                return FrameReceived(frame)
            assert type(frame) is Hello
            if frame.token:
                if frame.device or frame.challenge or frame.signature:
                    return self._fail(RemoteProtocolError("bad_frame", _HELLO_SHAPE), ref=None)
            elif not (frame.device and frame.challenge and frame.signature):
                return self._fail(RemoteProtocolError("bad_frame", _HELLO_SHAPE), ref=None)
            self.state = State.AUTHENTICATING
            return FrameReceived(frame)
        # AUTHENTICATING: the client must wait for welcome.
        return self._fail(RemoteProtocolError("bad_state", "wait for welcome before sending"), ref=None)

    def receive_ack(self, data: bytes) -> Ack | None:
        """The ``ack`` in ``data`` when the session is OPEN and ``data`` is a well-formed ack, else
        None (give ``data`` to ``receive_frame``, which answers what is wrong with it)."""
        if self.state is not State.OPEN or len(data) > MAX_ACK_BYTES:
            return None
        return decode_ack(data)

    def receive_eof(self) -> ConnectionClosed:
        self.state = State.CLOSED
        return ConnectionClosed()

    def challenge(self, challenge: str, expires_in: int) -> bytes:
        """The answer to a Login: the challenge the device signs in its Hello."""
        if self.state is not State.AWAIT_HELLO or not self.challenged:
            raise LocalProtocolError("bad_state", "a challenge answers a login")
        return encode(ChallengeFrame(challenge=challenge, expires_in=expires_in))

    def accept(
        self,
        *,
        account: str,
        device: str,
        otk_count: int,
        time: int,
        token: str | None = None,
        expires_at: int | None = None,
        address: str | None = None,
    ) -> bytes:
        """The ``welcome``; with ``token`` (and its ``expires_at`` and ``address``) after a signed Hello."""
        if self.state is not State.AUTHENTICATING:
            raise LocalProtocolError("bad_state", f"cannot accept in state {self.state.value}")
        self.state = State.OPEN
        welcome = Welcome(
            account=account,
            device=device,
            otk_count=otk_count,
            time=time,
            token=token,
            expires_at=expires_at,
            address=address,
        )
        return encode(welcome)

    def reject(self, code: str, message: str) -> bytes:
        self.state = State.CLOSED
        return encode(Error(code=code, message=message))

    def error(self, code: str, message: str, *, ref: str | None = None, **extra: object) -> bytes:
        """An Error frame for a request that failed without breaking the connection."""
        return encode(Error(code=code, message=message, ref=ref, **extra))  # type: ignore[arg-type]

    def send(self, frame: Frame) -> bytes:
        if self.state is not State.OPEN:
            raise LocalProtocolError("bad_state", f"cannot send {type(frame).__name__} before welcome")
        return encode(frame)

    def _fail(self, exc: ProtocolError, *, ref: str | None) -> Reply:
        self.errors += 1
        fatal = exc.fatal or self.errors >= MAX_ERRORS
        message = exc.message if not fatal or exc.fatal else "too many malformed frames"
        if fatal:
            self.state = State.CLOSED
        return Reply(encode(Error(code=exc.code, message=message[:300], ref=ref)), close=fatal, code=exc.code)


_HELLO_SHAPE = "hello carries a token, or device, challenge and signature (not both)"


class ClientSession:
    """The client's view of one connection (used by the SDK)."""

    __slots__ = ("challenged", "state")

    def __init__(self) -> None:
        self.state = State.AWAIT_HELLO
        self.challenged = False

    def hello(self, token: str) -> bytes:
        if self.state is not State.AWAIT_HELLO:
            raise LocalProtocolError("bad_state", "hello is sent once, first")
        self.state = State.AUTHENTICATING
        return encode(Hello(token=token, v=PROTOCOL_VERSION))

    def login(self, device: str) -> bytes:
        """Ask for a login challenge (then ``signed_hello`` with the signed challenge)."""
        if self.state is not State.AWAIT_HELLO or self.challenged:
            raise LocalProtocolError("bad_state", "login is sent once, before hello")
        self.challenged = True
        return encode(Login(device=device, v=PROTOCOL_VERSION))

    def signed_hello(self, *, device: str, challenge: str, signature: str) -> bytes:
        """A ``hello`` with the device key: ``welcome`` then brings a new token."""
        if self.state is not State.AWAIT_HELLO:
            raise LocalProtocolError("bad_state", "hello is sent once, first")
        self.state = State.AUTHENTICATING
        return encode(Hello(device=device, challenge=challenge, signature=signature, v=PROTOCOL_VERSION))

    def send(self, frame: Frame) -> bytes:
        if self.state is not State.OPEN:
            raise LocalProtocolError("bad_state", f"cannot send {type(frame).__name__} in {self.state.value}")
        if isinstance(frame, Hello):
            raise LocalProtocolError("bad_state", "hello is sent once, first")
        return encode(frame)

    def receive_frame(self, data: bytes | str) -> ServerFrameReceived | ConnectionClosed:
        if self.state is State.CLOSED:
            return ConnectionClosed()
        frame = decode_server_frame(data)
        if self.state is State.AWAIT_HELLO and self.challenged:
            if type(frame) is Error:
                self.state = State.CLOSED
            elif type(frame) is not ChallengeFrame:
                raise RemoteProtocolError("bad_state", f"expected challenge, got {type(frame).__name__}")
        elif type(frame) is ChallengeFrame:
            raise RemoteProtocolError("bad_state", "a challenge answers a login")
        elif self.state is State.AUTHENTICATING:
            if type(frame) is Welcome:
                self.state = State.OPEN
            elif type(frame) is Error:
                self.state = State.CLOSED
            else:
                raise RemoteProtocolError("bad_state", f"expected welcome, got {type(frame).__name__}")
        return ServerFrameReceived(frame)

    def receive_eof(self) -> ConnectionClosed:
        self.state = State.CLOSED
        return ConnectionClosed()
