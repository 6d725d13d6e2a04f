"""Ports for servers that tests start in child processes and must name before they start.

Probing a free port with ``bind(0)`` and releasing it before the child binds races with everything
else on the machine: the kernel hands the same ephemeral port to the next socket that asks (another
test's probe, a client's outgoing connection), and the child then fails to listen. Prefer letting the
server bind port 0 and say which port it got (``passerelle serve --port 0`` logs "listening on URL";
``tests/e2e/terminals.py`` reads it). When a test needs the number first (a client started before
its server, a load balancer's configuration, a node restarted on its port), ``reserved_port`` takes
one outside the kernel's ephemeral range, so no outgoing connection can take it, and holds a lock
file on it for the life of this process, so no other test process picks it too.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
from pathlib import Path

RANGE = range(20000, 30000)
"""Below Linux's default ephemeral range (32768-60999), above the usual services."""
LOCKS = Path(tempfile.gettempdir()) / "passerelle-test-ports"
_held: dict[int, int] = {}
"""port -> the open lock file that reserves it (closed when this process ends)."""


def reserved_port() -> int:
    """A port that is free now and that no other process of the test suite will be given."""
    LOCKS.mkdir(exist_ok=True)
    start = random.randrange(len(RANGE))
    for offset in range(len(RANGE)):
        port = RANGE[(start + offset) % len(RANGE)]
        if port in _held:
            continue
        fd = os.open(LOCKS / str(port), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # another test process holds it
        try:
            with socket.create_server(("127.0.0.1", port)):  # (SO_REUSEADDR, as the servers use)
                pass
        except OSError:
            os.close(fd)
            continue  # something outside the tests listens there
        _held[port] = fd
        return port
    raise RuntimeError(f"no free port in {RANGE.start}-{RANGE.stop - 1}")


def reserved_ports(count: int) -> list[int]:
    """``count`` different reserved ports."""
    return [reserved_port() for _ in range(count)]
