"""The self-run endpoint's HTTP API for its bot (docs/business.md section 6): the Graph-style paths
(optional ``/v<major>.<minor>`` prefix) at one base URL. ``POST /{phone_number_id}/messages`` is
served here (the endpoint encrypts); every other Graph call is forwarded to the server with the
bot's own token and answered with the server's answer, so a bot points one base URL here.

The bot's token is checked by the server, the one place that knows tokens: the endpoint asks
``GET /{phone_number_id}`` with it and keeps a yes for a minute (bounded), so a revoked token stops
working within that minute.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.errors import DomainError
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.sdk.errors import SdkError
from passerelle.server.body_limit import BodyLimit
from passerelle.server.endpoint.core import Endpoint
from passerelle.server.endpoint.media_http import MEDIA_UPLOAD_PATH, download, download_url, read_upload
from passerelle.server.endpoint.state import Lru
from passerelle.server.graph import JSON, GraphPaths, error_of, graph_error, too_large

log = logging.getLogger("passerelle.endpoint.http")

AUTH_TTL_S = 60.0
MAX_BODY_BYTES = 256 * 1024
FORWARDED_HEADERS = ("content-type",)


def bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return request.query_params.get("access_token", "").strip()
    return token.strip()


class ServerTokens:
    """Checks a bot's token for a number by asking the server (``GET /{phone_number_id}``)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._ok: Lru[tuple[str, str], float] = Lru()

    async def check(self, number: str, token: str) -> Response | None:
        """None when the token may use the number, else the server's Graph error to answer."""
        key = (hashlib.sha256(token.encode()).hexdigest(), number)
        until = self._ok.get(key)
        if until is not None and until > time.monotonic():
            return None
        if not token:
            raise CloudApiError(Failure.BAD_TOKEN)
        answer = await self._http.get(f"/{number}", headers={"Authorization": f"Bearer {token}"})
        if answer.status_code == 200:
            self._ok.put(key, time.monotonic() + AUTH_TTL_S)
            return None
        return Response(answer.content, status_code=answer.status_code, media_type=JSON)


class EndpointHttp:
    def __init__(
        self,
        endpoint: Endpoint,
        http: httpx.AsyncClient,
        on_webhook: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``http``: a client whose base URL is the server's; ``on_webhook``: called once the server
        took a bot's registration of its webhook (the endpoint reads its configuration again)."""
        self._endpoint = endpoint
        self._http = http
        self._on_webhook = on_webhook
        self._tokens = ServerTokens(http)

    def app(self) -> ASGIApp:
        graph = Starlette(
            routes=[
                Route("/{object_id}/messages", self.messages, methods=["POST"]),
                Route("/{object_id}/media", self.upload, methods=["POST"]),
                Route("/{object_id}/file", self.file, methods=["GET"]),
                Route("/{object_id}", self.get_object, methods=["GET"]),
                Route("/{object_id}", self.delete_object, methods=["DELETE"]),
                Route("/{rest:path}", self.forward, methods=["GET", "POST", "DELETE"]),
            ]
        )
        return BodyLimit(
            GraphPaths(_not_graph, graph=graph),
            max_bytes=MAX_BODY_BYTES,
            exempt_paths=MEDIA_UPLOAD_PATH,
            refusal=too_large,
        )

    async def messages(self, request: Request) -> Response:
        return await _graph(self._messages, request)

    async def _messages(self, request: Request) -> Response:
        number = request.path_params["object_id"]
        refused = await self._tokens.check(number, bearer(request))
        if refused is not None:
            return refused
        body = await self._endpoint.messages(number, await request.body())
        return Response(body, media_type=JSON)

    async def upload(self, request: Request) -> Response:
        return await _graph(self._upload, request)

    async def _upload(self, request: Request) -> Response:
        number = request.path_params["object_id"]
        refused = await self._tokens.check(number, bearer(request))
        if refused is not None:
            return refused
        if number not in {n.phone_number_id for n in self._endpoint.numbers()}:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, f"Unknown phone number id {number[:32]!r}.")
        async with self._endpoint.media_slots:
            form, upload = await read_upload(request)
            try:
                body = await self._endpoint.upload(
                    messaging_product=form.messaging_product,
                    mime=form.mime,
                    file=form.file,
                    size=form.size,
                    filename=form.filename,
                    ttl_minutes=form.ttl_minutes,
                )
            finally:
                if upload is not None:
                    await upload.close()
        return Response(body, media_type=JSON)

    async def _media_caller(self, request: Request) -> Response | None:
        """A media call has no number in its path: the token must be one of this business's, which
        the server says for the endpoint's first number."""
        numbers = self._endpoint.numbers()
        if not numbers:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, "This business has no phone number.")
        return await self._tokens.check(numbers[0].phone_number_id, bearer(request))

    async def get_object(self, request: Request) -> Response:
        media_id = request.path_params["object_id"]
        if not self._endpoint.media.has(media_id):
            return await self.forward(request)
        return await _graph(self._media_info, request)

    async def _media_info(self, request: Request) -> Response:
        refused = await self._media_caller(request)
        if refused is not None:
            return refused
        media_id = request.path_params["object_id"]
        return Response(self._endpoint.media_info(media_id, download_url(request, media_id)), media_type=JSON)

    async def delete_object(self, request: Request) -> Response:
        return await _graph(self._delete_object, request)

    async def _delete_object(self, request: Request) -> Response:
        refused = await self._media_caller(request)
        if refused is not None:
            return refused
        return Response(await self._endpoint.delete_media(request.path_params["object_id"]), media_type=JSON)

    async def file(self, request: Request) -> Response:
        return await _graph(self._file, request)

    async def _file(self, request: Request) -> Response:
        refused = await self._media_caller(request)
        if refused is not None:
            return refused
        return await download(self._endpoint.media, request.path_params["object_id"])

    async def forward(self, request: Request) -> Response:
        return await _graph(self._forward, request)

    async def _forward(self, request: Request) -> Response:
        headers = {"Authorization": request.headers.get("authorization", "")}
        if "content-type" in request.headers:
            headers["Content-Type"] = request.headers["content-type"]
        answer = await self._http.request(
            request.method,
            request.url.path,
            params=request.query_params,
            content=await request.body(),
            headers=headers,
        )
        if answer.status_code == 200 and self._on_webhook is not None and _registers(request):
            try:
                await self._on_webhook()
            except (SdkError, OSError) as exc:  # read again at the next periodic refresh
                log.warning("endpoint: could not read the new webhook yet: %s", type(exc).__name__)
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type", JSON),
        )


def _registers(request: Request) -> bool:
    """A bot's registration of its webhook (``server.graph_registration``), which the server took."""
    path = request.url.path
    return request.method == "POST" and (
        path.endswith(("/subscriptions", "/subscribed_apps")) or path.strip("/").isdigit()
    )


async def _graph(handler: Callable[[Request], Awaitable[Response]], request: Request) -> Response:
    try:
        return await handler(request)
    except (DomainError, CloudBodyError) as exc:
        return error_of(exc)
    except httpx.HTTPError:
        return graph_error(
            2, "(#2) Service temporarily unavailable", "The server cannot be reached.", status=503
        )
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_of(exc)


async def _not_graph(scope: Scope, receive: Receive, send: Send) -> None:
    response = graph_error(
        100,
        "(#100) Unsupported request",
        "Unknown path components: this edge does not exist or is not supported by this endpoint.",
        subcode=33,
        kind="GraphMethodException",
    )
    await response(scope, receive, send)
