"""Bench accounts, registered through the real REST API (docs/protocol.md sections 4.2 and 4.3):
each has one device whose Ed25519 and Curve25519 keys are real and whose key upload is signed."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from passerelle.cli.bench.errors import BenchError
from passerelle.proto.rest import accounts as wire
from passerelle.proto.rest.base import decode, encode

JSON = {"content-type": "application/json"}
"""The header of a request whose body is a Struct of ``passerelle.proto.rest``, encoded."""
REGISTER_CONCURRENCY = 4
"""Registrations hash a password with Argon2 on the server: a few at a time is as fast as many."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchAccount:
    handle: str
    account_id: str
    device_id: str
    token: str
    curve25519: str
    """The device's public Curve25519 key, named in the envelopes sent to and from it."""
    signing: Ed25519PrivateKey | None = None
    """The device's Ed25519 key, which signs login challenges (section 4.5)."""


def b64(data: bytes) -> str:
    """Standard base64 without padding, as the protocol wants it."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def canonical_json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signed_device(name: str) -> wire.NewDevice:
    """A fresh device's public keys, signed by its Ed25519 key (section 4.2)."""
    return new_device(name)[0]


def new_device(name: str) -> tuple[wire.NewDevice, Ed25519PrivateKey]:
    """A fresh device's public keys signed by its Ed25519 key (section 4.2), and that key."""
    signing = Ed25519PrivateKey.generate()
    ed25519 = b64(signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    curve25519 = b64(X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    keys = {"curve25519": curve25519, "ed25519": ed25519, "name": name}
    signature = b64(signing.sign(canonical_json(keys)))
    return wire.NewDevice(name=name, curve25519=curve25519, ed25519=ed25519, signature=signature), signing


async def register(http: httpx.AsyncClient, *, app: str, handle: str) -> BenchAccount:
    device = signed_device(f"{handle} bench")
    body = wire.Register(app=app, handle=handle, password=secrets.token_urlsafe(12), device=device)
    return await create_account(http, body, who=handle)


async def create_account(
    http: httpx.AsyncClient, body: wire.Register, *, who: str, signing: Ed25519PrivateKey | None = None
) -> BenchAccount:
    """``POST /v1/accounts`` with ``body``: the new account, named ``who`` (its handle or phone
    number), or BenchError; ``signing`` is its device's key, kept for logging in again."""
    try:
        response = await http.post("/v1/accounts", content=encode(body), headers=JSON)
    except httpx.HTTPError as exc:
        raise BenchError(f"registering {who} failed: {exc!r}") from exc
    if response.status_code != 201:
        raise BenchError(f"registering {who} failed: HTTP {response.status_code} {response.text[:300]}")
    grant = decode(response.content, wire.DeviceGrant)
    return BenchAccount(
        handle=who,
        account_id=grant.account_id,
        device_id=grant.device_id,
        token=grant.token,
        curve25519=body.device.curve25519,
        signing=signing,
    )


async def register_all(url: str, *, app: str, handles: Sequence[str]) -> list[BenchAccount]:
    """Register every handle (in the order given), a few at a time."""
    gate = asyncio.Semaphore(REGISTER_CONCURRENCY)

    async def one(http: httpx.AsyncClient, handle: str) -> BenchAccount:
        async with gate:
            return await register(http, app=app, handle=handle)

    try:
        async with httpx.AsyncClient(base_url=url, timeout=30.0) as http, asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(http, handle)) for handle in handles]
    except* BenchError as errors:
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


async def add_contacts(url: str, pairs: Sequence[tuple[BenchAccount, BenchAccount]]) -> None:
    """Each ``(owner, contact)``: the owner adds the contact (``PUT /v1/contacts/{id}``, section 9.1),
    so the contact's messages are not a message request (section 9.2): people who know each other."""
    gate = asyncio.Semaphore(REGISTER_CONCURRENCY * 4)

    async def one(http: httpx.AsyncClient, owner: BenchAccount, contact: BenchAccount) -> None:
        async with gate:
            headers = {"authorization": f"Bearer {owner.token}"}
            response = await http.put(f"/v1/contacts/{contact.account_id}", headers=headers)
        if response.status_code != 204:
            raise BenchError(f"adding a contact was refused: {response.status_code} {response.text[:200]}")

    try:
        async with httpx.AsyncClient(base_url=url, timeout=30.0) as http, asyncio.TaskGroup() as group:
            for owner, contact in pairs:
                group.create_task(one(http, owner, contact))
    except* BenchError as errors:
        raise errors.exceptions[0] from None
