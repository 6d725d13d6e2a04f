"""Who people are (app, display name, address): from a lookup by address or a profile by account
id, kept in the local store. A person who writes to this device before it ever looked them up is
fetched in the background (a job), never on the path that delivers the message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial

from passerelle.domain.ids import AccountId, AppName
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.errors import ProtocolViolation, RateLimited, SdkError, Unavailable
from passerelle.sdk.events import Contact, Message
from passerelle.sdk.schema import Found

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Learning:
    """Finding out who a sender is: ``done`` gets their contact, or None when it could not be had."""

    done: asyncio.Future[Contact | None]
    started: bool = False


class ContactBook:
    """Who people are, from lookups and profiles, cached in the local store."""

    def __init__(self, ctx: SdkContext) -> None:
        self._rest = ctx.rest
        self._store = ctx.store
        self._me = ctx.me.account_id
        self._schedule = ctx.link.schedule
        self._learning: dict[AccountId, _Learning] = {}
        """Senders this client set out to learn about since it started (one profile fetch each)."""

    async def lookup(self, address: str) -> Contact:
        return await self._remember(await self._rest.lookup(address))

    async def profile(self, account: AccountId) -> Contact:
        found = await self._rest.profile(account)
        if found.account_id != account:
            raise ProtocolViolation(f"asked who {account} is, the server answered about someone else")
        return await self._remember(found)

    async def get(self, account: AccountId) -> Contact | None:
        """The stored contact; for a sender still being learnt about, once that is settled."""
        contact = await self._store.contact(account)
        if contact is None and account in self._learning:
            return await self._learn(account)
        return contact

    def heard_from(self, message: Message) -> None:
        """A message was stored: if its sender was never learnt about here, fetch who they are in the
        background. Runs in the reader (a dispatcher callback), so it only schedules."""
        sender = message.sender
        if message.outgoing or sender == self._me or sender in self._learning:
            return
        self._learning[sender] = _Learning(done=asyncio.get_running_loop().create_future())
        self._schedule(partial(self._learn, sender))

    async def _learn(self, account: AccountId) -> Contact | None:
        """Run once per sender, by the background job or by the first ``get`` (whichever comes
        first); a second caller waits for the first one's answer."""
        learning = self._learning.get(account)
        if learning is None:  # given up after a failure; the sender's next message tries again
            return None
        if learning.started:
            return await asyncio.shield(learning.done)
        learning.started = True
        contact: Contact | None = None
        try:
            contact = await self._store.contact(account) or await self.profile(account)
        except SdkError as exc:
            logger.info("could not learn who a sender is (%s)", exc.code)
            if isinstance(exc, Unavailable | RateLimited):
                del self._learning[account]
        except BaseException:  # cancelled (the client is closing): a later message tries again
            self._learning.pop(account, None)
            raise
        finally:
            learning.done.set_result(contact)
        return contact

    async def _remember(self, found: Found) -> Contact:
        contact = Contact(
            account_id=AccountId(found.account_id),
            app=AppName(found.app),
            display_name=found.display_name,
            address=found.address,
        )
        await self._store.put_contact(contact)
        return contact
