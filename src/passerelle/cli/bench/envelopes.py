"""Client frames, built as bytes without a JSON encoder so that the load generator stays cheap.

A bench message is shaped like a real one (docs/protocol.md section 6): an Olm envelope whose
ciphertext body is random base64 of ``body_bytes`` characters. Its first 16 characters are the
sender's ``perf_counter_ns`` in hexadecimal (hex digits are base64 characters too), which lets the
receiver compute the latency without any shared table. The server never reads envelopes, so this changes nothing for it.
"""

from __future__ import annotations

import base64
import json
import os

STAMP_DIGITS = 16
BODY_KEY = b'"body":"'
FILLERS = 64
"""Distinct random bodies per sender, reused in turn (random enough for a server that stores bytes)."""


def hello_frame(token: str) -> bytes:
    return json.dumps({"t": "hello", "token": token, "v": 1}).encode()


def login_frame(device: str) -> bytes:
    return json.dumps({"t": "login", "device": device, "v": 1}).encode()


def signed_hello_frame(device: str, challenge: str, signature: str) -> bytes:
    return json.dumps(
        {"t": "hello", "device": device, "challenge": challenge, "signature": signature, "v": 1}
    ).encode()


def ack_frame(upto: int) -> bytes:
    return b'{"t":"ack","upto":%d}' % upto


def ping_frame(n: int) -> bytes:
    return b'{"t":"ping","n":%d}' % n


class SendFrames:
    """``send`` frames from one device to the one device of one recipient account."""

    __slots__ = ("_fillers", "_head", "_middle")

    def __init__(
        self,
        *,
        sender_key: str,
        recipient_account: str,
        recipient_device: str,
        recipient_key: str,
        body_bytes: int,
    ) -> None:
        envelope = {
            "algorithm": "m.olm.v1.curve25519-aes-sha2",
            "sender_key": sender_key,
            "ciphertext": {recipient_key: {"type": 1, "body": ""}},
        }
        suffix = b'"}}}'
        prefix = json.dumps(envelope, separators=(",", ":")).encode()[: -len(suffix)]
        filler = max(body_bytes - STAMP_DIGITS, 8)
        self._fillers = tuple(
            base64.b64encode(os.urandom(filler)).rstrip(b"=")[:filler] for _ in range(FILLERS)
        )
        self._head = b'{"t":"send","to":"%s","payloads":{"%s":%s' % (
            recipient_account.encode(),
            recipient_device.encode(),
            prefix,
        )
        self._middle = suffix + b'},"id":"m'

    def frame(self, seq: int, stamp_ns: int) -> bytes:
        """The send frame with client id ``m<seq in hex>`` and the time stamp ``stamp_ns``."""
        return b"".join(
            (
                self._head,
                b"%016x" % stamp_ns,
                self._fillers[seq % FILLERS],
                self._middle,
                b'%x"}' % seq,
            )
        )


def read_stamp(envelope: bytes) -> int | None:
    """The sender's time stamp in a bench envelope, or None for an envelope that has none."""
    at = envelope.find(BODY_KEY)
    if at < 0:
        return None
    start = at + len(BODY_KEY)
    try:
        return int(envelope[start : start + STAMP_DIGITS], 16)
    except ValueError:
        return None
