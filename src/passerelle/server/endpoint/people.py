"""The people a business endpoint talks to: their records (account id, ``wa_id``, ``user_id``) and
display names, read from the server and kept in bounded maps.

A person who linked accounts and shares them with the business is one customer: the server answers
the same ids for each linked account. A reply to those ids goes to the account the person last wrote
or ordered from: the server says which (its answer is ``linked``), asked again before each reply to
a linked customer, since an order reaches the bot from the server and never passes here. A record
is read again after ``PERSON_TTL_S``, so a share or an unlink reaches the endpoint's messages within
that time."""

from __future__ import annotations

import time

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.ids import AccountId
from passerelle.proto.cloud.checks import CheckedMessage
from passerelle.proto.rest.business import BusinessPersonOut
from passerelle.sdk import Client
from passerelle.sdk.errors import NotFound, SdkError
from passerelle.server.endpoint.state import Lru

PERSON_TTL_S = 60.0


class People:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._ids: Lru[AccountId, tuple[BusinessPersonOut, float]] = Lru()
        self._by_wa: Lru[str, BusinessPersonOut] = Lru()
        self._by_user: Lru[str, BusinessPersonOut] = Lru()
        self._names: Lru[AccountId, str] = Lru()

    async def recipient(self, checked: CheckedMessage) -> BusinessPersonOut:
        """Whom a bot's message goes to (``to`` or ``recipient``); 131026 for nobody."""
        if checked.recipient is not None:
            found = self._by_user.get(checked.recipient)
            query = {"user_id": checked.recipient}
        else:
            assert checked.to is not None
            found = self._by_wa.get(checked.to)
            query = {"wa_id": checked.to}
        if found is not None and not found.linked:
            return found
        # a linked customer: the server knows which of their accounts last wrote or ordered
        try:
            person = await self.client.businesses.endpoint_person(**query)
        except NotFound:
            raise CloudApiError(
                Failure.UNDELIVERABLE, "No person with this id has a conversation with this business."
            ) from None
        self.remember(person)
        return person

    def remember(self, person: BusinessPersonOut) -> None:
        self._ids.put(AccountId(person.account_id), (person, time.monotonic()))
        self._by_wa.put(person.wa_id, person)
        self._by_user.put(person.user_id, person)

    async def person(self, account: AccountId, *, wrote: bool = True) -> BusinessPersonOut:
        """The person writing (or reacting) from ``account``: their ids now reach it. ``wrote=False``
        (a delivery or read receipt) leaves the ids where the person last wrote from: a linked
        device that merely received a message does not take the conversation over."""
        known = self._ids.get(account)
        if known is not None and time.monotonic() - known[1] < PERSON_TTL_S:
            found = known[0]
        else:
            found = await self.client.businesses.endpoint_person(account_id=account)
            self._ids.put(AccountId(found.account_id), (found, time.monotonic()))
        if wrote or self._by_wa.get(found.wa_id) is None:
            self._by_wa.put(found.wa_id, found)
            self._by_user.put(found.user_id, found)
        return found

    async def name(self, account: AccountId) -> str:
        """The person's display name, as their own app shows it."""
        name = self._names.get(account)
        if name is None:
            try:
                name = (await self.client.profile(account)).display_name
            except SdkError:
                name = ""
            self._names.put(account, name)
        return name
