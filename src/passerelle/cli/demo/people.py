"""The demo's people: their devices (real SDK clients), what each screen shows, and the SMS stand-in.

Every wait is for a real event with a timeout (``STEP_TIMEOUT_S``): the demo never sleeps to let
something happen, and a step that does not happen fails the demo with a sentence saying which.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from passerelle.domain.ids import AppName
from passerelle.sdk import Client, Contact, Event

STEP_TIMEOUT_S = 10.0
E = TypeVar("E", bound=Event)


class DemoFailed(Exception):
    """Something a person should have seen did not happen; the message says what."""


class SmsStandIn:
    """The server's code sender in the demo: the phone that receives the one-time codes."""

    def __init__(self) -> None:
        self._codes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def send_code(self, *, app: AppName, phone: str, code: str) -> None:
        self._codes.put_nowait((phone, code))

    async def receive(self, phone: str) -> str:
        try:
            async with asyncio.timeout(STEP_TIMEOUT_S):
                while True:
                    to, code = await self._codes.get()
                    if to == phone:
                        return code
        except TimeoutError:
            raise DemoFailed(f"no code reached {phone}") from None


class Screen:
    """What one device shows: every event its client dispatched (messages, receipts, group changes,
    requests …), kept until a step looks for it (so the order in which events arrive does not
    matter). ``follow`` reads them; it ends when the client closes."""

    def __init__(self, client: Client) -> None:
        self._events: list[Event] = []
        self._changed = asyncio.Event()
        self._stream = client.events()  # subscribed now: nothing dispatched from here on is missed

    async def follow(self) -> None:
        async for event in self._stream:
            self._events.append(event)
            self._changed.set()

    async def wait_for(self, kind: type[E], where: Callable[[E], bool], *, what: str) -> E:
        """Take the first event of ``kind`` that matches; DemoFailed after ``STEP_TIMEOUT_S``."""
        try:
            async with asyncio.timeout(STEP_TIMEOUT_S):
                while True:
                    for index, event in enumerate(self._events):
                        if isinstance(event, kind) and where(event):
                            del self._events[index]
                            return event
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise DemoFailed(f"{what} did not happen within {STEP_TIMEOUT_S:g} s") from None

    def pending(self, kind: type[E]) -> list[E]:
        """Events of ``kind`` shown and not yet looked at."""
        return [e for e in self._events if isinstance(e, kind)]


@dataclass
class Device:
    label: str
    """``Bob's phone``"""
    store: Path
    client: Client
    screen: Screen
    following: asyncio.Task[None] | None = None
    """The task that reads the client's events onto the screen (awaited when the client closes)."""

    @classmethod
    def of(cls, label: str, store: Path, client: Client) -> Device:
        return cls(label=label, store=store, client=client, screen=Screen(client))


@dataclass
class Person:
    name: str
    """How the demo names them: ``alice``."""
    app: str
    device: Device
    contacts: dict[str, Contact] = field(default_factory=dict)
    """Name -> what this person's lookup returned."""

    @property
    def client(self) -> Client:
        return self.device.client

    @property
    def screen(self) -> Screen:
        return self.device.screen

    def account_of(self, other: Person) -> str:
        return self.contacts[other.name].account_id
