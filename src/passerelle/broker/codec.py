"""Broker events as bytes: the same encoding for Redis and (in tests) the local broker."""

from __future__ import annotations

import base64

import msgspec

from passerelle.domain.ids import AccountId, ConversationId, DeviceId
from passerelle.service.ports import BrokerEvent, Connected, DeviceNews, Ephemeral, Invalidate


class _Wire(msgspec.Struct, frozen=True, omit_defaults=True):
    k: str
    d: list[str] = []
    f: str = ""
    c: bool = False
    a: list[str] = []
    v: list[str] = []
    x: bool = False
    n: str = ""
    t: list[int] = []


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(_Wire)


def encode_event(event: BrokerEvent) -> bytes:
    match event:
        case DeviceNews(devices=devices, all_devices=all_devices):
            return _enc.encode(_Wire(k="news", d=list(devices), x=all_devices))
        case Ephemeral(devices=devices, frame=frame, close=close):
            return _enc.encode(_Wire(k="eph", d=list(devices), f=base64.b64encode(frame).decode(), c=close))
        case Invalidate(accounts=accounts, conversations=convs):
            return _enc.encode(_Wire(k="inv", a=list(accounts), v=list(convs)))
        case Connected(node=node, devices=devices, at=at):
            return _enc.encode(_Wire(k="conn", n=node, d=list(devices), t=list(at)))
    raise TypeError(f"not a broker event: {event!r}")


def decode_event(data: bytes) -> BrokerEvent:
    wire = _dec.decode(data)
    if wire.k == "news":
        return DeviceNews(tuple(DeviceId(d) for d in wire.d), all_devices=wire.x)
    if wire.k == "eph":
        return Ephemeral(tuple(DeviceId(d) for d in wire.d), base64.b64decode(wire.f, validate=True), wire.c)
    if wire.k == "inv":
        return Invalidate(tuple(AccountId(a) for a in wire.a), tuple(ConversationId(c) for c in wire.v))
    if wire.k == "conn":
        if len(wire.t) != len(wire.d):
            raise ValueError("a connected event names one time per device")
        return Connected(wire.n, tuple(DeviceId(d) for d in wire.d), tuple(wire.t))
    raise ValueError(f"unknown broker event kind {wire.k!r}")
