"""The endpoint's memory of messages no device took yet (docs/business.md section 9): a message is
due (failed) once the server's time passes its expiry and a grace, unless a receipt named it; kept
in a SQLite file of the endpoint's directory across restarts, bounded."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from passerelle.domain.ids import AccountId
from passerelle.proto.rest.business import BusinessPersonOut
from passerelle.server.endpoint.state import Sent
from passerelle.server.endpoint.undelivered import GRACE_MS, Pending, PendingFile, Undelivered

PERSON = BusinessPersonOut(account_id="a_1", wa_id="123456789012345", user_id="ZZ.1234567890123456789")


def pending(wamid: str, exp: int, tracker: str | None = None) -> Pending:
    return Pending(sent=Sent(wamid, AccountId("a_1"), "100000000000001", tracker), person=PERSON, exp=exp)


async def test_a_message_is_due_after_its_expiry_by_the_servers_clock() -> None:
    u = Undelivered()
    # The server's clock is 1 000 000 ms ahead of the endpoint's.
    await u.sent(1, pending("wamid.B1", exp=2_000_000), server_ts=1_000_000, local_ms=0)
    await u.sent(2, pending("wamid.B2", exp=2_000_000), server_ts=1_000_000, local_ms=0)
    await u.sent(3, pending("wamid.B3", exp=0), server_ts=1_000_000, local_ms=0)  # no expiry known: not kept
    assert len(u) == 2
    await u.delivered(2)
    assert u.due(local_ms=1_000_000 + GRACE_MS - 1) == []  # the server's time is 2 000 000 + grace - 1
    ((mid, gone),) = u.due(local_ms=1_000_000 + GRACE_MS)
    assert (mid, gone.sent.wamid, gone.person) == (1, "wamid.B1", PERSON)
    assert u.due(local_ms=10**9) == [] and len(u) == 0  # each is given once


async def test_a_receipt_before_its_sends_answer_is_not_forgotten() -> None:
    u = Undelivered()
    await u.delivered(7)  # the person's device answered before the server's answer to the send came
    await u.sent(7, pending("wamid.B7", exp=10), server_ts=0, local_ms=0)
    assert len(u) == 0 and u.due(local_ms=10**9) == []


async def test_it_is_bounded_the_oldest_going_first() -> None:
    u = Undelivered(size=2)
    for mid in (1, 2, 3):
        await u.sent(mid, pending(f"wamid.B{mid}", exp=10), server_ts=0, local_ms=0)
    assert [p.sent.wamid for _, p in u.due(local_ms=10**9)] == ["wamid.B2", "wamid.B3"]


async def test_the_file_keeps_them_across_a_restart_until_their_status_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "endpoint" / "undelivered.db"
    first = Undelivered(size=3, journal=PendingFile(path))
    await first.load()
    for mid in (1, 2, 3, 4):  # 1 goes: the bound is 3
        await first.sent(
            mid, pending(f"wamid.B{mid}", exp=5_000, tracker=f"t{mid}"), server_ts=900, local_ms=0
        )
    await first.delivered(3)
    await first.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    second = Undelivered(size=3, journal=PendingFile(path))
    await second.load()
    assert len(second) == 2
    # The offset (server 900 ms ahead) came back with them: due at the server's 5 000 + grace.
    assert second.due(local_ms=5_000 + GRACE_MS - 901) == []
    due = second.due(local_ms=5_000 + GRACE_MS - 900)
    assert [(mid, p.sent.wamid, p.sent.tracker, p.person) for mid, p in due] == [
        (2, "wamid.B2", "t2", PERSON),
        (4, "wamid.B4", "t4", PERSON),
    ]
    await second.done([2])  # 4's status was not stored (a crash): it comes again at the next start
    await second.close()

    third = Undelivered(size=3, journal=PendingFile(path))
    await third.load()
    assert [p.sent.wamid for _, p in third.due(local_ms=10**9)] == ["wamid.B4"]
    await third.close()


async def test_a_smaller_bound_at_start_keeps_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "undelivered.db"
    big = Undelivered(journal=PendingFile(path))
    for mid in (1, 2, 3):
        await big.sent(mid, pending(f"wamid.B{mid}", exp=10), server_ts=0, local_ms=0)
    await big.close()
    small = Undelivered(size=2, journal=PendingFile(path))
    await small.load()
    assert [p.sent.wamid for _, p in small.due(local_ms=10**9)] == ["wamid.B2", "wamid.B3"]
    await small.close()


async def test_changes_made_together_reach_the_file_in_their_order(tmp_path: Path) -> None:
    """A campaign's sends answered at once share a journal transaction: a message sent and
    delivered in the same moment is not left in the file, and every send is kept."""
    path = tmp_path / "endpoint" / "undelivered.db"
    first = Undelivered(journal=PendingFile(path))
    await first.load()
    await asyncio.gather(
        *(
            first.sent(mid, pending(f"wamid.B{mid}", exp=5_000), server_ts=0, local_ms=0)
            for mid in range(1, 65)
        ),
        first.delivered(5),  # after 5's send, in the same batch
    )
    await first.close()
    second = Undelivered(journal=PendingFile(path))
    await second.load()
    assert sorted(mid for mid, _ in second.due(local_ms=10**9)) == [m for m in range(1, 65) if m != 5]
    await second.close()
