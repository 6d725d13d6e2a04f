"""The committed web build (src/passerelle/web) is what the sources in web/ build to: a machine with
only Python serves exactly the reviewed code. Needs node; installs web/'s locked packages with
``npm ci`` when they are missing, and is skipped (saying why) when either is impossible."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


def test_the_committed_build_matches_the_sources() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed: the committed web build is not checked")
    if not (WEB / "node_modules" / "esbuild").is_dir():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=WEB,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if installed.returncode != 0:
            pytest.skip(f"npm ci failed (offline?): {installed.stderr.strip()[-300:]}")
    checked = subprocess.run(
        [node, "build.mjs", "--check"], cwd=WEB, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
