"""The server's code key: created once (0600), read back, shared by processes starting together,
refused when too short or damaged."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest

from passerelle.storage.server_secret import FileServerSecret, load_or_create_key


async def test_the_key_file_is_created_once_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "code.key"
    first = FileServerSecret(path)
    with pytest.raises(RuntimeError):
        first.mac(b"x")
    await first.open()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = FileServerSecret(path)
    await again.open()
    assert first.mac(b"message") == again.mac(b"message") != first.mac(b"other")
    key = bytes.fromhex(path.read_text().strip())
    assert first.mac(b"message") == hmac.new(key, b"message", hashlib.sha256).hexdigest()
    assert await asyncio.to_thread(os.listdir, tmp_path) == ["code.key"]  # no temporary file left


async def test_processes_starting_together_end_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "code.key"
    keys = await asyncio.gather(*(asyncio.to_thread(load_or_create_key, path) for _ in range(8)))
    assert len(set(keys)) == 1


async def test_a_configured_key_wins_and_must_be_long_enough(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32"):
        FileServerSecret(tmp_path / "code.key", configured="short")
    configured = FileServerSecret(tmp_path / "code.key", configured="k" * 32)
    await configured.open()
    assert configured.mac(b"m") == hmac.new(b"k" * 32, b"m", hashlib.sha256).hexdigest()
    assert not (tmp_path / "code.key").exists()


def test_a_damaged_key_file_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "code.key"
    path.write_text("not a key\n")
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create_key(path)
