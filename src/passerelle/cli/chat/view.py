"""How the terminal clients (``passerelle chat`` and ``passerelle demo``) show people and apps.

Everything a person typed goes into ``rich.text.Text`` objects, never into markup strings: a
message such as ``[bold]hi`` or ``:smile:`` is printed as written.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text

from passerelle.domain.conversations import DAY_S

TIMER_CHOICES: Mapping[str, int] = {
    "off": 0,
    "24h": DAY_S,
    "7d": 7 * DAY_S,
    "30d": 30 * DAY_S,
    "90d": 90 * DAY_S,
    "365d": 365 * DAY_S,
}
"""The disappearing timers a person can pick, by the word they type (``/timer 24h``)."""

_TIMER_WORDS: Mapping[int, str] = {
    0: "off",
    DAY_S: "24 hours",
    7 * DAY_S: "7 days",
    30 * DAY_S: "30 days",
    90 * DAY_S: "90 days",
    365 * DAY_S: "1 year",
}


def make_console(*, file: object | None = None) -> Console:
    """A console that never wraps a line (tests and scripts read whole lines) and never guesses
    highlighting in what people wrote."""
    return Console(file=file, soft_wrap=True, highlight=False, emoji=False)  # type: ignore[arg-type]


def timer_words(seconds: int) -> str:
    return _TIMER_WORDS.get(seconds, f"{seconds} s")


def clock(ts_ms: int) -> str:
    """``14:03``, local time."""
    return time.strftime("%H:%M", time.localtime(ts_ms / 1000))


def when(ts_ms: int) -> str:
    """``Tue 14 May 14:03``, local time."""
    return time.strftime("%a %d %b %H:%M", time.localtime(ts_ms / 1000))


def human_size(size: int) -> str:
    """``812 B``, ``12.4 kB``, ``3.1 MB`` (powers of 1 000, as file managers show them)."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def group_tag(name: str) -> Text:
    """``#Vélo du dimanche``: how a group is named on screen."""
    return Text(f"#{name}", style="bold magenta")


def safety_rows(number: str, per_row: int = 4) -> list[str]:
    """The 12 groups of a safety number on three rows, as apps show them."""
    groups = number.split()
    return [" ".join(groups[i : i + per_row]) for i in range(0, len(groups), per_row)]


@dataclass(frozen=True, slots=True)
class AppStyles:
    """Each app's display name and colour, from ``GET /v1/apps`` or the server's settings."""

    colors: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    identities: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_listing(cls, apps: Iterable[Mapping[str, object]]) -> AppStyles:
        """From the ``apps`` of ``GET /v1/apps``; malformed entries are skipped."""
        colors: dict[str, str] = {}
        names: dict[str, str] = {}
        identities: dict[str, str] = {}
        for entry in apps:
            name = entry.get("name")
            if not isinstance(name, str):
                continue
            palette = entry.get("colors")
            if isinstance(palette, Mapping) and isinstance(palette.get("primary"), str):
                colors[name] = str(palette["primary"])
            names[name] = str(entry.get("display_name", name))
            identities[name] = str(entry.get("identity", ""))
        return cls(colors=colors, names=names, identities=identities)

    def style(self, app: str) -> str:
        color = self.colors.get(app)
        return f"bold {color}" if color else "bold"

    def tag(self, app: str) -> Text:
        """``[photo]`` in the app's colour."""
        return Text(f"[{app}]", style=self.style(app))

    def person(self, app: str, name: str) -> Text:
        """``[photo] alice``."""
        return Text.assemble(self.tag(app), " ", Text(name, style="bold"))
