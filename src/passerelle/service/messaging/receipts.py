"""Receipts coalesced: the ids a device lately sent receipts for, so that a receipt repeating them
stores nothing new (docs/protocol.md section 3).

A receipt is stored in the mailbox of every device of its recipient, to wait there until delivered
(up to the retention of the app). Honest clients never repeat ids; a client that does, whether
after a reconnect or to fill someone's mailbox, gets its repeats coalesced into what is already
stored. Together with the per-device rate limit and the cap on ids per frame, what one device can
put in a mailbox through receipts is bounded.

Memory is bounded too: ``max_keys`` (device, conversation, recipient, kind) keys, least recently
used forgotten first, each remembering its last ``max_ids`` ids, oldest forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

_Key = tuple[str, str, str, str]


class RecentReceipts:
    __slots__ = ("_keys", "_max_ids", "_max_keys")

    def __init__(self, *, max_keys: int = 1024, max_ids: int = 256) -> None:
        if max_keys < 1 or max_ids < 1:
            raise ValueError("max_keys and max_ids must be positive")
        self._keys: OrderedDict[_Key, dict[int, None]] = OrderedDict()
        self._max_keys = max_keys
        self._max_ids = max_ids

    def __len__(self) -> int:
        return len(self._keys)

    def fresh(self, key: _Key, ids: Iterable[int]) -> list[int]:
        """``ids`` without repeats and without the ones remembered for ``key``, in their order."""
        seen = self._keys.get(key)
        unique = dict.fromkeys(ids)
        if seen is None:
            return list(unique)
        return [i for i in unique if i not in seen]

    def remember(self, key: _Key, ids: Iterable[int]) -> None:
        """``ids`` were stored for ``key``."""
        seen = self._keys.get(key)
        if seen is None:
            seen = self._keys[key] = {}
            while len(self._keys) > self._max_keys:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(key)
        seen.update(dict.fromkeys(ids))
        excess = len(seen) - self._max_ids
        if excess > 0:
            for old in list(seen)[:excess]:
                del seen[old]
