"""The client message id rule (docs/protocol.md section 2), written once in domain.ids."""

from __future__ import annotations

import pytest

from passerelle.domain.ids import MAX_CLIENT_MESSAGE_ID, is_client_message_id


@pytest.mark.parametrize("value", ["c1", "a" * MAX_CLIENT_MESSAGE_ID, "m-2026.01 #3", "~!"])
def test_printable_ascii_of_1_to_64_characters_is_an_id(value: str) -> None:
    assert is_client_message_id(value)


@pytest.mark.parametrize("value", ["", "a" * (MAX_CLIENT_MESSAGE_ID + 1), "é", "a\nb", "tab\t", "\x7f"])
def test_anything_else_is_not(value: str) -> None:
    assert not is_client_message_id(value)
