"""``Bot``: handlers, middleware, the webhook receiver (docs/bots.md).

```python
bot = Bot(base_url="http://127.0.0.1:8081", phone_number_id="10…", token="pbt_…",
          app_secret="…", verify_token="…", state_path="bot-state.sqlite3")

@bot.on_message(filters.command("start"))
async def start(ctx: Context) -> None:
    await ctx.reply_buttons("Welcome!", {"rent": "Rent a bike", "repair": "Repair"})

@bot.on_choice(filters.choice("rent"))
async def rent(ctx: Context) -> None:
    ctx.state.step = "renting"
```

Rules
1. Each update goes to the first handler of its kind (message, choice, order, payment, status,
   hand-off) whose filter passes, in registration order; ``on_message`` without a filter takes any.
2. One customer's updates are handled one at a time; their state is loaded before and saved after.
3. While a person has the conversation (a hand-off is open), the customer's messages, taps and orders
   reach no handler: the bot is silent. It speaks again once the hand-off is handed back or resolved.
4. A webhook is answered 2xx only once it was handled, so the server posts it again after a crash
   (or a handler's exception that no middleware caught: 500); an update already handled (its id) is
   not handled twice.
5. Webhooks must carry a valid ``X-Hub-Signature-256`` (401 without, 403 wrong), as pywa checks.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from passerelle.bot.cloud import CloudApi
from passerelle.bot.context import Context
from passerelle.bot.filters import Filter, anything
from passerelle.bot.middleware import Middleware, log_updates, polite_errors
from passerelle.bot.state import State, StateStore, StateTooLarge
from passerelle.bot.updates import Choice, HandOff, Message, Order, Payment, Status, Update, parse

log = logging.getLogger("passerelle.bot")
Handler = Callable[[Context], Awaitable[None]]
KINDS: dict[str, type[Update]] = {
    "message": Message,
    "choice": Choice,
    "order": Order,
    "payment": Payment,
    "status": Status,
    "handoff": HandOff,
}
SILENT_WHILE_HANDED_OFF = (Message, Choice, Order)
MAX_WEBHOOK_BYTES = 1024 * 1024
SEEN_KEPT = 10_000


@dataclass(slots=True)
class _Turn:
    """One customer's turn: their updates are handled one at a time (rule 2)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(frozen=True, slots=True)
class Registered:
    kind: str
    filter: Filter
    handler: Handler


