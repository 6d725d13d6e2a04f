"""Rich content (docs/protocol.md §11): how a device stores a ``p.msg`` it received or sent, whatever
its msgtype, in one transaction with the rest of its handling (used by the Inbox, the GroupInbox and
``client.content``).

Rules
1. Text and files are stored as messages; a reply keeps its ``in_reply_to``, mentions that do not
   fit the body are dropped.
2. A reaction, edit or delete names its target by content id (and, for a reaction, the target's
   sender); a target not stored here (never received, expired, or joined later) is ignored.
3. Only the original sender (any of their devices) may edit or delete: the target is looked up
   among the messages *this content's sender* sent, so anyone else's edit finds nothing.
4. One reaction per person and message: a new one replaces it, an empty one removes it. A deleted
   message keeps only its tombstone: its content is overwritten here, its reactions dropped.
5. A theme is kept per conversation (the newest by server time) on every device.
6. Content whose feature this device's app does not declare is stored as an ordinary text message
   showing its ``fallback`` (or one composed here), under its own id.
7. A business's buttons, list or quick replies reach an app without the ``interactive`` feature as
   their numbered text (``proto.cloud.content.numbered``), the choices kept (``cloud``), so that the
   person's typed number is sent as the tap (``Client.send_text``; docs/bots.md, "Fallback").
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace

import msgspec

from passerelle.crypto import StoreKey
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.proto.cloud.content import INTERACTIVE_FEATURE, numbered
from passerelle.proto.frames import Item
from passerelle.sdk.events import Event, MessageState, ThemeEvent
from passerelle.sdk.schema import Mention, TextContent
from passerelle.sdk.store import history, rich_state
from passerelle.sdk.store.rich_state import Annotation, ThemeState

FEATURE_OF = {"reaction": "reaction", "edit": "edit", "delete": "delete", "theme": "themes"}
"""The msgtypes that change something else, and the app feature needed to show them."""
REPLY = "reply"
QUOTE_CHARS = 80
MAX_REACTION_CHARS = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """A decrypted (or just sent) ``p.msg`` and where it came from."""

    conv: str
    sender: str
    sender_device: str
    content: TextContent
    mid: int | None
    ts: int
    expires_at: int | None
    outgoing: bool
    state: MessageState

    @classmethod
    def of(cls, item: Item, content: TextContent, *, expires_at: int | None, outgoing: bool) -> Received:
        """A mailbox item's decrypted content (one of mine from another device when ``outgoing``)."""
        return cls(
            conv=item.conv,
            sender=item.sender,
            sender_device=item.dev,
            content=content,
            mid=item.mid,
            ts=item.ts,
            expires_at=expires_at,
            outgoing=outgoing,
            state=MessageState.SENT if outgoing else MessageState.RECEIVED,
        )


def quote(text: str) -> str:
    """A one-line snippet of a message, for a reply's quote or a fallback."""
    line = " ".join(text.split())
    return line if len(line) <= QUOTE_CHARS else line[: QUOTE_CHARS - 1] + "…"


def fallback_text(content: TextContent) -> str:
    """The readable plain-text stand-in for content an app cannot show."""
    ref = content.in_reply_to
    quoted = f"“{ref.quote}”" if ref is not None and ref.quote else "a message"
    match content.msgtype:
        case "reaction":
            return (
                f"{content.body} reacted to: {quoted}"
                if content.body
                else f"removed a reaction from: {quoted}"
            )
        case "edit":
            return f"✏️ edited: {content.body}"
        case "delete":
            return "🗑 deleted a message"
        case "theme":
            theme = content.theme
            if theme is None:
                return "🎨 changed the conversation's theme"
            extra = f" and its quick reaction to {theme.quick_reaction}" if theme.quick_reaction else ""
            return f"🎨 changed the conversation's colour to {theme.colour}{extra}"
        case _:
            return f"↩️ replying to {quoted}: {content.body}" if ref is not None else content.body


def valid_mentions(content: TextContent) -> list[Mention] | None:
    kept = [
        m
        for m in content.mentions or ()
        if 0 <= m.offset and 0 < m.length and m.offset + m.length <= len(content.body)
    ]
    return kept or None


