"""CPU cost of the common per-frame work alone (``FrameWork.handle``: msgspec decode, ``sent`` encode,
every 32nd frame a ``deliver``), no sockets: subtract it from run.py's numbers to get the layer's own."""

from __future__ import annotations

import time

from benchmarks.ws_layers.common import FrameWork, send_frame


def main(n: int = 200_000, repeats: int = 5) -> None:
    frames = [send_frame(i) for i in range(n)]
    best = float("inf")
    for _ in range(repeats):
        work = FrameWork()
        t0 = time.process_time()
        for frame in frames:
            work.handle(memoryview(frame))
        best = min(best, time.process_time() - t0)
    print(f"FrameWork.handle: {best / n * 1e6:.2f} µs CPU per inbound frame (best of {repeats} x {n})")


if __name__ == "__main__":
    main()
