"""Composable filters (docs/bots.md, "Filters"): a ``Filter`` decides whether a handler takes an
update, given the customer's conversation state; ``&``, ``|`` and ``~`` combine them.

```python
from passerelle.bot import filters as f

@bot.on_message(f.command("start") | f.regex(r"(?i)^(hi|hello|bonjour)\\b"))
@bot.on_message(f.media("image", "video") & ~f.step("done"))
@bot.on_choice(f.choice("rent", "repair"))
```
"""

from __future__ import annotations

import re
from collections.abc import Callable

from passerelle.bot.state import State
from passerelle.bot.updates import MEDIA_KINDS, Choice, Message, Update

Predicate = Callable[[Update, State], bool]


class Filter:
    """A test on an update and its customer's state."""

    def __init__(self, test: Predicate, name: str) -> None:
        self._test = test
        self.name = name

    def __call__(self, update: Update, state: State) -> bool:
        return self._test(update, state)

    def __and__(self, other: Filter) -> Filter:
        return Filter(lambda u, s: self(u, s) and other(u, s), f"({self.name} & {other.name})")

    def __or__(self, other: Filter) -> Filter:
        return Filter(lambda u, s: self(u, s) or other(u, s), f"({self.name} | {other.name})")

    def __invert__(self) -> Filter:
        return Filter(lambda u, s: not self(u, s), f"~{self.name}")

    def __repr__(self) -> str:
        return f"Filter({self.name})"


def _message(test: Callable[[Message], bool], name: str) -> Filter:
    return Filter(lambda u, s: isinstance(u, Message) and test(u), name)


anything = Filter(lambda u, s: True, "anything")
text = _message(lambda m: m.type == "text", "text")
"""A text message (commands included)."""


def equals(*words: str, ignore_case: bool = True) -> Filter:
    """A text message that is one of ``words`` (trimmed; case folded unless ``ignore_case=False``)."""

    def fold(text: str) -> str:
        return text.strip().casefold() if ignore_case else text.strip()

    wanted = {fold(w) for w in words}
    return _message(lambda m: m.type == "text" and fold(m.text) in wanted, f"equals{words!r}")


def regex(pattern: str | re.Pattern[str]) -> Filter:
    """A message whose text (or caption) matches ``pattern`` (``re.search``)."""
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
    return _message(
        lambda m: bool(m.text) and compiled.search(m.text) is not None, f"regex({compiled.pattern!r})"
    )


def command(*names: str) -> Filter:
    """A command: ``/start``, ``/help me`` … (any command when no name is given)."""
    wanted = {n.lstrip("/").lower() for n in names}
    return _message(
        lambda m: m.command is not None and (not wanted or m.command in wanted), f"command{names!r}"
    )


def media(*kinds: str) -> Filter:
    """A media message of one of ``kinds`` (``image``, ``video``, ``audio``, ``document``,
    ``sticker``; any when none is given)."""
    wanted = frozenset(kinds) or MEDIA_KINDS
    unknown = wanted - MEDIA_KINDS
    if unknown:
        raise ValueError(f"not media kinds: {sorted(unknown)}")
    return _message(lambda m: m.media is not None and m.media.kind in wanted, f"media{kinds!r}")


image = media("image")
location = _message(lambda m: m.type == "location", "location")
contacts = _message(lambda m: m.type == "contacts", "contacts")


def choice(*ids: str) -> Filter:
    """A tap on a button, row or quick reply of one of ``ids`` (any tap when none is given)."""
    wanted = set(ids)
    return Filter(lambda u, s: isinstance(u, Choice) and (not wanted or u.choice in wanted), f"choice{ids!r}")


def choice_prefix(prefix: str) -> Filter:
    """A tap whose id starts with ``prefix`` (ids such as ``bike:cargo``)."""
    return Filter(
        lambda u, s: isinstance(u, Choice) and u.choice.startswith(prefix), f"choice_prefix({prefix!r})"
    )


def step(*names: str | None) -> Filter:
    """The customer's conversation is at one of ``names`` (``None``: no step yet)."""
    wanted = set(names)
    return Filter(lambda u, s: s.step in wanted, f"step{names!r}")


def number(*phone_number_ids: str) -> Filter:
    """The update came through one of these numbers of the business."""
    wanted = set(phone_number_ids)
    return Filter(lambda u, s: u.phone_number_id in wanted, f"number{phone_number_ids!r}")


def customer(*user_ids: str) -> Filter:
    wanted = set(user_ids)
    return Filter(lambda u, s: u.customer.user_id in wanted, f"customer{user_ids!r}")
