"""The demo's proof: the server never had the plaintext.

``find_plaintext`` searches the server's log lines (captured by ``server.captured_logs`` while the
demo runs) and every byte of the server's data directory for each text that was sent, as UTF-8, as
JSON escapes it (``\\u00e7``) and as UTF-16.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


def encodings(text: str) -> set[bytes]:
    """The ways ``text`` could sit in a file: UTF-8, JSON-escaped (ASCII and not), UTF-16."""
    return {
        text.encode("utf-8"),
        json.dumps(text)[1:-1].encode("ascii"),
        json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8"),
        text.encode("utf-16-le"),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    text: str
    where: str


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def find_plaintext(texts: Iterable[str], files: Iterable[Path], log_lines: Iterable[str]) -> list[Finding]:
    """Every (text, place) where a plaintext appears. Blocking file reads: run it in a thread."""
    texts = list(texts)
    found: list[Finding] = []
    for path in files:
        data = path.read_bytes()
        found += [Finding(text=t, where=str(path)) for t in texts if any(f in data for f in encodings(t))]
    log = "\n".join(log_lines).encode("utf-8")
    found += [
        Finding(text=t, where="the server's logs") for t in texts if any(f in log for f in encodings(t))
    ]
    return found
