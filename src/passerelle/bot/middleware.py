"""Middleware (docs/bots.md, "Middleware"): ``async def mw(ctx, call_next)`` around every handler,
outermost first. The two a ``Bot`` has by default: ``log_updates`` (what was handled, never the
text at info level) and ``polite_errors`` (a handler's exception is logged with its traceback and the
customer gets a polite answer instead of silence)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from passerelle.bot.updates import Choice, Message, Order

if TYPE_CHECKING:
    from passerelle.bot.context import Context

log = logging.getLogger("passerelle.bot")
Next = Callable[[], Awaitable[None]]
Middleware = Callable[["Context", Next], Awaitable[None]]
SORRY = "Sorry, something went wrong on our side. Please try again in a moment."


async def log_updates(ctx: Context, call_next: Next) -> None:
    """One info line per handled update: its kind, the customer's per-business id, the handler's
    time. The text only at debug level (a bot's logs are not a place for its customers' words)."""
    start = time.perf_counter()
    await call_next()
    fields = {
        "kind": type(ctx.update).__name__.lower(),
        "customer": ctx.customer.user_id,
        "replies": len(ctx.replied),
        "ms": round((time.perf_counter() - start) * 1000, 1),
    }
    log.info("handled an update", extra=fields)
    log.debug("the update's text was %r", ctx.text)


def polite_errors(answer: str = SORRY) -> Middleware:
    """A handler that raises: the traceback is logged, the customer gets ``answer``."""

    async def polite(ctx: Context, call_next: Next) -> None:
        try:
            await call_next()
        except Exception:
            log.exception(
                "a handler failed",
                extra={"kind": type(ctx.update).__name__.lower(), "customer": ctx.customer.user_id},
            )
            if isinstance(ctx.update, Message | Choice | Order):
                try:
                    await ctx.reply(answer)
                except Exception:
                    log.exception("the apology could not be sent either")

    return polite
