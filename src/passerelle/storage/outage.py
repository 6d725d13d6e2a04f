"""Telling the operator that the database refuses work, without flooding the log.

Clients are answered ``unavailable`` whatever the cause; the operator needs the cause (the disk is
full, the server is gone, too many connections). ``report`` logs one warning naming it (the
database's own error text: SQL state or SQLite's message, never a value of ours) at most once per
``EVERY_S`` per kind of error, with how many were refused since the last warning.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

log = logging.getLogger("passerelle.storage")

EVERY_S: Final = 10.0

_lock = threading.Lock()
_last: dict[str, float] = {}
_count: dict[str, int] = {}


def report(database: str, cause: BaseException) -> None:
    """One refusal because of ``cause`` (callable from any thread)."""
    kind = f"{database}: {type(cause).__name__}: {cause}".splitlines()[0][:200]
    now = time.monotonic()
    with _lock:
        _count[kind] = _count.get(kind, 0) + 1
        if now - _last.get(kind, -EVERY_S) < EVERY_S:
            return
        _last[kind] = now
        refused = _count.pop(kind)
    log.warning(
        "the database refuses work; clients are answered unavailable  cause=%r refused=%d", kind, refused
    )
