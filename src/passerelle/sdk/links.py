"""``client.links``: link one's own accounts on several apps, and be one customer at a business
with them (docs/protocol.md section 16, docs/business.md section 3.1).

    code = (await on_photo.links.request()).code      # on one app ...
    await on_chat.links.take(code)                    # ... taken on another: both accounts agreed
    await on_chat.businesses.share_identity(shop.business_id, True)
"""

from __future__ import annotations

from urllib.parse import quote

from passerelle.proto.rest.links import LinkRequestOut, MyLinksOut
from passerelle.sdk.rest import RestApi


def _seg(text: str) -> str:
    return quote(text, safe="")


class LinksApi:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def request(self) -> LinkRequestOut:
        """A one-time code (10 minutes) for another of one's accounts to take."""
        return await self._rest.call_json("POST", "/v1/me/links/requests", LinkRequestOut)

    async def take(self, code: str) -> MyLinksOut:
        """Link this account with the one that made ``code``."""
        return await self._rest.call_json("POST", "/v1/me/links", MyLinksOut, body={"code": code})

    async def mine(self) -> MyLinksOut:
        return await self._rest.call_json("GET", "/v1/me/links", MyLinksOut)

    async def unlink(self, account_id: str) -> MyLinksOut:
        return await self._rest.call_json("DELETE", f"/v1/me/links/{_seg(account_id)}", MyLinksOut)

    async def share_identity(self, business_id: str, shared: bool) -> MyLinksOut:
        """Be one customer at the business with every linked account (``True``), or not."""
        return await self._rest.call_json(
            "PUT", f"/v1/me/links/businesses/{_seg(business_id)}", MyLinksOut, body={"shared": shared}
        )
