"""The hub's deliver frames for group messages: encoded once per message and spliced with each
device's position, they must be exactly what msgspec writes for the same frame, and a device's items
must leave in position order, once each, whatever mix of own payloads and group bodies a commit holds.
Each connection keeps its own cursor: what it was sent, and whether it is caught up."""

from __future__ import annotations

from typing import cast

from msgspec import Raw

from passerelle.domain.ids import AccountId, ConversationId, DeviceId, MailboxPos, MessageId, Timestamp
from passerelle.proto.codec import decode_server_frame, deliver_one, encode
from passerelle.proto.frames import Deliver, Item
from passerelle.server.metrics import Metrics
from passerelle.server.ws.connection import SLOW_CONSUMER, Connection, WriteBatcher
from passerelle.server.ws.deliver import shared_tail, to_item
from passerelle.server.ws.hub import Hub
from passerelle.service.ports import Broker, Mailbox
from passerelle.service.records import AppendResult, MailboxItem, SharedItems

BODY = b'{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"Awg\\"A"}'


def shared(devices: list[str], positions: list[int], message_id: int = 7) -> SharedItems:
    return SharedItems(
        kind="msg",
        conv=ConversationId("g_1"),
        sender=AccountId("a_alice"),
        sender_device=DeviceId("d_alice"),
        ts=Timestamp(1_700_000_000_000),
        expires_at=Timestamp(1_800_000_000_000),
        body=BODY,
        message_id=MessageId(message_id),
        devices=[DeviceId(d) for d in devices],
        positions=positions,
    )


def own(device: str, pos: int, body: bytes = b'{"olm":1}') -> MailboxItem:
    return MailboxItem(
        device=DeviceId(device),
        pos=MailboxPos(pos),
        kind="msg",
        conv=ConversationId("g_1"),
        sender=AccountId("a_alice"),
        sender_device=DeviceId("d_alice"),
        ts=Timestamp(1_700_000_000_000),
        expires_at=Timestamp(1_800_000_000_000),
        body=body,
        message_id=MessageId(7),
    )


def result(items: tuple[MailboxItem, ...] = (), group: SharedItems | None = None) -> AppendResult:
    return AppendResult(
        message_id=MessageId(7),
        ts=Timestamp(1_700_000_000_000),
        expires_at=Timestamp(1_800_000_000_000),
        duplicate=False,
        items=items,
        shared=group,
    )


class Wire:
    """A direct transport that keeps what it was asked to write."""

    direct = True

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def write_now(self, data: bytes) -> None:
        self.frames.append(data)

    def write_many(self, frames: list[bytes]) -> None:
        self.frames += frames

    def buffered(self) -> int:
        return 0

    def is_closed(self) -> bool:
        return False

    async def send_text(self, data: bytes) -> None:
        self.frames.append(data)

    async def close(self, code: int, reason: str = "") -> None:
        pass

    def close_now(self, code: int, reason: str = "") -> None:
        pass


class LocalBroker:
    is_local = True


class EmptyMailbox:
    """A mailbox with nothing waiting: a first read leaves a connection caught up."""

    async def fetch(self, device: DeviceId, *, after: MailboxPos, limit: int) -> list[MailboxItem]:
        return []


async def hub_with(
    devices: list[str], batcher: WriteBatcher, max_frame_bytes: int = 1 << 20, *, unread: tuple[str, ...] = ()
) -> tuple[Hub, dict[str, Wire]]:
    """A hub with a connection per device, caught up with its (empty) mailbox unless it is ``unread``."""
    hub = Hub(
        mailbox=cast(Mailbox, EmptyMailbox()),
        broker=cast(Broker, LocalBroker()),
        invalidate=lambda event: None,
        metrics=Metrics(),
        max_frame_bytes=max_frame_bytes,
    )
    wires: dict[str, Wire] = {}
    for name in devices:
        wires[name] = Wire()
        conn = Connection(wires[name], max_frames=100, max_buffer=1 << 20, batcher=batcher)
        conn.device = DeviceId(name)
        if name not in unread:
            await hub.sync(conn)
        hub.connections[DeviceId(name)] = conn
    return hub, wires


