"""Safety rules between two people: blocks, contacts, message requests and who may message whom.

Rules (docs/protocol.md section 9):
1. A block is one person's decision and works both ways at once: the blocker cannot send to the
   blocked person (``forbidden``: they know they blocked), and the blocked person's sends are
   answered as usual but stored for nobody but their own devices (``drop``), so a block cannot be
   detected by sending. Typing and receipts never cross a block.
2. In a direct conversation each member has a state: ``accepted``, ``request`` or ``declined``
   (``None``: not decided yet). The first message decides the recipient's state: a ``request`` when
   the sender is not one of the recipient's contacts (which a person of another app never is until
   added), else ``accepted``.
   Writing into a conversation accepts it (replying to a request accepts it).
3. A message to someone whose state is ``request`` is stored and delivered, so it can be shown in
   the requests folder; to someone who ``declined`` it is dropped like a blocked one.
4. ``message_from = contacts``: someone who is not a contact cannot write into a conversation the
   person has not accepted (``forbidden``, nothing stored).
5. Read receipts and typing go from X to Y only when X has accepted the conversation and Y has not
   declined it; delivery receipts need no acceptance. Neither crosses a block.
6. No receipt goes to someone whose state is ``request``: they have written nothing there (writing
   accepts), so there is nothing to acknowledge, and a stranger cannot fill their mailbox with them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from passerelle.domain.business.ids import ADDRESS_APP
from passerelle.domain.ids import AccountId, AppName


class MemberState(enum.StrEnum):
    ACCEPTED = "accepted"
    REQUEST = "request"
    """Waiting in the member's requests folder."""
    DECLINED = "declined"


class MessageFrom(enum.StrEnum):
    """Who may start a conversation with me."""

    EVERYONE = "everyone"
    CONTACTS = "contacts"


class LastSeenVisibility(enum.StrEnum):
    EVERYONE = "everyone"
    CONTACTS = "contacts"
    NOBODY = "nobody"


class Verdict(enum.StrEnum):
    """What becomes of one person's message to another in a direct conversation."""

    DELIVER = "deliver"
    REQUEST = "request"
    """Stored and delivered; the conversation is in the recipient's requests folder."""
    DROP = "drop"
    """Answered ``sent``; stored only for the sender's own other devices."""
    FORBIDDEN = "forbidden"


BLOCKED_BY_ME = "you blocked this person; unblock them to write"
CONTACTS_ONLY = "this person accepts messages from their contacts only"
REQUEST_FULL = (
    "this person has not accepted your message request and has not received your last messages yet; "
    "wait until they do"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PairFacts:
    """Everything the rules need about two people (and their direct conversation), read at once."""

    blocks: frozenset[tuple[AccountId, AccountId]] = frozenset()
    """(blocker, blocked) pairs between the two."""
    contacts: frozenset[tuple[AccountId, AccountId]] = frozenset()
    """(owner, contact) pairs between the two."""
    states: Mapping[AccountId, MemberState] = field(default_factory=dict)
    """Decided member states in their direct conversation."""
    message_from: Mapping[AccountId, MessageFrom] = field(default_factory=dict)
    """Each person's setting when it is not the default (everyone)."""

    def blocked(self, blocker: AccountId, blocked: AccountId) -> bool:
        return (blocker, blocked) in self.blocks

    def blocked_either(self, a: AccountId, b: AccountId) -> bool:
        return (a, b) in self.blocks or (b, a) in self.blocks

    def is_contact(self, owner: AccountId, other: AccountId) -> bool:
        return (owner, other) in self.contacts

    def state(self, account: AccountId) -> MemberState | None:
        return self.states.get(account)


def first_state(*, sender_app: AppName, recipient_app: AppName, is_contact: bool) -> MemberState:
    """The recipient's state when a conversation's first message arrives (rule 2)."""
    # Someone who is not a contact writes first: a request, on the same app as across apps (and a
    # person of another app is never a contact until added). The apps are kept in the signature so an
    # operator policy per app can grow here.
    if is_contact or recipient_app == ADDRESS_APP:
        # A business takes every customer's first message (docs/business.md section 2); its own
        # rules (blocks, the window) are the business side's.
        return MemberState.ACCEPTED
    return MemberState.REQUEST


def send_verdict(
    facts: PairFacts, *, sender: AccountId, recipient: AccountId, recipient_state: MemberState
) -> tuple[Verdict, str]:
    """What happens to a message from ``sender`` to ``recipient`` (rules 1, 3, 4), and why."""
    if facts.blocked(sender, recipient):
        return Verdict.FORBIDDEN, BLOCKED_BY_ME
    if facts.blocked(recipient, sender) or recipient_state is MemberState.DECLINED:
        return Verdict.DROP, ""
    if (
        facts.message_from.get(recipient, MessageFrom.EVERYONE) is MessageFrom.CONTACTS
        and not facts.is_contact(recipient, sender)
        and facts.state(recipient) is not MemberState.ACCEPTED
    ):
        return Verdict.FORBIDDEN, CONTACTS_ONLY
    if recipient_state is MemberState.REQUEST:
        return Verdict.REQUEST, ""
    return Verdict.DELIVER, ""


def may_signal(facts: PairFacts, *, sender: AccountId, to: AccountId, kind: str) -> bool:
    """Whether a receipt (``delivered``/``read``) or ``typing`` from ``sender`` may reach ``to`` (rules 5
    and 6)."""
    if facts.blocked_either(sender, to) or facts.state(to) is MemberState.DECLINED:
        return False
    if kind != "typing" and facts.state(to) is MemberState.REQUEST:
        return False  # rule 6
    if kind == "delivered":
        return True
    return facts.state(sender) in (None, MemberState.ACCEPTED)


def may_see_last_seen(setting: LastSeenVisibility, *, viewer_is_contact: bool, viewer_is_self: bool) -> bool:
    if viewer_is_self or setting is LastSeenVisibility.EVERYONE:
        return True
    return setting is LastSeenVisibility.CONTACTS and viewer_is_contact
