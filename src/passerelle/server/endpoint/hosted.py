"""Hosted business endpoints (docs/business.md section 4): the operator runs a business's endpoint
inside ``passerelle serve``. It is the same ``Endpoint`` as a self-run one, an SDK client of the
business's account that reaches this server over its own API; its keys are in
``<data_dir>/endpoints/<business id>/`` and its webhooks go to the server's own outbox.

The operator enrols one with ``POST /v1/admin/businesses/{id}/endpoint`` (``passerelle business
endpoint host``): the server issues itself a ``hosted`` enrolment token and enrols. At start, every
hosted endpoint whose keys are on this node is opened again. A bot then sends through the server's
own Graph API (``POST /{phone_number_id}/messages``), which hands the call to the business's hosted
endpoint. One node runs a business's hosted endpoint: the one that holds its keys.

Its REST calls (the people's ids, conversations, key claims, device lists) do not leave the
process: once the server's ASGI app is built, ``use_app`` gives the endpoints an in-process
transport to it (``in_process.AppTransport``), so a call is the server's own routes, its
authentication and its checks, without a socket, HTTP parsing, a connection pool or (for the JSON
calls) httpx's request and response objects. Its WebSocket,
its keys and the Olm/Megolm protocol are those of any device. A self-run endpoint stays on HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from starlette.types import ASGIApp

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import Unavailable
from passerelle.proto.cloud.webhooks import WebhookPayload
from passerelle.sdk import Client, ClientOptions
from passerelle.sdk.store.local import DB_FILE
from passerelle.server.endpoint.core import Endpoint
from passerelle.server.endpoint.in_process import AppTransport
from passerelle.server.endpoint.media import MediaShelf
from passerelle.server.endpoint.state import FileCursor
from passerelle.server.endpoint.undelivered import PENDING_FILE, PendingFile
from passerelle.service.business.endpoint_ports import EndpointMode, EndpointRecord
from passerelle.service.business.endpoints import BusinessEndpoints
from passerelle.service.business.webhooks import Webhooks
from passerelle.storage.private_files import private_dir

log = logging.getLogger("passerelle.endpoint")

ENDPOINTS_DIR = "endpoints"
CURSOR_FILE = "webhook-cursor"
MEDIA_DIR = "media"
IN_PROCESS_CLIENT = ("127.0.0.1", 0)
"""The peer address the server's routes see for an in-process call (the loopback, as before)."""
NOT_HOSTED = "This business has no hosted endpoint here: its bot sends through its own (self-run) endpoint."


class ServerSink:
    """A hosted endpoint's webhooks: the server's own outbox."""

    def __init__(self, webhooks: Webhooks, business: BusinessId) -> None:
        self._webhooks = webhooks
        self._business = business

    async def enqueue(self, payload: WebhookPayload) -> None:
        await self._webhooks.enqueue(self._business, payload)

    async def enqueue_many(self, payloads: Sequence[WebhookPayload]) -> None:
        await self._webhooks.enqueue_many(self._business, payloads)


class HostedEndpoints:
    def __init__(
        self,
        *,
        data_dir: Path,
        endpoints: BusinessEndpoints,
        webhooks: Webhooks,
        enabled: bool,
        public_url: str,
    ) -> None:
        self._dir = data_dir / ENDPOINTS_DIR
        self._endpoints = endpoints
        self._webhooks = webhooks
        self._enabled = enabled
        self._public_url = public_url
        self._url: str | None = None
        self._running: dict[BusinessId, Endpoint] = {}
        self._lock = asyncio.Lock()
        self._options: ClientOptions | None = None

    def use_app(self, app: ASGIApp) -> None:
        """The server's own app: the hosted endpoints' REST calls go to it in process."""
        self._options = ClientOptions(rest_transport=AppTransport(app, client=IN_PROCESS_CLIENT))

    async def start(self, url: str) -> None:
        """The server listens at ``url``: open every hosted endpoint whose keys are here."""
        self._url = self._public_url or url
        if not self._enabled:
            return
        for record in await self._endpoints.all():
            if record.mode is EndpointMode.HOSTED and (self._keys(record.business) / DB_FILE).exists():
                try:
                    await self._open(record.business, None)
                except Exception:
                    log.exception("hosted endpoint could not start", extra={"business": record.business})

    async def host(self, business: str) -> EndpointRecord:
        """Enrol a hosted endpoint for ``business`` now (a previous endpoint is replaced)."""
        if not self._enabled or self._url is None:
            raise Unavailable("this node does not run hosted endpoints")
        async with self._lock:
            made = await self._endpoints.issue(business, EndpointMode.HOSTED.value)
            old = self._running.pop(made.business, None)
            if old is not None:
                await old.close()
            keys = self._keys(made.business)
            if keys.exists():
                await asyncio.to_thread(_clear, keys)
            await self._open(made.business, made.token)
        found = await self._endpoints.of(made.business)
        assert found is not None
        return found

    def get(self, business: BusinessId) -> Endpoint:
        found = self._running.get(business)
        if found is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, NOT_HOSTED)
        return found

    async def _open(self, business: BusinessId, token: str | None) -> None:
        assert self._url is not None
        keys = self._keys(business)
        await asyncio.to_thread(private_dir, self._dir)
        if token is not None:
            client = await Client.enrol_business_endpoint(
                self._url, keys, enrolment_token=token, options=self._options
            )
        else:
            client = await Client.open(keys, server_url=self._url, options=self._options)
        try:
            config = await client.businesses.endpoint_config()
        except BaseException:
            await client.close()
            raise
        endpoint = Endpoint(
            client,
            config=config,
            sink=ServerSink(self._webhooks, business),
            cursor=FileCursor(keys / CURSOR_FILE),
            media=await MediaShelf.open(keys / MEDIA_DIR),
            hosted=True,
            pending=PendingFile(keys / PENDING_FILE),
        )
        await endpoint.start()
        self._running[business] = endpoint
        log.info("hosted endpoint running", extra={"business": business})

    def _keys(self, business: BusinessId) -> Path:
        return self._dir / business

    async def close(self) -> None:
        running, self._running = list(self._running.values()), {}
        for endpoint in running:
            await endpoint.close()


def _clear(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            path.unlink()
        else:
            path.rmdir()
    folder.rmdir()
