#!/usr/bin/env python3
"""Set-up and entry points for a fresh checkout; needs nothing but Python 3.11+.

    python3 dev.py serve [passerelle serve options]   set up, then start the server with the demo apps
    python3 dev.py test  [pytest options]             set up, then run the linters and the test suite (on
                                                      3 pytest-xdist workers, then the tests marked serial
                                                      alone; PASSERELLE_TEST_WORKERS=0: in one process)
    python3 dev.py lock  [--upgrade]                  re-resolve uv.lock after editing pyproject.toml
                                                      (--upgrade: take the newest allowed releases)
    python3 dev.py fuzz-api [EXAMPLES]                schemathesis over both OpenAPI documents against the
                                                      real server, long (default 200 cases per operation
                                                      and mode; CI runs 6), with the statuses reached
    python3 dev.py fuzz  [EXAMPLES]                   the abuse suite's fuzzers, long (default 20 000
                                                      examples each; CI runs a minute's worth)

Set-up is idempotent and installs exact versions only: a virtual environment in ./.venv, into which
pip installs uv from the hash-pinned requirements-uv.txt, and uv then installs every runtime and
development dependency from uv.lock (`uv sync --locked`: it refuses to run when uv.lock no longer
matches pyproject.toml). It runs again only when pyproject.toml, uv.lock or requirements-uv.txt change.

The browser tests (tests/browser) drive the system's Chromium through Playwright; Playwright's own
browser download is never used. When no Chromium is found, set-up installs Debian's `chromium` with
apt-get if it runs as root on a machine that has apt-get (PASSERELLE_NO_CHROMIUM=1 skips that);
otherwise it says how, and the browser tests are skipped with that reason. The three-node tests
(tests/cluster) put Debian's `haproxy` in front of the nodes; set-up installs it the same way
(PASSERELLE_NO_HAPROXY=1 skips that). The fault tests (tests/faults) need Debian's PostgreSQL and Redis server binaries and are installed the same way
(`postgresql`, `redis-server`; PASSERELLE_NO_FAULT_SERVERS=1 skips that).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
EXE = ".exe" if os.name == "nt" else ""
UV = BIN / f"uv{EXE}"
UV_REQUIREMENTS = ROOT / "requirements-uv.txt"
LOCK_INPUTS = ("pyproject.toml", "uv.lock", "requirements-uv.txt")
STAMP = VENV / ".passerelle-installed"


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True, env=env)


def _uv_env() -> dict[str, str]:
    # uv manages ./.venv, the environment dev.py created, with the interpreter that runs dev.py.
    return {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV), "UV_PYTHON": str(BIN / f"python{EXE}")}


def _bootstrap_uv() -> None:
    if sys.version_info < (3, 11):
        sys.exit("Passerelle needs Python 3.11 or newer")
    if not (BIN / f"python{EXE}").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = re.search(r"^uv==(\S+)", UV_REQUIREMENTS.read_text(), re.M)
    assert wanted, "requirements-uv.txt names no uv version"
    have = subprocess.run([str(UV), "--version"], capture_output=True, text=True) if UV.exists() else None
    if have is None or wanted.group(1) not in have.stdout:
        _run(BIN / f"python{EXE}", "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps",
             "-r", UV_REQUIREMENTS)


def setup() -> None:
    _bootstrap_uv()
    digest = hashlib.sha256(b"".join((ROOT / name).read_bytes() for name in LOCK_INPUTS)).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != digest:
        # --locked: fail (instead of re-resolving) when uv.lock does not match pyproject.toml.
        # --inexact: keep pip and uv, which the lock does not list, in the environment.
        try:
            _run(UV, "sync", "--locked", "--inexact", "--extra", "dev", env=_uv_env())
        except subprocess.CalledProcessError:
            sys.exit("set-up failed (above). If uv.lock no longer matches pyproject.toml, run: python3 dev.py lock")
        STAMP.write_text(digest)
    _ensure_chromium()
    _ensure_haproxy()
    _ensure_fault_servers()


CHROMIUM = "/usr/bin/chromium"


def _ensure_chromium() -> None:
    """Debian's chromium for the browser tests, when it is missing and can be installed."""
    if os.environ.get("PASSERELLE_CHROMIUM") or shutil.which("chromium") or Path(CHROMIUM).exists():
        return
    if os.environ.get("PASSERELLE_NO_CHROMIUM"):
        return
    _apt_install("chromium", "the browser tests")


