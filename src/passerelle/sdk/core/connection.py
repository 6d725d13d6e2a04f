"""Connection: a client's live side. It runs the transport, hands what arrives to its ``Handler``
(which commits it to the store), turns the result into acks, receipts and SDK events, and runs
background jobs (key replenishment, session recovery, resends).

Rules
1. Tasks: ``start`` creates one runner task that owns a TaskGroup (transport, job worker, janitor);
   ``stop`` cancels it and waits for it. A fatal error (device removed, unsupported version) ends
   the runner, fails pending sends and ends the event streams with that error.
2. Items are committed (by the handler: the Inbox), then acked, then delivery receipts are sent, then the events are
   dispatched: an application callback never sees a message that is not on disk.
3. Work that waits for the server's answer to a send of ours (recovery, resends) runs in the job
   worker, never in the reader, which must keep reading to receive that answer.
4. A send the server answers ``unavailable`` (its database is down or restarting, its send
   pipeline is full: it stored nothing) is written again with the same client id after a backoff
   (0.2 s doubling to 5 s, with jitter, at least the server's ``retry_after``) until it is answered
   otherwise or the send timeout passes; the caller sees only the final answer. The client id
   makes a retry idempotent, so a send that was stored after all is answered once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from passerelle.domain.ids import AccountId, ConversationId
from passerelle.proto.frames import MAX_RECEIPT_IDS, BizMeta, Item
from passerelle.sdk.core.context import Job
from passerelle.sdk.core.dispatch import Dispatcher
from passerelle.sdk.core.protocol import (
    ClientCore,
    Connected,
    CoreEvent,
    Disconnected,
    ItemsReceived,
    KeysLowReceived,
    Rejected,
    SendFailed,
    SendSucceeded,
    ServerError,
    TypingReceived,
)
from passerelle.sdk.core.transport import Transport, WsLogin
from passerelle.sdk.errors import NotConnected, SdkError, Unavailable, error_from_code
from passerelle.sdk.events import ConnectionEvent, Event, TypingEvent

logger = logging.getLogger(__name__)

RECEIPT_CHUNK = MAX_RECEIPT_IDS
JANITOR_INTERVAL_S = 60.0
RETRY_FIRST_S = 0.2
RETRY_CAP_S = 5.0
"""A send answered ``unavailable`` is written again after this, doubling up to the cap (rule 4)."""


class _Refused(Unavailable):
    """The server answered a send ``unavailable`` (it stored nothing): written again (rule 4)."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(slots=True)
class Handled:
    """What handling a batch of mailbox items (committed to the store) calls for."""

    upto: int = 0
    """The highest mailbox position handled: acked at once."""
    receipts: Mapping[tuple[str, str], Sequence[int]] = field(default_factory=dict)
    """(conv, sender account) -> ids of messages to send a ``delivered`` receipt for."""
    jobs: list[Job] = field(default_factory=list)
    """Follow-ups for the background worker (session recovery, resends, device lists)."""
    events: list[Event] = field(default_factory=list)
    """Dispatched last, once all of the above is done."""


class Handler(Protocol):
    """What the device does with what the server sends. It is built from parts that send through
    this connection, so it is given to ``start``, not to the constructor."""

    async def items(self, items: Sequence[Item]) -> Handled:
        """Commit a batch of mailbox items to the store (rule 2)."""
        ...

    async def welcomed(self, welcome: Connected) -> None:
        """A job after each ``welcome``."""
        ...

    async def keys_low(self, count: int) -> None:
        """A job when the server runs short of this device's one-time keys."""
        ...

    async def orphan_sent(self, sent: SendSucceeded) -> None:
        """A job for a ``sent`` that no ``submit`` waits for any more (after a timeout, a reconnect)."""
        ...

    async def janitor(self) -> None:
        """A job every ``JANITOR_INTERVAL_S``."""
        ...


