"""Enrolment: creating a device (registering an account, or adding a device to one) and logging in
with the device key (docs/protocol.md §4.3 to §4.5).

The device's keys are generated and persisted before anything is published, and its one-time keys
before they are uploaded: a key the server hands out always has its private half on disk. When the
server refuses the registration, the half-made store is removed so that the same directory can be
used again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import httpx

from passerelle.crypto import DeviceCrypto
from passerelle.domain.business.ids import ADDRESS_APP
from passerelle.domain.ids import AccountId, AppName, DeviceId
from passerelle.proto.rest.business import EndpointGrant
from passerelle.sdk.errors import InvalidInput, Unavailable
from passerelle.sdk.rest import RestApi
from passerelle.sdk.schema import DeviceGrant
from passerelle.sdk.store import state
from passerelle.sdk.store.local import DB_FILE, KEY_FILE, SALT_FILE, Identity, LocalStore

logger = logging.getLogger(__name__)

FALLBACK_PUBLISHED = "fallback_published"


@dataclass(frozen=True, slots=True, kw_only=True)
class Proof:
    """Who the person is: a phone and a code, or a handle/username and a password."""

    phone: str | None = None
    code: str | None = None
    handle: str | None = None
    username: str | None = None
    password: str | None = None

    def fields(self) -> dict[str, str]:
        given = {k: v for k in ("phone", "code", "handle", "username", "password") if (v := getattr(self, k))}
        if not ({"phone", "code"} <= given.keys() or "password" in given):
            raise InvalidInput("prove the identity with phone and code, or handle/username and password")
        return given


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDevice:
    """The device being created: its name, the account's display name (registering only) and the
    passphrase its store is sealed under (None: a key file)."""

    name: str
    display_name: str | None
    passphrase: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrolled:
    store: LocalStore
    identity: Identity
    crypto: DeviceCrypto
    rest: RestApi
    endpoint: EndpointGrant | None = None
    """A business endpoint's grant: its business and the mode its statement must say."""


async def enrol(
    server_url: str,
    store_dir: Path,
    *,
    app: str,
    proof: Proof,
    device: NewDevice,
    adding: bool,
    enrolment_token: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Enrolled:
    """Create the store and the device keys, register (or add) the device, upload its keys. With
    ``enrolment_token`` the device is a business's endpoint (docs/business.md section 4; ``app``
    and ``proof`` are then unused)."""
    body: dict[str, object] = (
        {"app": app, **proof.fields()} if enrolment_token is None else {"enrolment_token": enrolment_token}
    )
    endpoint: EndpointGrant | None = None
    store = await LocalStore.create(store_dir, passphrase=device.passphrase)
    rest = RestApi(server_url, transport=transport)
    try:
        crypto = DeviceCrypto.new(store.pickle_key)
        fallback = crypto.generate_fallback_key()
        one_time_keys = crypto.generate_one_time_keys(crypto.max_one_time_keys)
        await store.save_crypto(crypto.take_changes())
        body["device"] = crypto.device_keys(device.name)
        if device.display_name is not None and not adding:
            body["display_name"] = device.display_name
        if enrolment_token is not None:
            endpoint = await rest.enrol_endpoint(body)
            grant = DeviceGrant(
                account_id=endpoint.account_id,
                device_id=endpoint.device_id,
                token=endpoint.token,
                expires_at=endpoint.expires_at,
                address=endpoint.address,
            )
            app = ADDRESS_APP
        else:
            grant = await (rest.add_device(body) if adding else rest.register(body))
        identity = Identity(
            server_url=server_url,
            app=AppName(app),
            account_id=AccountId(grant.account_id),
            device_id=DeviceId(grant.device_id),
            address=grant.address,
            device_name=device.name,
        )
        await store.save_identity(identity)
        await store.save_token(grant.token, grant.expires_at)
    except BaseException:
        await rest.aclose()
        await store.close()
        await asyncio.to_thread(_remove_store, store_dir)
        raise
    crypto.set_owner(identity.account_id, identity.device_id)
    rest.token = grant.token
    try:
        await rest.upload_keys(one_time_keys, fallback)
    except Unavailable:
        # The device exists now; its keys are published on the next connection (see Client).
        logger.warning("the new device's one-time keys could not be uploaded yet")
    else:
        await store.db.run(state.set_meta_txn, {FALLBACK_PUBLISHED: "1"})
    return Enrolled(store=store, identity=identity, crypto=crypto, rest=rest, endpoint=endpoint)


async def login(rest: RestApi, crypto: DeviceCrypto, device_id: str) -> DeviceGrant:
    """A new token for this device: sign the server's challenge with the device key (§4.5)."""
    challenge = await rest.challenge(device_id)
    signature = crypto.login_signature(challenge=challenge, device_id=device_id)
    return await rest.token_for(device_id, challenge, signature)


def _remove_store(store_dir: Path) -> None:
    for name in (DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm", DB_FILE + "-journal", KEY_FILE, SALT_FILE):
        with contextlib.suppress(FileNotFoundError):
            (store_dir / name).unlink()
