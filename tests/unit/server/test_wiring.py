"""The composition root builds the graph in one pass: every link is in place once ``build`` returns,
and the ASGI app is an assembly over that graph."""

from __future__ import annotations

from pathlib import Path

from passerelle.broker import open_broker
from passerelle.config import load_settings
from passerelle.server.app import asgi_app
from passerelle.server.system import RandomIds
from passerelle.server.wiring import Adapters, build
from passerelle.storage import MemoryStore
from passerelle.storage.blobs.files import LocalBlobStore
from passerelle.storage.ratelimits.memory import MemoryRateLimits
from passerelle.storage.server_secret import KEY_FILE, FileServerSecret
from tests.unit.service.fakes import FakeClock, Phone


def test_build_links_everything_at_construction(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path)
    clock = FakeClock()
    adapters = Adapters(
        store=MemoryStore(clock=clock),
        broker=open_broker(""),
        rate_limits=MemoryRateLimits(clock),
        secret=FileServerSecret(tmp_path / KEY_FILE),
        blobs=LocalBlobStore(tmp_path / "blobs"),
        clock=clock,
        ids=RandomIds(),
        codes=Phone(),
    )
    wired = build(settings, adapters)
    assert wired.pipeline.on_committed == wired.hub.on_committed
    assert wired.hub.on_presence == wired.presence.seen
    assert wired.store is adapters.store and wired.clock is clock
    app = asgi_app(wired)
    assert app.state.services is wired
