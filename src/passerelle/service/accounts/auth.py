"""Proving who you are: bearer tokens, login challenges and one-time phone codes.

Invariants:
- Secrets are never stored in the clear: a token is kept as its SHA-256 (256 random bits: no search
  finds it), a code as an HMAC-SHA256 under the server's secret (``ServerSecret``), kept outside the
  database. A 6-digit code falls to a search of 10**6 against any unkeyed hash, salted or not;
  under the key, the database alone gives nothing to search against. The MAC covers the app and
  the phone too, so a stored value is worth nothing for another number.
- A challenge is used once, whether its signature verifies or not, and expires. It is issued
  without a database write: ``<expires_ms>.<nonce>.<mac>``, the MAC (HMAC-SHA256 under the
  server's secret, truncated to 128 bits) binding the nonce and the expiry to the device, so no
  one but the server can make one, nor move one to another device or a later time. It is spent
  in the transaction that stores the new token (or, after a bad signature, alone): its SHA-256 is
  recorded until it expires, and a second spend finds it there (``spend_challenge``). An unknown
  device gets a challenge as well, which never verifies. One login is thus one write transaction
  (benchmarks/README.md, scenario f).
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
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.apps import App
from passerelle.domain.errors import NotFound, Unauthorized
from passerelle.domain.ids import DeviceId, Timestamp
from passerelle.domain.limits import Limits
from passerelle.service.accounts.signatures import canonical_json, verify_ed25519
from passerelle.service.limiter import ClientKey, RateLimiter
from passerelle.service.ports import (
    Clock,
    CodeSender,
    CodeStore,
    DeviceStore,
    IdGenerator,
    ServerSecret,
    TokenStore,
)
from passerelle.service.records import AccountRecord, CodeRecord, TokenRecord


class CredentialStore(DeviceStore, TokenStore, CodeStore, Protocol):
    """What tokens, challenges and one-time codes need of the store."""


CODE_DIGITS = 6
MAX_TOKEN_CHARS = 512
LOGIN_PURPOSE = "passerelle-login"
BAD_TOKEN = "the token is missing, wrong, expired or revoked"
BAD_CODE = "the code is wrong or expired; ask for a new one if needed"
BAD_CHALLENGE = "the challenge or its signature is wrong, used or expired"
CHALLENGE_MAC_CHARS = 32
"""The challenge's MAC, in hex: 128 bits of HMAC-SHA256."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


CODE_MAC = "hmac1$"
"""The prefix of a stored code: its version. Values of any other form (the salted SHA-256 of
earlier versions, deleted by migration 0006) never match."""


def code_mac(secret: ServerSecret, *, app: str, phone: str, code: str) -> str:
    """What is stored for a one-time code: a MAC under the server's secret, bound to app and phone."""
    return CODE_MAC + secret.mac(f"passerelle-code\x00{app}\x00{phone}\x00{code}".encode())


def challenge_mac(secret: ServerSecret, *, device_id: str, expires_at: int, nonce: str) -> str:
    """What makes a login challenge the server's: a MAC over its device, expiry and nonce."""
    message = f"passerelle-challenge\x00{device_id}\x00{expires_at}\x00{nonce}".encode()
    return secret.mac(message)[:CHALLENGE_MAC_CHARS]


