"""The SQL dialect: everything that differs between SQLite and PostgreSQL in the shared SQL text.

Rules:
- Shared SQL is written once, with ``?`` placeholders, and may name a fragment in braces
  (``{skip_locked}``, ``{in_texts}``). ``Dialect.render`` fills the fragments and, for PostgreSQL,
  numbers the placeholders (``$1``, ``$2`` ...). Rendered text is cached per dialect.
- Upserts (``ON CONFLICT ... DO UPDATE SET x = excluded.x``), ``ON CONFLICT DO NOTHING`` and
  ``RETURNING`` are spelled the same way by both engines (SQLite >= 3.35), so they need no fragment.
- Store code never asks which engine it runs on; it asks the dialect for the fragment or argument.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class Dialect:
    name: str
    """"sqlite" or "postgres": also the engine's name for its migrations (``storage.sql.migrate``)."""
    numbered_params: bool
    """True when placeholders are ``$1, $2 ...`` rather than ``?``."""
    fragments: Mapping[str, str]
    """``skip_locked``: the locking clause for a claim (empty where one writer makes it moot);
    ``in_texts``: ``col {in_texts}`` tests membership in a list given by ``texts(values)``."""
    texts: Callable[[Sequence[str]], object]
    """Turns a list of strings into the single argument that ``{in_texts}`` expects."""
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def render(self, sql: str) -> str:
        """The engine's text for a shared statement (cached)."""
        try:
            return self._cache[sql]
        except KeyError:
            pass
        text = sql.format_map(self.fragments) if "{" in sql else sql
        if self.numbered_params:
            text = _number_placeholders(text)
        self._cache[sql] = text
        return text


def _number_placeholders(sql: str) -> str:
    """Replace each ``?`` outside quotes by ``$1``, ``$2`` ... in order."""
    out: list[str] = []
    n = 0
    quote = ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


def _json_texts(values: Sequence[str]) -> object:
    return json.dumps(list(values))


def _array_texts(values: Sequence[str]) -> object:
    return list(values)


def sqlite_dialect() -> Dialect:
    return Dialect(
        name="sqlite",
        numbered_params=False,
        fragments={
            # One writer thread: the claim's DELETE ... RETURNING cannot race with another.
            "skip_locked": "",
            "in_texts": "IN (SELECT value FROM json_each(?))",
        },
        texts=_json_texts,
    )


def postgres_dialect() -> Dialect:
    return Dialect(
        name="postgres",
        numbered_params=True,
        fragments={
            "skip_locked": "FOR UPDATE SKIP LOCKED",
            "in_texts": "= ANY(?::text[])",
        },
        texts=_array_texts,
    )
