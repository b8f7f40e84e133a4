"""The expectations of @parley/conformance (packages/conformance/src/checks/), checked with the
Python client against a real parley-server, one test per check id. Every frame either side sent
during a test is validated against the protocol's JSON Schema
(packages/protocol/schema/*.json) when the test ends."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, Callable, Iterator

import pytest
import websockets
from jsonschema import Draft202012Validator
from support import load_schema, token

from parley import ConnectionClosedError, ServerError
from parley.realtime import connect

SERVER_FRAMES = Draft202012Validator(load_schema("server-frames.json"))
CLIENT_FRAMES = Draft202012Validator(load_schema("client-frames.json"))


class Frames:
    """Every frame received and sent in one test, validated at teardown."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        #: Frames sent on purpose against the schema (the invalid-field check).
        self.invalid_on_purpose: list[dict[str, Any]] = []

    def kw(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {"on_frame": self.received.append, "on_send": self.sent.append}

    def check(self) -> None:
        for f in self.received:
            errors = [e.message for e in SERVER_FRAMES.iter_errors(f)]
            assert not errors, f"server frame {json.dumps(f)[:300]} breaks the schema: {errors[:3]}"
        for f in self.sent:
            if f in self.invalid_on_purpose:
                continue
            errors = [e.message for e in CLIENT_FRAMES.iter_errors(f)]
            assert not errors, f"client frame {json.dumps(f)[:300]} breaks the schema: {errors[:3]}"


@pytest.fixture
def frames() -> Iterator[Frames]:
    f = Frames()
    yield f
    f.check()


@pytest.fixture
def pair(server, conv, user):
    """Tokens of two members of ``conv``: (a, b)."""
    return token(user("a"), [conv]), token(user("b"), [conv])


async def test_hello_welcome(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a, await connect(
        server.url, pair[1], **frames.kw()
    ) as b:
        assert conv in a.conversations and conv in b.conversations
        assert a.user_id != b.user_id
        listed = next(c for c in a.welcome["conversations"] if c["id"] == conv)
        assert listed["seq"] == 0 and listed["epoch"]
    assert [f["type"] for f in frames.received].count("welcome") == 2


async def test_hello_unauthenticated(server):
    with pytest.raises(ConnectionClosedError) as err:
        await connect(server.url, "conformance-invalid-token")
    assert err.value.close_code == 4401


async def test_hello_first_frame(server):
    # The kit always sends hello first; a raw socket shows the server's side of the rule.
    async with websockets.connect(server.url, subprotocols=["parley.v1"]) as ws:
        await ws.send(json.dumps({"type": "ping", "ref": "early"}))
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4401


async def test_subprotocol_other_than_parley_v1_closes_4406(server):
    async with websockets.connect(server.url, subprotocols=["parley.v2"]) as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4406


async def test_ping_pong(server, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        pong = await a.request({"type": "ping", "ref": "ping-1"})
        assert pong == {"type": "pong", "ref": "ping-1"}


async def test_send_ack_fanout_members_and_sockets(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a, await connect(
        server.url, pair[0], **frames.kw()
    ) as a2, await connect(server.url, pair[1], **frames.kw()) as b:
        cmid = f"conf-{uuid.uuid4()}"
        ack = await a.request(
            {"type": "send", "conversationId": conv, "clientMsgId": cmid, "text": "conformance: hello"}
        )
        assert ack["type"] == "ack" and ack["clientMsgId"] == cmid and ack["duplicate"] is False
        m = ack["message"]
        assert m["seq"] >= 1 and m["id"] and m["senderId"] == a.user_id
        assert (m["text"], m["conversationId"]) == ("conformance: hello", conv)
        at_b = await b.next_message(conv, timeout=5)
        assert (at_b.seq, at_b.id, at_b.sender_id) == (m["seq"], m["id"], a.user_id)
        # fanout.sockets: the sender's other socket gets it as a message.
        at_a2 = await a2.next_message(conv, timeout=5)
        assert at_a2.seq == m["seq"]


async def test_identity_fields_in_the_payload_are_ignored(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a, await connect(
        server.url, pair[1], **frames.kw()
    ) as b:
        ack = await a.request(
            {
                "type": "send",
                "conversationId": conv,
                "clientMsgId": f"conf-{uuid.uuid4()}",
                "text": "conformance: impostor",
                "senderId": "impostor",
                "userId": "impostor",
                "from": "impostor",
                "sender": {"name": "Impostor"},
                "seq": 999_999,
                "id": "forged-id",
            }
        )
        m = ack["message"]
        assert m["senderId"] == a.user_id
        assert (m.get("sender") or {}).get("name") != "Impostor"
        assert m["id"] != "forged-id" and m["seq"] != 999_999
        assert (await b.next_message(conv, timeout=5)).sender_id == a.user_id


async def test_send_idempotent(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a, await connect(
        server.url, pair[1], **frames.kw()
    ) as b:
        first = await a.send(conv, "conformance: hello", client_msg_id="conf-retry")
        retry = await a.send(conv, "conformance: hello", client_msg_id="conf-retry")
        assert retry.duplicate and (retry.message.seq, retry.message.id) == (
            first.message.seq,
            first.message.id,
        )
        await a.send(conv, "conformance: marker", client_msg_id="conf-marker")
        seen = [await b.next_message(conv, timeout=5) for _ in range(2)]
        assert [m.client_msg_id for m in seen] == ["conf-retry", "conf-marker"]
        # Raw frames too: b was sent exactly one copy of the original.
        copies = [
            f for f in frames.received
            if f["type"] == "message" and f["message"]["clientMsgId"] == "conf-retry"
        ]
        assert len(copies) == 1


async def test_membership_forbidden(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        with pytest.raises(ServerError) as err:
            await a.send(f"conformance-foreign-{uuid.uuid4()}", "conformance: forbidden")
        assert err.value.code == "forbidden"


async def test_frame_invalid_field_keeps_the_connection(server, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        bad = {"type": "send", "ref": "bad-1", "conversationId": 42, "clientMsgId": "c", "text": "x"}
        frames.invalid_on_purpose.append(bad)
        with pytest.raises(ServerError) as err:
            await a.request(bad)
        assert (err.value.code, err.value.field, err.value.ref) == ("invalid_frame", "conversationId", "bad-1")
        assert await a.ping() >= 0


async def test_frame_unknown_type(server, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        bogus = {"type": "conformance.bogus", "ref": "unk-1"}
        frames.invalid_on_purpose.append(bogus)
        with pytest.raises(ServerError) as err:
            await a.request(bogus)
        assert err.value.code == "unknown_type" and err.value.ref == "unk-1"


async def test_typing_relay(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a, await connect(
        server.url, pair[1], **frames.kw()
    ) as b:
        await a.typing(conv, "start")
        f = await b.next(lambda f: f["type"] == "typing" and f["conversationId"] == conv, timeout=5)
        assert (f["userId"], f["state"]) == (a.user_id, "start")
        await a.typing(conv, "stop")
        assert (await b.next("typing", timeout=5))["state"] == "stop"


async def test_resume_replay(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        first = (await a.send(conv, "conformance: one")).message
        await a.send(conv, "conformance: two")
        epoch = a.cursors[conv].epoch
    after = first.seq - 1
    async with await connect(
        server.url, pair[1], cursors={conv: {"seq": after, "epoch": epoch}}, **frames.kw()
    ) as b:
        f = await b.next(lambda f: f["type"] in ("replay", "reset") and f["conversationId"] == conv, timeout=5)
        assert f["type"] == "replay"
        seqs = [m["seq"] for m in f["messages"]]
        assert seqs == list(range(after + 1, after + 1 + len(seqs))) and len(seqs) == 2
        assert f["seq"] == seqs[-1] and f["messages"][0]["id"] == first.id


async def test_resume_reset_epoch(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        await a.send(conv, "x")
        epoch = a.cursors[conv].epoch
    async with await connect(
        server.url, pair[1], cursors={conv: {"seq": 1, "epoch": "conformance-unknown-epoch"}}, **frames.kw()
    ) as b:
        f = await b.next(lambda f: f["type"] in ("replay", "reset"), timeout=5)
        assert (f["type"], f["reason"], f["epoch"]) == ("reset", "epoch_changed", epoch)


# -- Rules PROTOCOL.md makes explicit (issue 19); the matching @parley/conformance check ids ------


def _resumes(frames: list[dict[str, Any]], conv: str) -> list[dict[str, Any]]:
    """Replays and resets of ``conv`` received before the first ``synced``."""
    out: list[dict[str, Any]] = []
    for f in frames:
        if f["type"] == "synced":
            return out
        if f["type"] in ("replay", "reset") and f.get("conversationId") == conv:
            out.append(f)
    raise AssertionError("no synced frame")


async def test_hello_version_protocol_2_without_subprotocol_closes_4406(server, pair):
    # hello.version: a client that cannot set subprotocols says its version in hello.
    async with websockets.connect(server.url) as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": 2, "token": pair[0]}))
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4406


async def test_session_synced_exactly_once(server, conv, pair, frames):
    received: list[dict[str, Any]] = []
    async with await connect(server.url, pair[0], on_frame=received.append, on_send=frames.sent.append) as a:
        await a.next("synced", timeout=5)
        # Answered after everything the session start sent: a second synced would come first.
        await a.history(conv, limit=1)
    frames.received.extend(received)
    assert [f["type"] for f in received].count("synced") == 1


async def test_resume_at_head_gets_nothing_before_synced(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        ack = await a.send(conv, "conformance: head")
        epoch = a.cursors[conv].epoch
    head = ack.message.seq
    for cursor in ({"seq": head, "epoch": epoch}, {"seq": head}):
        received: list[dict[str, Any]] = []
        async with await connect(server.url, pair[1], cursors={conv: cursor}, on_frame=received.append) as b:
            await b.next("synced", timeout=5)
            await b.resumed(timeout=5)
        assert _resumes(received, conv) == [], cursor
        frames.received.extend(received)


async def test_resume_cursor_ahead_gets_reset_epoch_changed(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        head = (await a.send(conv, "conformance: ahead")).message.seq
        epoch = a.cursors[conv].epoch
    async with await connect(
        server.url, pair[1], cursors={conv: {"seq": head + 1000, "epoch": epoch}}, **frames.kw()
    ) as b:
        f = await b.next(lambda f: f["type"] in ("replay", "reset") and f["conversationId"] == conv, timeout=5)
        assert (f["type"], f["reason"], f["seq"], f["epoch"]) == ("reset", "epoch_changed", head, epoch)
        # The kit adopts the reset's head as its cursor.
        await b.resumed(timeout=5)
        assert b.cursors[conv].seq == head


async def test_sync_at_the_head_gets_an_empty_replay_with_or_without_ref(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        head = (await a.send(conv, "conformance: sync")).message.seq
        epoch = a.cursors[conv].epoch
        answer = await a.sync(conv)
        assert (answer["type"], answer["seq"], answer["epoch"], answer["messages"]) == ("replay", head, epoch, [])
        await a.send_frame({"type": "sync", "conversationId": conv, "after": head})
        f = await a.next(lambda f: f["type"] in ("replay", "reset") and "ref" not in f, timeout=5)
        assert (f["type"], f["seq"], f["messages"]) == ("replay", head, [])


async def test_sync_ahead_of_the_head_gets_reset(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        head = (await a.send(conv, "conformance: sync ahead")).message.seq
        epoch = a.cursors[conv].epoch
        f = await a.request({"type": "sync", "conversationId": conv, "after": head + 5, "epoch": epoch})
        assert (f["type"], f["reason"], f["seq"]) == ("reset", "epoch_changed", head)


async def test_ack_stream_order_acks_count_toward_the_cursor(server, conv, pair, frames):
    # ack.stream_order: acks come at their message's place, so seqs seen on the sender's socket
    # (messages and acks together) are contiguous; the kit's cursor follows them without a gap.
    received: list[dict[str, Any]] = []
    async with await connect(server.url, pair[0], on_frame=received.append, on_send=frames.sent.append) as a, await connect(
        server.url, pair[1], **frames.kw()
    ) as b:
        start = a.cursors[conv].seq
        for i in range(3):
            await b.send(conv, f"conformance: b{i}")
            await a.send(conv, f"conformance: a{i}")
        await asyncio.gather(*(x.send(conv, f"conformance: both {i}") for i in range(5) for x in (a, b)))
        for _ in range(8):
            await a.next_message(conv, timeout=5)
        seqs = [
            f["message"]["seq"]
            for f in received
            if f["type"] in ("message", "ack") and f["message"]["conversationId"] == conv
        ]
        seqs = [s for s in seqs if s > start]
        assert seqs == list(range(start + 1, start + 17))
        assert a.cursors[conv].seq == start + 16
    frames.received.extend(received)


async def test_text_limit_counts_code_points(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        limit = a.limits["maxTextLength"]
        text = "😀" * limit  # 2 x limit UTF-16 units, limit code points
        assert (await a.send(conv, text)).message.text == text
        too_long = {"type": "send", "ref": "too-long", "conversationId": conv, "clientMsgId": "conf-long", "text": text + "a"}
        frames.invalid_on_purpose.append(too_long)
        with pytest.raises(ServerError) as err:
            await a.request(too_long)
        assert (err.value.code, err.value.field) == ("too_large", "text")


def _padded_ping(ref: str, size: int) -> dict[str, Any]:
    """A ping of exactly ``size`` UTF-8 bytes as the kit serialises it, padded with '€' (one
    UTF-16 unit, three UTF-8 bytes)."""
    base = len(json.dumps({"type": "ping", "ref": ref, "pad": ""}, separators=(",", ":")).encode())
    room = size - base
    return {"type": "ping", "ref": ref, "pad": "€" * (room // 3) + "a" * (room % 3)}


async def test_frame_limit_counts_utf8_bytes_and_closes_1009(server, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        limit = a.limits["maxFrameBytes"]
        assert (await a.request(_padded_ping("fits", limit)))["type"] == "pong"
        over = _padded_ping("over", limit + 1)
        assert len(json.dumps(over, separators=(",", ":"), ensure_ascii=False)) < limit  # UTF-16 units
        await a.send_frame(over)
        closed = await a.wait_closed(timeout=5)
        assert closed.close_code == 1009


async def test_read_seq_zero_is_invalid_and_beyond_the_head_counts_as_the_head(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a, await connect(
        server.url, pair[1], **frames.kw()
    ) as b:
        head = (await a.send(conv, "conformance: read me")).message.seq
        zero = {"type": "read", "conversationId": conv, "seq": 0}
        frames.invalid_on_purpose.append({**zero, "ref": "read-0"})
        with pytest.raises(ServerError) as err:
            await b.request({**zero, "ref": "read-0"})
        assert (err.value.code, err.value.field) == ("invalid_frame", "seq")
        await b.read(conv, head + 1000)  # never answered on success
        f = await a.next(lambda f: f["type"] == "read" and f["userId"] == b.user_id, timeout=5)
        assert f["seq"] == head


async def test_event_targets_ok_and_who_may_be_addressed(server, conv, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a, await connect(
        server.url, pair[1], **frames.kw()
    ) as b:
        for target in ({"conversationId": conv, "userId": b.user_id}, {}):
            bad = {"type": "event", "ref": f"target-{len(target)}", "name": "conformance.ping", "payload": {}, **target}
            frames.invalid_on_purpose.append(bad)
            with pytest.raises(ServerError) as err:
                await a.request(bad)
            assert err.value.code == "invalid_frame"
        # event.ok: returns once the server answered ok.
        await a.event("conformance.ping", {"n": 1}, conversation_id=conv)
        got = await b.next("event", timeout=5)
        assert (got["from"], got["conversationId"], got["payload"]) == (a.user_id, conv, {"n": 1})
        # event.user: a member of a shared conversation, yes; a stranger, forbidden.
        await a.event("conformance.ping", {"n": 2}, user_id=b.user_id)
        got = await b.next("event", timeout=5)
        assert (got["from"], got["payload"], "conversationId" in got) == (a.user_id, {"n": 2}, False)
        with pytest.raises(ServerError) as err:
            await a.event("conformance.ping", {}, user_id=f"stranger-{uuid.uuid4()}")
        assert err.value.code == "forbidden"


async def test_auth_with_another_users_token_is_refused_and_the_session_goes_on(server, pair, frames):
    async with await connect(server.url, pair[0], **frames.kw()) as a:
        with pytest.raises(ServerError) as err:
            await a.request({"type": "auth", "token": pair[1]})
        assert err.value.code == "unauthenticated"
        assert await a.ping() >= 0
        assert a.user_id == a.welcome["user"]["id"]
