"""The endpoint's memory of messages no device took yet (docs/business.md section 9): a message is
due (failed) once the server's time passes its expiry and a grace, unless a receipt named it."""

from __future__ import annotations

from passerelle.domain.ids import AccountId
from passerelle.proto.rest.business import BusinessPersonOut
from passerelle.server.endpoint.state import Sent
from passerelle.server.endpoint.undelivered import GRACE_MS, Pending, Undelivered

PERSON = BusinessPersonOut(account_id="a_1", wa_id="123456789012345", user_id="ZZ.1234567890123456789")


def pending(wamid: str, exp: int) -> Pending:
    return Pending(sent=Sent(wamid, AccountId("a_1"), "100000000000001", None), person=PERSON, exp=exp)


def test_a_message_is_due_after_its_expiry_by_the_servers_clock() -> None:
    u = Undelivered()
    # The server's clock is 1 000 000 ms ahead of the endpoint's.
    u.sent(1, pending("wamid.B1", exp=2_000_000), server_ts=1_000_000, local_ms=0)
    u.sent(2, pending("wamid.B2", exp=2_000_000), server_ts=1_000_000, local_ms=0)
    u.sent(3, pending("wamid.B3", exp=0), server_ts=1_000_000, local_ms=0)  # no expiry known: not kept
    assert len(u) == 2
    u.delivered(2)
    assert u.due(local_ms=1_000_000 + GRACE_MS - 1) == []  # the server's time is 2 000 000 + grace - 1
    (gone,) = u.due(local_ms=1_000_000 + GRACE_MS)
    assert gone.sent.wamid == "wamid.B1" and gone.person == PERSON
    assert u.due(local_ms=10**9) == [] and len(u) == 0  # each is given once


def test_it_is_bounded_the_oldest_going_first() -> None:
    u = Undelivered(size=2)
    for mid in (1, 2, 3):
        u.sent(mid, pending(f"wamid.B{mid}", exp=10), server_ts=0, local_ms=0)
    assert [p.sent.wamid for p in u.due(local_ms=10**9)] == ["wamid.B2", "wamid.B3"]
