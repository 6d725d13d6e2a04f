"""The business's messages no device of the person took before the server forgot them: ``failed``
statuses (docs/business.md section 9).

A business's message is stored in each of the person's devices' mailboxes until the device takes it
or the message expires (the ``sent`` frame's ``exp``: the app's retention, 30 days by default); a
device that takes it answers a ``delivered`` receipt, which the endpoint turns into the
``delivered`` status. What the server drops without any device taking it — the person stayed
offline past the expiry, removed every device, deleted their account (their mailboxes go with it,
and nothing more can reach them) — never gets that receipt. So the endpoint keeps each message it
sent until a ``delivered`` or ``read`` receipt names it, and once the server's time passes its
expiry (with ``GRACE_MS`` for a receipt still on its way), the message failed: ``131026``.

The server's time is the endpoint's clock plus the offset seen in the last ``sent`` frame (its
``ts`` is the server's). At most ``MAX_PENDING`` messages are kept (the oldest go first, without a
status); a restart forgets them (the statuses of messages sent before it are not produced).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from passerelle.proto.rest.business import BusinessPersonOut
from passerelle.server.endpoint.state import Sent

MAX_PENDING: Final = 100_000
GRACE_MS: Final = 60_000
"""After the expiry, how long a ``delivered`` receipt may still be on its way."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    sent: Sent
    person: BusinessPersonOut
    """The person's ids when it was sent (an erased account's ids are gone from the server)."""
    exp: int


class Undelivered:
    def __init__(self, *, size: int = MAX_PENDING) -> None:
        self._pending: OrderedDict[int, Pending] = OrderedDict()
        self._size = size
        self._offset = 0
        """The server's clock minus the endpoint's, from the last ``sent`` frame."""

    def __len__(self) -> int:
        return len(self._pending)

    def sent(self, mid: int, pending: Pending, *, server_ts: int, local_ms: int) -> None:
        """A message the server stored (``server_ts`` its time of storing) and will keep until
        ``pending.exp`` at most."""
        self._offset = server_ts - local_ms
        if pending.exp <= 0:
            return
        self._pending[mid] = pending
        while len(self._pending) > self._size:
            self._pending.popitem(last=False)

    def delivered(self, mid: int) -> None:
        """A device of the person took the message (its ``delivered`` or ``read`` receipt)."""
        self._pending.pop(mid, None)

    def due(self, local_ms: int) -> list[Pending]:
        """The messages whose expiry passed (by the server's time) with no device taking them;
        each is given once."""
        now = local_ms + self._offset
        gone = [mid for mid, p in self._pending.items() if p.exp + GRACE_MS <= now]
        return [self._pending.pop(mid) for mid in gone]
