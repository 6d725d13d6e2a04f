"""Accounts and devices: registering, proving an identity again to add a device, logging in with a
device key, removing a device, settings.

Invariants:
- Every device the server knows published keys signed by their own Ed25519 key (verified here).
- A wrong password and an unknown handle or username give the same answer, in about the same time
  (a dummy Argon2 verification runs for unknown accounts).
- Logins (registration, password, code, challenge) are limited per client address and per account.
- Device-list changes are told to the account's other devices (``DeviceNotices``) after they commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.addresses import Address, normalize_alias, normalize_display_name, normalize_phone
from passerelle.domain.apps import App, AppRegistry, IdentityKind
from passerelle.domain.business.ids import ADDRESS_APP
from passerelle.domain.errors import AliasTaken, InvalidInput, NotFound, Unauthorized
from passerelle.domain.ids import AccountId, AppName, DeviceId, Timestamp
from passerelle.domain.limits import Limits
from passerelle.domain.privacy import Findability
from passerelle.service.accounts.auth import Challenge, PhoneCodes, Tokens
from passerelle.service.accounts.passwords import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    dummy_verify,
    hash_password,
    verify_password,
)
from passerelle.service.accounts.signatures import canonical_json, is_public_key, verify_ed25519
from passerelle.service.directory.directory import effective_findability
from passerelle.service.limiter import ClientKey, RateLimiter
from passerelle.service.ports import (
    AccountStore,
    Clock,
    CodeSender,
    CodeStore,
    DeviceNotices,
    DeviceStore,
    IdGenerator,
    ServerSecret,
    TokenStore,
)
from passerelle.service.records import AccountRecord, Caller, DeviceRecord, TokenRecord

logger = logging.getLogger(__name__)


class AccountsStore(AccountStore, DeviceStore, TokenStore, CodeStore, Protocol):
    """What accounts (with their tokens and codes, ``service.auth``) need of the store."""


BAD_PASSWORD = "wrong name or password"

_Notice = Callable[[AccountId, DeviceId], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDevice:
    """A device's public keys as it publishes them (docs/protocol.md section 4.2)."""

    name: str
    curve25519: str
    ed25519: str
    signature: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneProof:
    """A phone number and the one-time code sent to it (apps whose identity is ``phone``)."""

    phone: str
    code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordProof:
    """A handle or username and its password (apps whose identity is ``handle`` or ``profile``)."""

    alias: str
    password: str


Proof = PhoneProof | PasswordProof


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSession:
    """What a client keeps after registering, adding a device or logging in."""

    account: AccountId
    device: DeviceId
    token: str
    expires_at: Timestamp
    address: Address


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSettings:
    findability: Findability
    """The effective setting: the person's own choice, else the app's default."""
    read_receipts: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Me:
    account: AccountRecord
    device: DeviceId
    address: Address
    settings: AccountSettings
    devices: tuple[DeviceRecord, ...]


def device_keys_message(*, name: str, curve25519: str, ed25519: str) -> bytes:
    """What a device signs when it publishes its keys (docs/protocol.md section 4.2)."""
    return canonical_json({"curve25519": curve25519, "ed25519": ed25519, "name": name})


def check_new_device(device: NewDevice) -> None:
    """Raise InvalidInput unless the keys are well formed and signed by the device's Ed25519 key.

    The name is stored exactly as signed, so it is checked, never rewritten.
    """
    try:
        normalize_display_name(device.name)
    except InvalidInput as exc:
        raise InvalidInput(f"device name: {exc.message}") from exc
    for field in ("curve25519", "ed25519"):
        if not is_public_key(getattr(device, field)):
            raise InvalidInput(f"device {field}: a key is 43 characters of unpadded standard base64")
    message = device_keys_message(name=device.name, curve25519=device.curve25519, ed25519=device.ed25519)
    if not verify_ed25519(device.ed25519, message, device.signature):
        raise InvalidInput("device signature: it does not verify against the device's ed25519 key")


