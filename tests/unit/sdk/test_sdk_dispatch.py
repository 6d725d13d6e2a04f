"""The dispatcher: callbacks (sync and async), iterators, failures, closing."""

from __future__ import annotations

import asyncio

import pytest

from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk.core.dispatch import Dispatcher
from passerelle.sdk.errors import Unauthorized
from passerelle.sdk.events import Event, TimerEvent, TypingEvent


def typing(on: bool) -> TypingEvent:
    return TypingEvent(conv=ConversationId("c"), sender=AccountId("a"), typing=on)


async def test_callbacks_get_their_kind_and_a_failing_one_does_not_stop_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatch = Dispatcher()
    got: list[object] = []

    async def async_cb(event: TypingEvent) -> None:
        got.append(("async", event.typing))

    def broken(event: TypingEvent) -> None:
        raise RuntimeError("app bug")

    dispatch.subscribe(TypingEvent, broken)
    dispatch.subscribe(TypingEvent, async_cb)
    unsubscribe = dispatch.subscribe(TypingEvent, lambda e: got.append(("sync", e.typing)))
    dispatch.subscribe(TimerEvent, lambda e: got.append("timer"))
    await dispatch.emit(typing(True))
    unsubscribe()
    await dispatch.emit(typing(False))
    assert got == [("async", True), ("sync", True), ("async", False)]
    assert "an event callback raised" in caplog.text


async def test_streams_end_when_closed_and_raise_the_failure() -> None:
    dispatch = Dispatcher()
    received: list[Event] = []

    stream = dispatch.stream(TypingEvent)  # subscribed from here, before any iteration

    async def consume() -> None:
        async for event in stream:
            received.append(event)

    await dispatch.emit(typing(True))
    task = asyncio.create_task(consume())
    dispatch.close(Unauthorized("device removed"))
    with pytest.raises(Unauthorized):
        await asyncio.wait_for(task, 5)
    assert received == [typing(True)]
