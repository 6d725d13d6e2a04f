"""The plaintext-absence check used after every end-to-end test can fail: it finds what it looks for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_absent


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode("utf-8"),
        lambda s: json.dumps({"body": s}).encode(),
        lambda s: json.dumps({"body": s}, ensure_ascii=False).encode(),
        lambda s: s.encode("utf-16-le"),
    ],
)
def test_the_check_finds_a_plaintext_in_any_common_encoding(tmp_path: Path, encode: object) -> None:
    text = "Ce message disparaîtra ⏳"
    path = tmp_path / "db"
    path.write_bytes(b"\x00prefix" + encode(text) + b"suffix")  # type: ignore[operator]
    with pytest.raises(AssertionError, match="found in"):
        assert_absent([text], [path])
    assert_absent(["something else"], [path])
