"""``client.businesses``: finding a business and keeping one's consents (docs/protocol.md section 15,
docs/business.md).

```python
shop = await client.businesses.find("biz:velo-paris")     # or its number, "+33 1 23 45 67 89"
await client.businesses.opt_in(shop.business_id, "marketing")
if client.businesses.is_stop(text):                        # "STOP", "Arrêt", … typed to a business
    await client.businesses.stop(shop.business_id)         # before the message goes out
```

Rules
1. Consent changes are the person's own: they take effect at once on every app.
2. The server never reads messages, so a STOP typed to a business is recognised here, on the
   device, against the deployment's stop words, and turned into a revocation with source ``keyword``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from passerelle.crypto import DeviceCrypto
from passerelle.crypto.errors import BadSignature
from passerelle.crypto.keys import verify_signature
from passerelle.domain.business.consent import DEFAULT_STOP_WORDS, is_stop, stop_words
from passerelle.domain.business.hosting import HostingStatement, parse_statement
from passerelle.domain.errors import InvalidInput as BadStatement
from passerelle.proto.rest.business import (
    ConsentList,
    ConsentOut,
    HostingOut,
    PublicBusiness,
    SetStatement,
)
from passerelle.sdk.errors import NotFound
from passerelle.sdk.rest import RestApi


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


class BusinessesApi:
    def __init__(self, *, rest: RestApi, words: Mapping[str, Sequence[str]] = DEFAULT_STOP_WORDS) -> None:
        self._rest = rest
        self._words = stop_words(words)

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

    def is_stop(self, text: str) -> bool:
        """Whether a message typed to a business is a STOP word (the whole message)."""
        return is_stop(text, self._words)