class Connection:
    """The live side of a device; parts see it as a ``core.context.Link``."""

    def __init__(
        self,
        *,
        url: str,
        get_token: Callable[[bool], Awaitable[str | None]],
        dispatch: Dispatcher,
        ping_interval_s: float = 20.0,
        send_timeout_s: float = 60.0,
        login: WsLogin | None = None,
    ) -> None:
        self.core = ClientCore()
        self._transport = Transport(
            url=url,
            core=self.core,
            get_token=get_token,
            handle=self._handle,
            ping_interval_s=ping_interval_s,
            login=login,
        )
        self._handler: Handler | None = None
        self._dispatch = dispatch
        self._send_timeout = send_timeout_s
        self._futures: dict[str, asyncio.Future[SendSucceeded]] = {}
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._welcomed = asyncio.Event()
        self._up = False
        """Welcomed on the current connection (a ConnectionEvent is emitted when this changes)."""
        self._runner: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None

    @property
    def connected(self) -> bool:
        return self.core.connected

    async def start(self, handler: Handler, *, timeout_s: float) -> None:
        """Start the runner, with ``handler`` for what arrives, and wait for the first ``welcome``
        (or a fatal error)."""
        if self._runner is None:
            self._handler = handler
            self._runner = asyncio.create_task(self._run(handler), name="passerelle-sdk-connection")
        waiter = asyncio.ensure_future(self._welcomed.wait())
        try:
            await asyncio.wait({waiter, self._runner}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if self.failure is not None:
            raise self.failure
        if not self._welcomed.is_set():
            raise Unavailable(f"could not connect within {timeout_s:g} s; still trying in the background")

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            try:
                await runner
            except asyncio.CancelledError:
                if (me := asyncio.current_task()) is not None and me.cancelling():
                    raise  # we are being cancelled ourselves, not just our runner
        self._fail_sends(NotConnected("the client was closed"))

    async def _run(self, handler: Handler) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._transport.run())
                tg.create_task(self._work())
                tg.create_task(self._janitor_loop(handler))
        except* SdkError as group:
            self._stopped(group.exceptions[0])
        except* Exception as group:
            logger.error("the connection failed", exc_info=group.exceptions[0])
            self._stopped(group.exceptions[0])

    def _stopped(self, failure: BaseException) -> None:
        self.failure = failure
        logger.warning("the connection stopped: %s", type(failure).__name__)
        self._fail_sends(failure)
        self._dispatch.close(failure)

    def schedule(self, job: Job) -> None:
        self._jobs.put_nowait(job)

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await job()
            except Exception:  # a task boundary: one failed job must not stop the others
                logger.exception("a background job failed")

    async def _janitor_loop(self, handler: Handler) -> None:
        while True:
            await asyncio.sleep(JANITOR_INTERVAL_S)
            self.schedule(handler.janitor)

    # --- core.context.Link: sends that wait for the server's answer ---------------------------------------------

    async def submit(
        self,
        *,
        client_id: str,
        payloads: Mapping[str, bytes],
        to: str | None = None,
        conv: str | None = None,
        ttl: int | None = None,
        body: bytes | None = None,
        biz: BizMeta | None = None,
    ) -> SendSucceeded:
        if self._runner is None:
            raise NotConnected("connect() before sending")
        delay = RETRY_FIRST_S
        try:
            async with asyncio.timeout(self._send_timeout):
                while True:
                    try:
                        return await self._submit_once(
                            client_id=client_id,
                            payloads=payloads,
                            to=to,
                            conv=conv,
                            ttl=ttl,
                            body=body,
                            biz=biz,
                        )
                    except _Refused as refused:
                        wait = max(delay, refused.retry_after or 0.0) * random.uniform(0.8, 1.2)
                        logger.info("the server could not take a message now (unavailable); sending it again")
                        await asyncio.sleep(min(wait, RETRY_CAP_S))
                        delay = min(delay * 2, RETRY_CAP_S)
        except TimeoutError:
            self.core.forget_send(client_id)
            raise Unavailable(
                "the server did not confirm the message in time; it may not have been sent"
            ) from None

    async def _submit_once(
        self,
        *,
        client_id: str,
        payloads: Mapping[str, bytes],
        to: str | None,
        conv: str | None,
        ttl: int | None,
        body: bytes | None,
        biz: BizMeta | None,
    ) -> SendSucceeded:
        future: asyncio.Future[SendSucceeded] = asyncio.get_running_loop().create_future()
        self._futures[client_id] = future
        try:
            await self.write(
                self.core.send_message(
                    client_id=client_id, payloads=payloads, to=to, conv=conv, ttl=ttl, body=body, biz=biz
                )
            )
            return await future
        finally:
            self._futures.pop(client_id, None)

    async def write(self, data: bytes | None) -> bool:
        return await self._transport.write(data)

    def _fail_sends(self, error: BaseException) -> None:
        for future in self._futures.values():
            if not future.done():
                future.set_exception(error)

    # --- core events --------------------------------------------------------------------------

    async def _handle(self, event: CoreEvent) -> None:
        handler = self._handler
        assert handler is not None, "the transport runs only once started"
        match event:
            case Connected():
                self._welcomed.set()
                self.schedule(partial(handler.welcomed, event))
                if not self._up:
                    self._up = True
                    await self._dispatch.emit(ConnectionEvent(connected=True))
            case SendSucceeded():
                if not self._resolve(event.client_id, result=event):
                    self.schedule(partial(handler.orphan_sent, event))
            case SendFailed() if event.code == Unavailable.code:
                self._resolve(event.client_id, error=_Refused(event.message, retry_after=event.retry_after))
            case SendFailed():
                error = error_from_code(
                    event.code,
                    event.message,
                    missing=event.missing,
                    extra=event.extra,
                    retry_after=event.retry_after,
                    failure=event.failure,
                    details=event.details,
                )
                self._resolve(event.client_id, error=error)
            case ItemsReceived():
                await self._items(await handler.items(event.items))
            case TypingReceived():
                typing = TypingEvent(
                    conv=ConversationId(event.conv), sender=AccountId(event.sender), typing=event.typing
                )
                await self._dispatch.emit(typing)
            case KeysLowReceived():
                self.schedule(partial(handler.keys_low, event.count))
            case ServerError():
                logger.warning("the server answered with an error: %s", event.code)
            case Rejected():
                logger.warning("the server refused this connection: %s", event.code)
            case Disconnected():
                if self._up:
                    self._up = False
                    await self._dispatch.emit(ConnectionEvent(connected=False))

    def _resolve(
        self, client_id: str, *, result: SendSucceeded | None = None, error: SdkError | None = None
    ) -> bool:
        """Answer the waiting ``submit``; False when no one waits any more."""
        future = self._futures.get(client_id)
        if future is None or future.done():
            return False
        if error is not None:
            future.set_exception(error)
        elif result is not None:
            future.set_result(result)
        return True

    async def _items(self, handled: Handled) -> None:
        self.core.stored(handled.upto)
        await self.write(self.core.ack())
        for (conv, to), mids in handled.receipts.items():
            for i in range(0, len(mids), RECEIPT_CHUNK):
                chunk = mids[i : i + RECEIPT_CHUNK]
                await self.write(self.core.receipt(conv=conv, to=to, kind="delivered", ids=chunk))
        for job in handled.jobs:
            self.schedule(job)
        for sdk_event in handled.events:
            await self._dispatch.emit(sdk_event)
