"""Private files and folders: created 0600/0700 whatever the umask, tightened when older, and a
path of another user left alone with a warning."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from passerelle.storage.private_files import DIR_MODE, create_dirs, open_private, private_dir, tighten


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o277])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def test_created_folders_are_0700_and_files_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    folder = tmp_path / "a" / "b"
    private_dir(folder)
    assert (mode(tmp_path / "a"), mode(folder)) == (0o700, 0o700)
    os.close(open_private(folder / "file", os.O_WRONLY))
    assert mode(folder / "file") == 0o600
    create_dirs(folder / "c" / "d")
    assert mode(folder / "c" / "d") == 0o700


def test_existing_paths_are_tightened_never_loosened(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o755)
    private_dir(loose)
    assert mode(loose) == 0o700
    strict = tmp_path / "strict"
    strict.write_bytes(b"")
    os.chmod(strict, 0o400)
    assert tighten(strict, 0o600) and mode(strict) == 0o400
    assert not tighten(tmp_path / "missing", 0o600)
    # create_dirs leaves an existing (maybe shared) folder as it is.
    os.chmod(loose, 0o755)
    create_dirs(loose / "inner")
    assert (mode(loose), mode(loose / "inner")) == (0o755, 0o700)


def test_a_path_of_another_user_is_left_as_it_is_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)

    def refused(path: object, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", refused)
    assert tighten(shared, DIR_MODE)
    assert "not ours to tighten" in caplog.text
