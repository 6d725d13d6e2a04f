"""``HttpxWebhooks``: the ``WebhookHttp`` port — the handshake's ``GET`` on httpx and the signed
``POST`` of each event on the lean kept-alive connections of ``server.webhook_conn`` (the outbox's
hot path), each bounded as a whole by its timeout, redirects not followed (a callback URL that
moves must be set again, with its handshake).

A webhook a bot registered itself where only public addresses are allowed (``public_only``) is
resolved at each request, refused when its host is or resolves to a non-public address, and reached
at the address checked (``Host`` and the TLS server name stay the URL's): the guard of hosted
endpoints' media links (``endpoint.media.public_address`` and ``pinned``), so a name registered
public cannot be moved to the operator's network later (DNS rebinding)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from passerelle.domain.business.errors import CloudApiError
from passerelle.server.endpoint.media import Resolve, pinned, public_address, system_resolve
from passerelle.server.webhook_conn import Poster
from passerelle.service.business.webhook_ports import HttpAnswer, WebhookHttp

MAX_ANSWER_BYTES = 1024


class HttpxWebhooks:
    def __init__(self, *, max_connections: int, resolve: Resolve = system_resolve) -> None:
        self.resolve = resolve
        """How ``public_only`` requests resolve a host (a test gives its own)."""
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            # As the posts (``Poster``): straight to the bot, never an outbound proxy, and the same
            # trust store (httpx's default, with ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``).
            trust_env=False,
            verify=httpx.create_ssl_context(),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": "passerelle-webhooks"},
        )
        self._poster = Poster(max_connections=max_connections)

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
        sent = dict(headers)
        server_name = None
        async with asyncio.timeout(timeout_s):  # the address's look-up and the request, as a whole
            if public_only:
                url, sent, server_name = await self._pin(url, sent, timeout_s)
            status, head = await self._poster.post(
                url, body, sent, timeout_s=timeout_s, server_name=server_name, keep=MAX_ANSWER_BYTES
            )
        return HttpAnswer(status=status, text=head.decode("utf-8", "replace"))

    async def _pin(
        self, url: str, headers: dict[str, str], timeout_s: float
    ) -> tuple[str, dict[str, str], str | None]:
        """``url`` aimed at the public address its host resolves to now (``OSError`` when it is
        not public), its ``Host`` header and TLS server name."""
        try:
            address = await asyncio.wait_for(public_address(url, resolve=self.resolve), timeout_s)
        except CloudApiError:
            raise OSError("the callback URL is not on a public address") from None
        aimed, host, extensions = pinned(url, address)
        return aimed, {**headers, **host}, extensions.get("sni_hostname") or urlsplit(url).hostname

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
        deadline = asyncio.get_running_loop().time() + timeout_s  # the look-up and the request, as a whole
        if public_only:
            async with asyncio.timeout_at(deadline):
                url, headers, name = await self._pin(url, headers, timeout_s)
            if name is not None and urlsplit(url).scheme == "https":
                extensions = {"sni_hostname": name}
        try:
            async with (
                asyncio.timeout_at(deadline),
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
        await self._poster.aclose()


def _implements_the_port(http: HttpxWebhooks) -> WebhookHttp:
    return http  # mypy checks here that HttpxWebhooks is a WebhookHttp
