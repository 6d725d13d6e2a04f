"""``BusinessTraffic``: where the send path meets the business rules (docs/business.md section 5).

The messaging service asks it about every direct send between two accounts (one cached read when
neither is a business):
- a business endpoint's send to a person must carry its declaration (``biz``), which
  ``BusinessSends.admit`` judges (a ``CloudApiError`` refuses it); a business does not write to
  another business;
- a declaration from anything but that business's current endpoint device is refused;
- a person's send to a business opens the business's window with that person (``note_inbound``),
  unless the business blocked the person (refused: the business does not take their messages).
"""

from __future__ import annotations

from typing import Protocol

from passerelle.domain.business.ids import ADDRESS_APP, BusinessId
from passerelle.domain.errors import Forbidden, InvalidInput
from passerelle.domain.ids import AccountId, DeviceId
from passerelle.proto.frames import DeliveredBiz
from passerelle.service.business.endpoint_ports import EndpointRecord, EndpointStore
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.sends import BusinessSends, DeclaredSend, PersonBlocked
from passerelle.service.caches import TtlCache
from passerelle.service.ports import Clock
from passerelle.service.records import AccountRecord

NOT_AN_ENDPOINT = "only a business's endpoint declares business metadata (biz)"
UNDECLARED = "a business endpoint declares each send to a person (biz: number, kind, wamid)"


class Accounts(Protocol):
    async def get_account(self, account: AccountId) -> AccountRecord | None: ...


class Hides(Protocol):
    async def hides(self, target: AccountId, viewer: AccountId) -> bool:
        """True when ``target`` blocked ``viewer``."""
        ...


def person_blocked_by(endpoints: EndpointStore, safety: Hides) -> PersonBlocked:
    """``BusinessSends``' check of the person's own block of the business's account (section 9.3 of
    docs/protocol.md, aimed at the business): the same block on every app."""

    async def blocked(business: BusinessId, person: AccountId) -> bool:
        endpoint = await endpoints.endpoint_of(business)
        return endpoint is not None and await safety.hides(person, endpoint.account)

    return blocked


class BusinessTraffic:
    def __init__(
        self,
        *,
        endpoints: EndpointStore,
        businesses: BusinessStore,
        sends: BusinessSends,
        accounts: Accounts,
        clock: Clock,
    ) -> None:
        self._endpoints = endpoints
        self._businesses = businesses
        self._sends = sends
        self._accounts = accounts
        self._apps: TtlCache[AccountId, str] = TtlCache(clock, ttl_s=300.0)
        self._by_account: TtlCache[AccountId, tuple[EndpointRecord | None]] = TtlCache(clock, ttl_s=10.0)

    async def check_send(
        self, sender: AccountRecord, device: DeviceId, other: AccountId, declared: DeclaredSend | None
    ) -> DeliveredBiz | None:
        """Refuse (``CloudApiError``, ``Forbidden``, ``InvalidInput``) or let the send go; a person's
        message to a business is noted for the window (call it only once the send is otherwise valid).
        A business's admitted send returns what its envelopes carry to the person (``biz``: the
        declaration, with the template's category from the server's record)."""
        if sender.app == ADDRESS_APP:
            endpoint = await self._endpoint(sender.id)
            if declared is not None and (endpoint is None or endpoint.device != device):
                raise Forbidden(NOT_AN_ENDPOINT)
            if endpoint is None:
                return None  # a business account without an endpoint has no device that could send
            if await self._app(other) == ADDRESS_APP:
                raise Forbidden("a business writes to people, not to another business")
            if declared is None:
                raise InvalidInput(UNDECLARED)
            category = await self._sends.admit(business=endpoint.business, person=other, declared=declared)
            return DeliveredBiz(
                kind=declared.kind,
                wamid=declared.wamid,
                template=declared.template,
                lang=declared.language,
                category=category,
            )
        if declared is not None:
            raise Forbidden(NOT_AN_ENDPOINT)
        if await self._app(other) != ADDRESS_APP:
            return None
        business = await self._endpoint(other)
        if business is None:
            return None
        if await self._businesses.is_blocked_by_business(business.business, sender.id):
            raise Forbidden("this business does not take your messages")
        await self._sends.note_inbound(business=business.business, person=sender.id)
        return None

    async def endpoint_send_rate(self, account: AccountId) -> float | None:
        """The per-device send rate of ``account``'s business endpoint, sized from its business's
        numbers: ``business_sends_per_second`` for each (their buckets bound it anyway, rule 6 of
        docs/business.md section 5). None: not a business endpoint's account, or that bucket is
        off (the person limit applies)."""
        per_number = self._sends.sends_per_number
        if per_number <= 0:
            return None
        endpoint = await self._endpoint(account)
        if endpoint is None:
            return None
        numbers = await self._businesses.numbers_of(endpoint.business)
        return per_number * max(1, len(numbers))

    def between_people(self, sender: AccountRecord, other: AccountId, declared: DeclaredSend | None) -> bool:
        """True when the cache alone shows that ``check_send`` would let this send go with nothing
        to note: a person's undeclared send to a person (the send path's case that needs no wait).
        False: ask ``check_send``."""
        if sender.app == ADDRESS_APP or declared is not None:
            return False
        app = self._apps.get(other)
        return app is not None and app != ADDRESS_APP

    async def _app(self, account: AccountId) -> str:
        app = self._apps.get(account)
        if app is None:
            record = await self._accounts.get_account(account)
            app = "" if record is None else record.app
            self._apps.put(account, app)
        return app

    async def _endpoint(self, account: AccountId) -> EndpointRecord | None:
        cached = self._by_account.get(account)
        if cached is None:
            cached = (await self._endpoints.endpoint_by_account(account),)
            self._by_account.put(account, cached)
        return cached[0]
