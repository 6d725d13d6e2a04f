"""Credentials: what keeps a device able to talk to the server and to be talked to.

- Its token: read from the store; renewed by signing a login challenge with the device key when it
  is missing, about to expire, or refused (one login at a time): on the WebSocket as it connects
  (``ws_token`` gives None, the transport logs in with ``sign`` and hands the new token to
  ``adopt``), or over REST when a REST call needs one (``relogin``).
- Its one-time keys: about ``max_one_time_keys`` are kept on the server, topped up on ``welcome``
  and on ``keys_low``; a fallback key is published once. New keys are persisted before upload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from passerelle.crypto import DeviceCrypto
from passerelle.domain.ids import DeviceId
from passerelle.sdk.core import enrol
from passerelle.sdk.rest import RestApi
from passerelle.sdk.store import state
from passerelle.sdk.store.local import LocalStore

TOKEN_MARGIN_MS = 60_000


class Credentials:
    def __init__(
        self,
        *,
        device_id: DeviceId,
        crypto: DeviceCrypto,
        store: LocalStore,
        rest: RestApi,
        now_ms: Callable[[], int],
    ) -> None:
        self._device_id = device_id
        self._crypto = crypto
        self._store = store
        self._rest = rest
        self._now = now_ms
        self._login_lock = asyncio.Lock()
        self._keys_lock = asyncio.Lock()
        rest.relogin = self.relogin

    async def token(self, refresh: bool) -> str:
        """The token for the WebSocket ``hello``; a fresh one when ``refresh`` or when it expires."""
        if not refresh:
            saved = await self._store.token()
            if saved is not None and saved[1] > self._now() + TOKEN_MARGIN_MS:
                return saved[0]
        return await self.relogin()

    async def ws_token(self, refresh: bool) -> str | None:
        """The token for the WebSocket ``hello``, or None: log in on the connection instead (no
        token saved, one about to expire, or ``refresh``)."""
        if not refresh:
            saved = await self._store.token()
            if saved is not None and saved[1] > self._now() + TOKEN_MARGIN_MS:
                return saved[0]
        return None

    @property
    def device_id(self) -> str:
        return self._device_id

    def sign(self, challenge: str) -> str:
        """The login signature over a challenge the server gave (docs/protocol.md section 4.5)."""
        return self._crypto.login_signature(challenge=challenge, device_id=self._device_id)

    async def adopt(self, token: str, expires_at: int) -> None:
        """Keep a token a login on the WebSocket brought, for REST and the next hellos."""
        await self._store.save_token(token, expires_at)
        self._rest.token = token

    async def relogin(self) -> str:
        async with self._login_lock:
            grant = await enrol.login(self._rest, self._crypto, self._device_id)
            await self._store.save_token(grant.token, grant.expires_at)
            self._rest.token = grant.token
            return grant.token

    async def replenish(self, count: int) -> None:
        """The server holds ``count`` of our one-time keys: top them up when under half the target."""
        async with self._keys_lock:
            target = self._crypto.max_one_time_keys
            meta = await self._store.db.run(state.get_meta_txn, [enrol.FALLBACK_PUBLISHED])
            fallback_missing = enrol.FALLBACK_PUBLISHED not in meta
            if count >= target // 2 and not fallback_missing:
                return
            keys = self._crypto.generate_one_time_keys(target - count) if count < target else []
            fallback = self._crypto.generate_fallback_key() if fallback_missing else None
            await self._store.save_crypto(self._crypto.take_changes())  # before the keys are public
            await self._rest.upload_keys(keys, fallback)
            await self._store.db.run(state.set_meta_txn, {enrol.FALLBACK_PUBLISHED: "1"})