def items_of(frames: list[bytes]) -> list[Item]:
    out: list[Item] = []
    for frame in frames:
        decoded = decode_server_frame(frame)
        assert isinstance(decoded, Deliver)
        out += decoded.items
    return out


def test_the_spliced_frame_is_byte_for_byte_what_msgspec_writes() -> None:
    group = shared(["d_bob"], [123_456])
    [expected] = group.expand()
    spliced = deliver_one(123_456, shared_tail(group))
    assert spliced == encode(Deliver(items=[to_item(expected, expected.pos)]))
    assert decode_server_frame(spliced) == Deliver(
        items=[
            Item(
                pos=123_456,
                kind="msg",
                conv="g_1",
                sender="a_alice",
                dev="d_alice",
                ts=1_700_000_000_000,
                exp=1_800_000_000_000,
                body=Raw(BODY),
                mid=7,
            )
        ]
    )


async def test_a_lone_group_message_reaches_each_live_device_once_with_its_own_position() -> None:
    batcher = WriteBatcher()
    # d_dave has not read its mailbox yet: it is told to read again instead.
    hub, wires = await hub_with(["d_bob", "d_carol", "d_dave"], batcher, unread=("d_dave",))
    hub.connections[DeviceId("d_carol")].read_through(11)  # already had it from a read

    hub.on_committed([result(group=shared(["d_bob", "d_carol", "d_dave", "d_offline"], [10, 11, 12, 13]))])
    batcher._flush()

    assert [(i.pos, bytes(i.body)) for i in items_of(wires["d_bob"].frames)] == [(10, BODY)]
    assert wires["d_carol"].frames == [] and wires["d_dave"].frames == []
    assert hub.connections[DeviceId("d_dave")].need_sync
    assert hub.connections[DeviceId("d_bob")].sent_upto == 10


async def test_own_payloads_and_group_bodies_of_one_commit_leave_in_position_order() -> None:
    batcher = WriteBatcher()
    hub, wires = await hub_with(["d_bob", "d_carol"], batcher)
    commit = [
        result(items=(own("d_bob", 1),), group=shared(["d_bob", "d_carol"], [2, 3])),
        result(items=(own("d_carol", 4),)),
        result(group=shared(["d_carol", "d_bob"], [5, 6], message_id=8)),
    ]
    hub.on_committed(commit)
    batcher._flush()

    assert len(wires["d_bob"].frames) == 1  # one frame per device per commit
    bob = items_of(wires["d_bob"].frames)
    assert [(i.pos, bytes(i.body), i.mid) for i in bob] == [(1, b'{"olm":1}', 7), (2, BODY, 7), (6, BODY, 8)]
    carol = items_of(wires["d_carol"].frames)
    assert [i.pos for i in carol] == [3, 4, 5]
    assert hub.connections[DeviceId("d_carol")].sent_upto == 5


async def test_no_deliver_frame_is_larger_than_the_frame_limit() -> None:
    """Many large items for one device (a stranger's 64 KiB messages) leave in frames a client with
    the protocol's frame limit accepts, in order, none lost."""
    batcher = WriteBatcher()
    limit = 10_000
    hub, wires = await hub_with(["d_bob"], batcher, max_frame_bytes=limit)
    big = b'{"c":"' + b"A" * 3000 + b'"}'
    commit = [result(items=(own("d_bob", pos, big),)) for pos in range(1, 10)]
    commit.append(result(group=shared(["d_bob"], [10])))
    hub.on_committed(commit)
    batcher._flush()
    assert all(len(frame) <= limit for frame in wires["d_bob"].frames)
    assert len(wires["d_bob"].frames) > 1
    assert [i.pos for i in items_of(wires["d_bob"].frames)] == list(range(1, 11))

    wires["d_bob"].frames.clear()
    conn = hub.connections[DeviceId("d_bob")]
    conn.push_items([own("d_bob", pos, big) for pos in range(11, 30)], limit)
    batcher._flush()
    assert all(len(frame) <= limit for frame in wires["d_bob"].frames)
    assert [i.pos for i in items_of(wires["d_bob"].frames)] == list(range(11, 30))


