"""What the bench reads about processes and the machine: CPU time and memory of the server from
/proc (Linux), this process's own CPU time, and a short description of the machine."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class ProcSample:
    cpu_ticks: int
    """utime + stime of every thread of the process, in clock ticks."""
    rss_kb: int
    peak_rss_kb: int
    threads: dict[str, int]
    """CPU ticks of the event loop's thread and of the other threads."""


def clock_ticks_per_s() -> int:
    return os.sysconf("SC_CLK_TCK")


def parse_stat(text: str) -> int:
    """utime + stime from the text of /proc/<pid>/stat (fields 14 and 15; the name in parentheses
    may hold spaces, so fields are counted after its closing parenthesis)."""
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def parse_status(text: str) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB from the text of /proc/<pid>/status."""
    values = {"VmRSS:": 0, "VmHWM:": 0}
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] in values:
            values[parts[0]] = int(parts[1])
    return values["VmRSS:"], values["VmHWM:"]


def _threads(proc: Path) -> dict[str, int]:
    """CPU ticks of the main thread (the server's event loop) and of all the others together (the
    SQLite writer, thread pools)."""
    threads = {"event_loop": 0, "other_threads": 0}
    for task in proc.glob("task/*"):
        try:
            ticks = parse_stat((task / "stat").read_text())
        except OSError:  # the thread ended meanwhile
            continue
        threads["event_loop" if task.name == proc.name else "other_threads"] += ticks
    return threads


def read_sample(pid: int) -> ProcSample:
    """Blocking (reads small /proc files): call it through a thread from async code. The process
    total counts threads that ended too, so it can exceed the sum over the live threads."""
    proc = Path("/proc") / str(pid)
    ticks = parse_stat((proc / "stat").read_text())
    rss, peak = parse_status((proc / "status").read_text())
    return ProcSample(cpu_ticks=ticks, rss_kb=rss, peak_rss_kb=peak, threads=_threads(proc))


def reset_peak_rss(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux 4.0+), so that the peak read later is the
    peak since now. Blocking; best effort: False when the kernel refuses."""
    try:
        (Path("/proc") / str(pid) / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def source_revision() -> str | None:
    """The git commit of the server's source when it runs from a checkout (``+dirty`` when files
    under src/ differ from it), else None. Blocking."""
    root = next((p for p in Path(__file__).resolve().parents if (p / ".git").exists()), None)
    if root is None:
        return None
    git = ["git", "-C", str(root)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        changes = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if changes.stdout.strip() else "")


def machine_info(loop_name: str) -> dict[str, Any]:
    """Blocking (reads /proc/cpuinfo): call it through a thread from async code."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 0
    return {
        "cpu": _cpu_model(),
        "cpus": cpus,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "passerelle": _version("passerelle"),
        "revision": source_revision(),
        "client": f"picows {_version('picows')}",
        "client_loop": loop_name,
        "sqlite": sqlite3.sqlite_version,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
