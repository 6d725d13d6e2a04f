"""``passerelle bench`` end to end in a tiny configuration, as an operator runs it: a real
server process per scenario, real accounts, every scenario with every message accounted for, the
JSON on the last stdout line, the plots; a load the server refuses, which stops and fails the run;
and what an operator sees when the server cannot start. Timings are never asserted."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from passerelle.cli.bench import server
from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.options import BenchOptions
from passerelle.cli.bench.runner import run_bench
from passerelle.cli.bench.server import free_port, spawned_server
from tests.unit.cli.bench.test_accounting import documented_keys, schema_section

# Real benchmark runs (a server process and a load generator on probed free ports, bounded in time):
# alone, not beside other tests on pytest-xdist workers (docs/operations.md, "The test suite").
pytestmark = pytest.mark.serial
ROOT = Path(__file__).resolve().parents[4]
TINY = [
    *("--pairs", "2", "--many-pairs", "4", "--duration", "0.4", "--warmup", "0.2", "--rate", "250"),
    *("--messages", "300", "--members", "12", "--group-sends", "3"),
    *("--idle-connections", "30", "--logins", "20", "--login-concurrency", "4"),
]
BUSINESS_TINY = [
    *("--duration", "0.4", "--campaign-people", "20", "--biz-concurrency", "4"),
    *("--webhook-rate", "50", "--webhook-people", "2"),
]


def two_free_ports() -> int:
    """A port p such that p and p + 1 are both free (the HTTP port and the picows gateway's)."""
    for _ in range(50):
        port = free_port()
        if port < 65535:
            try:
                with socket.create_server(("127.0.0.1", port + 1)):
                    return port
            except OSError:
                continue
    pytest.skip("no two consecutive free ports")


def test_the_bench_runs_every_scenario_counts_every_message_and_cleans_up(tmp_path: Path) -> None:
    temp, plots = tmp_path / "tmp", tmp_path / "plots"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    port = two_free_ports()
    extra = ["--port", str(port), "--plot", str(plots)]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "passerelle",
            "bench",
            "--json",
            "--scenario",
            "a,a2,b,c,d,e,f",
            *TINY,
            *extra,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert (out["schema"], out["ok"]) == (2, True)
    assert set(out) == {"schema", "ok", "scenarios", "machine", "options"}
    scenarios = out["scenarios"]
    assert list(scenarios) == ["a", "a2", "b", "c", "d", "e", "f"]
    for name, scenario in scenarios.items():
        assert scenario["ok"] is True and scenario["failure"] is None, (name, scenario)
        counts = scenario["counts"]
        assert counts["rejected"] == counts["errors"] == {}, (name, counts)
        assert counts["undelivered"] == counts["duplicated"] == counts["unanswered"] == 0
        # Every message sent was confirmed and reached its recipient device(s) exactly once.
        assert counts["sent"] == counts["confirmed"]
        assert counts["delivered"] == counts["expected"]
        assert scenario["units"] > 0
        assert scenario["latency_ms"]["samples"] > 0
        assert scenario["cpu_us_per_unit"] is not None
    for name in ("a", "a2", "b", "c"):
        counts = scenarios[name]["counts"]
        assert counts["sent"] > 0 and counts["expected"] == counts["confirmed"] == counts["sent"]
    assert scenarios["a"]["extra"]["pairs"] == 2 and scenarios["a2"]["extra"]["pairs"] == 4
    assert scenarios["a"]["extra"]["refill"] == "received" and scenarios["a"]["extra"]["window"] == 8
    assert scenarios["c"]["counts"]["sent"] == 300 == scenarios["c"]["units"]
    assert set(scenarios["c"]["phases"]) == {"store", "drain"}
    assert scenarios["c"]["phases"]["store"]["messages"] == 300
    # The group: every one of the 3 sends reached each of the 12 members; one latency sample per send.
    d = scenarios["d"]
    assert (d["counts"]["sent"], d["counts"]["expected"], d["counts"]["delivered"]) == (3, 36, 36)
    assert d["units"] == 36 and d["latency_ms"]["samples"] == 3
    e = scenarios["e"]
    assert e["units"] == e["extra"]["connections"] == 30 and e["latency_ms"]["samples"] == 30
    assert e["extra"]["kb_per_connection"] is not None and e["extra"]["limited_by"] is None
    f = scenarios["f"]
    assert f["units"] == 20 and f["latency_ms"]["samples"] == 20
    assert out["options"]["port"] == port and out["machine"]["cpus"] >= 1
    assert "load_avg_1m" in out["machine"] and "load_avg_1m_end" in out["machine"]
    # The table went to stderr; the servers are gone and so are their directories.
    assert "per s" in done.stderr
    pids = [int(pid) for pid in re.findall(r"server pid (\d+) ready", done.stderr)]
    assert len(pids) == 7
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert list(temp.iterdir()) == []
    assert sorted(p.name for p in plots.iterdir()) == ["latency.png", "throughput.png"]
    # Every key a real run printed is documented in benchmarks/README.md.
    section = schema_section()
    missing = {key for key in documented_keys(out) if not re.search(rf"\b{re.escape(key)}\b", section)}
    assert not missing, f"keys of the bench JSON missing from benchmarks/README.md: {sorted(missing)}"


def test_the_business_scenarios_account_for_every_send_and_webhook(tmp_path: Path) -> None:
    """(g) and (h) through the real server: the campaign's templates accepted by the Cloud API and
    each on its person's device once; each person's message a signed webhook at the bot once."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "passerelle", "bench", "--json", "--scenario", "business", *BUSINESS_TINY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    g, h = out["scenarios"]["g"], out["scenarios"]["h"]
    assert (g["counts"]["sent"], g["counts"]["confirmed"], g["counts"]["delivered"]) == (20, 20, 20)
    assert g["counts"]["undelivered"] == g["counts"]["duplicated"] == 0 and g["counts"]["rejected"] == {}
    assert g["unit"] == "send" and g["extra"]["endpoint"] == "hosted" and g["extra"]["bad_signatures"] == 0
    assert set(g["phases"]) == {"send", "until_delivered"} and g["latency_ms"]["samples"] == 20
    assert h["counts"]["delivered"] == h["counts"]["sent"] == 2 + h["extra"]["messages"]
    assert h["counts"]["duplicated"] == 0 and h["latency_ms"]["samples"] == h["extra"]["messages"] > 0
    assert list(tmp_path.iterdir()) == []
    section = schema_section()
    missing = {key for key in documented_keys(out) if not re.search(rf"\b{re.escape(key)}\b", section)}
    assert not missing, f"keys of the bench JSON missing from benchmarks/README.md: {sorted(missing)}"


async def test_a_load_the_server_refuses_stops_the_run_which_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server that admits 5 sends per second per device: the closed loop of window 50 is refused.
    strict = server.CONFIG.replace("sends_per_second = 1000000.0", "sends_per_second = 5.0")
    monkeypatch.setattr(server, "CONFIG", strict.replace("send_burst = 1000000", "send_burst = 5"))
    # A minute of warm-up and a minute of measure: a run that stops at the first refusals ends long
    # before the warm-up would have (a margin wide enough for a loaded machine).
    options = BenchOptions(scenarios=("a",), pairs=2, window=50, refill="sent", duration_s=60, warmup_s=60)
    started = asyncio.get_running_loop().time()
    report = await run_bench(options)
    assert asyncio.get_running_loop().time() - started < 60, "it ran on instead of stopping at the refusals"
    figures = report.scenarios["a"]
    assert not report.ok and not figures.ok
    assert figures.failure is not None and "rate_limited" in figures.failure
    assert figures.counts.rejected.get("rate_limited", 0) > 0
    assert figures.cpu_us_per_unit is None and figures.per_s is None
    out = report.to_json()
    assert out["ok"] is False and out["scenarios"]["a"]["counts"]["rejected"]["rate_limited"] > 0


async def test_a_server_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(BenchError, match=r"exited with status \d+ while starting") as caught:
        async with spawned_server(start_timeout_s=30, extra_args=["--config", str(missing)]):
            pytest.fail("the server should not have started")
    assert "missing.toml" in str(caught.value)
