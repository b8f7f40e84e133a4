"""Per-conversation cursors and ordering for the real-time client (no I/O).

PROTOCOL.md, "Delivery guarantees": a client tracks, per conversation, the highest contiguous
``seq`` it holds and the ``epoch`` it came from. A live message past ``cursor + 1`` reveals a gap:
the client asks ``sync`` and holds later messages back until the ``replay`` fills it. A ``reset``
replaces the cursor. This class applies those rules and says which messages are new, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .models import Cursor, Message

#: Messages held back behind a gap, per client, before it gives up (the server replays at most
#: 1,000 per conversation by default).
MAX_HELD = 10_000
#: Gap fills in a row that leave the same gap open before the client gives up.
MAX_SYNC_TRIES = 3


@dataclass
class _Held:
    message: Message
    own: bool


@dataclass
class Released:
    """What a frame contributed: messages new to the app in seq order (own sends excluded),
    and the conversation that needs a ``sync`` (a gap appeared), if any."""

    messages: list[Message] = field(default_factory=list)
    sync: str | None = None


class FellBehindError(Exception):
    """More than :data:`MAX_HELD` messages are held behind gaps."""


class Sequencer:
    def __init__(self, cursors: Mapping[str, Cursor] | None = None) -> None:
        self.cursors: dict[str, Cursor] = dict(cursors or {})
        self._held: dict[str, dict[int, _Held]] = {}
        self._syncing: set[str] = set()
        self._tries: dict[str, int] = {}
        #: Conversations whose resume answer (replay or reset without a ref) is still due.
        self.awaiting: set[str] = set()

    # -- session start ---------------------------------------------------------------------

    def welcome(self, conversations: Iterable[Mapping[str, Any]]) -> None:
        """Applies ``welcome.conversations``: which conversations get a replay/reset, and the
        cursor of the others (already at the head)."""
        given = self.cursors
        self.cursors = {}
        self.awaiting = set()
        for c in conversations:
            cid, seq, epoch = c["id"], c["seq"], c["epoch"]
            cur = given.get(cid)
            # A conversation without a cursor is not replayed: it starts at its head (PROTOCOL.md,
            # issue 16). With one, the hub sends nothing only for a cursor at the head of the same
            # epoch (a cursor without an epoch counts as the current one); else replay or reset.
            at_head = cur is None or (
                cur.seq == seq and (cur.epoch is None or cur.epoch == epoch)
            )
            if cur is None or at_head:
                self.cursors[cid] = Cursor(seq, epoch)
            else:
                self.cursors[cid] = cur
                self.awaiting.add(cid)

    # -- the stream ------------------------------------------------------------------------

    def message(self, m: Message, *, own: bool = False) -> Released:
        """A live ``message`` (or, ``own``, the message of this socket's ``ack``)."""
        cid = m.conversation_id
        cur = self.cursors.setdefault(cid, Cursor(0))
        out = Released()
        if m.seq <= cur.seq:
            return out  # already held: a duplicate
        if m.seq == cur.seq + 1:
            self.cursors[cid] = Cursor(m.seq, cur.epoch)
            if not own:
                out.messages.append(m)
            out.messages.extend(self._drain(cid))
            return out
        held = self._held.setdefault(cid, {})
        held[m.seq] = _Held(m, own)
        if sum(len(h) for h in self._held.values()) > MAX_HELD:
            raise FellBehindError(f"more than {MAX_HELD} messages held behind gaps")
        if cid not in self._syncing and cid not in self.awaiting:
            self._syncing.add(cid)
            out.sync = cid
        return out

    def replay(self, cid: str, seq: int, epoch: str, messages: list[Message]) -> Released:
        """A ``replay``: every message after the cursor the server was given, up to ``seq``."""
        self.awaiting.discard(cid)
        self._syncing.discard(cid)
        cur = self.cursors.get(cid, Cursor(0))
        out = Released()
        last = cur.seq
        for m in messages:
            if m.seq == last + 1:
                out.messages.append(m)
                last = m.seq
        self.cursors[cid] = Cursor(max(last, seq), epoch)
        out.messages.extend(self._drain(cid))
        return self._refill(cid, cur, out)

    def reset(self, cid: str, seq: int, epoch: str) -> Released:
        """A ``reset``: the gap cannot be filled; the cursor jumps to ``seq`` of ``epoch``."""
        self.awaiting.discard(cid)
        self._syncing.discard(cid)
        before = self.cursors.get(cid, Cursor(0))
        self.cursors[cid] = Cursor(seq, epoch)
        out = Released()
        out.messages.extend(self._drain(cid))
        return self._refill(cid, before, out)

    def sync_failed(self, cid: str) -> None:
        """The gap fill was refused: the next out-of-order message asks again."""
        self._syncing.discard(cid)

    def joined(self, cid: str, seq: int, epoch: str) -> None:
        """``joined``: earlier messages are not replayed; the cursor starts at the head."""
        self.cursors[cid] = Cursor(seq, epoch)
        self._held.pop(cid, None)

    def left(self, cid: str) -> None:
        self.cursors.pop(cid, None)
        self._held.pop(cid, None)
        self._syncing.discard(cid)
        self.awaiting.discard(cid)

    def _drain(self, cid: str) -> list[Message]:
        """Held messages that are now contiguous; drops held ones at or below the cursor."""
        held = self._held.get(cid)
        if not held:
            return []
        cur = self.cursors[cid]
        for s in [s for s in held if s <= cur.seq]:
            del held[s]
        out: list[Message] = []
        seq = cur.seq
        while seq + 1 in held:
            h = held.pop(seq + 1)
            seq += 1
            if not h.own:
                out.append(h.message)
        self.cursors[cid] = Cursor(seq, cur.epoch)
        return out

    def _refill(self, cid: str, before: Cursor, out: Released) -> Released:
        """After a replay/reset: a gap still open behind held messages is asked for again, at
        most :data:`MAX_SYNC_TRIES` times in a row without progress."""
        if not self._held.get(cid):
            self._tries.pop(cid, None)
            return out
        progress = self.cursors[cid].seq > before.seq
        tries = 0 if progress else self._tries.get(cid, 0) + 1
        if tries > MAX_SYNC_TRIES:
            raise FellBehindError(f"the gap in {cid} after seq {before.seq} was not filled")
        self._tries[cid] = tries
        self._syncing.add(cid)
        out.sync = cid
        return out