class Bot:
    def __init__(
        self,
        *,
        base_url: str,
        phone_number_id: str,
        token: str,
        app_secret: str,
        verify_token: str,
        state_path: str | Path,
        numbers: Iterable[str] | None = None,
        middleware: Iterable[Middleware] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        """A bot of one business.

        Args:
            base_url: the business endpoint's URL (self-run) or the server's (hosted).
            phone_number_id: the number replies go from when an update names none.
            numbers: the numbers this bot answers (default: every number of the business); an update
                through another number is left to another bot (a pywa bot, say).
            middleware: around every handler, outermost first (default: ``log_updates``,
                ``polite_errors()``).
            state_path: the SQLite file of the conversations' state (kept across restarts).
        """
        self.api = CloudApi(base_url, phone_number_id=phone_number_id, token=token, http=http)
        self.app_secret = app_secret.encode()
        self.verify_token = verify_token
        self.states = StateStore(state_path)
        self.numbers = frozenset(numbers) if numbers is not None else None
        self.middleware: list[Middleware] = (
            list(middleware) if middleware is not None else [log_updates, polite_errors()]
        )
        self._handlers: list[Registered] = []
        self._locks: dict[tuple[str, str], _Turn] = {}
        self._seen: dict[str, None] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0
        self.handled = 0
        """How many updates reached a handler (for tests and metrics)."""
        self.silenced = 0
        """How many customer updates went unanswered because a person had the conversation."""
        self._progress = asyncio.Condition()

    # -- registration -------------------------------------------------------------------------------

    def add_handler(self, kind: str, handler: Handler, filter: Filter | None = None) -> Handler:
        if kind not in KINDS:
            raise ValueError(f"no such update kind {kind!r}; one of {sorted(KINDS)}")
        self._handlers.append(Registered(kind, filter or anything, handler))
        return handler

    def _decorator(self, kind: str, filter: Filter | None) -> Callable[[Handler], Handler]:
        return lambda handler: self.add_handler(kind, handler, filter)

    def on_message(self, filter: Filter | None = None) -> Callable[[Handler], Handler]:
        """A customer's message: text, command, media, location, contacts …"""
        return self._decorator("message", filter)

    def on_choice(self, filter: Filter | None = None) -> Callable[[Handler], Handler]:
        """A tap on a reply button, a list row or a template's quick reply (or its typed number,
        on an app that shows none)."""
        return self._decorator("choice", filter)

    def on_order(self, filter: Filter | None = None) -> Callable[[Handler], Handler]:
        """A customer's cart from the catalog (``Order``)."""
        return self._decorator("order", filter)

    def on_payment(self, filter: Filter | None = None) -> Callable[[Handler], Handler]:
        """A payment's status (``Payment``)."""
        return self._decorator("payment", filter)

    def on_status(self, filter: Filter | None = None) -> Callable[[Handler], Handler]:
        """What became of the bot's messages (sent, delivered, read, failed)."""
        return self._decorator("status", filter)

    def on_handoff(self, filter: Filter | None = None) -> Callable[[Handler], Handler]:
        """A hand-off changed (taken, handed back, resolved): the bot may greet the customer again."""
        return self._decorator("handoff", filter)

    def hand_off_when(self, filter: Filter, *, summary: Callable[[Context], str], answer: str) -> None:
        """A rule: a message that passes ``filter`` hands the conversation to a person with
        ``summary(ctx)``, after telling the customer ``answer``. Checked before every other handler."""

        async def handing(ctx: Context) -> None:
            await ctx.hand_off(summary(ctx), reason="rule")
            await ctx.reply(answer)

        self._handlers.insert(0, Registered("message", filter, handing))

    # -- handling -----------------------------------------------------------------------------------

    async def handle(self, update: Update) -> bool:
        """Handle one update; True when a handler ran."""
        if self.numbers is not None and update.phone_number_id not in self.numbers:
            return False
        key = (update.business, update.customer.user_id)
        holder = self._locks.setdefault(key, _Turn())
        holder.users += 1
        try:
            async with holder.lock:
                state = await self.states.load(*key)
                before = state.snapshot()
                ran = await self._dispatch(update, state)
                if state.snapshot() != before:
                    try:
                        await self.states.save(*key, state)
                    except StateTooLarge:
                        # Handled (its replies went): posting it again would only send them again,
                        # and hold back the business's later webhooks behind it. The change is lost.
                        log.error(
                            "a conversation's state grew past its bound: not kept", extra=_fields(update)
                        )
                return ran
        finally:
            holder.users -= 1
            if holder.users == 0:
                self._locks.pop(key, None)

    async def _dispatch(self, update: Update, state: State) -> bool:
        if isinstance(update, HandOff):
            state.handoff = update.handoff_id if update.status in ("open", "taken") else None
        elif state.handoff is not None and isinstance(update, SILENT_WHILE_HANDED_OFF):
            log.info("a person has this conversation: the bot stays silent", extra=_fields(update))
            self.silenced += 1
            return False
        for registered in self._handlers:
            if isinstance(update, KINDS[registered.kind]) and registered.filter(update, state):
                ctx = Context(self, update, state, self.api)
                await self._through(ctx, registered.handler, list(self.middleware))
                self.handled += 1
                return True
        return False

    async def _through(self, ctx: Context, handler: Handler, chain: list[Middleware]) -> None:
        if not chain:
            await handler(ctx)
            return
        first, rest = chain[0], chain[1:]
        await first(ctx, lambda: self._through(ctx, handler, rest))

    @staticmethod
    def _ident(update: Update) -> str:
        ident = getattr(update, "id", None)
        if not ident or isinstance(update, Status | Payment | HandOff):
            return json.dumps(update.raw, sort_keys=True)
        return str(ident)

    async def _remember(self, ident: str) -> None:
        """Rule 4: handled; the server may post it again, also after a restart (the state file
        keeps the last ``SEEN_KEPT``), it will not be handled twice."""
        self._seen[ident] = None
        while len(self._seen) > SEEN_KEPT:
            self._seen.pop(next(iter(self._seen)))
        await self.states.mark_handled(ident, keep=SEEN_KEPT)

    # -- the webhook --------------------------------------------------------------------------------

    def signed(self, body: bytes, header: str | None) -> bool:
        if not header or not header.startswith("sha256="):
            return False
        wanted = hmac.new(self.app_secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(wanted, header.removeprefix("sha256="))

    async def receive(self, body: bytes, signature: str | None) -> int:
        """One webhook ``POST``: its HTTP status (handled, or refused)."""
        if not signature:
            return 401
        if not self.signed(body, signature):
            log.warning("a webhook with a wrong signature was refused")
            return 403
        try:
            payload = json.loads(body)
        except ValueError:
            return 400
        if not isinstance(payload, dict):
            return 400
        status = 200
        for update in parse(payload):
            ident = self._ident(update)
            if ident in self._seen or await self.states.handled_before(ident):
                continue
            try:
                await self.handle(update)
            except Exception:  # not handled: a 500, and the server posts it again later
                log.exception("an update could not be handled", extra=_fields(update))
                status = 500
                continue
            await self._remember(ident)
        async with self._progress:
            self._progress.notify_all()
        return status

    async def wait_for(self, condition: Callable[[], bool], *, within: float = 10.0) -> None:
        """Wait until ``condition()`` holds, checked after each webhook (for tests:
        ``await bot.wait_for(lambda: bot.silenced == 1)``)."""
        async with asyncio.timeout(within), self._progress:
            await self._progress.wait_for(condition)

    async def _verify(self, request: Request) -> Response:
        query = request.query_params
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
            query.get("hub.verify_token", ""), self.verify_token
        ):
            return PlainTextResponse(query.get("hub.challenge", ""))
        return PlainTextResponse("wrong verify token", status_code=403)

    async def _post(self, request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_WEBHOOK_BYTES:
                return PlainTextResponse("too large", status_code=413)
        status = await self.receive(body, request.headers.get("x-hub-signature-256"))
        return PlainTextResponse("ok" if status == 200 else "refused", status_code=status)

    def asgi(self, path: str = "/webhook") -> Starlette:
        """The bot's webhook receiver, to serve on any ASGI server."""
        return Starlette(
            routes=[
                Route(path, self._verify, methods=["GET"]),
                Route(path, self._post, methods=["POST"]),
            ]
        )

    @property
    def url(self) -> str:
        """The webhook's URL once ``start``ed."""
        return f"http://127.0.0.1:{self.port}/webhook"

    async def start(self, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        """Serve the webhook in this event loop (port 0: any free one; by default the port it had)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, self.port if port is None else port))
        sock.listen()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.asgi(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop serving (the state stays on disk)."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None

    async def aclose(self) -> None:
        await self.stop()
        await self.api.aclose()
        self.states.close()

    def run(self, *, host: str = "127.0.0.1", port: int = 8080) -> None:
        """Serve until interrupted (a bot's ``main``)."""
        uvicorn.run(self.asgi(), host=host, port=port, log_level="info")


def _fields(update: Update) -> dict[str, Any]:
    return {"kind": type(update).__name__.lower(), "customer": update.customer.user_id}