def challenge_expiry(secret: ServerSecret, *, device_id: str, challenge: str) -> int | None:
    """When a challenge the server made for ``device_id`` expires (ms), or None for any other string."""
    expires, _, rest = challenge.partition(".")
    nonce, _, mac = rest.partition(".")
    if not expires.isdigit() or len(expires) > 15 or not nonce or len(mac) != CHALLENGE_MAC_CHARS:
        return None
    expected = challenge_mac(secret, device_id=device_id, expires_at=int(expires), nonce=nonce)
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        return None
    return int(expires)


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
        self,
        *,
        store: CredentialStore,
        clock: Clock,
        ids: IdGenerator,
        limits: Limits,
        limiter: RateLimiter,
        secret: ServerSecret,
    ) -> None:
        self._secret = secret
        self._store = store
        self._clock = clock
        self._ids = ids
        self._limits = limits
        self._limiter = limiter

    def new_token(self) -> NewToken:
        token = self._ids.token()
        expires = Timestamp(self._clock.now_ms() + self._limits.token_ttl_s * 1000)
        return NewToken(token=token, hash=token_hash(token), expires_at=expires)

    async def authenticate(self, token: str) -> tuple[TokenRecord, AccountRecord, str]:
        """The token's owner, its account and the token's hash (one read); raises Unauthorized."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized(BAD_TOKEN)
        hashed = token_hash(token)
        found = await self._store.resolve_caller(hashed, now=self._clock.now_ms())
        if found is None:
            raise Unauthorized(BAD_TOKEN)
        return found[0], found[1], hashed

    async def challenge(self, device_id: str, *, client: ClientKey) -> Challenge:
        limits = self._limits
        await self._limiter.check_window(
            "challenge:client", client, count=limits.logins_per_window, window_s=limits.login_window_s
        )
        # Nothing is stored, and the device is not looked up: the answer is the same for any id.
        nonce = self._ids.token()
        expires = self._clock.now_ms() + limits.challenge_ttl_s * 1000
        mac = challenge_mac(self._secret, device_id=device_id, expires_at=expires, nonce=nonce)
        return Challenge(challenge=f"{expires}.{nonce}.{mac}", expires_in_s=limits.challenge_ttl_s)

    async def token_from_signature(
        self, device_id: str, challenge: str, signature: str, *, client: ClientKey
    ) -> tuple[TokenRecord, NewToken, AccountRecord]:
        """Exchange a signed challenge for a new token; also the device's account (read with the
        device: one read and one write per login). Raises Unauthorized, uniformly."""
        limits = self._limits
        window = {"count": limits.logins_per_window, "window_s": limits.login_window_s}
        await self._limiter.check_window("login:client", client, **window)
        found = await self._store.get_device_and_account(DeviceId(device_id))
        # Per account when the device exists, else per claimed device id: same cost either way.
        await self._limiter.check_window(
            "login:account", found[0].account if found else f"?{device_id}", **window
        )
        if found is None or not challenge or len(challenge) > MAX_TOKEN_CHARS:
            raise Unauthorized(BAD_CHALLENGE)
        device, account = found
        expires = challenge_expiry(self._secret, device_id=device.id, challenge=challenge)
        if expires is None or expires <= self._clock.now_ms():
            raise Unauthorized(BAD_CHALLENGE)
        message = login_message(device_id=device.id, challenge=challenge)
        good = verify_ed25519(device.ed25519, message, signature)
        new = self.new_token()
        try:
            # Spent either way; the token is stored only with a good signature, in the same commit.
            fresh = await self._store.spend_challenge(
                token_hash(challenge),
                device=device.id,
                expires_at=Timestamp(expires),
                token_hash=new.hash if good else None,
                token_expires_at=new.expires_at,
            )
        except NotFound:  # the device was removed meanwhile
            raise Unauthorized(BAD_CHALLENGE) from None
        if not (fresh and good):
            raise Unauthorized(BAD_CHALLENGE)
        owner = TokenRecord(device=device.id, account=device.account, expires_at=new.expires_at)
        return owner, new, account


class PhoneCodes:
    """One-time codes proving a phone number: sent through the operator's CodeSender."""

    def __init__(
        self,
        *,
        store: CredentialStore,
        clock: Clock,
        ids: IdGenerator,
        limits: Limits,
        limiter: RateLimiter,
        sender: CodeSender,
        secret: ServerSecret,
    ) -> None:
        self._secret = secret
        self._store = store
        self._clock = clock
        self._ids = ids
        self._limits = limits
        self._limiter = limiter
        self._sender = sender

    async def send(self, app: App, phone: str, *, client: ClientKey) -> int:
        """Send a fresh code to ``phone`` (E.164), replacing any pending one; return its lifetime."""
        limits = self._limits
        await self._limiter.check_window(
            "code:client", client, count=limits.codes_per_client_per_hour, window_s=3600
        )
        await self._limiter.check_window(
            "code:phone",
            f"{app.name}:{phone}",
            count=limits.codes_per_phone,
            window_s=limits.codes_per_phone_window_s,
        )
        code = self._ids.code(CODE_DIGITS)
        record = CodeRecord(
            app=app.name,
            phone=phone,
            code_hash=code_mac(self._secret, app=app.name, phone=phone, code=code),
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
        expected = code_mac(self._secret, app=app.name, phone=phone, code=code)
        if not hmac.compare_digest(expected.encode(), record.code_hash.encode()):
            if left == 1:
                await self._store.delete_code(app.name, phone)
            raise Unauthorized(BAD_CODE)

    async def forget(self, app: App, phone: str) -> None:
        await self._store.delete_code(app.name, phone)
