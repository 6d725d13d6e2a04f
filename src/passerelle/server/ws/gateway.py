"""The WebSocket gateway: one read loop per connection, and a pump task beside it when its sends are
awaited (ASGI; picows writes at once).

The read loop feeds each WebSocket message to the connection's ServerSession and dispatches the
event. Sends are pipelined: a send is checked, handed to the SendPipeline with a callback and the
loop reads on; the ``sent`` frame is queued when the batch commits.

Admission (both WebSocket layers come through ``serve``): a connection is counted against its
address and the node's caps as it opens (``Admission``), must say ``hello`` within
``hello_timeout_s`` (else 4002), and is counted against its account at ``welcome``. A ``hello`` with
a bad token is charged to the client's address; once that address has failed too often, its hellos
are refused with 4008 before any token is looked up. Accepted hellos are limited per device.

A device may log in on the connection itself (docs/protocol.md section 5.1): ``login`` is answered
with a challenge (``AccountService.challenge``: nothing stored), and the ``hello`` that carries its
signature goes through ``AccountService.signed_in``, the same path and limits as ``POST
/v1/auth/token`` (the challenge spent and the token stored in one commit); ``welcome`` then brings
the new token. A bad signature is charged to the address like a bad token.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any, Final

from passerelle.domain.business.errors import CloudApiError
from passerelle.domain.business.ids import ADDRESS_APP
from passerelle.domain.errors import DomainError, RateLimited, Unauthorized, Unavailable
from passerelle.domain.ids import AccountId, MailboxPos
from passerelle.domain.limits import Limits
from passerelle.domain.ratelimit import TokenBucket
from passerelle.proto.codec import encode
from passerelle.proto.frames import Ack, Hello, Login, Receipt, Send, Sent, Typing
from passerelle.proto.session import FrameReceived, Reply, ServerSession
from passerelle.server.auth import authenticate
from passerelle.server.commands import send_message, send_receipt
from passerelle.server.errors import CLOSE_PROTOCOL, PROTOCOL_ERRORS, ws_close_code, ws_refusal_code
from passerelle.server.metrics import Metrics
from passerelle.server.ws.admission import Admission
from passerelle.server.ws.connection import INTERNAL_ERROR, Connection, Transport, WriteBatcher
from passerelle.server.ws.frames_in import IDLE, Deferred, FrameSource, Idle, QueuedFrames
from passerelle.server.ws.hub import Hub
from passerelle.server.ws.parallel_sends import ParallelSends
from passerelle.service.accounts.accounts import AccountService, DeviceSession
from passerelle.service.accounts.keys import KeyService
from passerelle.service.limiter import ClientKey, RateLimiter
from passerelle.service.messaging.commands import SendMessage
from passerelle.service.messaging.messaging import MessagingService
from passerelle.service.messaging.pipeline import SendPipeline
from passerelle.service.ports import Clock
from passerelle.service.records import AppendResult, Sender

BusinessSendRate = Callable[[AccountId], Awaitable[float | None]]
"""A business endpoint account's per-device send rate (``BusinessTraffic.endpoint_send_rate``)."""

Spawn = Callable[[Coroutine[Any, Any, None]], object]
"""Runs a connection's coroutine as a task the WebSocket layer keeps track of (``PicowsGateway``)."""

log = logging.getLogger("passerelle.gateway")
TOO_BIG = 1009
FAILED_HELLOS = "hello-failed:client"


