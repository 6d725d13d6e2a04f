"""Which content features apps declare (docs/protocol.md §4.1, §4.8, §11): this device's own app's,
from ``GET /v1/apps``, and other people's, from their profile (``features``), remembered for the
life of the client."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from passerelle.domain.ids import AccountId
from passerelle.sdk import schema
from passerelle.sdk.errors import SdkError, Unavailable
from passerelle.sdk.rest import RestApi

logger = logging.getLogger(__name__)


class Features:
    def __init__(self, rest: RestApi, *, app: str) -> None:
        self._rest = rest
        self._app = app
        self._apps: dict[str, frozenset[str]] | None = None
        self._people: dict[AccountId, frozenset[str] | None] = {}

    async def apps(self) -> dict[str, frozenset[str]]:
        if self._apps is None:
            answer = await self._rest.call_json("GET", "/v1/apps", schema.Apps)
            self._apps = {a.name: frozenset(a.features) for a in answer.apps}
        return self._apps

    async def mine(self) -> frozenset[str] | None:
        """My app's features; None (show everything) when the server does not list my app.
        Raises Unavailable (the caller retries later)."""
        try:
            return (await self.apps()).get(self._app)
        except Unavailable:
            raise
        except SdkError as exc:
            logger.info("could not read the apps' features (%s); showing every content", exc.code)
            return None

    async def of(self, account: AccountId) -> frozenset[str] | None:
        """The features of ``account``'s app; None when unknown (then a fallback is added)."""
        if account not in self._people:
            try:
                found = await self._rest.profile(account)
            except Unavailable:
                raise
            except SdkError:
                self._people[account] = None
                return None
            if found.features is not None:
                self._people[account] = frozenset(found.features)
            else:
                self._people[account] = (await self.apps()).get(found.app)
        return self._people[account]

    async def lacking(self, accounts: Iterable[AccountId], feature: str) -> bool:
        """True when one of these people's apps may not show ``feature`` (so a fallback is due)."""
        for account in accounts:
            found = await self.of(account)
            if found is None or feature not in found:
                return True
        return False
