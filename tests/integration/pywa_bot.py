"""An unmodified pywa 4.5 bot for the business end-to-end tests (docs/business.md, "Pointing an
existing Cloud API bot at a Passerelle server").

The bot is ``pywa_async.WhatsApp`` as its users write it: pointed at us only through its public
``session=`` argument (an ``httpx.AsyncClient`` whose transport sends what pywa addresses to
``graph.facebook.com`` to our base URL instead), its webhook routes on a Starlette app (pywa's own
server framework) served by uvicorn on a free port of 127.0.0.1, and ``app_secret`` given, so pywa
checks ``X-Hub-Signature-256`` on every webhook (a wrong or missing signature is answered 403/401 and
never reaches a handler). ``waba_id`` and ``phone_id`` are given too, so pywa drops an update for
another account or number (``filter_updates``).

Why the async flavour: its handlers are coroutines on the test's own event loop (no threads), and
its HTTP calls are ``httpx.AsyncClient`` calls, as a bot on an ASGI server makes them.

The handlers are the test's to register (``bot.wa.on_message`` …); :class:`PywaBot` only records
every update it was handed, so that tests wait on what the bot saw, never on time."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn
from pywa_async import WhatsApp
from starlette.applications import Starlette

VERIFY_TOKEN = "pywa-verify-token"
APP_SECRET = "pywa-app-secret-0123456789abcdef"


class ToPasserelle(httpx.AsyncHTTPTransport):
    """What pywa addresses to Meta's Graph hosts goes to a Passerelle server (or a self-run endpoint)
    instead; the path (``/v26.0/{phone_number_id}/messages`` …) is kept as pywa wrote it."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base = httpx.URL(base_url)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in ("graph.facebook.com", "api.facebook.com"):
            request.url = request.url.copy_with(
                scheme=self.base.scheme, host=self.base.host, port=self.base.port
            )
            request.headers["Host"] = self.base.netloc.decode()
        return await super().handle_async_request(request)


class PywaBot:
    """A pywa bot with its webhook server, whose updates the test can wait on."""

    def __init__(
        self, *, base_url: str, phone_id: str, token: str, waba_id: str, app_id: str | None = None
    ) -> None:
        """``app_id``: pywa registers its webhook itself (``callback_url=``, the app scope) once its
        server is up, as a bot does at Meta; without it the operator sets the webhook."""
        self.phone_id, self.token, self.waba_id = phone_id, token, waba_id
        self.app = Starlette()
        self.session = httpx.AsyncClient(transport=ToPasserelle(base_url))
        self.port = 0
        self._socket: socket.socket | None = None
        register: dict[str, Any] = {}
        if app_id is not None:  # the URL to register is known before pywa starts its timer
            self._socket = self._listen()
            register = {
                "callback_url": f"http://127.0.0.1:{self.port}",
                "app_id": app_id,
                # pywa's timer starts now: a second for the base URL below to be set (the socket
                # already listens, so the handshake would wait in it anyway).
                "webhook_challenge_delay": 1,
            }
        self.wa = WhatsApp(
            phone_id=phone_id,
            token=token,
            session=self.session,
            server=self.app,
            webhook_endpoint="/webhook",
            verify_token=VERIFY_TOKEN,
            app_secret=APP_SECRET,
            waba_id=waba_id,
            **register,
        )
        if app_id is not None:
            # pywa_async registers through a client of its own, made from the session's base URL
            # and headers but not its transport: the base URL is what points it at us.
            self.wa.api._session.base_url = httpx.URL(base_url).join("/v26.0")
        self.updates: list[Any] = []
        """Every update pywa handed to a handler, in order (messages, taps, statuses)."""
        self.downloads: list[bytes] = []
        """The files the test's handlers fetched with pywa's media calls."""
        self.errors: list[BaseException] = []
        """What a test's handler raised (pywa would only log it)."""
        self._changed = asyncio.Condition()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    # The receiver interface of tests/integration/endpoint_harness.open_shop.
    verify_token = VERIFY_TOKEN
    app_secret = APP_SECRET

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    async def saw(self, update: Any) -> None:
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    def handler(self, work: Callable[[WhatsApp, Any], Any]) -> Callable[[WhatsApp, Any], Any]:
        """Wrap a test's handler: the update is recorded, then the handler runs; what it raises is
        kept for the test (pywa only logs a handler's exceptions)."""

        async def handle(client: WhatsApp, update: Any) -> None:
            try:
                await work(client, update)
            except BaseException as error:  # the test fails on it, with the traceback
                self.errors.append(error)
                raise
            finally:
                await self.saw(update)

        return handle

    async def wait_until(self, condition: Callable[[list[Any]], bool], *, within: float = 10.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: condition(self.updates))
        if self.errors:
            raise self.errors[0]

    async def start(self, app: Starlette | None = None) -> None:
        """Listen (again, on the same port when it was started before), serving pywa's routes (or
        another ``app`` at the same URL)."""
        sock, self._socket = self._socket or self._listen(), None
        config = uvicorn.Config(
            app or self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))

    def _listen(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen()
        self.port = sock.getsockname()[1]
        return sock

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None

    async def aclose(self) -> None:
        await self.stop()
        if self._socket is not None:
            self._socket.close()
        await self.session.aclose()
