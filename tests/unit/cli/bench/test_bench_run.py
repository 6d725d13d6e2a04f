"""``passerelle bench`` end to end in a tiny configuration, as an operator runs it: a real
server process, real accounts, the three scenarios, figures on the last stdout line; and what an
operator sees when the server cannot start."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.server import spawned_server

ROOT = Path(__file__).resolve().parents[4]
TINY = ["--pairs", "2", "--duration", "0.4", "--warmup", "0.2", "--rate", "250", "--window", "8"]
TINY_GROUP = ["--members", "12", "--group-sends", "3"]


def test_the_bench_runs_every_scenario_and_cleans_up(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "passerelle",
            "bench",
            "--json",
            "--scenario",
            "all",
            *TINY,
            *TINY_GROUP,
            "--messages",
            "300",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == {"a", "b", "c", "d", "machine", "options"}
    for name in "abcd":
        scenario = figures[name]
        assert scenario["errors"] == {}, (name, scenario)
        assert scenario["delivered"] > 0
        assert scenario["msgs_per_s"] > 0
        assert 0 < scenario["p50_ms"] <= scenario["p95_ms"] <= scenario["p99_ms"]
        assert scenario["cpu_us_per_msg"] is not None and scenario["cpu_us_per_msg"] >= 0
        assert scenario["rss_mb"] > 10
    # The open loop sends 250 messages per second: about 100 in 0.4 s.
    assert 50 <= figures["b"]["delivered"] <= 150
    assert figures["c"]["delivered"] == figures["c"]["stored"] == 300
    # The group: every one of the 3 sends reached each of the 12 members.
    assert figures["d"]["delivered"] == 36 and figures["d"]["sends"] == 3 and figures["d"]["members"] == 12
    assert figures["machine"]["cpus"] >= 1
    # The table went to stderr; the servers are gone and so are their directories.
    assert "msgs/s" in done.stderr
    pids = [int(pid) for pid in re.findall(r"server pid (\d+) ready", done.stderr)]
    assert len(pids) == 4
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert list(tmp_path.iterdir()) == []


async def test_a_server_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(BenchError, match=r"exited with status \d+ while starting") as caught:
        async with spawned_server(start_timeout_s=30, extra_args=["--config", str(missing)]):
            pytest.fail("the server should not have started")
    assert "missing.toml" in str(caught.value)
