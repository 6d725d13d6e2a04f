"""The composition root builds the graph in one pass: every link is in place once ``build`` returns,
and the ASGI app is an assembly over that graph."""

from __future__ import annotations

from pathlib import Path

from passerelle.config import load_settings
from passerelle.server.app import asgi_app
from passerelle.server.wiring import build
from tests.unit.service.fakes import FakeClock, Phone
from tests.unit.service.world import memory_adapters


def test_build_links_everything_at_construction(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path)
    clock = FakeClock()
    adapters = memory_adapters(tmp_path, clock, Phone())
    wired = build(settings, adapters)
    assert wired.pipeline.on_committed == wired.hub.on_committed
    assert wired.hub.on_presence == wired.presence.seen
    assert wired.store is adapters.store and wired.clock is clock
    app = asgi_app(wired)
    assert app.state.services is wired
