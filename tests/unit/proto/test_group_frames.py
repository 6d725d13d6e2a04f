"""The group additions to the wire (docs/protocol.md §5, §10): a send may carry one shared ``body``,
``payloads`` may then be left out, and ``member`` items decode."""

from __future__ import annotations

import msgspec
import pytest

from passerelle.proto.codec import decode_client_frame, decode_server_frame, encode
from passerelle.proto.errors import RemoteProtocolError
from passerelle.proto.frames import NO_BODY, Deliver, Send

ENVELOPE = b'{"algorithm":"m.megolm.v1.aes-sha2","sender_key":"k","device_id":"d","session_id":"s","ciphertext":"Aw"}'


def test_a_group_send_carries_its_body_once_and_no_payloads() -> None:
    frame = decode_client_frame(b'{"t":"send","id":"m1","conv":"g_1","body":' + ENVELOPE + b"}")
    assert isinstance(frame, Send)
    assert bytes(frame.body) == ENVELOPE and frame.payloads == {} and frame.conv == "g_1"
    again = decode_client_frame(encode(frame))
    assert isinstance(again, Send) and bytes(again.body) == ENVELOPE


def test_a_send_without_body_encodes_as_before() -> None:
    frame = Send(id="m2", to="a_1", payloads={"d_1": msgspec.Raw(b"{}")})
    assert frame.body is NO_BODY
    assert encode(frame) == b'{"t":"send","id":"m2","payloads":{"d_1":{}},"to":"a_1"}'
    decoded = decode_client_frame(encode(frame))
    assert isinstance(decoded, Send) and not decoded.body


def test_a_body_must_be_json() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        decode_client_frame(b'{"t":"send","id":"m3","conv":"g_1","body":}')
    assert caught.value.code == "bad_json"


def test_member_items_decode() -> None:
    data = (
        b'{"t":"deliver","items":[{"pos":7,"kind":"member","conv":"g_1","from":"a_1","dev":"d_1",'
        b'"ts":1,"exp":2,"body":{"event":"removed","account":"a_2","by":"a_1"}}]}'
    )
    frame = decode_server_frame(data)
    assert isinstance(frame, Deliver)
    assert frame.items[0].kind == "member"
    assert msgspec.json.decode(bytes(frame.items[0].body))["event"] == "removed"
