"""Proving who you are: bearer tokens, login challenges and one-time phone codes.

Invariants:
- Secrets are never stored in the clear: a token is kept as its SHA-256, a code as a salted SHA-256.
  (A 6-digit code cannot resist an offline search whatever the hash; the hash keeps codes out of
  casual sight, and a code lives minutes.)
- A challenge is used once, whether its signature verifies or not. An unknown device gets a
  challenge as well, which is never stored and so never verifies.
- A code is spent by every attempt, right or wrong, through the store's atomic ``spend_attempt``:
  concurrent guesses cannot exceed the attempt budget. The stored counter holds one more than the
  attempts allowed, and an attempt goes ahead only when its spend left at least 1: an answer of 0
  (which a store may give both for "just spent the last one" and "none left") never lets one in.
- Every failure of one kind reads the same (one message per kind), so an answer tells nothing about
  which part was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from passerelle.config import Limits
from passerelle.domain.apps import App
from passerelle.domain.errors import Unauthorized
from passerelle.domain.ids import DeviceId, Timestamp
from passerelle.service.limiter import ClientKey, RateLimiter
from passerelle.service.ports import Clock, CodeSender, IdGenerator, Store
from passerelle.service.records import CodeRecord, TokenRecord
from passerelle.service.signatures import canonical_json, verify_ed25519

CODE_DIGITS = 6
MAX_TOKEN_CHARS = 512
LOGIN_PURPOSE = "passerelle-login"
BAD_TOKEN = "the token is missing, wrong, expired or revoked"
BAD_CODE = "the code is wrong or expired; ask for a new one if needed"
BAD_CHALLENGE = "the challenge or its signature is wrong, used or expired"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(code: str, *, salt: str) -> str:
    return salt + "$" + hashlib.sha256(f"{salt}\x00{code}".encode()).hexdigest()


def _code_matches(code: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(_code_hash(code, salt=salt), stored)


def login_message(*, device_id: str, challenge: str) -> bytes:
    """What a device signs to log in (docs/protocol.md section 4.5)."""
    return canonical_json({"challenge": challenge, "device_id": device_id, "purpose": LOGIN_PURPOSE})


@dataclass(frozen=True, slots=True, kw_only=True)
class NewToken:
    token: str
    """The bearer token, given to the client once and never stored."""
    hash: str
    expires_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class Challenge:
    challenge: str
    expires_in_s: int


class Tokens:
    """Bearer tokens and the challenge login that renews them."""

    def __init__(
        self, *, store: Store, clock: Clock, ids: IdGenerator, limits: Limits, limiter: RateLimiter
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids
        self._limits = limits
        self._limiter = limiter

    def new_token(self) -> NewToken:
        token = self._ids.token()
        expires = Timestamp(self._clock.now_ms() + self._limits.token_ttl_s * 1000)
        return NewToken(token=token, hash=token_hash(token), expires_at=expires)

    async def authenticate(self, token: str) -> TokenRecord:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized(BAD_TOKEN)
        record = await self._store.resolve_token(token_hash(token), now=self._clock.now_ms())
        if record is None:
            raise Unauthorized(BAD_TOKEN)
        return record

    async def challenge(self, device_id: str, *, client: ClientKey) -> Challenge:
        limits = self._limits
        self._limiter.check_window(
            "challenge:client", client, count=limits.logins_per_window, window_s=limits.login_window_s
        )
        challenge = self._ids.token()
        device = await self._store.get_device(DeviceId(device_id))
        if device is not None:
            expires = Timestamp(self._clock.now_ms() + limits.challenge_ttl_s * 1000)
            await self._store.put_challenge(challenge, device=device.id, expires_at=expires)
        return Challenge(challenge=challenge, expires_in_s=limits.challenge_ttl_s)

    async def token_from_signature(
        self, device_id: str, challenge: str, signature: str, *, client: ClientKey
    ) -> tuple[TokenRecord, NewToken]:
        """Exchange a signed challenge for a new token. Raises Unauthorized, uniformly."""
        limits = self._limits
        window = {"count": limits.logins_per_window, "window_s": limits.login_window_s}
        self._limiter.check_window("login:client", client, **window)
        device = await self._store.get_device(DeviceId(device_id))
        # Per account when the device exists, else per claimed device id: same cost either way.
        self._limiter.check_window("login:account", device.account if device else f"?{device_id}", **window)
        now = self._clock.now_ms()
        if device is None or not challenge or len(challenge) > MAX_TOKEN_CHARS:
            raise Unauthorized(BAD_CHALLENGE)
        if not await self._store.take_challenge(challenge, device=device.id, now=now):
            raise Unauthorized(BAD_CHALLENGE)
        message = login_message(device_id=device.id, challenge=challenge)
        if not verify_ed25519(device.ed25519, message, signature):
            raise Unauthorized(BAD_CHALLENGE)
        new = self.new_token()
        await self._store.put_token(new.hash, device=device.id, expires_at=new.expires_at)
        return TokenRecord(device=device.id, account=device.account, expires_at=new.expires_at), new


class PhoneCodes:
    """One-time codes proving a phone number: sent through the operator's CodeSender."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        ids: IdGenerator,
        limits: Limits,
        limiter: RateLimiter,
        sender: CodeSender,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids
        self._limits = limits
        self._limiter = limiter
        self._sender = sender

    async def send(self, app: App, phone: str, *, client: ClientKey) -> int:
        """Send a fresh code to ``phone`` (E.164), replacing any pending one; return its lifetime."""
        limits = self._limits
        self._limiter.check_window(
            "code:client", client, count=limits.codes_per_client_per_hour, window_s=3600
        )
        self._limiter.check_window(
            "code:phone",
            f"{app.name}:{phone}",
            count=limits.codes_per_phone,
            window_s=limits.codes_per_phone_window_s,
        )
        code = self._ids.code(CODE_DIGITS)
        record = CodeRecord(
            app=app.name,
            phone=phone,
            code_hash=_code_hash(code, salt=secrets.token_hex(8)),
            expires_at=Timestamp(self._clock.now_ms() + limits.code_ttl_s * 1000),
            attempts_left=limits.code_attempts + 1,  # see the module's invariants
        )
        await self._store.put_code(record)
        # A code the sender failed to deliver stays pending but unknown to anyone: harmless.
        await self._sender.send_code(app=app.name, phone=phone, code=code)
        return limits.code_ttl_s

    async def check(self, app: App, phone: str, code: str) -> None:
        """Spend one attempt on the pending code; raise Unauthorized unless ``code`` is it.

        The code stays pending after a success: the caller deletes it with ``forget`` once the
        operation it proved has committed (a registration that hits alias_taken keeps it usable
        for adding a device).
        """
        record = await self._store.get_code(app.name, phone)
        if record is None or record.expires_at <= self._clock.now_ms() or record.attempts_left <= 1:
            raise Unauthorized(BAD_CODE)
        left = await self._store.spend_attempt(app.name, phone)
        if left < 1:
            raise Unauthorized(BAD_CODE)
        if not _code_matches(code, record.code_hash):
            if left == 1:
                await self._store.delete_code(app.name, phone)
            raise Unauthorized(BAD_CODE)

    async def forget(self, app: App, phone: str) -> None:
        await self._store.delete_code(app.name, phone)
