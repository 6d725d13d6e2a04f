"""The Olm sessions this device holds, grouped by peer device (its curve25519 identity key).

Rules
1. Several sessions per peer device may exist (both ends initiated, or a broken session was
   replaced). They are ordered by ``seq``: a session gets a fresh, higher ``seq`` when it is created
   and each time it decrypts a message. We send on the highest ``seq``, so two ends that started
   sessions at the same time converge on the one the other end last used.
2. Every change (new session, ratchet step) marks the session dirty; ``take_changes`` hands the
   pickles of dirty sessions to the caller, who persists them in the same transaction as what the
   change produced (a stored message, a sent frame). Pickles are encrypted with the pickle key.
3. At most ``MAX_PER_PEER`` sessions are kept per peer device; the least recently used goes first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import vodozemac as vz

from passerelle.crypto.errors import PickleError

MAX_PER_PEER = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class PickledSession:
    """One Olm session at rest: its state is an encrypted vodozemac pickle."""

    session_id: str
    peer_curve25519: str
    seq: int
    pickle: str


class _Entry:
    __slots__ = ("peer", "seq", "session")

    def __init__(self, peer: str, seq: int, session: vz.Session) -> None:
        self.peer = peer
        self.seq = seq
        self.session = session


class SessionBook:
    """Olm sessions by peer device. Internal to passerelle.crypto: sessions never leave the package."""

    __slots__ = ("_by_peer", "_dirty", "_removed", "_seq")

    def __init__(self) -> None:
        self._by_peer: dict[str, list[_Entry]] = {}
        self._seq = 0
        self._dirty: dict[str, _Entry] = {}
        self._removed: set[str] = set()

    def load(self, pickled: Iterable[PickledSession], pickle_key: bytes) -> None:
        for p in pickled:
            try:
                session = vz.Session.from_pickle(p.pickle, pickle_key)
            except vz.PickleException as exc:
                raise PickleError("an Olm session pickle cannot be opened with this key") from exc
            self._by_peer.setdefault(p.peer_curve25519, []).append(_Entry(p.peer_curve25519, p.seq, session))
            self._seq = max(self._seq, p.seq)
        for entries in self._by_peer.values():
            entries.sort(key=lambda e: e.seq, reverse=True)

    def for_peer(self, peer: str) -> list[_Entry]:
        """The peer's sessions, most recently used first."""
        return list(self._by_peer.get(peer, ()))

    def newest(self, peer: str) -> _Entry | None:
        entries = self._by_peer.get(peer)
        return entries[0] if entries else None

    def session_ids(self, peer: str) -> list[str]:
        return [e.session.session_id for e in self._by_peer.get(peer, ())]

    def add(self, peer: str, session: vz.Session) -> _Entry:
        self._seq += 1
        entry = _Entry(peer, self._seq, session)
        entries = self._by_peer.setdefault(peer, [])
        entries.insert(0, entry)
        self._dirty[session.session_id] = entry
        self._removed.discard(session.session_id)
        for old in entries[MAX_PER_PEER:]:
            self._forget(old)
        del entries[MAX_PER_PEER:]
        return entry

    def touch(self, entry: _Entry) -> None:
        """The entry was just used to decrypt: it becomes the one we send on."""
        self._seq += 1
        entry.seq = self._seq
        entries = self._by_peer[entry.peer]
        entries.sort(key=lambda e: e.seq, reverse=True)
        self._dirty[entry.session.session_id] = entry

    def changed(self, entry: _Entry) -> None:
        self._dirty[entry.session.session_id] = entry

    def forget_peer(self, peer: str) -> None:
        """Drop every session with that peer device (for example after it was removed)."""
        for entry in self._by_peer.pop(peer, []):
            self._forget(entry)

    def _forget(self, entry: _Entry) -> None:
        sid = entry.session.session_id
        self._dirty.pop(sid, None)
        self._removed.add(sid)

    def take_changes(self, pickle_key: bytes) -> tuple[list[PickledSession], list[str]]:
        """Pickles of the sessions changed since the last call, and the ids of the dropped ones."""
        changed = [
            PickledSession(
                session_id=sid, peer_curve25519=e.peer, seq=e.seq, pickle=e.session.pickle(pickle_key)
            )
            for sid, e in self._dirty.items()
        ]
        removed = sorted(self._removed)
        self._dirty.clear()
        self._removed.clear()
        return changed, removed
