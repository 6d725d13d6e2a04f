"""``HttpxWebhooks``: the ``WebhookHttp`` port on httpx — the handshake's ``GET`` and the signed
``POST`` of each event, each bounded as a whole by its timeout, redirects not followed (a callback
URL that moves must be set again, with its handshake)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from passerelle.service.business.webhook_ports import HttpAnswer, WebhookHttp

MAX_ANSWER_BYTES = 1024


class HttpxWebhooks:
    def __init__(self, *, max_connections: int) -> None:
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": "passerelle-webhooks"},
        )

    async def get(self, url: str, params: Mapping[str, str], *, timeout_s: float) -> HttpAnswer:
        return await self._send("GET", url, timeout_s, params=dict(params))

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, timeout_s: float
    ) -> HttpAnswer:
        return await self._send("POST", url, timeout_s, content=body, headers=dict(headers))

    async def _send(self, method: str, url: str, timeout_s: float, **kwargs: object) -> HttpAnswer:
        try:
            async with (
                asyncio.timeout(timeout_s),
                self._client.stream(method, url, timeout=timeout_s, **kwargs) as response,  # type: ignore[arg-type]
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
