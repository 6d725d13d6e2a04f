"""Summarise a py-spy raw profile of the server, thread by thread.

    .venv/bin/python benchmarks/profile_summary.py PROFILE.txt [--top 25]

PROFILE.txt is what ``py-spy record --native --threads --format raw`` writes: one stack a line,
frames separated by ``;``, the sample count last. py-spy samples wall time, so each thread's samples
are first sorted into idle (waiting for work: epoll, the SQLite writer's job queue, executor
threads), waiting for the GIL, I/O system calls (``fdatasync``, ``pwrite64``...) and CPU. The busy
samples (CPU and I/O) are then grouped by their innermost Python frame (native frames are counted
in the Python function that called them) and by every frame they pass through (inclusive).
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

IDLE = re.compile(r"_queue_SimpleQueue_get|_worker \(concurrent")
POLL = re.compile(r"^epoll_pwait ")
"""The event loop waits in ``epoll_pwait``; what it runs from there (a WebSocket callback, reading a
socket) is its own ``uv__io_poll`` too, so only a stack that ends in the wait is idle."""
GIL = re.compile(r"pthread_cond_timedwait|take_gil")
IO = re.compile(r"^(fdatasync|fsync|pwrite64|pread64) ")
WORTH_SHOWING = re.compile(r"passerelle/|sqlite3_step|picows|^(fdatasync|send|recv|sendmsg|writev|write) \(")


def frame_name(frame: str) -> str:
    """A frame without its line number, so that one function is one name."""
    return re.sub(r":\d+\)", ")", frame)


def summarise(path: Path, top: int) -> None:
    threads: dict[str, list[tuple[list[str], int]]] = collections.defaultdict(list)
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        thread = frames[0].split(": ")[-1]
        threads[thread].append(([frame_name(f) for f in frames[1:]], int(count)))
    for thread, stacks in threads.items():
        total = sum(n for _, n in stacks)
        kinds: collections.Counter[str] = collections.Counter()
        busy: list[tuple[list[str], int]] = []
        for frames, n in stacks:
            if IDLE.search(";".join(frames)) or POLL.match(frames[-1]):
                kinds["idle"] += n
            elif GIL.search(";".join(frames[-2:])):
                kinds["GIL wait"] += n
            elif IO.match(frames[-1]):
                kinds[frames[-1].split()[0]] += n
                busy.append((frames, n))
            else:
                kinds["CPU"] += n
                busy.append((frames, n))
        busy_total = sum(n for _, n in busy)
        if busy_total < 20:
            continue
        shares = ", ".join(f"{kind} {100 * n / total:.1f} %" for kind, n in kinds.most_common())
        print(f"\n## {thread}: {total} samples: {shares}")
        innermost: collections.Counter[str] = collections.Counter()
        inclusive: collections.Counter[str] = collections.Counter()
        for frames, n in busy:
            python = [f for f in frames if ".py)" in f]
            innermost[python[-1] if python else frames[-1]] += n
            for frame in set(frames):
                if WORTH_SHOWING.search(frame):
                    inclusive[frame] += n
        print(f"\nbusy samples ({busy_total}) by innermost Python frame:")
        for frame, n in innermost.most_common(top):
            print(f"  {100 * n / busy_total:5.1f} %  {frame}")
        print("\nbusy samples by frame, inclusive:")
        for frame, n in inclusive.most_common(top):
            print(f"  {100 * n / busy_total:5.1f} %  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    summarise(args.profile, args.top)


if __name__ == "__main__":
    main()