class Gateway:
    def __init__(
        self,
        *,
        hub: Hub,
        accounts: AccountService,
        messaging: MessagingService,
        pipeline: SendPipeline,
        keys: KeyService,
        limiter: RateLimiter,
        limits: Limits,
        metrics: Metrics,
        clock: Clock,
        admission: Admission,
        business_send_rate: BusinessSendRate | None = None,
    ) -> None:
        self._clock = clock
        self._business_send_rate = business_send_rate
        self._admission = admission
        self._batcher = WriteBatcher()
        self._hub = hub
        self._accounts = accounts
        self._messaging = messaging
        self._pipeline = pipeline
        self._keys = keys
        self._limiter = limiter
        self._limits = limits
        self._metrics = metrics

    def connection(self, transport: Transport, client: ClientKey) -> Connection:
        limits = self._limits
        return Connection(
            transport,
            max_frames=limits.send_queue_frames,
            max_buffer=limits.send_buffer_bytes,
            batcher=self._batcher,
            client=client,
            sync=self._hub.sync,
        )

    async def serve(self, conn: Connection, frames: FrameSource, spawn: Spawn | None = None) -> None:
        """Run one connection until it closes: the read loop here, and for a transport whose sends are
        awaited (ASGI) its pump task beside it. Given ``spawn`` (picows: QueuedFrames on a direct
        transport), the read loop ends after ``welcome`` instead: what follows is taken in the
        WebSocket callback or by a task started with ``spawn`` while there is work (``QueuedFrames.detach``),
        and the last such task ends the connection."""
        pump = None if conn.direct else asyncio.create_task(conn.pump(self._hub.sync), name="ws-pump")
        admitted = False
        detached = False
        try:
            try:
                self._admission.enter(conn)
            except (RateLimited, Unavailable) as exc:
                self._refuse(conn, ServerSession(), exc)
            else:
                admitted = True
                detached = await self._read_loop(conn, frames, spawn)
        finally:
            if not detached:
                self._ended(conn, admitted=admitted)
            if pump is not None:
                try:
                    async with asyncio.timeout(5):
                        await pump
                except (TimeoutError, OSError, RuntimeError):
                    pump.cancel()

    def _ended(self, conn: Connection, *, admitted: bool) -> None:
        self._hub.unregister(conn)
        if admitted:
            self._admission.leave(conn)
        conn.close(1000)
        if conn.syncing is not None:
            conn.syncing.cancel()

    async def _read_loop(self, conn: Connection, frames: FrameSource, spawn: Spawn | None) -> bool:
        """Whether the connection goes on without it (detached)."""
        detached = False
        try:
            detached = await self._read_frames(conn, frames, spawn)
        finally:
            if not detached and isinstance(frames, QueuedFrames):
                frames.taker = None
        return detached

    async def _read_frames(self, conn: Connection, frames: FrameSource, spawn: Spawn | None) -> bool:
        session = ServerSession()
        hello_timeout = self._limits.hello_timeout_s
        hello_by = asyncio.get_running_loop().time() + hello_timeout
        sender: Sender | None = None
        while sender is None:
            if conn.close_code is not None:
                return False
            try:
                async with asyncio.timeout_at(hello_by):
                    data = await frames.next()
            except TimeoutError:
                self._metrics.errors.labels("hello_timeout").inc()
                conn.push(session.error("bad_state", f"say hello within {hello_timeout:g} s of connecting"))
                conn.close(CLOSE_PROTOCOL, "no hello in time")
                return False
            if data is None:
                session.receive_eof()
                return False
            assert not isinstance(data, Deferred)  # the callback takes nothing before hello
            event = self._receive(conn, session, data)
            if event is None:
                continue
            if event is _STOP:
                return False
            if type(event.frame) is Login:
                if not await self._challenge(conn, session, event.frame):
                    return False
                continue
            assert type(event.frame) is Hello
            sender = await self._hello(conn, session, event.frame)
            if sender is None:
                return False
        business = sender.account.app == ADDRESS_APP
        if isinstance(frames, QueuedFrames):
            frames.taker = _Inline(self, conn, session, sender, frames, spawn)
            if spawn is not None and not business:
                frames.detach()
                return True
        parallel = ParallelSends() if business else None
        """A business endpoint's sends to different people, prepared side by side."""
        while conn.close_code is None:
            data = await frames.next()
            if data is None:
                session.receive_eof()
                return False
            # A message the WebSocket callback began to handle comes as what is left to do with it.
            later = data if isinstance(data, _Later) else self._take(conn, session, sender, data)
            if later is _STOP:
                return False
            if later is None:
                continue
            frame = later.frame
            if parallel is not None and type(frame) is Send:
                await parallel.submit(frame.to, partial(later.run, conn, session, sender))
            else:
                await later.run(conn, session, sender)
        return False

    async def _drain(
        self, conn: Connection, frames: QueuedFrames, session: ServerSession, sender: Sender
    ) -> None:
        """The read loop of a detached connection while it has work: takes what is queued, in
        order, and ends when nothing is (``IDLE``), or ends the connection (closed, a message that
        ends it, an error)."""
        ended = True
        try:
            while conn.close_code is None:
                data = frames.take_nowait()
                if data is IDLE:
                    ended = False
                    return
                if data is None:
                    session.receive_eof()
                    return
                assert not isinstance(data, Idle)
                later = data if isinstance(data, _Later) else self._take(conn, session, sender, data)
                if later is _STOP:
                    return
                if later is not None:
                    await later.run(conn, session, sender)
        finally:
            if ended:
                frames.taker = None
                self._ended(conn, admitted=True)

    def _receive(
        self, conn: Connection, session: ServerSession, data: bytes | str
    ) -> FrameReceived | _Stop | None:
        """One message through the session: the ``FrameReceived`` to act on, None when it was
        answered here, or ``_STOP`` when the connection ends with it."""
        self._metrics.frames_in += 1
        max_frame = self._limits.max_frame_bytes
        if len(data) > max_frame:
            conn.push(session.error("too_large", f"a frame is limited to {max_frame} bytes"))
            conn.close(TOO_BIG, "frame too big")
            return _STOP
        event = session.receive_frame(data)
        if type(event) is FrameReceived:
            return event
        if type(event) is Reply:
            conn.push(event.data)
            if event.close:
                conn.close(PROTOCOL_ERRORS.get(event.code, (400, CLOSE_PROTOCOL))[1], event.code)
                return _STOP
            return None
        return _STOP  # ConnectionClosed

    def _take(
        self, conn: Connection, session: ServerSession, sender: Sender, data: bytes | str | Deferred
    ) -> _Later | _Stop | None:
        """Handle one message of an authenticated connection as far as it goes without waiting: None
        when done, ``_STOP`` when the connection ends, or the ``_Later`` that must be awaited (by the
        read loop, before the next message)."""
        assert not isinstance(data, Deferred)
        event = self._receive(conn, session, data)
        if event is None or event is _STOP:
            return event
        frame = event.frame
        try:
            if type(frame) is Send:
                wait = conn.send_bucket.take(self._clock.monotonic())
                if wait:
                    raise RateLimited("too many messages, slow down", retry_after_s=wait)
                command = send_message(frame)
                outgoing = self._messaging.prepare_send_now(sender, command)
                if outgoing is None:
                    return _Later(self._send_later, frame, command)
                self._pipeline.enqueue(
                    outgoing, _SentCallback(conn, session, frame.id, outgoing.conv, self._metrics)
                )
            elif type(frame) is Ack:
                upto = conn.ack_bound(frame.upto)
                if upto > 0:
                    self._pipeline.ack(sender.device, MailboxPos(upto))
            else:
                return _Later(self._dispatch_later, frame, None)
        except DomainError as exc:
            self._failed(conn, session, frame, exc)
        return None

    async def _send_later(
        self, conn: Connection, session: ServerSession, sender: Sender, frame: Send, command: SendMessage
    ) -> None:
        """A send that ``prepare_send_now`` could not decide (its token was taken already)."""
        try:
            outgoing = await self._messaging.prepare_send(sender, command)
            done = _SentCallback(conn, session, frame.id, outgoing.conv, self._metrics)
            self._pipeline.enqueue(outgoing, done)
        except DomainError as exc:
            self._failed(conn, session, frame, exc)

    async def _dispatch_later(
        self, conn: Connection, session: ServerSession, sender: Sender, frame: object, _: None
    ) -> None:
        try:
            if type(frame) is Receipt:
                limits = self._limits
                await self._limiter.check(
                    "receipt", sender.device, rate=limits.receipts_per_second, burst=limits.receipt_burst
                )
                await self._messaging.receipt(sender, send_receipt(frame))
            elif type(frame) is Typing:
                limits = self._limits
                await self._limiter.check(
                    "typing", sender.device, rate=limits.typing_per_second, burst=limits.typing_burst
                )
                await self._messaging.typing(sender, frame.conv, frame.typing)
        except DomainError as exc:
            self._failed(conn, session, frame, exc)

    def _failed(self, conn: Connection, session: ServerSession, frame: object, exc: DomainError) -> None:
        ref = frame.id if type(frame) is Send else None
        self._metrics.errors.labels(exc.code).inc()
        conn.push(session.error(exc.code, exc.message, ref=ref, **_details(exc)))
        close = ws_close_code(exc)
        if close is not None and close >= 4000 and exc.code == "unauthorized":
            conn.close(close, exc.code)

    async def _hello(self, conn: Connection, session: ServerSession, frame: Hello) -> Sender | None:
        limits = self._limits
        failures = {"count": limits.failed_hellos_per_window, "window_s": limits.failed_hello_window_s}
        try:
            await self._limiter.check_open(FAILED_HELLOS, conn.client, **failures)
            grant: DeviceSession | None = None
            try:
                if frame.signed:
                    caller, grant = await self._accounts.signed_in(
                        frame.device, frame.challenge, frame.signature, client=ClientKey(conn.client)
                    )
                else:
                    caller = await authenticate(self._accounts, frame.token)
            except Unauthorized:
                with contextlib.suppress(RateLimited):
                    await self._limiter.check_window(FAILED_HELLOS, conn.client, **failures)
                raise
            await self._limiter.check(
                "hello:device",
                caller.device,
                rate=limits.hellos_per_device_per_second,
                burst=limits.hello_burst,
            )
            conn.account = caller.account
            conn.device = caller.device
            conn.expires_at = caller.expires_at
            conn.token_hash = caller.token_hash
            await self._admission.join_account(conn, caller.account)
            otk_count = await self._keys.count(caller)
            rate, burst = await self._send_budget(caller.sender)
        except DomainError as exc:
            session.reject(exc.code, exc.message)
            self._refuse(conn, session, exc)
            return None
        # One connection per device (the hub replaces an older one), so this is the device's budget.
        conn.send_bucket = TokenBucket.full(rate=rate, burst=burst, now=self._clock.monotonic())
        conn.push(
            session.accept(
                account=caller.account,
                device=caller.device,
                otk_count=otk_count,
                time=self._clock.now_ms(),
                token=None if grant is None else grant.token,
                expires_at=None if grant is None else grant.expires_at,
                address=None if grant is None else str(grant.address),
            )
        )
        # An ack this device sent on its previous connection may still wait for its commit: start
        # after it, or the first read of the mailbox would deliver those items a second time.
        conn.start_after(self._pipeline.pending_ack(caller.device))
        self._hub.register(conn)
        return caller.sender

    async def _challenge(self, conn: Connection, session: ServerSession, frame: Login) -> bool:
        """Answer ``login`` with a challenge for its device; False when refused (closed)."""
        try:
            challenge = await self._accounts.challenge(frame.device, client=ClientKey(conn.client))
        except DomainError as exc:
            session.reject(exc.code, exc.message)
            self._refuse(conn, session, exc)
            return False
        conn.push(session.challenge(challenge.challenge, challenge.expires_in_s))
        return True

    async def _send_budget(self, sender: Sender) -> tuple[float, float]:
        """A device's send rate and burst: the person limit, or for a business endpoint its
        business's numbers' throughput together when that is more (a campaign is not capped at
        one person's rate; each number's own bucket still bounds it). Read when the device says
        hello: a number added later counts from its next connection."""
        limits = self._limits
        rate, burst = limits.sends_per_second, float(limits.send_burst)
        if sender.account.app == ADDRESS_APP and self._business_send_rate is not None:
            sized = await self._business_send_rate(sender.account.id)
            if sized is not None and sized > rate:
                rate, burst = sized, max(burst, sized)
        return rate, burst

    def _refuse(self, conn: Connection, session: ServerSession, exc: DomainError) -> None:
        """Answer a refused connection or hello with an ``error`` frame, then close it."""
        self._metrics.errors.labels(exc.code).inc()
        conn.push(session.error(exc.code, exc.message, **_details(exc)))
        conn.close(ws_refusal_code(exc), exc.code)


