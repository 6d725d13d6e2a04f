"""``FileServerSecret``: the ServerSecret port, a key kept outside the database.

The key is the operator's ``code_key`` setting when given (every node of a deployment must then
have the same one), else 32 random bytes in ``<data_dir>/code.key``, created 0600 at first start
and read at every start after. Whoever reads the database alone cannot test a one-time code
against its stored MAC; a stolen key file and database together are as good as the old hashes.

The file is written whole under a temporary name and linked into place, so two processes starting
together on one data directory end with one key, and a crash never leaves half a key.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
from pathlib import Path

from passerelle.storage.private_files import FILE_MODE, open_private, tighten

KEY_BYTES = 32
MIN_CONFIGURED_CHARS = 32
KEY_FILE = "code.key"


class FileServerSecret:
    def __init__(self, path: Path, *, configured: str = "") -> None:
        """The key in ``path`` (created if missing), unless ``configured`` gives it (at least 32
        characters; its UTF-8 bytes are the key)."""
        if configured and len(configured) < MIN_CONFIGURED_CHARS:
            raise ValueError(f"code_key: at least {MIN_CONFIGURED_CHARS} characters")
        self.path = Path(path)
        self._key: bytes | None = configured.encode() if configured else None

    async def open(self) -> None:
        """Read or create the key file (in a worker thread); nothing to do for a configured key."""
        if self._key is None:
            self._key = await asyncio.to_thread(load_or_create_key, self.path)

    def mac(self, message: bytes) -> str:
        if self._key is None:
            raise RuntimeError("the server secret is not open yet")
        return hmac.digest(self._key, message, "sha256").hex()  # one-shot, in C: a third of hmac.new's cost


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``, created (0600, whole or not at all) when the file does not exist."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = open_private(temporary, os.O_WRONLY | os.O_EXCL)
    try:
        os.write(fd, secrets.token_hex(KEY_BYTES).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    finally:
        os.unlink(temporary)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return _read(path)


def _read(path: Path) -> bytes:
    tighten(path, FILE_MODE)
    text = path.read_text("ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise ValueError(f"{path} does not hold a key of {KEY_BYTES} bytes in hex")
    return key
