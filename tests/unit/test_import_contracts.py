"""The import contracts in pyproject.toml cover the whole package: every top-level module of
``passerelle`` is constrained by at least one of them (a new package must say where it stands)."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path
from typing import Any

import passerelle

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def constrained_modules(contract: dict[str, Any]) -> set[str]:
    """The modules whose own imports the contract checks (not the modules it forbids)."""
    named: list[str] = [*contract.get("source_modules", []), *contract.get("ancestors", [])]
    for layer in contract.get("layers", []):
        named += re.split(r"[|:]", layer)
    return {name.strip() for name in named}


def test_every_top_level_module_is_under_an_import_contract() -> None:
    contracts = tomllib.loads(PYPROJECT.read_text("utf-8"))["tool"]["importlinter"]["contracts"]
    constrained = set().union(*(constrained_modules(c) for c in contracts))
    top_level = {f"passerelle.{m.name}" for m in pkgutil.iter_modules(passerelle.__path__)}
    assert top_level >= {"passerelle.cli", "passerelle.server", "passerelle.sdk"}
    assert sorted(top_level - constrained) == []
