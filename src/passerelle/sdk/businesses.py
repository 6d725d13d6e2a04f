"""``client.businesses``: finding a business and keeping one's consents (docs/protocol.md section 15,
docs/business.md).

```python
shop = await client.businesses.find("biz:velo-paris")     # or its number, "+33 1 23 45 67 89"
await client.businesses.opt_in(shop.business_id, "marketing")
await client.send_text(str(shop.account_id), "STOP")       # revokes marketing (source keyword) first
```

Rules
1. Consent changes are the person's own: they take effect at once on every app.
2. The server never reads messages, so a STOP typed to a business is recognised here, on the
   device, against the deployment's stop words, and turned into a revocation with source ``keyword``
   before the message goes (``client.send_text`` does it); a tap on a template's "Stop promotions"
   quick reply is one with source ``button``.
3. The stop words are the server's (``GET /v1/apps``, ``business_stop_words``), read once and kept
   for the life of the client; until they are read, or if the server publishes none, the defaults
   of ``domain.business.consent`` apply. A match is on the whole message, trimmed, with case,
   accents, inner spaces and trailing punctuation folded (``"  Arrêt ! "`` is ``ARRET``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from passerelle.crypto import DeviceCrypto
from passerelle.crypto.errors import BadSignature
from passerelle.crypto.keys import verify_signature
from passerelle.domain.business.consent import DEFAULT_STOP_WORDS, is_stop, stop_words
from passerelle.domain.business.feedback import Described
from passerelle.domain.business.hosting import HostingStatement, parse_statement
from passerelle.domain.business.ids import ADDRESS_APP
from passerelle.domain.errors import InvalidInput as BadStatement
from passerelle.proto.cloud.content import choices, interactive_reply
from passerelle.proto.rest.accounts import Apps
from passerelle.proto.rest.business import (
    BusinessPersonOut,
    BusinessReported,
    ConsentList,
    ConsentOut,
    EndpointConfig,
    EndpointTemplateOut,
    HostingOut,
    PublicBusiness,
    ReportBusiness,
    ReportedKind,
    SetStatement,
)
from passerelle.sdk.commerce import CommerceApi, order_update, shown_products
from passerelle.sdk.errors import InvalidInput, NotFound, SdkError
from passerelle.sdk.events import BusinessMismatchEvent, Contact, Message, SentMessage
from passerelle.sdk.links import LinksApi
from passerelle.sdk.messaging.outbox import new_client_id
from passerelle.sdk.rest import RestApi
from passerelle.sdk.schema import ReplyRef, TextContent

logger = logging.getLogger(__name__)

STOP_PROMOTIONS = "stop promotions"
"""The label of a template's opt-out quick reply (Meta's); a tap on it is a STOP (source ``button``)."""


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _account_of(business: PublicBusiness) -> str:
    if not business.account_id:
        raise NotFound("this business has no endpoint yet")
    return str(business.account_id)


def _reported(d: Described) -> ReportedKind:
    return ReportedKind(kind=d.kind, template=d.template, lang=d.language, category=d.category)


def _seg(text: str) -> str:
    return quote(text, safe="")


@dataclass(frozen=True, slots=True, kw_only=True)
class Hosting:
    """Who runs a business's endpoint, as the endpoint itself signed it (docs/business.md section 4).
    An app shows "hosted by <operator>" when ``mode`` is ``hosted``: the operator could read."""

    business_id: str
    account_id: str
    device_id: str
    mode: str | None
    """``hosted`` or ``self_run`` when the statement verified; None when it did not (or is missing)."""
    operator: str | None
    verified: bool
    problem: str = ""
    """Why ``verified`` is False."""


Send = Callable[..., Awaitable[SentMessage]]


class BusinessesApi:
    def __init__(
        self,
        *,
        rest: RestApi,
        send: Send | None = None,
        now_ms: Callable[[], int] | None = None,
        words: Mapping[str, Sequence[str]] = DEFAULT_STOP_WORDS,
        profile: Callable[[str], Awaitable[Contact]] | None = None,
    ) -> None:
        self._rest = rest
        self._profile = profile
        self._send = send
        self._now = now_ms or (lambda: int(time.time() * 1000))
        self._words = stop_words(words)
        self._published: Mapping[str, Sequence[str]] | None = None
        commerce = CommerceApi(rest)
        # Commerce (sdk/commerce.py): the catalog, orders and payments, as ``client.businesses.…``.
        self.catalogs = commerce.catalogs
        self.products = commerce.products
        self.order = commerce.order
        self.orders = commerce.orders
        self.pay = commerce.pay
        self.confirm_payment = commerce.confirm_payment
        self.payment_request = commerce.payment_request
        self.shown_products = shown_products
        self.order_update = order_update
        self.share_identity = LinksApi(rest).share_identity
        """Be one customer at a business with one's linked accounts (``client.links``), or not."""

    async def find(self, query: str) -> PublicBusiness:
        """A business by address (``biz:velo-paris``) or display number; ``NotFound`` otherwise."""
        return await self._rest.call_json("GET", "/v1/businesses/lookup", PublicBusiness, params={"q": query})

    async def hosting(self, business: PublicBusiness) -> Hosting:
        """Check the business's hosting statement against its endpoint's published identity key
        (the key customers encrypt to): ``mode`` only when the signature, the business and the
        device all agree. NotFound when the business has no endpoint yet."""
        if not business.account_id or not business.endpoint:
            raise NotFound("this business has no endpoint yet")
        account, shown = str(business.account_id), business.endpoint
        assert isinstance(shown, HostingOut)

        def refused(problem: str) -> Hosting:
            return Hosting(
                business_id=business.business_id,
                account_id=account,
                device_id=shown.device_id,
                mode=None,
                operator=None,
                verified=False,
                problem=problem,
            )

        if not shown.statement:
            return refused("the endpoint has not stated how it is hosted")
        devices = {d.device_id: d for d in (await self._rest.devices(account)).devices}
        device = devices.get(shown.device_id)
        if device is None:
            return refused("the statement's device is not one of the business's devices")
        try:
            statement = parse_statement(shown.statement)
            verify_signature(device.ed25519, shown.statement.encode(), shown.signature)
        except (BadStatement, BadSignature) as exc:
            return refused(f"the hosting statement does not verify: {exc}")
        if statement.business != business.business_id or statement.device != shown.device_id:
            return refused("the hosting statement names another business or device")
        if statement.mode != shown.mode:
            return refused("the hosting statement's mode is not the mode the server shows")
        return Hosting(
            business_id=business.business_id,
            account_id=account,
            device_id=shown.device_id,
            mode=statement.mode,
            operator=statement.operator,
            verified=True,
        )

    async def state_hosting(self, crypto: DeviceCrypto, statement: HostingStatement) -> HostingOut:
        """A business endpoint signs its hosting statement and sends it (``enrol_business_endpoint``)."""
        text = statement.text()
        body = SetStatement(statement=text, signature=crypto.sign(text.encode()))
        return await self._rest.call_json("PUT", "/v1/business-endpoint/statement", HostingOut, body=body)

    # -- a business endpoint's own calls (docs/protocol.md section 15.3) ----------------------------

    async def endpoint_config(self) -> EndpointConfig:
        """This device is a business's endpoint: its business, numbers and webhook."""
        return await self._rest.call_json("GET", "/v1/business-endpoint", EndpointConfig)

    async def endpoint_person(self, **query: str) -> BusinessPersonOut:
        """A person's ids at this endpoint's business, by ``account_id``, ``wa_id`` or ``user_id``."""
        return await self._rest.call_json(
            "GET", "/v1/business-endpoint/people", BusinessPersonOut, params=query
        )

    async def endpoint_template(self, waba_id: str, name: str, language: str) -> EndpointTemplateOut:
        """A template of this endpoint's business, to render a send of it (404 when none)."""
        query = {"waba_id": waba_id, "name": name, "language": language}
        return await self._rest.call_json(
            "GET", "/v1/business-endpoint/templates", EndpointTemplateOut, params=query
        )

    async def get(self, business_id: str) -> PublicBusiness:
        return await self._rest.call_json("GET", f"/v1/businesses/{_seg(business_id)}", PublicBusiness)

    async def consents(self) -> ConsentList:
        """My consents now (per business and scope) and every change I made."""
        return await self._rest.call_json("GET", "/v1/me/business-consents", ConsentList)

    async def opt_in(self, business_id: str, scope: str, *, source: str = "sdk") -> ConsentOut:
        path = f"/v1/me/business-consents/{_seg(business_id)}/{_seg(scope)}"
        return await self._rest.call_json("PUT", path, ConsentOut, body={"source": source})

    async def revoke(self, business_id: str, scope: str, *, source: str = "sdk") -> ConsentOut:
        path = f"/v1/me/business-consents/{_seg(business_id)}/{_seg(scope)}"
        return await self._rest.call_json("DELETE", path, ConsentOut, params={"source": source})

    async def stop(self, business_id: str, *, source: str = "keyword") -> ConsentOut:
        """Stop the business's marketing messages (STOP)."""
        return await self.revoke(business_id, "marketing", source=source)

    # -- blocking and reporting (docs/business.md sections 5 and 8) ---------------------------------

    async def block(self, business: PublicBusiness) -> None:
        """Block the business on every app (its account, docs/protocol.md section 9.3): its sends to
        me fail with 131026, and the block counts against its quality."""
        await self._rest.call_empty("PUT", f"/v1/blocks/{_seg(_account_of(business))}")

    async def unblock(self, business: PublicBusiness) -> None:
        await self._rest.call_empty("DELETE", f"/v1/blocks/{_seg(_account_of(business))}")

    async def report(self, business_id: str, reason: str) -> BusinessReported:
        """Report a business: ``spam``, ``scam``, ``offensive``, ``unwanted`` or ``other``; once a day
        per business (``RateLimited`` after). It counts against the business's quality."""
        body = ReportBusiness(reason=reason)
        path = f"/v1/businesses/{_seg(business_id)}/reports"
        return await self._rest.call_json("POST", path, BusinessReported, body=body)

    async def report_mismatch(self, event: BusinessMismatchEvent) -> bool:
        """Tell the server that a business's message was not what its endpoint declared: the
        declared and the observed kind and template only, never the content. The client does this
        by itself before it hands the app a ``BusinessMismatchEvent``. False when the sender is not
        a business's account (a person's envelope may carry a ``biz`` member: nothing to report);
        the report itself is best effort (already reported today, offline: logged)."""
        try:
            business = await self._business_of(event.sender)
        except SdkError as exc:
            logger.info("could not check a mismatched message's sender (%s)", exc.code)
            return False
        if business is None:
            return False
        logger.warning("a business's message did not match its declaration: %s", event.problem)
        body = ReportBusiness(
            reason="mismatch", declared=_reported(event.declared), observed=_reported(event.observed)
        )
        try:
            await self._rest.call_json(
                "POST", f"/v1/businesses/{_seg(business)}/reports", BusinessReported, body=body
            )
        except SdkError as exc:
            logger.info("could not report a business's mismatch (%s)", exc.code)
        return True

    # -- answering a business's messages (docs/business.md section 6) -------------------------------

    def choices(self, message: Message) -> dict[str, str]:
        """The buttons or list rows of a business's interactive message: id → title."""
        return {k: v[1] for k, v in choices(message.cloud).items()}

    async def tap(self, message: Message, choice_id: str) -> SentMessage:
        """Answer a business's buttons or list with the one of id ``choice_id``: its bot gets a
        ``button_reply`` / ``list_reply`` with that id, in reply to ``message``."""
        found = choices(message.cloud).get(choice_id)
        if found is None:
            raise InvalidInput(f"this message has no button or row {choice_id[:64]!r}")
        kind, title, description = found
        if kind == "button" and (_fold(title) == STOP_PROMOTIONS or self.is_stop(title)):
            business = await self._business_of(message.sender)  # "Stop promotions": before the tap goes
            if business is not None:
                await self.stop(business, source="button")
        content = TextContent(
            id=new_client_id(),
            ts=self._now(),
            body=title,
            in_reply_to=ReplyRef(id=message.client_id, sender=message.sender, quote=message.text[:80]),
            cloud=interactive_reply(kind, choice_id, title, description),
        )
        return await self._sender()(message.sender, content)

    async def share_location(
        self, business_account: str, latitude: float, longitude: float, *, name: str = "", address: str = ""
    ) -> SentMessage:
        """Send a place to a business (its bot gets a ``location`` message)."""
        place: dict[str, object] = {"latitude": latitude, "longitude": longitude}
        if name:
            place["name"] = name
        if address:
            place["address"] = address
        text = "📍 " + ", ".join(p for p in (name, address) if p) + f" ({latitude}, {longitude})"
        content = TextContent(
            id=new_client_id(), ts=self._now(), body=text, cloud={"type": "location", "location": place}
        )
        return await self._sender()(business_account, content)

    async def share_contact(self, business_account: str, name: str, phone: str) -> SentMessage:
        """Send a contact card to a business (its bot gets a ``contacts`` message)."""
        card = {"name": {"formatted_name": name}, "phones": [{"phone": phone}]}
        content = TextContent(
            id=new_client_id(),
            ts=self._now(),
            body=f"👤 {name} {phone}",
            cloud={"type": "contacts", "contacts": [card]},
        )
        return await self._sender()(business_account, content)

    def _sender(self) -> Send:
        if self._send is None:
            raise InvalidInput("this BusinessesApi cannot send (build it from a Client)")
        return self._send

    async def stop_words(self) -> Mapping[str, Sequence[str]]:
        """The deployment's stop words per language, read from the server once."""
        if self._published is None:
            try:
                answer = await self._rest.call_json("GET", "/v1/apps", Apps)
            except SdkError:  # offline: the defaults until the words can be read
                return DEFAULT_STOP_WORDS
            self._published = answer.business_stop_words
            if self._published:
                self._words = stop_words(self._published)
        return self._published or DEFAULT_STOP_WORDS

    async def stop_before_sending(self, account_id: str, text: str) -> bool:
        """Rule 2: ``text`` is about to be sent to ``account_id``; when that is a business's account
        and the text a stop word, the business's marketing is revoked (source ``keyword``) first.
        True when it was."""
        if not await self.is_stop_word(text):
            return False
        business = await self._business_of(account_id)
        if business is None:
            return False
        await self.stop(business, source="keyword")
        return True

    async def _business_of(self, account_id: str) -> str | None:
        """The business whose network account this is (None for a person's)."""
        if self._profile is None:
            return None
        try:
            contact = await self._profile(account_id)
        except NotFound:
            return None
        if contact.app != ADDRESS_APP or not contact.address:
            return None
        return (await self.find(contact.address)).business_id

    async def is_stop_word(self, text: str) -> bool:
        """Whether a message typed to a business is one of the deployment's stop words (the whole
        message), reading them from the server the first time."""
        await self.stop_words()
        return is_stop(text, self._words)

    def is_stop(self, text: str) -> bool:
        """The same, on the words read so far (the defaults until ``stop_words`` ran)."""
        return is_stop(text, self._words)
