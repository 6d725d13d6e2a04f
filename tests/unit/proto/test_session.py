"""The two session state machines, joined by an in-memory link (no sockets)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.proto.codec import decode_server_frame, encode
from passerelle.proto.errors import LocalProtocolError, RemoteProtocolError
from passerelle.proto.frames import (
    Ack,
    ChallengeFrame,
    Deliver,
    Error,
    Hello,
    Item,
    Login,
    Ping,
    Pong,
    Send,
    Sent,
    Welcome,
)
from passerelle.proto.session import (
    ACK_PREFIX,
    MAX_ERRORS,
    ClientSession,
    ConnectionClosed,
    FrameReceived,
    Reply,
    ServerFrameReceived,
    ServerSession,
    State,
)


class SessionPair:
    """A client and a server session with the wire between them."""

    def __init__(self) -> None:
        self.client = ClientSession()
        self.server = ServerSession()

    def open(self) -> None:
        event = self.server.receive_frame(self.client.hello("tok"))
        assert isinstance(event, FrameReceived)
        welcome = self.server.accept(account="a_1", device="d_1", otk_count=5, time=1)
        got = self.client.receive_frame(welcome)
        assert isinstance(got, ServerFrameReceived)
        assert got.frame == Welcome(account="a_1", device="d_1", otk_count=5, time=1)


def test_handshake_opens_both_sides() -> None:
    pair = SessionPair()
    pair.open()
    assert pair.client.state is State.OPEN
    assert pair.server.state is State.OPEN


def test_client_frames_reach_the_server_intact() -> None:
    pair = SessionPair()
    pair.open()
    envelope = b'{"algorithm":"m.olm.v1.curve25519-aes-sha2","ciphertext":{}}'
    data = pair.client.send(Send(id="c1", to="a_2", payloads={"d_2": msgspec.Raw(envelope)}))
    event = pair.server.receive_frame(data)
    assert isinstance(event, FrameReceived)
    frame = event.frame
    assert isinstance(frame, Send)
    assert frame.id == "c1" and frame.to == "a_2"
    assert bytes(frame.payloads["d_2"]) == envelope


def test_server_frames_reach_the_client_intact() -> None:
    pair = SessionPair()
    pair.open()
    item = Item(
        pos=3, kind="msg", conv="d_x", sender="a_2", dev="d_2", ts=5, exp=9, body=msgspec.Raw(b"{}"), mid=7
    )
    sent = Sent(id="c1", mid=7, conv="d_x", ts=5, exp=9)
    got = pair.client.receive_frame(pair.server.send(sent))
    assert isinstance(got, ServerFrameReceived)
    assert got.frame == sent
    got = pair.client.receive_frame(pair.server.send(Deliver(items=[item])))
    assert isinstance(got, ServerFrameReceived)
    assert isinstance(got.frame, Deliver)
    [received] = got.frame.items
    assert (received.pos, received.sender, received.mid, bytes(received.body)) == (3, "a_2", 7, b"{}")


def test_item_uses_from_on_the_wire() -> None:
    item = Item(pos=1, kind="msg", conv="c", sender="a_9", dev="d", ts=1, exp=2, body=msgspec.Raw(b"{}"))
    assert b'"from":"a_9"' in encode(Deliver(items=[item]))


def test_first_frame_must_be_hello() -> None:
    server = ServerSession()
    event = server.receive_frame(encode(Ack(upto=1)))
    assert isinstance(event, Reply) and event.close
    error = decode_server_frame(event.data)
    assert isinstance(error, Error) and error.code == "unauthorized"
    assert server.state is State.CLOSED


def test_unsupported_version_is_refused() -> None:
    server = ServerSession()
    event = server.receive_frame(b'{"t":"hello","token":"x","v":99}')
    assert isinstance(event, Reply) and event.close
    error = decode_server_frame(event.data)
    assert isinstance(error, Error) and error.code == "unsupported_version"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"not json", "bad_json"),
        (b'{"t":"nope"}', "unknown_frame"),
        (b'{"t":"send","id":5,"payloads":{}}', "bad_frame"),
        (b'{"t":"ack"}', "bad_frame"),
        (b'{"t":"ack","upto":1,"extra":true}', "bad_frame"),
        (b"[]", "bad_frame"),
    ],
)
def test_malformed_frames_get_an_error_and_the_connection_stays(data: bytes, code: str) -> None:
    pair = SessionPair()
    pair.open()
    event = pair.server.receive_frame(data)
    assert isinstance(event, Reply) and not event.close
    error = decode_server_frame(event.data)
    assert isinstance(error, Error) and error.code == code
    assert pair.server.state is State.OPEN
    # Still usable: a good frame goes through.
    assert isinstance(pair.server.receive_frame(encode(Ack(upto=1))), FrameReceived)


def test_too_many_malformed_frames_close_the_connection() -> None:
    pair = SessionPair()
    pair.open()
    events = [pair.server.receive_frame(b"{") for _ in range(MAX_ERRORS)]
    assert all(isinstance(e, Reply) for e in events)
    assert isinstance(events[-1], Reply) and events[-1].close
    assert pair.server.state is State.CLOSED
    assert isinstance(pair.server.receive_frame(encode(Ack(upto=1))), ConnectionClosed)


def test_ping_is_answered_by_the_session() -> None:
    pair = SessionPair()
    pair.open()
    event = pair.server.receive_frame(pair.client.send(Ping(n=4)))
    assert isinstance(event, Reply)
    assert decode_server_frame(event.data) == Pong(n=4)


def test_frames_before_welcome_are_refused_locally() -> None:
    client = ClientSession()
    with pytest.raises(LocalProtocolError):
        client.send(Ack(upto=1))
    server = ServerSession()
    with pytest.raises(LocalProtocolError):
        server.send(Sent(id="x", mid=1, conv="c", ts=1, exp=2))


def test_a_second_hello_is_an_error() -> None:
    pair = SessionPair()
    pair.open()
    event = pair.server.receive_frame(b'{"t":"hello","token":"again"}')
    assert isinstance(event, Reply)
    assert decode_server_frame(event.data).code == "bad_state"  # type: ignore[union-attr]


def test_a_login_after_welcome_is_an_error() -> None:
    pair = SessionPair()
    pair.open()
    event = pair.server.receive_frame(b'{"t":"login","device":"d"}')
    assert isinstance(event, Reply) and not event.close
    assert decode_server_frame(event.data).code == "bad_state"  # type: ignore[union-attr]


def test_eof_is_an_input() -> None:
    pair = SessionPair()
    pair.open()
    assert isinstance(pair.server.receive_eof(), ConnectionClosed)
    assert pair.server.state is State.CLOSED


@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    pair = SessionPair()
    pair.open()
    event = pair.server.receive_frame(data)
    assert isinstance(event, FrameReceived | Reply | ConnectionClosed)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_raises(value: object) -> None:
    pair = SessionPair()
    pair.open()
    event = pair.server.receive_frame(msgspec.json.encode(value))
    assert isinstance(event, FrameReceived | Reply | ConnectionClosed)


def test_json_nested_beyond_the_decoder_stack_is_a_bad_frame() -> None:
    """A frame of 100 000 nested arrays is answered like any malformed frame, not with a crash."""
    pair = SessionPair()
    pair.open()
    deep = (
        b'{"t": "send", "id": "x", "to": "a_1", "payloads": {"d": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    )
    event = pair.server.receive_frame(deep)
    assert isinstance(event, Reply)
    assert decode_server_frame(event.data) == Error(
        code="bad_json", message="not a JSON frame: nested too deeply"
    )


def test_the_ack_fast_path_takes_well_formed_acks_of_an_open_session_only() -> None:
    pair = SessionPair()
    ack = encode(Ack(upto=42))
    assert ack.startswith(ACK_PREFIX)
    assert pair.server.receive_ack(ack) is None  # before hello: the general path refuses it
    pair.open()
    assert pair.server.receive_ack(pair.client.send(Ack(upto=42))) == Ack(upto=42)
    for other in (
        b'{"t":"ack","upto":"x"}',
        b'{"t":"ack","upto":1,"more":2}',
        b'{"t":"ack","upto":1',
        b'{"t":"ack","upto":1}' + b" " * 128,
        encode(Ping(n=1)),
    ):
        assert pair.server.receive_ack(other) is None
        assert isinstance(pair.server.receive_frame(other), Reply | FrameReceived)  # answered there
    assert pair.server.state is State.OPEN
    pair.server.receive_eof()
    assert pair.server.receive_ack(ack) is None


@given(st.binary(max_size=64))
def test_the_ack_fast_path_agrees_with_the_general_path(tail: bytes) -> None:
    """Whatever the fast path takes, the general path reads as the same ack."""
    pair = SessionPair()
    pair.open()
    data = ACK_PREFIX + tail
    fast = pair.server.receive_ack(data)
    if fast is not None:
        assert pair.server.receive_frame(data) == FrameReceived(fast)


def test_a_login_on_the_connection_gets_a_challenge_then_a_signed_hello_a_welcome_with_a_token() -> None:
    client, server = ClientSession(), ServerSession()
    event = server.receive_frame(client.login("d_1"))
    assert isinstance(event, FrameReceived) and isinstance(event.frame, Login)
    assert event.frame.device == "d_1"
    got = client.receive_frame(server.challenge("c.h.x", 60))
    assert isinstance(got, ServerFrameReceived) and got.frame == ChallengeFrame(
        challenge="c.h.x", expires_in=60
    )
    assert (client.state, server.state) == (State.AWAIT_HELLO, State.AWAIT_HELLO)
    event = server.receive_frame(client.signed_hello(device="d_1", challenge="c.h.x", signature="sig"))
    assert isinstance(event, FrameReceived) and isinstance(event.frame, Hello)
    assert event.frame.signed and event.frame.signature == "sig"
    welcome = server.accept(
        account="a_1", device="d_1", otk_count=5, time=1, token="tok", expires_at=9, address="photo:x"
    )
    got = client.receive_frame(welcome)
    assert isinstance(got, ServerFrameReceived) and isinstance(got.frame, Welcome)
    assert (got.frame.token, got.frame.expires_at, got.frame.address) == ("tok", 9, "photo:x")
    assert (client.state, server.state) == (State.OPEN, State.OPEN)


def test_a_welcome_after_a_token_hello_carries_no_token() -> None:
    server = ServerSession()
    server.receive_frame(b'{"t":"hello","token":"x"}')
    assert b"token" not in server.accept(account="a", device="d", otk_count=0, time=1)


@pytest.mark.parametrize(
    "data",
    [
        b'{"t":"hello"}',
        b'{"t":"hello","device":"d","challenge":"c"}',
        b'{"t":"hello","token":"x","device":"d","challenge":"c","signature":"s"}',
        b'{"t":"hello","device":"' + b"d" * 129 + b'","challenge":"c","signature":"s"}',
    ],
)
def test_a_hello_carries_a_token_or_a_whole_signed_challenge(data: bytes) -> None:
    server = ServerSession()
    event = server.receive_frame(data)
    assert isinstance(event, Reply) and not event.close
    assert decode_server_frame(event.data).code == "bad_frame"  # type: ignore[union-attr]
    assert server.state is State.AWAIT_HELLO


def test_a_second_login_closes_the_connection() -> None:
    server = ServerSession()
    assert isinstance(server.receive_frame(b'{"t":"login","device":"d"}'), FrameReceived)
    event = server.receive_frame(b'{"t":"login","device":"d"}')
    assert isinstance(event, Reply) and event.close
    assert decode_server_frame(event.data).code == "bad_state"  # type: ignore[union-attr]
    client = ClientSession()
    client.login("d")
    with pytest.raises(LocalProtocolError):
        client.login("d")


def test_a_challenge_answers_a_login_only() -> None:
    with pytest.raises(LocalProtocolError):
        ServerSession().challenge("c", 60)
    client = ClientSession()
    client.hello("tok")
    with pytest.raises(RemoteProtocolError):
        client.receive_frame(encode(ChallengeFrame(challenge="c", expires_in=60)))
