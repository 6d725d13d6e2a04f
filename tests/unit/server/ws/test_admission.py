"""Admission and token expiry, without a network: caps per address, per account and per node, and
connections closed when their token expires."""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Mapping, Sequence
from typing import cast

import pytest
from prometheus_client import CollectorRegistry, Counter

from passerelle.domain.errors import RateLimited, Unavailable
from passerelle.domain.ids import AccountId, DeviceId, Timestamp
from passerelle.server.ws.admission import FD_HEADROOM, Admission, fd_limit_warning
from passerelle.server.ws.connection import Connection, WriteBatcher
from passerelle.server.ws.expiry import TokenExpiry
from passerelle.service.ports import BrokerEvent, DeviceNews
from passerelle.service.records import TokenRecord
from passerelle.storage.ratelimits.slots import RedisConnectionSlots


class Wire:
    """A transport that writes nowhere."""

    direct = True

    def __init__(self) -> None:
        self.closed = asyncio.Event()

    def write_now(self, data: bytes) -> None: ...

    def write_many(self, frames: list[bytes]) -> None: ...

    def buffered(self) -> int:
        return 0

    def is_closed(self) -> bool:
        return False

    async def send_text(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str = "") -> None: ...

    def close_now(self, code: int, reason: str = "") -> None:
        self.closed.set()


async def conn(client: str = "1.2.3.4", device: str = "", account: str = "") -> Connection:
    c = Connection(Wire(), max_frames=8, max_buffer=1024, batcher=WriteBatcher(), client=client)
    if device:
        c.device = DeviceId(device)
    if account:
        c.account = AccountId(account)
    return c


async def test_an_address_holds_its_cap_and_no_more_and_leaving_frees_a_place() -> None:
    admission = Admission(per_client=2, per_account=8, total=100)
    first, second, third = [await conn() for _ in range(3)]
    admission.enter(first)
    admission.enter(second)
    with pytest.raises(RateLimited):
        admission.enter(third)
    admission.enter(await conn("5.6.7.8"))  # another address is unaffected
    admission.leave(first)
    admission.enter(third)
    assert admission.of_client("1.2.3.4") == 2 and admission.open == 3


async def test_a_full_node_is_unavailable() -> None:
    admission = Admission(per_client=10, per_account=10, total=2)
    admission.enter(await conn("a"))
    admission.enter(await conn("b"))
    with pytest.raises(Unavailable):
        admission.enter(await conn("c"))
    assert admission.open == 2


async def test_an_account_holds_its_cap_but_a_device_may_replace_its_own_connection() -> None:
    admission = Admission(per_client=10, per_account=2, total=100)
    alice = AccountId("acc_alice")
    phone, laptop = await conn(device="phone"), await conn(device="laptop")
    await admission.join_account(phone, alice)
    await admission.join_account(laptop, alice)
    with pytest.raises(RateLimited):
        await admission.join_account(await conn(device="tablet"), alice)
    await admission.join_account(await conn(device="phone"), alice)  # the phone again: replaces, not adds
    phone.close(4000)  # as the hub does to the connection it replaces
    laptop.close(1000)
    await admission.join_account(await conn(device="tablet"), alice)  # a closing connection does not count
    await admission.join_account(await conn(device="phone"), AccountId("acc_bob"))


