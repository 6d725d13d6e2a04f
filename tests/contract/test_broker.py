"""The Broker contract: what the in-process broker and Redis pub/sub promise the hub.

Every event published reaches the handler intact; on Redis it reaches every node subscribed to the
channel, the publisher included. A malformed payload or a failing handler costs one event, never
the listener. A node that lost its Redis connection resubscribes and asks for a resync of all its
connections (``DeviceNews(all_devices=True)``), because pokes published meanwhile are gone.

Redis tests run when PASSERELLE_TEST_REDIS_URL is set, each on a channel of its own.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import redis.asyncio as aioredis

from passerelle.broker import open_broker
from passerelle.broker.codec import decode_event, encode_event
from passerelle.broker.local import LocalBroker
from passerelle.broker.redis import RedisBroker
from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AccountId, ConversationId, DeviceId
from passerelle.service.ports import Broker, BrokerEvent, Connected, DeviceNews, Ephemeral, Invalidate

REDIS_URL = os.environ.get("PASSERELLE_TEST_REDIS_URL", "")
WITHIN = 5.0
"""How long a test waits for an event that should come."""

NEWS = DeviceNews((DeviceId("dev_a"), DeviceId("dev_b")))
RESYNC = DeviceNews((), all_devices=True)
TYPING = Ephemeral((DeviceId("dev_a"),), b'{"t":"typing","conv":"d_x","from":"acc_b","typing":true}')
REMOVED = Ephemeral((DeviceId("dev_c"),), b'{"t":"error","code":"unauthorized"}', close=True)
INVALIDATE = Invalidate(accounts=(AccountId("acc_a"),), conversations=(ConversationId("d_ab"),))
EVENTS: list[BrokerEvent] = [
    NEWS,
    RESYNC,
    DeviceNews(()),
    TYPING,
    REMOVED,
    Ephemeral((DeviceId("dev_a"), DeviceId("dev_b")), bytes(range(256))),
    INVALIDATE,
    Invalidate(accounts=(AccountId("acc_a"), AccountId("acc_b"))),
    Invalidate(conversations=(ConversationId("g_team"),)),
    Invalidate(),
    Connected("node-a", (DeviceId("dev_a"), DeviceId("dev_b")), (1_700_000_000_000, 1_700_000_000_001)),
    Connected("node-b", (), ()),
]


class Node:
    """What a node's hub does with broker events, recorded: the handler given to ``start``."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self.failures_left = 0

    async def __call__(self, event: BrokerEvent) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the handler broke on this event")
        await self.events.put(event)

    async def next(self, *, within: float = WITHIN) -> BrokerEvent:
        async with asyncio.timeout(within):
            return await self.events.get()

    async def next_except_resyncs(self, *, within: float = WITHIN) -> BrokerEvent:
        """The next event that is not a resync (which may come at any time after a reconnection)."""
        async with asyncio.timeout(within):
            while True:
                event = await self.events.get()
                if event != RESYNC:
                    return event


def with_client_name(url: str, name: str) -> str:
    """The Redis URL with every connection it opens named ``name`` (seen in CLIENT LIST)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("client_name", name)]
    return urlunsplit(parts._replace(query=urlencode(query)))


StartBroker = Callable[[Node], Awaitable[Broker]]


class Nodes:
    """Starts brokers of one kind, one per node, and closes them all. Redis brokers share the
    test's channel; the n-th one's connections are named ``f"{client_name}-{n}"``."""

    def __init__(self, kind: str, *, channel: str, client_name: str) -> None:
        self.kind = kind
        self.channel = channel
        self.client_name = client_name
        self.started: list[Broker] = []

    async def start(self, node: Node) -> Broker:
        broker: Broker
        if self.kind == "local":
            broker = LocalBroker()
        else:
            url = with_client_name(REDIS_URL, f"{self.client_name}-{len(self.started)}")
            broker = RedisBroker(url, channel=self.channel)
        self.started.append(broker)
        await broker.start(node)
        return broker

    async def close(self) -> None:
        for broker in self.started:
            await broker.close()


@pytest.fixture
def channel() -> str:
    return f"passerelle:test:{secrets.token_hex(6)}"


@pytest.fixture
def client_name() -> str:
    return f"passerelle-test-{secrets.token_hex(6)}"


def _need_redis() -> None:
    if not REDIS_URL:
        pytest.skip("PASSERELLE_TEST_REDIS_URL is not set")


@pytest.fixture
async def raw_redis() -> AsyncIterator[aioredis.Redis]:
    """A plain Redis client: publishes arbitrary bytes and kills connections, like an operator."""
    _need_redis()
    client = aioredis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def start_redis(channel: str, client_name: str) -> AsyncIterator[StartBroker]:
    """Start Redis brokers ("nodes") on this test's channel."""
    _need_redis()
    nodes = Nodes("redis", channel=channel, client_name=client_name)
    try:
        yield nodes.start
    finally:
        await nodes.close()


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
async def start_broker(
    request: pytest.FixtureRequest, channel: str, client_name: str
) -> AsyncIterator[StartBroker]:
    """The broker under test, for one node: in-process, then Redis."""
    if request.param == "redis":
        _need_redis()
    nodes = Nodes(request.param, channel=channel, client_name=client_name)
    try:
        yield nodes.start
    finally:
        await nodes.close()


