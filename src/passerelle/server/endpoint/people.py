"""The people a business endpoint talks to: their records (account id, ``wa_id``, ``user_id``) and
display names, read from the server once and kept in bounded maps."""

from __future__ import annotations

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.ids import AccountId
from passerelle.proto.cloud.checks import CheckedMessage
from passerelle.proto.rest.business import BusinessPersonOut
from passerelle.sdk import Client
from passerelle.sdk.errors import NotFound, SdkError
from passerelle.server.endpoint.state import Lru


class People:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._ids: Lru[AccountId, BusinessPersonOut] = Lru()
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
        if found is not None:
            return found
        try:
            person = await self.client.businesses.endpoint_person(**query)
        except NotFound:
            raise CloudApiError(
                Failure.UNDELIVERABLE, "No person with this id has a conversation with this business."
            ) from None
        self.remember(person)
        return person

    def remember(self, person: BusinessPersonOut) -> None:
        self._ids.put(AccountId(person.account_id), person)
        self._by_wa.put(person.wa_id, person)
        self._by_user.put(person.user_id, person)

    async def person(self, account: AccountId) -> BusinessPersonOut:
        found = self._ids.get(account)
        if found is None:
            found = await self.client.businesses.endpoint_person(account_id=account)
            self.remember(found)
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
