"""The checks on what the server keeps unread: cheap on ordinary envelopes, exact on the rest."""

from __future__ import annotations

import json

import pytest

from passerelle.proto.payloads import MAX_DEPTH, MAX_OPENS, body_problem, envelope_problem, utf8_problem
from passerelle.proto.session import Reply, ServerSession

OLM = json.dumps(
    {
        "algorithm": "m.olm.v1.curve25519-aes-sha2",
        "sender_key": "k",
        "ciphertext": {"c": {"type": 1, "body": "Aw"}},
    }
).encode()


def nest(depth: int) -> bytes:
    return b'{"a": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_ordinary_envelopes_pass() -> None:
    assert envelope_problem(OLM) is None
    assert body_problem(OLM) is None
    assert body_problem(b' {"kind": "read", "ids": [1, 2]} ') is None
    assert utf8_problem("é ☃ 𝄞".encode()) is None


@pytest.mark.parametrize(
    "data",
    [b'{"x": "\xff"}', b'{"x": "\xed\xa0\x80"}', b'{"x": "\xc3"}', b'{"x": "\xf4\x90\x80\x80"}'],
)
def test_bytes_that_are_not_utf8_are_found(data: bytes) -> None:
    assert utf8_problem(data) is not None
    assert body_problem(data) is not None


def test_an_envelope_is_an_object() -> None:
    for data in (b"[]", b'"text"', b"1", b"null"):
        assert envelope_problem(data) == "an envelope is a JSON object"


def test_an_envelope_holds_few_opening_brackets_wherever_they_are() -> None:
    assert envelope_problem(b"{" + b'"a": {},' * (MAX_OPENS - 1) + b'"b": 1}') is None
    assert envelope_problem(b"{" + b'"a": {},' * MAX_OPENS + b'"b": 1}') is not None
    assert envelope_problem(b'{"a": "' + b"[" * MAX_OPENS + b'"}') is not None
    # Long envelopes are searched rather than counted: the same answers.
    padding = b', "pad": "' + b"A" * 4000 + b'"}'
    assert envelope_problem(nest(MAX_OPENS)[:-1] + padding) is None
    assert envelope_problem(nest(MAX_OPENS + 1)[:-1] + padding) is not None


def test_a_stored_body_is_measured_for_depth_not_counted() -> None:
    assert body_problem(nest(MAX_DEPTH)) is None
    assert body_problem(nest(MAX_DEPTH + 1)) == f"nested deeper than {MAX_DEPTH}"
    wide = b'{"a": [' + b",".join([b"[]"] * 500) + b"]}"
    assert body_problem(wide) is None
    brackets_in_strings = b'{"a": "' + b"[{" * 100 + b'\\"[", "b": ["]]]"]}'
    assert body_problem(brackets_in_strings) is None
    assert body_problem(b"[1]") == "not a JSON object"
    # Deeper than msgspec's own stack allows: an answer, not a RecursionError.
    assert (
        body_problem(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}") == f"nested deeper than {MAX_DEPTH}"
    )


def test_stored_bodies_must_be_json() -> None:
    assert body_problem(b'{"x": ') == "not JSON"
    assert body_problem(b'{"x": 1} {}') == "not JSON"
    assert body_problem(b"") == "not JSON"


def test_the_session_refuses_a_frame_that_is_not_utf8() -> None:
    session = ServerSession()
    event = session.receive_frame(b'{"t": "hello", "token": "\xff"}')
    assert isinstance(event, Reply)
    assert json.loads(event.data)["code"] == "bad_json"
