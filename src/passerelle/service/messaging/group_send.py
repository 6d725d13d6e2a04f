"""The send path of a group (docs/protocol.md section 10.3): the body is stored once and fanned out by
the server to every current member device but the sending one; ``payloads`` (room-key shares) may
name only devices of current members.

The fan-out list comes from one read (members, their apps, their devices) and is cached per group
for a few seconds, like the 1:1 routes, and dropped with them on any change of devices or members
(MessagingService's epoch). Membership is enforced here: a removed member's devices are not in the
list, so they get nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from passerelle.domain.apps import AppRegistry
from passerelle.domain.conversations import message_expiry
from passerelle.domain.errors import InvalidInput, NotFound, StaleDevices, TooLarge
from passerelle.domain.ids import AccountId, ConversationId, DeviceId, Timestamp
from passerelle.proto.payloads import envelope_problem
from passerelle.service.messaging.commands import SendMessage
from passerelle.service.ports import Clock, GroupStore
from passerelle.service.records import ConversationRecord, OutgoingMessage

ROUTE_TTL_S = 10.0
DEFAULT_RETENTION_S = 30 * 86_400


@dataclass(slots=True)
class GroupRoute:
    owners: dict[DeviceId, AccountId]
    """Every member device, with its account."""
    devices: tuple[DeviceId, ...]
    retention_s: int
    epoch: int
    until: float
    without: dict[DeviceId, tuple[DeviceId, ...]] = field(default_factory=dict)
    """The fan-out of a send from one device (every member device but that one), built once."""

    def fanout(self, sender: DeviceId) -> tuple[DeviceId, ...]:
        found = self.without.get(sender)
        if found is None:
            found = tuple(d for d in self.devices if d != sender)
            self.without[sender] = found
        return found


class GroupFanout:
    def __init__(
        self, *, store: GroupStore, apps: AppRegistry, clock: Clock, max_envelope_bytes: int
    ) -> None:
        self._store = store
        self._apps = apps
        self._clock = clock
        self._max_envelope = max_envelope_bytes
        self._routes: dict[ConversationId, GroupRoute] = {}

    async def route(self, conv: ConversationId, epoch: int) -> GroupRoute:
        route = self._routes.get(conv)
        if route is None or route.epoch != epoch or route.until < self._clock.monotonic():
            found = await self._store.group_devices(conv)
            owners = {d: account for account, ds in found.devices.items() for d in ds}
            retention = 0
            for app_name in set(found.apps.values()):
                app = self._apps.get(app_name)
                value = app.retention_s if app is not None else DEFAULT_RETENTION_S
                retention = value if retention == 0 else min(retention, value)
            route = GroupRoute(
                owners=owners,
                devices=tuple(DeviceId(d) for d in owners),
                retention_s=retention or DEFAULT_RETENTION_S,
                epoch=epoch,
                until=self._clock.monotonic() + ROUTE_TTL_S,
            )
            if len(self._routes) > 10_000:
                self._routes.clear()
            self._routes[conv] = route
        return route

    async def prepare(
        self, sender: AccountId, device: DeviceId, command: SendMessage, conv: ConversationRecord, epoch: int
    ) -> OutgoingMessage:
        route = await self.route(conv.id, epoch)
        if route.owners.get(device) != sender:
            raise NotFound("no such conversation")
        body = command.body
        if body is None and not command.payloads:
            raise InvalidInput("a group send carries a body, payloads or both")
        limit = self._max_envelope
        if body is not None:
            if len(body) > limit:
                raise TooLarge(f"an envelope is limited to {limit} bytes")
            problem = envelope_problem(body)
            if problem is not None:
                raise InvalidInput(f"body: {problem}")
        stored: list[tuple[DeviceId, bytes]] = []
        strangers: list[str] = []
        for target, raw in command.payloads.items():
            if DeviceId(target) not in route.owners or target == device:
                strangers.append(target)
                continue
            envelope = bytes(raw)
            if len(envelope) > limit:
                raise TooLarge(f"an envelope is limited to {limit} bytes")
            problem = envelope_problem(envelope)
            if problem is not None:
                raise InvalidInput(f"payloads: {problem}")
            stored.append((DeviceId(target), envelope))
        if strangers:
            raise StaleDevices(missing=[], extra=sorted(strangers))
        if command.ttl is not None and command.ttl <= 0:
            raise InvalidInput("ttl is a positive number of seconds")
        now: Timestamp = self._clock.now_ms()
        return OutgoingMessage(
            kind="msg",
            conv=conv.id,
            sender=sender,
            sender_device=device,
            client_id=command.id,
            ts=now,
            expires_at=message_expiry(
                now=now, retention_s=route.retention_s, timer_s=conv.timer_s, ttl_s=command.ttl
            ),
            payloads=tuple(stored),
            shared_body=body,
            shared_to=route.fanout(device) if body is not None else (),
        )