# -- the codec -----------------------------------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=repr)
def test_every_event_kind_comes_back_from_its_encoding(event: BrokerEvent) -> None:
    data = encode_event(event)

    assert isinstance(data, bytes)
    assert decode_event(data) == event


def test_encoding_refuses_what_is_not_an_event() -> None:
    with pytest.raises(TypeError):
        encode_event("news")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"news"',
        b"{}",
        b'{"k":"launch"}',
        b'{"k":"news","d":[1,2]}',
        b'{"k":"news","x":"yes"}',
        b'{"k":"eph","d":["dev_a"],"f":"%%%%"}',
        b'{"k":"eph","d":["dev_a"],"f":"abc"}',
        b'{"k":"inv","a":"acc_a"}',
        b'{"k":"conn","n":"node-a","d":["dev_a"],"t":[]}',
        b'{"k":"conn","n":"node-a","d":["dev_a"],"t":["soon"]}',
    ],
)
def test_malformed_bytes_raise_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the listener's contract is exactly ValueError
        decode_event(data)


def test_urls_pick_the_broker() -> None:
    assert isinstance(open_broker(""), LocalBroker)
    assert isinstance(open_broker("local"), LocalBroker)
    for url in ("redis://127.0.0.1:6379/0", "rediss://cache.example:6380/1", "unix:///run/redis.sock"):
        broker = open_broker(url)
        assert isinstance(broker, RedisBroker) and not broker.is_local
    with pytest.raises(ValueError, match="redis://"):
        open_broker("amqp://127.0.0.1/")


async def test_an_unreachable_redis_is_unavailable() -> None:
    broker = RedisBroker("redis://127.0.0.1:1/0", channel="passerelle:test:nowhere")

    with pytest.raises(Unavailable):
        async with asyncio.timeout(30):
            await broker.start(Node())
    await broker.close()


# -- one node: every event reaches the handler ---------------------------------------------------


async def test_each_event_kind_reaches_the_handler_in_order(start_broker: StartBroker) -> None:
    node = Node()
    broker = await start_broker(node)

    for event in (NEWS, TYPING, REMOVED, INVALIDATE, RESYNC):
        await broker.publish(event)

    assert [await node.next() for _ in range(5)] == [NEWS, TYPING, REMOVED, INVALIDATE, RESYNC]


async def test_the_local_broker_is_local_and_hands_over_nothing_after_close() -> None:
    node = Node()
    broker = LocalBroker()
    await broker.start(node)
    assert broker.is_local

    await broker.close()
    await broker.publish(NEWS)

    assert node.events.empty()


# -- Redis: several nodes on one channel ---------------------------------------------------------


@pytest.mark.redis
async def test_every_node_gets_every_event_the_publishers_own_included(start_redis: StartBroker) -> None:
    a, b = Node(), Node()
    broker_a = await start_redis(a)
    broker_b = await start_redis(b)

    await broker_a.publish(NEWS)
    await broker_b.publish(INVALIDATE)

    assert [await a.next(), await a.next()] == [NEWS, INVALIDATE]
    assert [await b.next(), await b.next()] == [NEWS, INVALIDATE]


@pytest.mark.redis
async def test_a_node_is_subscribed_when_start_returns(
    start_redis: StartBroker, raw_redis: aioredis.Redis, channel: str
) -> None:
    node = Node()
    await start_redis(node)

    # Published by someone else at once: had start() returned before Redis confirmed the
    # subscription, this event could be lost.
    assert await raw_redis.publish(channel, encode_event(NEWS)) == 1

    assert await node.next() == NEWS


@pytest.mark.redis
async def test_a_malformed_payload_is_dropped_and_the_listener_goes_on(
    start_redis: StartBroker, raw_redis: aioredis.Redis, channel: str
) -> None:
    node = Node()
    broker = await start_redis(node)

    for junk in (b"garbage", b"\xff\xfe", b'{"k":"launch"}', b'{"k":"eph","d":["dev_a"],"f":"%%%"}'):
        await raw_redis.publish(channel, junk)
    await broker.publish(TYPING)

    assert await node.next() == TYPING
    assert node.events.empty()


@pytest.mark.redis
async def test_a_failing_handler_costs_one_event_not_the_listener(start_redis: StartBroker) -> None:
    node = Node()
    broker = await start_redis(node)
    node.failures_left = 1

    await broker.publish(NEWS)
    await broker.publish(INVALIDATE)

    assert await node.next() == INVALIDATE


@pytest.mark.redis
async def test_after_losing_its_connection_a_node_resubscribes_and_asks_for_a_resync(
    start_redis: StartBroker, raw_redis: aioredis.Redis, client_name: str
) -> None:
    node, other = Node(), Node()
    broker = await start_redis(node)
    publisher = await start_redis(other)  # another node, whose connection stays up
    await broker.publish(NEWS)
    assert await node.next() == NEWS
    assert await other.next() == NEWS

    # Cut this node's subscription only, the way a Redis restart or a network blip would.
    [victim] = [
        c["id"] for c in await raw_redis.client_list(_type="pubsub") if c["name"] == f"{client_name}-0"
    ]
    assert await raw_redis.client_kill_filter(_id=victim) == 1

    assert await node.next() == RESYNC
    await publisher.publish(INVALIDATE)
    await broker.publish(TYPING)
    assert [await node.next_except_resyncs() for _ in range(2)] == [INVALIDATE, TYPING]
    assert [await other.next() for _ in range(2)] == [INVALIDATE, TYPING]
