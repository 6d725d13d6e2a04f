from __future__ import annotations

import pytest

from tests.unit.crypto.parties import Party, make_party


@pytest.fixture
def alice() -> Party:
    return make_party("acc_alice", "dev_a1")


@pytest.fixture
def bob() -> Party:
    return make_party("acc_bob", "dev_b1")