async def test_without_redis_the_account_cap_falls_back_to_this_nodes_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis down (nothing listens on port 1): hellos are let in up to the node's own count, each
    fallback counted in the metric and one warning logged; closing is quiet (the slot expires)."""
    registry = CollectorRegistry()
    unshared = Counter("unshared", "test", registry=registry)
    slots = RedisConnectionSlots("redis://127.0.0.1:1/0", Clock(), ttl_s=30)
    admission = Admission(per_client=10, per_account=2, total=100, slots=slots, unshared=unshared)
    alice = AccountId("acc_alice")
    try:
        phone, laptop = await conn(device="phone", account=alice), await conn(device="laptop", account=alice)
        await admission.join_account(phone, alice)
        await admission.join_account(laptop, alice)
        with pytest.raises(RateLimited):
            await admission.join_account(await conn(device="tablet"), alice)
        assert registry.get_sample_value("unshared_total") == 2
        assert len([r for r in caplog.records if "did not answer" in r.getMessage()]) == 1
        admission.leave_account(phone)
        await asyncio.sleep(0.2)  # the release is tried in the background, and fails
        assert registry.get_sample_value("unshared_total") == 3
        await admission.join_account(await conn(device="tablet"), alice)
    finally:
        await slots.close()


class GatedSlots:
    """Shared slots that answer a claim when the test opens the gate (a slow Redis)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.refreshed: list[dict[str, list[tuple[str, str]]]] = []
        self.was_refreshed = asyncio.Event()

    async def claim(self, account: str, device: str, holder: str, *, cap: int) -> bool:
        await self.gate.wait()
        return True

    async def refresh(self, held: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        self.refreshed.append({a: list(s) for a, s in held.items()})
        self.was_refreshed.set()

    async def release(self, account: str, device: str, holder: str) -> None: ...

    async def close(self) -> None: ...


async def test_a_connection_whose_claim_waited_while_its_account_emptied_is_still_counted() -> None:
    slots = GatedSlots()
    admission = Admission(per_client=10, per_account=2, total=100, slots=slots, refresh_s=0.01)
    alice = AccountId("acc_alice")
    phone, laptop = await conn(device="phone", account=alice), await conn(device="laptop", account=alice)
    slots.gate.set()
    await admission.join_account(phone, alice)
    slots.gate.clear()
    joining = asyncio.create_task(admission.join_account(laptop, alice))
    await asyncio.sleep(0)
    admission.leave_account(phone)  # the account's only connection here ends meanwhile
    slots.gate.set()
    await joining
    refresher = asyncio.create_task(admission.run())
    try:
        async with asyncio.timeout(5):
            await slots.was_refreshed.wait()
    finally:
        refresher.cancel()
    assert [device for device, _ in slots.refreshed[0][alice]] == ["laptop"]


class Tokens:
    def __init__(self) -> None:
        self.live: set[str] = set()

    async def resolve_token(self, token_hash: str, *, now: Timestamp) -> TokenRecord | None:
        if token_hash not in self.live:
            return None
        return TokenRecord(device=DeviceId("d"), account=AccountId("a"), expires_at=Timestamp(now + 1))


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def now_ms(self) -> Timestamp:
        return Timestamp(self.ms)

    def monotonic(self) -> float:
        return self.ms / 1000


async def test_expired_tokens_close_their_connections_and_the_next_expiry_is_known() -> None:
    clock = Clock()
    soon, later = await conn(device="soon"), await conn(device="later")
    soon.expires_at, later.expires_at = clock.ms + 1000, clock.ms + 60_000
    seen: list[BrokerEvent] = []

    async def hub(event: BrokerEvent) -> None:
        seen.append(event)

    expiry = TokenExpiry(
        {DeviceId("soon"): soon, DeviceId("later"): later},
        clock,
        tokens=Tokens(),
        broker_events=hub,
        interval_s=5.0,
    )
    assert expiry.close_expired() == pytest.approx(1.0)
    clock.ms += 1000
    assert expiry.close_expired() == pytest.approx(59.0)
    assert (soon.close_code, later.close_code) == (4001, None)


async def test_after_a_resync_revoked_tokens_close_their_connections() -> None:
    clock, tokens = Clock(), Tokens()
    kept, revoked = await conn(device="kept"), await conn(device="revoked")
    kept.token_hash, revoked.token_hash = "h-kept", "h-revoked"
    kept.expires_at = revoked.expires_at = clock.ms + 60_000
    tokens.live.add("h-kept")
    seen: list[BrokerEvent] = []

    async def hub(event: BrokerEvent) -> None:
        seen.append(event)

    expiry = TokenExpiry(
        {DeviceId("kept"): kept, DeviceId("revoked"): revoked},
        clock,
        tokens=tokens,
        broker_events=hub,
        interval_s=5.0,
    )
    runner = asyncio.create_task(expiry.run())
    try:
        await expiry.on_broker_event(DeviceNews((DeviceId("kept"),)))
        resync = DeviceNews((), all_devices=True)
        await expiry.on_broker_event(resync)
        async with asyncio.timeout(5):
            await cast(Wire, revoked.transport).closed.wait()
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
    assert seen == [DeviceNews((DeviceId("kept"),)), resync]  # the hub still gets every event
    assert (kept.close_code, revoked.close_code) == (None, 4001)


def test_a_cap_over_the_open_file_limit_is_warned_about() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert fd_limit_warning(10) is None or soft < 10 + FD_HEADROOM
    if soft != resource.RLIM_INFINITY:
        warning = fd_limit_warning(soft)
        assert warning is not None and "ulimit -n" in warning
