"""Businesses in ``passerelle chat``: find one, see its profile, and keep one's consents — the same
ledger every app shows, changed for every app at once (docs/business.md section 8).

    /business ADDRESS|NUMBER     a business's profile (and who runs its endpoint, hosted or the
                                 business itself): biz:velo-paris, or +33 1 23 45 67 89
    /optin ADDRESS SCOPE         let it start conversations with you: marketing, utility, authentication
    /optout ADDRESS SCOPE        take that back (marketing: the same as typing STOP to it)
    /consents                    your consents now, and every change you made

Changes made here are recorded with the source ``cli``. A failure (an unknown business or scope)
is the SDK's error, shown by the session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text

from passerelle.cli.chat.view import when
from passerelle.domain.business.consent import ConsentSource, Scope
from passerelle.proto.rest.business import PublicBusiness
from passerelle.sdk import Client

SCOPES = tuple(s.value for s in Scope)
USAGE = f"usage: /optin ADDRESS SCOPE, /optout ADDRESS SCOPE (SCOPE: {', '.join(SCOPES)})"
LEDGER_SHOWN = 20
"""The last changes /consents prints (the ledger itself is the server's, bounded there)."""


class BusinessCommands:
    def __init__(self, client: Client, say: Callable[[str | Text], None]) -> None:
        self.client = client
        self.say = say
        self._names: dict[str, str] = {}

    def commands(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {
            "/business": self.business,
            "/optin": self.opt_in,
            "/optout": self.opt_out,
            "/consents": self.consents,
        }

    async def business(self, arg: str) -> None:
        if not arg:
            self.say(Text("usage: /business biz:NAME, or /business +33 1 23 45 67 89", style="yellow"))
            return
        found = await self.client.businesses.find(arg)
        self._names[found.business_id] = found.name
        title = Text.assemble(Text(found.name, style="bold"), f"  {found.address}")
        if found.verified:
            title.append("  ✓ verified", style="green")
        self.say(title)
        for label, value in (
            ("about", found.about),
            ("category", found.category),
            ("website", found.website),
            ("e-mail", found.email),
            ("numbers", ", ".join(found.numbers)),
        ):
            if value:
                self.say(Text(f"  {label:<9}{value}"))
        self.say(await self._who_reads(found))
        mine = [
            c
            for c in (await self.client.businesses.consents()).consents
            if c.business_id == found.business_id
        ]
        given = ", ".join(f"{c.scope} {c.state}" for c in mine) or "none"
        self.say(Text(f"  consents {given} (/optin {found.address} marketing)", style="dim"))

    async def _who_reads(self, found: PublicBusiness) -> Text:
        """Who runs the business's endpoint, from the statement it signed (docs/business.md 4)."""
        if not found.account_id or not found.endpoint:
            return Text("  no endpoint yet: nobody can write to it", style="yellow")
        hosting = await self.client.businesses.hosting(found)
        if not hosting.verified:
            return Text(f"  ⚠ its endpoint's statement does not verify: {hosting.problem}", style="red")
        if hosting.mode == "hosted":
            return Text(
                f"  hosted by {hosting.operator}: that operator's endpoint can read what you write to it",
                style="yellow",
            )
        return Text("  end to end: the business runs its own endpoint", style="green")

    async def opt_in(self, arg: str) -> None:
        await self._change(arg, granted=True)

    async def opt_out(self, arg: str) -> None:
        await self._change(arg, granted=False)

    async def _change(self, arg: str, *, granted: bool) -> None:
        query, _, scope = arg.strip().rpartition(" ")  # the address may be a number with spaces
        scope = scope.lower()
        if not query.strip() or scope not in SCOPES:
            self.say(Text(USAGE, style="yellow"))
            return
        found = await self._find(query.strip())
        businesses = self.client.businesses
        if granted:
            await businesses.opt_in(found.business_id, scope, source=ConsentSource.CLI.value)
            self.say(f"✓ {found.name} may send you {scope} messages (on every app; /optout to stop)")
        else:
            await businesses.revoke(found.business_id, scope, source=ConsentSource.CLI.value)
            self.say(f"✓ {found.name} no longer sends you {scope} messages (on every app)")

    async def consents(self, arg: str) -> None:
        del arg
        listed = await self.client.businesses.consents()
        if not listed.consents:
            self.say("You gave no business consent. /business biz:NAME shows one; /optin to give one.")
            return
        self.say("Your consents to businesses (for every app):")
        for c in listed.consents:
            self.say(
                Text(f"  {await self._name(c.business_id)}: {c.scope} {c.state} ({c.source}, {when(c.at)})")
            )
        self.say(Text("Changes, latest last:", style="dim"))
        for c in listed.ledger[-LEDGER_SHOWN:]:
            line = f"  {when(c.at)}  {await self._name(c.business_id)}: {c.scope} {c.state} ({c.source})"
            self.say(Text(line, style="dim"))

    async def _find(self, query: str) -> PublicBusiness:
        found = await self.client.businesses.find(query)
        self._names[found.business_id] = found.name
        return found

    async def _name(self, business_id: str) -> str:
        if business_id not in self._names:
            self._names[business_id] = (await self.client.businesses.get(business_id)).name
        return self._names[business_id]
