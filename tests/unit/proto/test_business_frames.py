"""A business endpoint's declaration on the wire (docs/protocol.md §15.4): ``send.biz`` with its
members, nothing unknown, left out when absent; ``error.failure`` and ``details`` for ``cloud_api``."""

from __future__ import annotations

import msgspec
import pytest

from passerelle.proto.codec import decode_client_frame, decode_server_frame, encode
from passerelle.proto.errors import RemoteProtocolError
from passerelle.proto.frames import BizEnvelope, BizMeta, DeliveredBiz, Error, Send
from passerelle.proto.payloads import envelope_problem, with_biz


def test_a_declared_send_round_trips_with_only_what_is_given() -> None:
    frame = Send(
        id="m1",
        to="a_1",
        payloads={"d_1": msgspec.Raw(b"{}")},
        biz=BizMeta(number="100000000000002", kind="text", wamid="wamid.Babc"),
    )
    data = encode(frame)
    assert data == (
        b'{"t":"send","id":"m1","payloads":{"d_1":{}},"to":"a_1",'
        b'"biz":{"number":"100000000000002","kind":"text","wamid":"wamid.Babc"}}'
    )
    again = decode_client_frame(data)
    assert isinstance(again, Send) and again.biz == frame.biz
    template = BizMeta(number="1", kind="template", wamid="w", template="order_update", lang="en_US")
    assert msgspec.json.decode(msgspec.json.encode(template), type=BizMeta) == template


def test_a_declaration_refuses_unknown_members() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        decode_client_frame(
            b'{"t":"send","id":"m1","to":"a_1","payloads":{},"biz":{"number":"1","kind":"text",'
            b'"wamid":"w","category":"UTILITY"}}'
        )
    assert caught.value.code == "bad_frame"


def test_a_send_without_declaration_has_none() -> None:
    frame = decode_client_frame(b'{"t":"send","id":"m1","to":"a_1","payloads":{}}')
    assert isinstance(frame, Send) and frame.biz is None


def test_a_business_refusal_names_the_rule() -> None:
    error = Error(
        code="cloud_api",
        message="(#131047) Re-engagement message",
        ref="m1",
        failure="outside_window",
        details="x",
    )
    decoded = decode_server_frame(encode(error))
    assert isinstance(decoded, Error) and decoded.failure == "outside_window" and decoded.details == "x"


def test_the_server_sets_biz_in_the_envelope_of_a_business_send() -> None:
    """docs/protocol.md §15.4: the envelope a person's device gets carries ``biz``, written by the
    server; one the endpoint put there itself is replaced; the rest is the sender's, untouched."""
    delivered = DeliveredBiz(
        kind="template", wamid="wamid.B1", template="sale", lang="fr", category="MARKETING"
    )
    envelope = b'{"algorithm":"m.olm.v1.curve25519-aes-sha2","sender_key":"k","ciphertext":{"c":{"type":0,"body":"x"}}}'
    stamped = with_biz(envelope, msgspec.json.encode(delivered))
    members = msgspec.json.decode(stamped)
    assert members["biz"] == {
        "kind": "template",
        "wamid": "wamid.B1",
        "template": "sale",
        "lang": "fr",
        "category": "MARKETING",
    }
    assert {k: v for k, v in members.items() if k != "biz"} == msgspec.json.decode(envelope)
    assert envelope_problem(stamped) is None
    forged = b'{"sender_key":"k","biz":{"kind":"text","wamid":"w"}}'
    again = msgspec.json.decode(with_biz(forged, msgspec.json.encode(DeliveredBiz(kind="image", wamid="w2"))))
    assert again["biz"] == {"kind": "image", "wamid": "w2"}
    # A client reads it without knowing the rest of the envelope.
    assert msgspec.json.decode(stamped, type=BizEnvelope).biz == delivered
    assert msgspec.json.decode(envelope, type=BizEnvelope).biz is None
