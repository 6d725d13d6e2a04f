"""``HttpxWebhooks``: the ``WebhookHttp`` port on httpx — the handshake's ``GET`` and the signed
``POST`` of each event, each bounded as a whole by its timeout, redirects not followed (a callback
URL that moves must be set again, with its handshake).

A webhook a bot registered itself where only public addresses are allowed (``public_only``) is
resolved at each request, refused when its host is or resolves to a non-public address, and reached
at the address checked (``Host`` and the TLS server name stay the URL's): the guard of hosted
endpoints' media links (``endpoint.media.public_address`` and ``pinned``), so a name registered
public cannot be moved to the operator's network later (DNS rebinding)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from passerelle.domain.business.errors import CloudApiError
from passerelle.server.endpoint.media import Resolve, pinned, public_address, system_resolve
from passerelle.service.business.webhook_ports import HttpAnswer, WebhookHttp

MAX_ANSWER_BYTES = 1024


class HttpxWebhooks:
    def __init__(self, *, max_connections: int, resolve: Resolve = system_resolve) -> None:
        self.resolve = resolve
        """How ``public_only`` requests resolve a host (a test gives its own)."""
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": "passerelle-webhooks"},
        )

    async def get(
        self, url: str, params: Mapping[str, str], *, timeout_s: float, public_only: bool = False
    ) -> HttpAnswer:
        return await self._send("GET", url, timeout_s, public_only, {}, params=dict(params))

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        public_only: bool = False,
    ) -> HttpAnswer:
        return await self._send("POST", url, timeout_s, public_only, dict(headers), content=body)

    async def _send(
        self,
        method: str,
        url: str,
        timeout_s: float,
        public_only: bool,
        headers: dict[str, str],
        **kwargs: object,
    ) -> HttpAnswer:
        extensions: dict[str, str] = {}
        if public_only:
            try:
                address = await asyncio.wait_for(public_address(url, resolve=self.resolve), timeout_s)
            except CloudApiError:
                raise OSError("the callback URL is not on a public address") from None
            url, host, extensions = pinned(url, address)
            headers = {**headers, **host}
        try:
            async with (
                asyncio.timeout(timeout_s),
                self._client.stream(
                    method,
                    url,
                    timeout=timeout_s,
                    headers=headers,
                    extensions=extensions,
                    **kwargs,  # type: ignore[arg-type]
                ) as response,
            ):
                head = b""
                async for chunk in response.aiter_bytes():  # only the start of the answer is read
                    head += chunk
                    if len(head) >= MAX_ANSWER_BYTES:
                        break
        except httpx.TimeoutException:
            raise TimeoutError(f"no answer within {timeout_s} s") from None
        except httpx.HTTPError as exc:
            raise OSError(type(exc).__name__) from None
        text = head[:MAX_ANSWER_BYTES].decode("utf-8", "replace")
        return HttpAnswer(status=response.status_code, text=text)

    async def aclose(self) -> None:
        await self._client.aclose()


def _implements_the_port(http: HttpxWebhooks) -> WebhookHttp:
    return http  # mypy checks here that HttpxWebhooks is a WebhookHttp
