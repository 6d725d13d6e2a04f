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
from urllib.parse import quote

from passerelle.domain.business.consent import DEFAULT_STOP_WORDS, is_stop, stop_words
from passerelle.proto.rest.business import ConsentList, ConsentOut, PublicBusiness
from passerelle.sdk.rest import RestApi


def _seg(text: str) -> str:
    return quote(text, safe="")


class BusinessesApi:
    def __init__(self, *, rest: RestApi, words: Mapping[str, Sequence[str]] = DEFAULT_STOP_WORDS) -> None:
        self._rest = rest
        self._words = stop_words(words)

    async def find(self, query: str) -> PublicBusiness:
        """A business by address (``biz:velo-paris``) or display number; ``NotFound`` otherwise."""
        return await self._rest.call_json("GET", "/v1/businesses/lookup", PublicBusiness, params={"q": query})

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
