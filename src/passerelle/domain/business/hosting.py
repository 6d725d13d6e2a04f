"""The hosting statement of a business endpoint (docs/business.md section 4): what it signs with its
Ed25519 key, and the one way to read one back (the server checks it before storing it, the SDK
before showing a business's mode).

The statement is the canonical JSON (sorted keys, no spaces, UTF-8) of exactly
``{"business", "device", "issued_at", "mode", "operator"}``; a text that is not exactly that form is
not a statement, so a signature always covers the very bytes that are parsed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from passerelle.domain.errors import InvalidInput

MODES: Final = ("hosted", "self_run")
MAX_STATEMENT: Final = 1024
FIELDS: Final = frozenset({"business", "device", "issued_at", "mode", "operator"})


@dataclass(frozen=True, slots=True, kw_only=True)
class HostingStatement:
    business: str
    device: str
    mode: str
    """``hosted`` (the operator runs the endpoint and could read) or ``self_run``."""
    operator: str
    issued_at: int
    """Milliseconds since the epoch, when it was signed."""

    def text(self) -> str:
        """The canonical JSON that is signed."""
        return json.dumps(
            {
                "business": self.business,
                "device": self.device,
                "issued_at": self.issued_at,
                "mode": self.mode,
                "operator": self.operator,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )


def parse_statement(text: str) -> HostingStatement:
    """The statement ``text`` is; InvalidInput (naming what is wrong) unless it is one, exactly."""
    if len(text) > MAX_STATEMENT:
        raise InvalidInput(f"statement: at most {MAX_STATEMENT} characters")
    try:
        raw = json.loads(text)
    except ValueError:
        raise InvalidInput("statement: canonical JSON") from None
    if not isinstance(raw, dict) or raw.keys() != FIELDS:
        raise InvalidInput(f"statement: exactly the members {', '.join(sorted(FIELDS))}")
    strings = ("business", "device", "mode", "operator")
    if not all(isinstance(raw[k], str) for k in strings) or type(raw["issued_at"]) is not int:
        raise InvalidInput("statement: issued_at is an integer, the other members strings")
    if raw["mode"] not in MODES:
        raise InvalidInput("statement: mode is hosted or self_run")
    statement = HostingStatement(
        business=raw["business"],
        device=raw["device"],
        mode=raw["mode"],
        operator=raw["operator"],
        issued_at=raw["issued_at"],
    )
    if statement.text() != text:
        raise InvalidInput("statement: canonical JSON (sorted keys, no spaces), as signed")
    return statement
