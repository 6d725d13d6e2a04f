"""The bot's state file remembers the updates it handled, the newest ``keep`` of them."""

from __future__ import annotations

from pathlib import Path

from passerelle.bot.state import StateStore


async def test_the_handled_updates_are_bounded_and_survive_a_reopening(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    for ident in ["wamid.1", "wamid.2", "wamid.3", "wamid.4", "wamid.5", "wamid.4"]:
        await store.mark_handled(ident, keep=3)
    assert [await store.handled_before(f"wamid.{n}") for n in range(1, 6)] == [False, False, True, True, True]
    store.close()
    again = StateStore(tmp_path / "state.sqlite3")
    assert await again.handled_before("wamid.5") and not await again.handled_before("wamid.1")
    rows = again._run("SELECT COUNT(*) FROM handled_update", ())
    assert rows == [(3,)]
    again.close()
