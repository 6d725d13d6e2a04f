#!/usr/bin/env python3
"""Set-up and entry points for a fresh checkout; needs nothing but Python 3.11+.

    python3 dev.py serve [passerelle serve options]   set up, then start the server with the demo apps
    python3 dev.py test  [pytest options]             set up, then run the linters and the test suite

Set-up is idempotent: a virtual environment in ./.venv with the package installed in editable mode,
refreshed when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".passerelle-installed"


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit("Passerelle needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != digest:
        _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
        STAMP.write_text(digest)


def test(args: list[str]) -> int:
    steps: list[list[str | Path]] = [
        [BIN / "ruff", "check", "src", "tests", "benchmarks"],
        [BIN / "ruff", "format", "--check", "src", "tests", "benchmarks"],
        [BIN / "lint-imports"],
        [BIN / "mypy"],
        [BIN / "python", "-m", "pytest", *args],
    ]
    for step in steps:
        print("+", " ".join(str(c) for c in step), flush=True)
        code = subprocess.run([str(c) for c in step], cwd=ROOT).returncode
        if code != 0:
            return code
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test", "setup"}:
        print(__doc__)
        return 2
    setup()
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "test":
        return test(rest)
    if command == "serve":
        os.execv(str(BIN / "passerelle"), [str(BIN / "passerelle"), "serve", *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
