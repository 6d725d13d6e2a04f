"""The bench's accounting: every message counted by message id, and a run that lost, duplicated,
left unanswered or had rejected messages is a failed run (no figures, its counts, exit status 3)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from passerelle.cli.bench import command
from passerelle.cli.bench.accounting import NO_MESSAGES, Counts, Inbox, undelivered
from passerelle.cli.bench.client import BenchSocket, Recorder, Sender
from passerelle.cli.bench.envelopes import SendFrames
from passerelle.cli.bench.figures import Interval, compute
from passerelle.cli.bench.options import BenchOptions
from passerelle.cli.bench.runner import SCHEMA, BenchReport
from passerelle.cli.bench.server import ServerHandle
from passerelle.cli.bench.world import World

MS = 1_000_000


def clean(**changes: Any) -> Counts:
    counts = Counts(sent=10, confirmed=10, expected=10, delivered=10, undelivered=0, duplicated=0)
    return dataclasses.replace(counts, **changes)


def interval(counts: Counts, *, aborted: str | None = None, samples: int = 10) -> Interval:
    return Interval(
        seconds=1.0,
        delivered=10,
        latencies_ns=[MS * (i + 1) for i in range(samples)],
        server_cpu_ticks=10,
        server_thread_ticks={"event_loop": 10},
        clock_ticks_per_s=100,
        server_rss_kb=1024,
        server_peak_rss_kb=1024,
        client_cpu_s=0.01,
        counts=counts,
        aborted=aborted,
    )


def test_an_inbox_counts_each_message_id_once_and_repeats_as_duplicates() -> None:
    inbox = Inbox()
    assert [inbox.receive(m) for m in (1, 2, 1, 3, 2, 2)] == [True, True, False, True, False, False]
    assert inbox.seen == {1, 2, 3}
    assert inbox.duplicates == 3


def test_undelivered_counts_each_confirmed_message_missing_at_each_recipient() -> None:
    assert undelivered([([1, 2, 3], {1, 2, 3}), ([4, 5], {4})]) == 1
    # A group: one sender's confirmed ids owed to three members.
    confirmed = [7, 8, 9]
    assert undelivered((confirmed, seen) for seen in ({7, 8, 9}, {7}, set())) == 0 + 2 + 3
    # Received but never confirmed is not "undelivered" (the send shows up as unanswered instead).
    assert undelivered([([1], [1, 2])]) == 0


def test_clean_counts_are_ok() -> None:
    assert clean().ok and clean().failure() is None
    assert NO_MESSAGES.ok


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"undelivered": 3, "delivered": 7}, "3 deliveries missing"),
        ({"duplicated": 2}, "2 duplicated"),
        ({"confirmed": 8, "unanswered": 2}, "2 sends unanswered"),
        ({"confirmed": 4, "rejected": {"rate_limited": 6}}, "6 sends rejected (rate_limited 6)"),
        ({"errors": {"disconnected": 1}}, "errors disconnected 1"),
        ({"confirmed": 9}, "10 sent but 9 confirmed"),
    ],
)
def test_any_loss_duplicate_rejection_or_error_fails_the_run(changes: dict[str, Any], said: str) -> None:
    counts = clean(**changes)
    assert not counts.ok
    assert said in (counts.failure() or "")
    figures = compute(interval(counts), name="a", title="closed loop")
    assert not figures.ok and figures.failure == counts.failure()
    # A failed run has counts, never figures.
    assert figures.per_s is None and figures.cpu_us_per_unit is None and figures.p99_ms is None
    out = figures.to_json()
    assert out["ok"] is False and out["cpu_us_per_unit"] is None
    assert out["counts"]["sent"] == 10


def test_a_run_stopped_by_rejections_fails_with_the_reason() -> None:
    counts = clean(confirmed=5, rejected={"rate_limited": 5})
    figures = compute(interval(counts, aborted="the server rejected 5 sends as rate_limited"))
    assert not figures.ok
    assert figures.failure is not None and "rate_limited" in figures.failure
    assert figures.cpu_us_per_unit is None


def test_percentiles_say_how_many_samples_they_come_from() -> None:
    figures = compute(interval(clean(), samples=500))
    assert figures.samples == 500
    assert figures.to_json()["latency_ms"]["samples"] == 500
    assert figures.p99_ms == 495.0


async def test_the_client_counts_confirmations_deliveries_duplicates_and_rejections() -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    rec = Recorder()
    out, into = BenchSocket(rec, ack_batch=1, loop=loop), BenchSocket(rec, ack_batch=1, loop=loop)
    frames = SendFrames(
        sender_key="S" * 43,
        recipient_account="a",
        recipient_device="d",
        recipient_key="R" * 43,
        body_bytes=64,
    )
    sender = Sender(out, frames)
    sender.start_closed_loop(4, receiver=into)
    assert sender.issued == 4
    for mid in (11, 12, 13):
        out._handle(b'{"t":"sent","id":"m%x","mid":%d,"conv":"c","ts":1,"exp":2}' % (mid, mid))
    item = b'{"pos":%d,"kind":"msg","conv":"c","from":"a","dev":"d","ts":1,"exp":2,"body":{},"mid":%d}'
    into._handle(b'{"t":"deliver","items":[%s,%s]}' % (item % (1, 11), item % (2, 12)))
    # Refilled on receipt: one more send per new message received.
    assert sender.issued == 6
    into._handle(b'{"t":"deliver","items":[%s]}' % (item % (3, 12)))
    assert sender.issued == 6, "a duplicate is not a receipt"
    out._handle(b'{"t":"error","code":"rate_limited","message":"slow down","ref":"m3"}')
    assert rec.aborted == "rate_limited"
    into._handle(b'{"t":"deliver","items":[%s]}' % (item % (4, 13)))
    assert sender.issued == 6, "senders stop once the server rejects a send as rate limited"
    world = World(
        ServerHandle(url="", ws_url="", pid=0),
        BenchOptions(),
        rec,
        [],
        [],
        senders=[sender],
        receivers=[into],
    )
    counts = world.counts()
    assert counts.to_json() == {
        "sent": 6,
        "confirmed": 3,
        "expected": 3,
        "delivered": 3,
        "undelivered": 0,
        "duplicated": 1,
        "unanswered": 2,
        "rejected": {"rate_limited": 1},
        "errors": {},
    }
    assert not counts.ok


def failed_report() -> BenchReport:
    ok = compute(interval(clean()), name="a", title="closed loop")
    failed = compute(interval(clean(duplicated=1)), name="b", title="open loop")
    return BenchReport(
        options=BenchOptions(scenarios=("a", "b")),
        machine={
            "cpus": 2,
            "cpu": "x",
            "load_avg_1m": 1.0,
            "python": "3",
            "client": "picows",
            "client_loop": "uvloop",
            "revision": None,
        },
        scenarios={"a": ok, "b": failed},
    )


def test_a_failed_run_prints_failed_and_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def fake_run(options: BenchOptions, reporter: object) -> BenchReport:
        return failed_report()

    monkeypatch.setattr(command, "run_bench", fake_run)
    status = command.bench_command({}, scenario="a,b", as_json=True)
    assert status == command.FAILED != 0
    captured = capsys.readouterr()
    out = json.loads(captured.out.strip().splitlines()[-1])
    assert out["schema"] == SCHEMA == 2
    assert out["ok"] is False
    assert out["scenarios"]["a"]["ok"] is True and out["scenarios"]["b"]["ok"] is False
    assert out["scenarios"]["b"]["counts"]["duplicated"] == 1
    assert out["scenarios"]["b"]["cpu_us_per_unit"] is None
    assert "FAILED" in captured.err


README = Path(__file__).resolve().parents[4] / "benchmarks" / "README.md"


def schema_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## The JSON (schema 2)")
    return text[start : text.index("\n## ", start + 1)]


def keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    return set()


def documented_keys(out: dict[str, Any]) -> set[str]:
    """The keys of a bench JSON object, but the scenario names and the codes in counts."""
    found = set(out) | keys(out["machine"]) | set(out["options"])
    for scenario in out["scenarios"].values():
        found |= set(scenario) | set(scenario["latency_ms"]) | set(scenario["counts"])
        found |= set(scenario["cpu_us_per_unit_by_thread"]) | set(scenario["extra"])
        for phase in scenario["phases"].values():
            found |= set(phase)
    return found


def test_every_key_of_the_json_is_documented_in_benchmarks_readme() -> None:
    report = failed_report()
    out = report.to_json()
    out["machine"]["load_avg_1m_end"] = 1.0
    section = schema_section()
    missing = {key for key in documented_keys(out) if not re.search(rf"\b{re.escape(key)}\b", section)}
    assert not missing, f"keys of the bench JSON missing from benchmarks/README.md: {sorted(missing)}"