def _ensure_haproxy() -> None:
    """Debian's haproxy for the three-node tests (a load balancer in front of the nodes)."""
    if shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists() or os.environ.get("PASSERELLE_NO_HAPROXY"):
        return
    _apt_install("haproxy", "the load-balancer tests")


def _apt_install(package: str, what: str) -> None:
    """Install one Debian package when set-up runs as root with apt-get; else say how (``what`` skips)."""
    can_install = os.name == "posix" and shutil.which("apt-get") and os.geteuid() == 0
    if not can_install:
        print(f"no {package}: {what} will be skipped (install it: sudo apt-get install -y {package})")
        return
    quiet = {"DEBIAN_FRONTEND": "noninteractive", **os.environ}
    # Wait for another apt/dpkg run (a second set-up at the same time) instead of failing at once.
    wait = ["-o", "DPkg::Lock::Timeout=300"]
    install = ["apt-get", *wait, "install", "-y", "--no-install-recommends", package]
    print("+", " ".join(install), flush=True)
    if subprocess.run(install, env=quiet, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", *wait, "update"], env=quiet, capture_output=True)
        if subprocess.run(install, env=quiet, capture_output=True).returncode != 0:
            print(f"{package} could not be installed: {what} will be skipped")


def _ensure_fault_servers() -> None:
    """Debian's PostgreSQL and Redis server binaries for the fault tests (tests/faults), which start
    instances of their own in temporary folders on their own ports (the packages' own services are
    never used). Installed when missing and set-up runs as root with apt-get, as Chromium is."""
    have_postgres = any(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    have_redis = shutil.which("redis-server") is not None
    if (have_postgres and have_redis) or os.environ.get("PASSERELLE_NO_FAULT_SERVERS"):
        return
    wanted = [name for name, have in (("postgresql", have_postgres), ("redis-server", have_redis)) if not have]
    if not (os.name == "posix" and shutil.which("apt-get") and os.geteuid() == 0):
        print(f"no {' or '.join(wanted)}: the fault tests will be skipped (sudo apt-get install -y {' '.join(wanted)})")
        return
    quiet = {"DEBIAN_FRONTEND": "noninteractive", **os.environ}
    wait = ["-o", "DPkg::Lock::Timeout=300"]
    install = ["apt-get", *wait, "install", "-y", "--no-install-recommends", *wanted]
    print("+", " ".join(install), flush=True)
    if subprocess.run(install, env=quiet, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", *wait, "update"], env=quiet, capture_output=True)
        if subprocess.run(install, env=quiet, capture_output=True).returncode != 0:
            print(f"{' and '.join(wanted)} could not be installed: the fault tests will be skipped")


def lock(args: list[str]) -> int:
    """Re-resolve uv.lock from pyproject.toml; `--upgrade` also moves pins to the newest releases."""
    _bootstrap_uv()
    _run(UV, "lock", *args, env=_uv_env())
    return 0


def _write_uv_requirements(version: str) -> None:
    """Pin uv itself by every platform's wheel hash (used when moving to a newer uv)."""
    page = urllib.request.urlopen("https://pypi.org/simple/uv/", timeout=30).read().decode()
    hashes = sorted(set(re.findall(rf"uv-{re.escape(version)}[^\"#<]*#sha256=([0-9a-f]{{64}})", page)))
    if not hashes:
        sys.exit(f"uv {version} is not on PyPI")
    lines = [
        "# uv, the one tool the set-up installs with pip; it installs everything else from uv.lock.",
        "# Written by `python3 dev.py lock --uv VERSION` (every platform's hash, from PyPI's index).",
        f"uv=={version} \\",
        *(f"    --hash=sha256:{h}" + (" \\" if i < len(hashes) - 1 else "") for i, h in enumerate(hashes)),
    ]
    UV_REQUIREMENTS.write_text("\n".join(lines) + "\n")


TEST_WORKERS = "PASSERELLE_TEST_WORKERS"
"""How many pytest-xdist workers run the tests not marked ``serial`` (default 3; 0: the whole suite in
one process, as before)."""
NO_TESTS = 5
"""pytest's exit status when no test was selected (one of the two passes may select none)."""


def _pytest_passes(args: list[str]) -> list[list[str | Path]]:
    """The pytest runs of `dev.py test`: the tests not marked ``serial`` on several workers, then the
    ``serial`` ones (a cluster, a fault, a timing) alone in one process. One plain run instead when
    PASSERELLE_TEST_WORKERS=0 or when ``args`` choose the workers (-n) or the markers (-m) themselves."""
    pytest: list[str | Path] = [BIN / "python", "-m", "pytest"]
    workers = os.environ.get(TEST_WORKERS, "3")
    own = "no:xdist" in args or any(
        a in {"-n", "-m", "--numprocesses", "--dist"} or a.startswith(("-n", "--numprocesses=", "--dist="))
        for a in args
    )
    if workers in {"", "0"} or own:
        return [[*pytest, *args]]
    return [
        [*pytest, "-n", workers, "--dist", "loadgroup", "-m", "not serial", *args],
        [*pytest, "-m", "serial", *args],
    ]


def test(args: list[str]) -> int:
    checks: list[list[str | Path]] = [
        [BIN / "ruff", "check", "src", "tests", "benchmarks", "examples"],
        [BIN / "ruff", "format", "--check", "src", "tests", "benchmarks", "examples"],
        [BIN / "lint-imports"],
        [BIN / "mypy"],
    ]
    for step in checks:
        print("+", " ".join(str(c) for c in step), flush=True)
        code = subprocess.run([str(c) for c in step], cwd=ROOT).returncode
        if code != 0:
            return code
    codes = []
    for step in _pytest_passes(args):
        print("+", " ".join(str(c) for c in step), flush=True)
        codes.append(subprocess.run([str(c) for c in step], cwd=ROOT).returncode)
    failed = [code for code in codes if code not in {0, NO_TESTS}]
    if failed:
        return failed[0]
    return NO_TESTS if all(code == NO_TESTS for code in codes) else 0


def fuzz(args: list[str]) -> int:
    examples, rest = (args[0], args[1:]) if args and args[0].isdigit() else ("20000", args)
    env = {**os.environ, "PASSERELLE_FUZZ": "long", "PASSERELLE_FUZZ_EXAMPLES": examples}
    cmd = [str(BIN / "python"), "-m", "pytest", "tests/abuse", "-q", "--timeout=0", *rest]
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def fuzz_api(args: list[str]) -> int:
    examples, rest = (args[0], args[1:]) if args and args[0].isdigit() else ("200", args)
    env = {**os.environ, "PASSERELLE_API_FUZZ_EXAMPLES": examples}
    test = "tests/integration/test_openapi_schemathesis.py"
    cmd = [str(BIN / "python"), "-m", "pytest", test, "-q", "-s", "-p", "no:logging", "--timeout=0", *rest]
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test", "setup", "lock", "fuzz", "fuzz-api"}:
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "lock":
        if rest[:1] == ["--uv"] and len(rest) >= 2:
            _write_uv_requirements(rest[1])
            rest = rest[2:]
        return lock(rest)
    setup()
    if command == "test":
        return test(rest)
    if command == "fuzz":
        return fuzz(rest)
    if command == "fuzz-api":
        return fuzz_api(rest)
    if command == "serve":
        os.execv(str(BIN / "passerelle"), [str(BIN / "passerelle"), "serve", *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