async def test_the_connection_keeps_its_own_cursor() -> None:
    """What a connection was sent bounds what its acks may acknowledge; what it had before (an ack
    still waiting for its commit) is not sent again; until it has read its mailbox it takes no
    commits but is told to read."""
    batcher = WriteBatcher()
    wire = Wire()
    conn = Connection(wire, max_frames=100, max_buffer=1 << 20, batcher=batcher)
    conn.device = DeviceId("d_bob")
    assert conn.ack_bound(5) == 0
    conn.start_after(3)
    conn.start_after(2)  # never backwards
    assert conn.sent_upto == 3 and conn.ack_bound(5) == 3 and conn.ack_bound(2) == 2

    tail = shared_tail(shared(["d_bob"], [4]))
    assert conn.offer_one(4, tail) == 0 and conn.need_sync  # not caught up: read the mailbox instead
    assert conn.offer([own("d_bob", 4)], 1 << 20) == 0

    conn.begin_read()
    assert conn.next_read() == 3 and not conn.need_sync
    assert conn.push_items([own("d_bob", pos) for pos in (2, 3, 4, 5)], 1 << 20) == 2
    conn.read_through(7)  # 6 and 7 were dropped as undeliverable
    assert conn.offer_one(8, tail) == 0 and conn.need_sync  # a commit during the read: read again
    conn.end_read(caught_up=True)
    assert conn.sent_upto == 7
    assert conn.offer_one(7, tail) == 0 and conn.offer_one(8, tail) == 1
    assert conn.offer([own("d_bob", 8), (9, tail), own("d_bob", 10)], 1 << 20) == 2
    batcher._flush()
    assert [i.pos for i in items_of(wire.frames)] == [4, 5, 8, 9, 10]
    assert conn.ack_bound(100) == 10


class Backed(Wire):
    """A direct transport whose client reads nothing: ``backlog`` bytes wait in its write buffer."""

    def __init__(self, backlog: int) -> None:
        super().__init__()
        self.backlog = backlog

    def buffered(self) -> int:
        return self.backlog


async def test_a_member_that_reads_nothing_is_closed_and_holds_up_no_one() -> None:
    """A group message written to each member as it is offered: a member whose write buffer is past
    its bound is closed with 1013 (it resumes from its mailbox) instead of being written more, and
    the members after it still get the message."""
    batcher = WriteBatcher()
    hub, wires = await hub_with(["d_bob", "d_carol", "d_dave"], batcher)
    slow = Backed(backlog=(1 << 20) + 1)
    conn = hub.connections[DeviceId("d_carol")]
    conn.transport = slow
    hub.on_committed([result(group=shared(["d_bob", "d_carol", "d_dave"], [10, 11, 12]))])
    batcher._flush()

    assert conn.close_code == SLOW_CONSUMER and slow.frames == []
    assert [i.pos for i in items_of(wires["d_bob"].frames)] == [10]
    assert [i.pos for i in items_of(wires["d_dave"].frames)] == [12]


async def test_a_group_item_waits_behind_what_its_device_was_pushed_in_the_same_turn() -> None:
    """Frames pushed to a connection earlier in a loop turn leave before a group item offered to it
    later in the turn, in one write."""
    batcher = WriteBatcher()
    hub, wires = await hub_with(["d_bob"], batcher)
    conn = hub.connections[DeviceId("d_bob")]
    conn.push(b'{"t":"pong"}')
    hub.on_committed([result(group=shared(["d_bob"], [10]))])
    assert wires["d_bob"].frames == []  # nothing written before the turn's end
    batcher._flush()
    assert wires["d_bob"].frames[0] == b'{"t":"pong"}'
    assert [i.pos for i in items_of(wires["d_bob"].frames[1:])] == [10]
