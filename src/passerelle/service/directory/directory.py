"""The directory: who may find whom, by address (``lookup``) or by account id (``profile``, ``visible``).

Invariants:
- The target's findability decides (its own setting, else its app's default): ``everyone``, ``app``
  (people of the same app only) or ``nobody``. Anyone who shares a conversation with the viewer
  stays visible to them, and everyone sees themselves.
- A hidden person and a nonexistent one give the same answer (the same NotFound, after the same
  number of store reads), so a lookup cannot tell them apart.
- A phone number is never shown to a person of another app.
- Lookups are rate limited per device: an address book is not a way to enumerate the directory.
- Someone who blocked the viewer is hidden from them (lookup, profile, keys, device lists), exactly
  like a person who does not exist (docs/protocol.md section 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.addresses import Address, normalize_alias, parse_address
from passerelle.domain.apps import App, AppRegistry, IdentityKind
from passerelle.domain.business.ids import ADDRESS_APP, normalize_slug
from passerelle.domain.errors import NotFound, Unauthorized
from passerelle.domain.ids import AccountId, AppName, DeviceId, Timestamp
from passerelle.domain.limits import Limits
from passerelle.domain.privacy import Findability, can_find, may_see_alias
from passerelle.service.limiter import RateLimiter
from passerelle.service.ports import AccountStore, ConversationStore
from passerelle.service.records import AccountRecord, TokenRecord


class DirectoryStore(AccountStore, ConversationStore, Protocol):
    """What the directory needs of the store."""


NOT_FOUND = "nobody can be found at this address"
NO_ACCOUNT = "no such account"


def effective_findability(app: App | None, own: Findability | None) -> Findability:
    """The person's own choice, else the app's default; ``nobody`` if the app is gone (fail closed)."""
    if own is not None:
        return own
    return app.default_findability if app is not None else Findability.NOBODY


@dataclass(frozen=True, slots=True, kw_only=True)
class LookupResult:
    account: AccountId
    app: AppName
    display_name: str
    address: Address | None
    """None when the viewer may not see the alias (a phone number seen from another app)."""
    last_seen: Timestamp | None = None
    """Profiles only, when the person's last-seen setting lets the viewer see it."""
    features: frozenset[str] = frozenset()
    """The content features the person's app declares (what it can show: section 11)."""


class DirectorySafety(Protocol):
    """What the directory asks of the safety rules (``passerelle.service.safety.SafetyPolicy``)."""

    async def hides(self, target: AccountId, viewer: AccountId) -> bool:
        """True when ``target`` blocked ``viewer``."""
        ...

    async def last_seen_for(self, viewer: AccountRecord, target: AccountRecord) -> Timestamp | None: ...


class Directory:
    def __init__(
        self,
        *,
        store: DirectoryStore,
        apps: AppRegistry,
        limiter: RateLimiter,
        limits: Limits,
        safety: DirectorySafety,
    ) -> None:
        self._store = store
        self._safety = safety
        self._apps = apps
        self._limiter = limiter
        self._limits = limits

    async def viewer(self, caller: TokenRecord) -> AccountRecord:
        """The caller's account record; Unauthorized when it no longer exists."""
        account = await self._store.get_account(caller.account)
        if account is None:
            raise Unauthorized("this account no longer exists")
        return account

    async def lookup(self, viewer: AccountRecord, address: str, *, device: DeviceId) -> LookupResult:
        """Find a person by address (``photo:alice``).

        Raises:
            InvalidInput: the address is malformed for its app.
            NotFound: nobody there, or somebody the viewer may not find (indistinguishable).
            RateLimited: too many lookups from this device.
        """
        await self._limiter.check_window(
            "lookup:device", device, count=self._limits.lookups_per_minute, window_s=60
        )
        app_name, raw_alias = parse_address(address)
        app = self._apps.get(app_name)
        target: AccountRecord | None = None
        if app is not None:
            target = await self._store.find_account(app.name, normalize_alias(app, raw_alias))
        elif app_name == ADDRESS_APP:  # a business's account (docs/business.md section 2)
            target = await self._store.find_account(AppName(ADDRESS_APP), normalize_slug(raw_alias))
        if target is None:
            # Nobody there: pay for the same reads as a hidden person would cost, then say no.
            await self._store.shares_conversation(viewer.id, viewer.id)
            raise NotFound(NOT_FOUND)
        if not await self._may_see(viewer, target):
            raise NotFound(NOT_FOUND)
        return self._shown_to(viewer, target)

    async def profile(self, viewer: AccountRecord, target: AccountId) -> LookupResult:
        """Who an account is (its app, display name and address), by its id: what a client shows
        for someone who wrote to it without ever being looked up. Not rate limited, like device
        lists: an account id is not something one can guess.

        Raises:
            NotFound: no such account, or one the viewer may not see (indistinguishable).
        """
        record = await self._store.get_account(target)
        if record is None:
            # Nobody there: pay for the same reads as a hidden person would cost, then say no.
            await self._store.shares_conversation(viewer.id, viewer.id)
            raise NotFound(NO_ACCOUNT)
        if not await self._may_see(viewer, record):
            raise NotFound(NO_ACCOUNT)
        shown = self._shown_to(viewer, record)
        last_seen = await self._safety.last_seen_for(viewer, record)
        return LookupResult(
            account=shown.account,
            app=shown.app,
            display_name=shown.display_name,
            address=shown.address,
            last_seen=last_seen,
            features=shown.features,
        )

    async def visible(self, viewer: AccountRecord, target: AccountId) -> AccountRecord | None:
        """The target's record if the viewer may see (and so reach) them, else None."""
        record = await self._store.get_account(target)
        if record is None or not await self._may_see(viewer, record):
            return None
        return record

    def _shown_to(self, viewer: AccountRecord, target: AccountRecord) -> LookupResult:
        """What the viewer is told of a person they may see: the alias only if section 4.8 allows."""
        app = self._apps.get(target.app)
        # An app gone from the configuration: its identity kind is unknown, so treat it as a phone.
        alias_is_phone = target.app != ADDRESS_APP and (app is None or app.identity is IdentityKind.PHONE)
        shown = may_see_alias(viewer_app=viewer.app, target_app=target.app, alias_is_phone=alias_is_phone)
        return LookupResult(
            account=target.id,
            app=target.app,
            display_name=target.display_name,
            address=Address(target.app, target.alias) if shown else None,
            features=app.features if app is not None else frozenset(),
        )

    async def _may_see(self, viewer: AccountRecord, target: AccountRecord) -> bool:
        if target.id == viewer.id:
            return True
        if await self._safety.hides(target.id, viewer.id):
            return False
        setting = effective_findability(self._apps.get(target.app), target.findability)
        if can_find(viewer_app=viewer.app, target_app=target.app, setting=setting):
            return True
        return await self._store.shares_conversation(viewer.id, target.id)
