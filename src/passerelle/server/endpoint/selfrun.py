"""``passerelle business-endpoint run``: a self-run business endpoint (docs/business.md section 4).

The first run enrols with the operator's one-time token and keeps the device's keys in
``<data_dir>/device`` (the SDK's store); later runs open them again. The endpoint's webhooks wait in
``<data_dir>/webhooks.db`` (``LocalOutbox``), the replay cursor in ``<data_dir>/webhook-cursor`` and
the messages waiting for a receipt in ``<data_dir>/undelivered.db`` (``failed`` statuses).
Every ``refresh_s`` it reads its configuration from the server again (numbers, webhook).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from passerelle.sdk import Client
from passerelle.sdk.errors import SdkError
from passerelle.sdk.store.local import DB_FILE
from passerelle.server.endpoint.core import Endpoint
from passerelle.server.endpoint.http import EndpointHttp
from passerelle.server.endpoint.media import MediaShelf
from passerelle.server.endpoint.outbox import LocalOutbox
from passerelle.server.endpoint.state import FileCursor
from passerelle.server.endpoint.undelivered import PENDING_FILE, PendingFile
from passerelle.service.business.webhooks import WebhookPolicy

log = logging.getLogger("passerelle.endpoint")

DEVICE_DIR = "device"
CURSOR_FILE = "webhook-cursor"
MEDIA_DIR = "media"


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfRunOptions:
    server_url: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8090
    enrolment_token: str | None = None
    passphrase: str | None = None
    refresh_s: float = 30.0
    undelivered_sweep_s: float = 60.0
    """How often messages that expired undelivered are looked for (``failed`` statuses)."""
    webhook_policy: WebhookPolicy | None = None


class SelfRun:
    def __init__(self, options: SelfRunOptions, endpoint: Endpoint, outbox: LocalOutbox) -> None:
        self.options = options
        self.endpoint = endpoint
        self.outbox = outbox
        self._http = httpx.AsyncClient(base_url=options.server_url, timeout=30.0)
        self.app = EndpointHttp(endpoint, self._http, on_webhook=self.refresh).app()
        self._server: uvicorn.Server | None = None

    @classmethod
    async def open(cls, options: SelfRunOptions) -> SelfRun:
        """Enrol (first run) or open the device, connect, and get ready to serve."""
        data_dir = options.data_dir
        await asyncio.to_thread(data_dir.mkdir, mode=0o700, parents=True, exist_ok=True)
        device_dir = data_dir / DEVICE_DIR
        if (device_dir / DB_FILE).exists():
            client = await Client.open(device_dir, options.passphrase, server_url=options.server_url)
        elif options.enrolment_token:
            client = await Client.enrol_business_endpoint(
                options.server_url,
                device_dir,
                enrolment_token=options.enrolment_token,
                passphrase=options.passphrase,
            )
        else:
            raise SdkError("no endpoint in this data directory: enrol it with --enrolment-token")
        try:
            config = await client.businesses.endpoint_config()
            outbox = await LocalOutbox.open(data_dir, config, policy=options.webhook_policy)
        except BaseException:
            await client.close()
            raise
        endpoint = Endpoint(
            client,
            config=config,
            sink=outbox,
            cursor=FileCursor(data_dir / CURSOR_FILE),
            media=await MediaShelf.open(data_dir / MEDIA_DIR),
            undelivered_sweep_s=options.undelivered_sweep_s,
            pending=PendingFile(data_dir / PENDING_FILE),
        )
        return cls(options, endpoint, outbox)

    async def start(self) -> None:
        self.outbox.start()
        await self.endpoint.start()

    async def refresh(self) -> None:
        config = await self.endpoint.client.businesses.endpoint_config()
        self.endpoint.reconfigure(config)
        await self.outbox.configure(config)

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve the bot until ``stop`` (or SIGINT/SIGTERM through uvicorn); ``sockets``: already
        listening ones (else ``host`` and ``port``)."""
        config = uvicorn.Config(
            self.app,
            host=self.options.host,
            port=self.options.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        refresher = asyncio.create_task(self._refresh_forever(), name="endpoint-refresh")
        try:
            await self._server.serve(sockets=sockets)
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher

    @property
    def started(self) -> bool:
        return self._server is not None and self._server.started

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.options.refresh_s)
            try:
                await self.refresh()
            except (SdkError, OSError) as exc:
                log.warning("endpoint: could not refresh the configuration: %s", exc)

    async def close(self) -> None:
        await self.endpoint.close()
        await self.outbox.close()
        await self._http.aclose()


async def run(options: SelfRunOptions) -> None:
    endpoint = await SelfRun.open(options)
    try:
        await endpoint.start()
        log.info(
            "business endpoint serving %s on http://%s:%s",
            endpoint.endpoint.config.address,
            options.host,
            options.port,
        )
        await endpoint.serve()
    finally:
        await endpoint.close()
