"""RecentReceipts: repeats coalesced, memory bounded."""

from __future__ import annotations

from passerelle.service.messaging.receipts import RecentReceipts

KEY = ("d_bob", "d_conv", "a_alice", "read")


def test_repeated_ids_are_coalesced_and_new_ones_kept_in_order() -> None:
    recent = RecentReceipts()
    assert recent.fresh(KEY, [3, 1, 3, 2]) == [3, 1, 2]
    recent.remember(KEY, [3, 1, 2])
    assert recent.fresh(KEY, [1, 2, 3]) == []
    assert recent.fresh(KEY, [2, 4, 5]) == [4, 5]
    # Another kind, recipient or device is another key.
    assert recent.fresh(("d_bob", "d_conv", "a_alice", "delivered"), [1]) == [1]


def test_memory_is_bounded_in_keys_and_ids() -> None:
    recent = RecentReceipts(max_keys=2, max_ids=3)
    recent.remember(KEY, [1, 2, 3, 4])
    assert recent.fresh(KEY, [1, 2, 3, 4]) == [1]  # the oldest id was forgotten
    recent.remember(("d_2", "c", "a", "read"), [1])
    recent.remember(KEY, [9])  # KEY is now the most recently used
    recent.remember(("d_3", "c", "a", "read"), [1])
    assert len(recent) == 2
    assert recent.fresh(("d_2", "c", "a", "read"), [1]) == [1]  # forgotten
    assert recent.fresh(KEY, [9]) == []
