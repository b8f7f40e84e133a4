"""The client's ordering rules without a server: duplicates dropped, gaps held back and filled
by a replay, resets, joins, and the bounded retries of a gap fill."""

from __future__ import annotations

import pytest

from parley.models import Cursor, Message
from parley._sequencer import MAX_SYNC_TRIES, FellBehindError, Sequencer


def msg(seq: int, cid: str = "c1") -> Message:
    return Message(
        id=f"m{seq}", conversation_id=cid, client_msg_id=f"k{seq}", sender_id="bob",
        kind="user", text=f"t{seq}", created_at=0, seq=seq,
    )


def seqs(released) -> list[int]:
    return [m.seq for m in released.messages]


def test_welcome_decides_which_conversations_expect_a_resume_answer():
    s = Sequencer({"behind": Cursor(1, "e"), "at-head": Cursor(5, "e"), "other-epoch": Cursor(5, "x")})
    s.welcome([
        {"id": "behind", "seq": 3, "epoch": "e"},
        {"id": "at-head", "seq": 5, "epoch": "e"},
        {"id": "other-epoch", "seq": 5, "epoch": "e"},
        {"id": "no-cursor-empty", "seq": 0, "epoch": "e"},
        {"id": "no-cursor", "seq": 2, "epoch": "e"},
    ])
    # Conversations without a cursor are not replayed: they start at their head (issue 16).
    assert s.awaiting == {"behind", "other-epoch"}
    assert s.cursors["at-head"] == Cursor(5, "e")
    assert s.cursors["no-cursor-empty"] == Cursor(0, "e")
    assert s.cursors["no-cursor"] == Cursor(2, "e")


def test_in_order_duplicates_and_a_gap_filled_by_replay():
    s = Sequencer()
    s.welcome([{"id": "c1", "seq": 0, "epoch": "e"}])
    assert seqs(s.message(msg(1))) == [1]
    assert seqs(s.message(msg(1))) == []  # duplicate
    gap = s.message(msg(4))
    assert seqs(gap) == [] and gap.sync == "c1"
    assert s.message(msg(5)).sync is None  # one sync per gap
    filled = s.replay("c1", 3, "e", [msg(2), msg(3)])
    assert seqs(filled) == [2, 3, 4, 5]
    assert s.cursors["c1"] == Cursor(5, "e")


def test_own_acks_move_the_cursor_but_are_not_released():
    s = Sequencer()
    s.welcome([{"id": "c1", "seq": 0, "epoch": "e"}])
    assert seqs(s.message(msg(1), own=True)) == []
    assert seqs(s.message(msg(2))) == [2]
    assert s.cursors["c1"].seq == 2


def test_reset_jumps_and_releases_what_follows():
    s = Sequencer()
    s.welcome([{"id": "c1", "seq": 0, "epoch": "e"}])
    s.message(msg(1))
    s.message(msg(9))
    r = s.reset("c1", 8, "e2")
    assert seqs(r) == [9] and s.cursors["c1"] == Cursor(9, "e2")


def test_joined_starts_at_the_head_and_left_forgets():
    s = Sequencer()
    s.welcome([])
    s.joined("c3", 7, "e3")
    assert seqs(s.message(msg(8, "c3"))) == [8]
    s.left("c3")
    assert "c3" not in s.cursors


def test_a_gap_that_stays_open_is_asked_again_then_given_up():
    s = Sequencer()
    s.welcome([{"id": "c1", "seq": 0, "epoch": "e"}])
    assert s.message(msg(3)).sync == "c1"
    for _ in range(MAX_SYNC_TRIES):
        assert s.replay("c1", 0, "e", []).sync == "c1"
    with pytest.raises(FellBehindError):
        s.replay("c1", 0, "e", [])
