"""The safety rules between two people (passerelle.domain.safety), without I/O."""

from __future__ import annotations

import pytest

from passerelle.domain.ids import AccountId, AppName
from passerelle.domain.safety import (
    BLOCKED_BY_ME,
    CONTACTS_ONLY,
    LastSeenVisibility,
    MemberState,
    MessageFrom,
    PairFacts,
    Verdict,
    first_state,
    may_see_last_seen,
    may_signal,
    send_verdict,
)

A, B = AccountId("acc_a"), AccountId("acc_b")


def verdict(facts: PairFacts, state: MemberState = MemberState.ACCEPTED) -> Verdict:
    return send_verdict(facts, sender=A, recipient=B, recipient_state=state)[0]


@pytest.mark.parametrize(
    ("sender_app", "recipient_app", "is_contact", "expected"),
    [
        ("photo", "chat", False, MemberState.REQUEST),
        ("photo", "chat", True, MemberState.ACCEPTED),
        ("photo", "photo", False, MemberState.REQUEST),
        ("photo", "photo", True, MemberState.ACCEPTED),
    ],
)
def test_the_first_message_is_a_request_from_a_stranger_of_another_app(
    sender_app: str, recipient_app: str, is_contact: bool, expected: MemberState
) -> None:
    assert (
        first_state(
            sender_app=AppName(sender_app), recipient_app=AppName(recipient_app), is_contact=is_contact
        )
        is expected
    )


def test_a_block_forbids_the_blocker_and_silently_drops_the_blocked() -> None:
    assert send_verdict(PairFacts(blocks=frozenset({(A, B)})), sender=A, recipient=B,
                        recipient_state=MemberState.ACCEPTED) == (Verdict.FORBIDDEN, BLOCKED_BY_ME)  # fmt: skip
    assert verdict(PairFacts(blocks=frozenset({(B, A)}))) is Verdict.DROP
    assert verdict(PairFacts(), MemberState.DECLINED) is Verdict.DROP
    assert verdict(PairFacts(), MemberState.REQUEST) is Verdict.REQUEST
    assert verdict(PairFacts()) is Verdict.DELIVER


def test_contacts_only_refuses_strangers_until_accepted() -> None:
    closed = PairFacts(message_from={B: MessageFrom.CONTACTS})
    assert send_verdict(closed, sender=A, recipient=B, recipient_state=MemberState.REQUEST) == (
        Verdict.FORBIDDEN,
        CONTACTS_ONLY,
    )
    assert (
        verdict(PairFacts(message_from={B: MessageFrom.CONTACTS}, contacts=frozenset({(B, A)})))
        is Verdict.DELIVER
    )
    accepted = PairFacts(message_from={B: MessageFrom.CONTACTS}, states={B: MemberState.ACCEPTED})
    assert verdict(accepted) is Verdict.DELIVER


def test_signals_wait_for_acceptance_and_never_cross_a_block() -> None:
    requested = PairFacts(states={A: MemberState.ACCEPTED, B: MemberState.REQUEST})
    assert not may_signal(requested, sender=B, to=A, kind="read")
    assert not may_signal(requested, sender=B, to=A, kind="typing")
    assert may_signal(requested, sender=B, to=A, kind="delivered")
    assert may_signal(requested, sender=A, to=B, kind="typing")
    # B has written nothing (writing accepts): A, who wrote first, has nothing B could acknowledge...
    # and no receipt of A's reaches B's mailbox, delivered or read.
    assert not may_signal(requested, sender=A, to=B, kind="delivered")
    assert not may_signal(requested, sender=A, to=B, kind="read")
    declined = PairFacts(states={B: MemberState.DECLINED})
    assert not may_signal(declined, sender=A, to=B, kind="delivered")
    blocked = PairFacts(blocks=frozenset({(A, B)}))
    assert not may_signal(blocked, sender=B, to=A, kind="delivered")
    assert not may_signal(blocked, sender=A, to=B, kind="typing")


def test_last_seen_visibility() -> None:
    assert may_see_last_seen(LastSeenVisibility.EVERYONE, viewer_is_contact=False, viewer_is_self=False)
    assert may_see_last_seen(LastSeenVisibility.CONTACTS, viewer_is_contact=True, viewer_is_self=False)
    assert not may_see_last_seen(LastSeenVisibility.CONTACTS, viewer_is_contact=False, viewer_is_self=False)
    assert not may_see_last_seen(LastSeenVisibility.NOBODY, viewer_is_contact=True, viewer_is_self=False)
    assert may_see_last_seen(LastSeenVisibility.NOBODY, viewer_is_contact=False, viewer_is_self=True)