def _details(exc: DomainError) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for name in ("missing", "extra"):
        value = getattr(exc, name, None)
        if value is not None:
            extra[name] = value
    retry = getattr(exc, "retry_after_s", None)
    if retry is not None:
        extra["retry_after"] = round(float(retry), 3)
    if isinstance(exc, CloudApiError):
        extra["failure"] = exc.failure.value
        extra["details"] = exc.details
    return extra


class _Stop(enum.Enum):
    STOP = 0


_STOP: Final = _Stop.STOP
"""The connection ends with this message (``Gateway._receive``, ``Gateway._take``)."""


class _Later(Deferred):
    """What is left to do with a message that needs to wait (a send whose checks need the database,
    a receipt, typing): run by the read loop, in the order of the messages."""

    __slots__ = ("command", "fn", "frame")

    def __init__(
        self, fn: Callable[..., Awaitable[None]], frame: object, command: SendMessage | None
    ) -> None:
        self.fn = fn
        self.frame = frame
        self.command = command

    def run(self, conn: Connection, session: ServerSession, sender: Sender) -> Awaitable[None]:
        return self.fn(conn, session, sender, self.frame, self.command)


class _Inline:
    """Takes an authenticated connection's messages in the WebSocket callback (QueuedFrames.taker),
    with the same effect as the read loop but without a task switch per message: its ``ack``
    frames (a thousand per group message) through the session's ack fast path when nothing is
    queued before them; any other message when the read loop is idle — a send whose checks are all
    cached is handed to the pipeline there and then, and what must wait goes to the read loop,
    whose order it keeps. One per connection (20 000 idle connections hold one each)."""

    __slots__ = ("conn", "frames", "gateway", "sender", "session", "spawn")

    def __init__(
        self,
        gateway: Gateway,
        conn: Connection,
        session: ServerSession,
        sender: Sender,
        frames: QueuedFrames,
        spawn: Spawn | None,
    ) -> None:
        self.gateway = gateway
        self.conn = conn
        self.session = session
        self.sender = sender
        self.frames = frames
        self.spawn = spawn

    def resume(self) -> None:
        frames = self.frames
        if frames.ended:
            # The usual end of a detached connection (the client closed it, nothing queued): done
            # here, as the drain would do it, without starting a task for it.
            self.session.receive_eof()
            frames.taker = None
            self.gateway._ended(self.conn, admitted=True)
            return
        assert self.spawn is not None
        self.spawn(self.gateway._drain(self.conn, frames, self.session, self.sender))

    def take_ack(self, data: bytes) -> bool:
        conn = self.conn
        if conn.close_code is not None:
            return False
        frame = self.session.receive_ack(data)
        if frame is None:
            return False
        gateway = self.gateway
        gateway._metrics.frames_in += 1
        upto = conn.ack_bound(frame.upto)
        if upto > 0:
            gateway._pipeline.ack(self.sender.device, MailboxPos(upto))
        return True

    def take(self, data: bytes) -> bytes | Deferred | None:
        conn = self.conn
        if conn.close_code is not None:
            return data
        try:
            later = self.gateway._take(conn, self.session, self.sender, data)
        except Exception:
            # What would have ended the read loop (a bug) ends the connection here too.
            log.exception("handling a frame of device %s failed", self.sender.device)
            conn.close(INTERNAL_ERROR, "internal error")
            return None
        return None if later is _STOP else later


class _SentCallback:
    __slots__ = ("conn", "conv", "id", "metrics", "session")

    def __init__(
        self, conn: Connection, session: ServerSession, client_id: str, conv: str, metrics: Metrics
    ) -> None:
        self.conn = conn
        self.session = session
        self.id = client_id
        self.conv = conv
        self.metrics = metrics

    def __call__(self, result: AppendResult | DomainError) -> None:
        if isinstance(result, DomainError):
            self.metrics.errors.labels(result.code).inc()
            self.conn.push(self.session.error(result.code, result.message, ref=self.id))
            return
        if result.duplicate:
            self.metrics.duplicates += 1
        else:
            self.metrics.accepted += 1
        self.conn.push(
            encode(
                Sent(id=self.id, mid=result.message_id, conv=self.conv, ts=result.ts, exp=result.expires_at)
            )
        )
