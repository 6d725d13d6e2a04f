"""The web apps' JavaScript, checked from the Python suite when node is present: the committed build
(src/passerelle/web) is what the sources in web/ build to, so a machine with only Python serves exactly
the reviewed code; and web/'s own tests (node --test) pass. Installs web/'s locked packages with
``npm ci`` when they are missing; skipped (saying why) without node and npm, or when npm ci fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed: the web apps' JavaScript is not checked")
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
    return node


def test_the_committed_build_matches_the_sources(node: str) -> None:
    checked = subprocess.run(
        [node, "build.mjs", "--check"], cwd=WEB, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout


def test_the_web_apps_own_tests_pass(node: str) -> None:
    ran = subprocess.run([node, "--test", "test/"], cwd=WEB, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-1000:]
