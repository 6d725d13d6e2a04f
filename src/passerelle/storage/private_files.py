"""Files and folders only the server's own user may read: the data directory, the SQLite database
(and its ``-wal`` and ``-shm``), media blobs and the key file.

Rules:
- A folder the server creates is 0700 and a file 0600, whatever the process's umask: the mode is
  set explicitly after creation (``mkdir`` and ``open`` only ever take bits away).
- What exists already is tightened to the same modes (group and others lose every bit), so a
  deployment made before this rule is fixed at its next start. Ownership is never changed; what
  belongs to another user (a shared folder) is left as it is, with a warning in the log.
- Blocking calls: run them in a worker thread from async code.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("passerelle.storage")

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents, each 0700) or tighten it to 0700; returns it."""
    create_dirs(path)
    tighten(path, DIR_MODE)
    return path


def create_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each 0700; an existing folder is left as it is (it
    may be shared, such as /tmp)."""
    missing: list[Path] = []
    at = path
    while not at.exists():
        missing.append(at)
        if at.parent == at:
            break
        at = at.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        os.chmod(folder, DIR_MODE)


def tighten(path: Path, mode: int) -> bool:
    """Take away every permission bit beyond ``mode`` from an existing file or folder; True when it
    existed."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
    if current & ~mode:
        try:
            os.chmod(path, current & mode)
        except PermissionError:
            log.warning(
                "others may read a data path that is not ours to tighten",
                extra={"path": str(path), "mode": oct(current)},
            )
    return True


def open_private(path: Path, flags: int) -> int:
    """``os.open`` that creates a missing file 0600 (exactly, whatever the umask); an fd."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd
