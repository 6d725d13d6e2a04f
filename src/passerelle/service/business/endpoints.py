"""``BusinessEndpoints``: enrolling a business's endpoint and its hosting statement (docs/business.md
section 4).

Rules:
- The operator issues a one-time enrolment token for a business with the mode the endpoint will run
  in: ``self_run`` (given to the business, which runs ``passerelle business-endpoint run``) or
  ``hosted`` (used by the operator's own process). Only its SHA-256 is stored; it lasts
  ``ENROLMENT_TTL_MS`` and is used once.
- Enrolling makes the endpoint a device of the business's account (app ``biz``, alias the slug),
  created with the first endpoint; a later endpoint replaces the earlier device, which is removed.
- The endpoint then signs, with its Ed25519 key, the canonical JSON ``{"business", "device", "mode",
  "operator", "issued_at"}``. It is refused unless it names this business, this device, this
  deployment's operator and a time within ``STATEMENT_SKEW_MS`` of now, and unless its mode is the
  mode the endpoint was enrolled in; it is stored as signed and served with the profile.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.business.hosting import parse_statement
from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from passerelle.domain.ids import AccountId, DeviceId, Timestamp
from passerelle.service.accounts.accounts import DeviceSession, NewDevice
from passerelle.service.accounts.signatures import verify_ed25519
from passerelle.service.business.endpoint_ports import (
    EndpointMode,
    EndpointRecord,
    EndpointStore,
    EnrolmentRecord,
)
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import BusinessRecord
from passerelle.service.caches import TtlCache
from passerelle.service.ports import Clock, DeviceStore, IdGenerator
from passerelle.service.records import TokenRecord

ENROLMENT_PREFIX = "pbe_"
ENROLMENT_TTL_MS = 24 * 3600 * 1000
STATEMENT_SKEW_MS = 10 * 60 * 1000
BAD_ENROLMENT = "this enrolment token is unknown, used or expired"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class EndpointAccounts(Protocol):
    """What enrolment needs of accounts (``AccountService``)."""

    async def enrol_business_device(
        self, *, slug: str, display_name: str, device: NewDevice
    ) -> DeviceSession: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEnrolment:
    business: BusinessId
    mode: EndpointMode
    token: str
    """Shown once."""
    expires_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrolledEndpoint:
    session: DeviceSession
    business: BusinessRecord
    mode: EndpointMode
    operator: str


class BusinessEndpoints:
    def __init__(
        self,
        *,
        store: EndpointStore,
        businesses: BusinessStore,
        devices: DeviceStore,
        accounts: EndpointAccounts,
        clock: Clock,
        ids: IdGenerator,
        operator: str,
    ) -> None:
        self._store = store
        self._businesses = businesses
        self._devices = devices
        self._accounts = accounts
        self._clock = clock
        self._ids = ids
        self.operator = operator
        self._by_account: TtlCache[AccountId, tuple[EndpointRecord | None]] = TtlCache(clock, ttl_s=30.0)

    async def issue(self, business: str, mode: str) -> NewEnrolment:
        """A one-time enrolment token (the operator's act)."""
        try:
            wanted = EndpointMode(mode)
        except ValueError:
            raise InvalidInput("mode: hosted or self_run") from None
        token = ENROLMENT_PREFIX + self._ids.token()
        now = self._clock.now_ms()
        record = EnrolmentRecord(
            business=BusinessId(business),
            mode=wanted,
            created_at=now,
            expires_at=Timestamp(now + ENROLMENT_TTL_MS),
        )
        if not await self._store.add_enrolment(record, token_hash=_hash(token)):
            raise NotFound("no such business")
        return NewEnrolment(business=record.business, mode=wanted, token=token, expires_at=record.expires_at)

    async def enrol(self, token: str, device: NewDevice) -> EnrolledEndpoint:
        """The endpoint's device, with a device token; Unauthorized for a bad enrolment token."""
        if not token.startswith(ENROLMENT_PREFIX) or len(token) > 128:
            raise Unauthorized(BAD_ENROLMENT)
        enrolment = await self._store.take_enrolment(_hash(token), now=self._clock.now_ms())
        if enrolment is None:
            raise Unauthorized(BAD_ENROLMENT)
        business = await self._businesses.get_business(enrolment.business)
        if business is None:
            raise Unauthorized(BAD_ENROLMENT)
        session = await self._accounts.enrol_business_device(
            slug=business.slug, display_name=business.profile.name, device=device
        )
        await self._store.set_endpoint(
            EndpointRecord(
                business=business.id,
                account=session.account,
                device=session.device,
                mode=enrolment.mode,
                statement="",
                signature="",
                enrolled_at=self._clock.now_ms(),
            )
        )
        self._by_account.drop(session.account)
        return EnrolledEndpoint(
            session=session, business=business, mode=enrolment.mode, operator=self.operator
        )

    async def state(self, caller: TokenRecord, statement: str, signature: str) -> EndpointRecord:
        """Store the caller's hosting statement, once checked (see the module's rules)."""
        endpoint = await self.by_account(caller.account, fresh=True)
        if endpoint is None or endpoint.device != caller.device:
            raise Forbidden("only a business's current endpoint states how it is hosted")
        parsed = parse_statement(statement)
        if abs(parsed.issued_at - self._clock.now_ms()) > STATEMENT_SKEW_MS:
            raise InvalidInput("statement: issued_at is the time of signing, in milliseconds")
        if parsed.business != endpoint.business or parsed.device != endpoint.device:
            raise InvalidInput("statement: it names another business or device")
        if parsed.operator != self.operator:
            raise InvalidInput(f"statement: the operator of this deployment is {self.operator!r}")
        if parsed.mode != endpoint.mode.value:
            raise Forbidden(
                f"statement: this endpoint was enrolled {endpoint.mode.value}, it cannot say {parsed.mode}"
            )
        device = await self._devices.get_device(DeviceId(caller.device))
        if device is None or not verify_ed25519(device.ed25519, statement.encode(), signature):
            raise InvalidInput("signature: it does not verify against the endpoint's ed25519 key")
        if not await self._store.set_statement(
            endpoint.business, endpoint.device, statement=statement, signature=signature
        ):
            raise Forbidden("only a business's current endpoint states how it is hosted")
        self._by_account.drop(caller.account)
        found = await self._store.endpoint_of(endpoint.business)
        assert found is not None
        return found

    async def of(self, business: BusinessId) -> EndpointRecord | None:
        return await self._store.endpoint_of(business)

    async def all(self) -> list[EndpointRecord]:
        return await self._store.endpoints()

    async def by_account(self, account: AccountId, *, fresh: bool = False) -> EndpointRecord | None:
        """The endpoint whose account this is (None: a person), cached briefly for the send path."""
        if not fresh:
            cached = self._by_account.get(account)
            if cached is not None:
                return cached[0]
        found = await self._store.endpoint_by_account(account)
        self._by_account.put(account, (found,))
        return found
