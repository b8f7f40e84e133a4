"""The expectations of @parley/conformance (packages/conformance/src/suite.ts), checked with the
Python client against a real parley-server, one test per check id. Every frame either side sent
during a test is validated against the protocol's JSON Schema
(packages/protocol/schema/*.json) when the test ends."""

from __future__ import annotations

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