def store_txn(
    conn: sqlite3.Connection, key: StoreKey, features: frozenset[str] | None, new: Received, now: int
) -> Event | None:
    """Store or apply ``new``; returns the event to dispatch (the new or changed message, a theme),
    None when nothing shows. ``features``: this device's app's (None: everything)."""
    content = new.content
    needed = FEATURE_OF.get(content.msgtype)
    if needed is None:
        if content.cloud is not None and features is not None and INTERACTIVE_FEATURE not in features:
            shown_choices = numbered(content.cloud, content.body)
            if shown_choices is not None:  # rule 7
                content = msgspec.structs.replace(content, body=shown_choices)
        if content.in_reply_to is not None and features is not None and REPLY not in features:
            content = TextContent(
                id=content.id,
                ts=content.ts,
                body=content.fallback or fallback_text(content),
                ttl=content.ttl,
                attachment=content.attachment,
                msgtype=content.msgtype,
            )
        content = msgspec.structs.replace(content, mentions=valid_mentions(content), fallback=None)
        return _insert(conn, key, new, content)
    if content.msgtype == "theme":
        kept = _theme_txn(conn, key, new)
        if kept is None or features is None or needed in features:
            return kept
    elif features is None or needed in features:
        return _annotate_txn(conn, key, new, now)
    shown = TextContent(
        id=content.id, ts=content.ts, body=content.fallback or fallback_text(content), ttl=content.ttl
    )
    return _insert(conn, key, new, shown)


def _insert(conn: sqlite3.Connection, key: StoreKey, new: Received, content: TextContent) -> Event | None:
    stored = history.insert_message_txn(
        conn,
        key,
        conv=new.conv,
        sender=new.sender,
        sender_device=new.sender_device,
        content=content,
        mid=new.mid,
        ts=new.ts,
        expires_at=new.expires_at,
        outgoing=new.outgoing,
        state=new.state,
    )
    return stored.to_message() if stored is not None else None


def _theme_txn(conn: sqlite3.Connection, key: StoreKey, new: Received) -> ThemeEvent | None:
    theme = new.content.theme
    if theme is None:
        return None
    state = ThemeState(theme=theme, sender=new.sender, ts=new.ts)
    if not rich_state.put_theme_txn(conn, key, new.conv, state):
        return None
    return ThemeEvent(conv=ConversationId(new.conv), sender=AccountId(new.sender), theme=theme, ts=new.ts)


def _annotate_txn(conn: sqlite3.Connection, key: StoreKey, new: Received, now: int) -> Event | None:
    content = new.content
    if content.msgtype == "reaction":
        ref = content.in_reply_to
        if ref is None or len(content.body) > MAX_REACTION_CHARS:
            return None
        target = history.find_txn(conn, key, new.conv, ref.sender, ref.id, now=now)
    else:  # edit, delete: only among the messages this content's sender sent
        if content.replaces is None:
            return None
        target = history.find_txn(conn, key, new.conv, new.sender, content.replaces, now=now)
    if target is None or (target.note is not None and target.note.deleted):
        return None
    note = target.note or Annotation()
    if content.msgtype == "reaction":
        reactions = dict(note.reactions)
        if content.body:
            reactions[new.sender] = content.body
        else:
            reactions.pop(new.sender, None)
        note = msgspec.structs.replace(note, reactions=reactions)
    elif content.msgtype == "edit":
        if content.ts < note.edit_ts:
            return None  # an older edit that arrived late
        edited = msgspec.structs.replace(target.content, body=content.body, mentions=valid_mentions(content))
        target = history.reseal_txn(conn, key, target, edited)
        note = msgspec.structs.replace(note, edited=True, edit_ts=content.ts)
    else:  # delete: the content goes, the tombstone stays
        target = history.reseal_txn(
            conn, key, target, TextContent(id=target.client_id, ts=target.content.ts, body="")
        )
        note = Annotation(deleted=True)
    rich_state.put_txn(
        conn, key, new.conv, target.sender, target.client_id, note, expires_at=target.expires_at
    )
    return replace(target, note=note).to_message()