class AccountService:
    def __init__(
        self,
        *,
        store: AccountsStore,
        apps: AppRegistry,
        limits: Limits,
        clock: Clock,
        ids: IdGenerator,
        codes: CodeSender,
        limiter: RateLimiter,
        notices: DeviceNotices,
        secret: ServerSecret,
    ) -> None:
        self._store = store
        self._apps = apps
        self._limits = limits
        self._clock = clock
        self._ids = ids
        self._limiter = limiter
        self._notices = notices
        self._tokens = Tokens(
            store=store, clock=clock, ids=ids, limits=limits, limiter=limiter, secret=secret
        )
        self._codes = PhoneCodes(
            store=store, clock=clock, ids=ids, limits=limits, limiter=limiter, sender=codes, secret=secret
        )

    # --- proving an identity -------------------------------------------------------------------

    async def request_code(self, *, app: str, phone: str, client: ClientKey) -> int:
        """Send a one-time code to a phone; return its lifetime in seconds.

        The answer is the same whether or not the number has an account.
        """
        home = self._app(app)
        if home.identity is not IdentityKind.PHONE:
            raise InvalidInput(f"app {home.name} does not use phone numbers")
        return await self._codes.send(home, normalize_phone(phone), client=client)

    async def register(
        self, *, app: str, proof: Proof, display_name: str | None, device: NewDevice, client: ClientKey
    ) -> DeviceSession:
        """Create an account with its first device and a token.

        Raises:
            InvalidInput: malformed fields, a proof of the wrong kind for the app, a bad device key.
            Unauthorized: a wrong or expired code.
            AliasTaken: the phone number, handle or username has an account already. After a right
                code the code stays valid, for adding a device instead.
            RateLimited: too many logins from this client.
        """
        home = self._app(app)
        await self._limit_client(client)
        alias = self._alias(home, proof)
        if display_name is None:
            if home.identity is not IdentityKind.HANDLE:
                raise InvalidInput("display_name is required")
            display_name = alias
        name = normalize_display_name(display_name)
        check_new_device(device)
        password_hash: str | None = None
        if isinstance(proof, PhoneProof):
            await self._codes.check(home, alias, proof.code)
            if await self._store.find_account(home.name, alias) is not None:
                raise AliasTaken("this phone number has an account; add this device to it instead")
        else:
            if not MIN_PASSWORD <= len(proof.password) <= MAX_PASSWORD:
                raise InvalidInput(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
            if await self._store.find_account(home.name, alias) is not None:
                raise AliasTaken(f"{home.name}:{alias} is taken")
            password_hash = await hash_password(proof.password)
        now = self._clock.now_ms()
        account = AccountRecord(
            id=self._ids.account_id(),
            app=home.name,
            alias=alias,
            display_name=name,
            password_hash=password_hash,
            findability=None,
            read_receipts=True,
            created_at=now,
        )
        record = self._device_record(account.id, device, now)
        new = self._tokens.new_token()
        await self._store.create_account(account, record, token_hash=new.hash, token_expires=new.expires_at)
        if isinstance(proof, PhoneProof):
            await self._codes.forget(home, alias)
        return DeviceSession(
            account=account.id,
            device=record.id,
            token=new.token,
            expires_at=new.expires_at,
            address=Address(home.name, alias),
        )

    async def add_device(
        self, *, app: str, proof: Proof, device: NewDevice, client: ClientKey
    ) -> DeviceSession:
        """Prove the identity again (code or password) and add a device with its own token.

        Raises:
            Unauthorized: wrong code, or wrong name or password (the same answer for both).
            NotFound: a right code for a phone number that has no account.
        """
        home = self._app(app)
        await self._limit_client(client)
        alias = self._alias(home, proof)
        limits = self._limits
        await self._limiter.check_window(
            "login:account",
            f"{home.name}:{alias}",
            count=limits.logins_per_window,
            window_s=limits.login_window_s,
        )
        check_new_device(device)
        if isinstance(proof, PhoneProof):
            await self._codes.check(home, alias, proof.code)
            account = await self._store.find_account(home.name, alias)
            if account is None:
                raise NotFound("this phone number has no account; register instead")
        else:
            if len(proof.password) > MAX_PASSWORD:
                raise InvalidInput(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
            found = await self._store.find_account(home.name, alias)
            if found is None or found.password_hash is None:
                await dummy_verify(proof.password)
                raise Unauthorized(BAD_PASSWORD)
            if not await verify_password(found.password_hash, proof.password):
                raise Unauthorized(BAD_PASSWORD)
            account = found
        record = self._device_record(account.id, device, self._clock.now_ms())
        new = self._tokens.new_token()
        await self._store.add_device(record, token_hash=new.hash, token_expires=new.expires_at)
        if isinstance(proof, PhoneProof):
            await self._codes.forget(home, alias)
        await self._tell(self._notices.device_added, account.id, record.id)
        return DeviceSession(
            account=account.id,
            device=record.id,
            token=new.token,
            expires_at=new.expires_at,
            address=Address(account.app, account.alias),
        )

    async def enrol_business_device(
        self, *, slug: str, display_name: str, device: NewDevice
    ) -> DeviceSession:
        """The device of a business's endpoint (docs/business.md section 4), once the caller checked
        the enrolment: the business's account (app ``biz``, alias the slug, no password) is made with
        its first endpoint; a later endpoint replaces the earlier devices, which are removed."""
        check_new_device(device)
        now = self._clock.now_ms()
        new = self._tokens.new_token()
        existing = await self._store.find_account(AppName(ADDRESS_APP), slug)
        if existing is None:
            try:
                name = normalize_display_name(display_name)
            except InvalidInput:
                name = slug
            account = AccountRecord(
                id=self._ids.account_id(),
                app=AppName(ADDRESS_APP),
                alias=slug,
                display_name=name,
                password_hash=None,
                findability=Findability.EVERYONE,
                read_receipts=True,
                created_at=now,
            )
            record = self._device_record(account.id, device, now)
            await self._store.create_account(
                account, record, token_hash=new.hash, token_expires=new.expires_at
            )
        else:
            account = existing
            record = self._device_record(account.id, device, now)
            await self._store.add_device(record, token_hash=new.hash, token_expires=new.expires_at)
            for old in await self._store.list_devices(account.id):
                if old.id != record.id and await self._store.remove_device(old.id):
                    await self._tell(self._notices.device_removed, account.id, old.id)
            await self._tell(self._notices.device_added, account.id, record.id)
        return DeviceSession(
            account=account.id,
            device=record.id,
            token=new.token,
            expires_at=new.expires_at,
            address=Address(account.app, account.alias),
        )

    async def challenge(self, device_id: str, *, client: ClientKey) -> Challenge:
        return await self._tokens.challenge(device_id, client=client)

    async def token_from_signature(
        self, device_id: str, challenge: str, signature: str, *, client: ClientKey
    ) -> DeviceSession:
        """A new token for a device that signed a challenge. Raises Unauthorized, uniformly."""
        return (await self.signed_in(device_id, challenge, signature, client=client))[1]

    async def signed_in(
        self, device_id: str, challenge: str, signature: str, *, client: ClientKey
    ) -> tuple[Caller, DeviceSession]:
        """A device that signed a challenge: the caller its new token makes it (what ``caller``
        gives for that token) and the token itself. The one path of ``POST /v1/auth/token`` and of
        a signed WebSocket ``hello``; raises Unauthorized, uniformly, or RateLimited."""
        owner, new, account = await self._tokens.token_from_signature(
            device_id, challenge, signature, client=client
        )
        caller = Caller(
            device=owner.device,
            account=account.id,
            expires_at=new.expires_at,
            record=account,
            token_hash=new.hash,
        )
        session = DeviceSession(
            account=account.id,
            device=owner.device,
            token=new.token,
            expires_at=new.expires_at,
            address=Address(account.app, account.alias),
        )
        return caller, session

    async def caller(self, token: str) -> Caller:
        """Who presents this bearer token: its device and account (the one authentication path of
        REST and the WebSocket hello, ``server/auth.py``). One hash and one read of the store (the
        token and its account); raises Unauthorized."""
        owner, account, hashed = await self._tokens.authenticate(token)
        return Caller(
            device=owner.device,
            account=account.id,
            expires_at=owner.expires_at,
            record=account,
            token_hash=hashed,
        )

    # --- the signed-in person ------------------------------------------------------------------

    async def remove_device(self, caller: TokenRecord, device_id: str) -> None:
        """Remove a device of the caller's own account (the caller's device included).

        A device of another account reads as nonexistent: NotFound.
        """
        device = await self._store.get_device(DeviceId(device_id))
        if device is None or device.account != caller.account:
            raise NotFound("no such device")
        if not await self._store.remove_device(device.id):
            raise NotFound("no such device")
        await self._tell(self._notices.device_removed, caller.account, device.id)

    async def me(self, caller: TokenRecord) -> Me:
        account = await self._account(caller)
        devices = await self._store.list_devices(account.id)
        return Me(
            account=account,
            device=caller.device,
            address=Address(account.app, account.alias),
            settings=self._settings(account),
            devices=tuple(devices),
        )

    async def update_settings(
        self,
        caller: TokenRecord,
        *,
        findability: Findability | None = None,
        read_receipts: bool | None = None,
    ) -> AccountSettings:
        """Change the given settings, keep the others; return the effective settings."""
        account = await self._account(caller)
        keep_findability = account.findability if findability is None else findability
        keep_receipts = account.read_receipts if read_receipts is None else read_receipts
        if findability is not None or read_receipts is not None:
            await self._store.update_settings(
                account.id, findability=keep_findability, read_receipts=keep_receipts
            )
        return AccountSettings(
            findability=effective_findability(self._apps.get(account.app), keep_findability),
            read_receipts=keep_receipts,
        )

    async def reprove(
        self, caller: TokenRecord, *, password: str | None, code: str | None, client: ClientKey
    ) -> AccountRecord:
        """Prove the identity again before an irreversible act (erasing the account): the password,
        or, on a phone app, a fresh one-time code (``request_code`` first). Limited like a login.

        Raises:
            InvalidInput: the wrong kind of proof for the app.
            Unauthorized: a wrong password or code.
        """
        account = await self._account(caller)
        await self._limit_client(client)
        limits = self._limits
        await self._limiter.check_window(
            "login:account",
            f"{account.app}:{account.alias}",
            count=limits.logins_per_window,
            window_s=limits.login_window_s,
        )
        home = self._apps.get(account.app)
        if home is not None and home.identity is IdentityKind.PHONE:
            if code is None or password is not None:
                raise InvalidInput("prove it with a one-time code sent to your phone (POST /v1/codes)")
            await self._codes.check(home, account.alias, code)
            await self._codes.forget(home, account.alias)
            return account
        if password is None or code is not None:
            raise InvalidInput("prove it with your password")
        if len(password) > MAX_PASSWORD or account.password_hash is None:
            await dummy_verify(password[:MAX_PASSWORD])
            raise Unauthorized(BAD_PASSWORD)
        if not await verify_password(account.password_hash, password):
            raise Unauthorized(BAD_PASSWORD)
        return account

    # --- helpers -------------------------------------------------------------------------------

    def _app(self, name: str) -> App:
        app = self._apps.get(name)
        if app is None:
            raise InvalidInput(f"unknown app {name[:32]!r}")
        return app

    def _alias(self, app: App, proof: Proof) -> str:
        wants_phone = app.identity is IdentityKind.PHONE
        if isinstance(proof, PhoneProof) != wants_phone:
            kind = "a phone number and a code" if wants_phone else "a name and a password"
            raise InvalidInput(f"app {app.name} identifies people by {kind}")
        return normalize_alias(app, proof.phone if isinstance(proof, PhoneProof) else proof.alias)

    async def _limit_client(self, client: ClientKey) -> None:
        limits = self._limits
        await self._limiter.check_window(
            "login:client", client, count=limits.logins_per_window, window_s=limits.login_window_s
        )

    async def _account(self, caller: TokenRecord) -> AccountRecord:
        account = await self._store.get_account(caller.account)
        if account is None:
            raise Unauthorized("this account no longer exists")
        return account

    def _settings(self, account: AccountRecord) -> AccountSettings:
        app = self._apps.get(account.app)
        return AccountSettings(
            findability=effective_findability(app, account.findability), read_receipts=account.read_receipts
        )

    def _device_record(self, account: AccountId, device: NewDevice, now: Timestamp) -> DeviceRecord:
        return DeviceRecord(
            id=self._ids.device_id(),
            account=account,
            name=device.name,
            curve25519=device.curve25519,
            ed25519=device.ed25519,
            signature=device.signature,
            created_at=now,
        )

    async def _tell(self, notice: _Notice, account: AccountId, device: DeviceId) -> None:
        # The change has committed and the client must get its answer (a new device's token above
        # all: without it the device would exist and never be used). A failed notice is logged;
        # the other devices still see the change the next time they list the account's devices.
        try:
            await notice(account, device)
        except Exception:
            logger.exception("device notice failed for account %s", account)
