"""The real-time client against a real parley-server: session start, send/ack/dedupe, receive,
typing, read, history, events, ping, token refresh, resume with cursors, local limits."""

from __future__ import annotations

import asyncio
import time

import pytest
from support import token

from parley import ConnectionClosedError, Cursor, LimitError, ParleyError, ServerError
from parley.realtime import connect


async def test_hello_welcome_and_the_session_state(server, conv, user):
    alice = user("alice")
    async with await connect(server.url, token(alice, [conv])) as c:
        assert c.welcome["type"] == "welcome"
        assert c.user_id == alice
        assert c.welcome["user"]["name"] == alice.title()
        assert c.conversations == {conv}
        assert c.cursors[conv].seq == 0
        assert c.cursors[conv].epoch == c.welcome["conversations"][0]["epoch"]
        assert c.limits["maxTextLength"] == 10_000
        await c.resumed(timeout=5)  # nothing to resume: returns at once
        assert await c.ping() >= 0


async def test_send_is_acked_and_fanned_out_in_order(server, conv, user):
    a, b = user("alice"), user("bob")
    async with await connect(server.url, token(a, [conv])) as alice, await connect(
        server.url, token(b, [conv])
    ) as bob:
        acks = [await alice.send(conv, f"hello {i}", data={"i": i}) for i in range(3)]
        assert [x.message.seq for x in acks] == [1, 2, 3]
        assert all(not x.duplicate and x.message.sender_id == a for x in acks)
        got = [await bob.next_message(conv, timeout=5) for _ in range(3)]
        assert [(m.seq, m.text, m.data) for m in got] == [
            (1, "hello 0", {"i": 0}),
            (2, "hello 1", {"i": 1}),
            (3, "hello 2", {"i": 2}),
        ]
        assert got[0].sender is not None and got[0].sender.name == a.title()
        # The sender's own socket does not get its sends as messages (the ack had them).
        with pytest.raises(TimeoutError):
            await alice.next_message(conv, timeout=0.3)
        assert alice.cursors[conv].seq == bob.cursors[conv].seq == 3


async def test_a_retried_client_msg_id_returns_the_original_ack_and_is_not_broadcast(server, conv, user):
    a, b = user("alice"), user("bob")
    async with await connect(server.url, token(a, [conv])) as alice, await connect(
        server.url, token(b, [conv])
    ) as bob:
        first = await alice.send(conv, "once", client_msg_id="fixed-id-1")
        again = await alice.send(conv, "once", client_msg_id="fixed-id-1")
        assert again.duplicate is True
        assert (again.message.id, again.message.seq) == (first.message.id, first.message.seq)
        await alice.send(conv, "marker")
        texts = [(await bob.next_message(conv, timeout=5)).text for _ in range(2)]
        assert texts == ["once", "marker"]


async def test_errors_are_correlated_by_ref_and_the_connection_stays_up(server, conv, user):
    a = user("alice")
    async with await connect(server.url, token(a, [conv])) as alice:
        with pytest.raises(ServerError) as forbidden:
            await alice.send(f"{conv}-not-mine", "let me in")
        assert forbidden.value.code == "forbidden"
        assert forbidden.value.ref is not None
        with pytest.raises(ServerError) as invalid:
            await alice.request({"type": "send", "conversationId": 42, "clientMsgId": "x", "text": "x"})
        assert (invalid.value.code, invalid.value.field) == ("invalid_frame", "conversationId")
        with pytest.raises(ServerError) as unknown:
            await alice.request({"type": "no.such.frame"})
        assert unknown.value.code == "unknown_type"
        assert (await alice.send(conv, "still here")).message.seq == 1


async def test_typing_read_and_events_reach_the_other_member(server, conv, user):
    a, b = user("alice"), user("bob")
    async with await connect(server.url, token(a, [conv])) as alice, await connect(
        server.url, token(b, [conv])
    ) as bob:
        await alice.typing(conv, "start")
        typing = await bob.next("typing", timeout=5)
        assert (typing["userId"], typing["state"], typing["conversationId"]) == (a, "start", conv)
        assert typing["ttlMs"] > 0
        ack = await alice.send(conv, "read me")
        await bob.next_message(conv, timeout=5)
        await bob.read(conv, ack.message.seq)
        read = await alice.next("read", timeout=5)
        assert (read["userId"], read["seq"]) == (b, ack.message.seq)
        await alice.event("call.offer", {"sdp": "v=0"}, user_id=b)
        event = await bob.next("event", timeout=5)
        assert (event["name"], event["from"], event["payload"]) == ("call.offer", a, {"sdp": "v=0"})
        await alice.event("poll.closed", {"id": 1}, conversation_id=conv)
        assert (await bob.next("event", timeout=5))["name"] == "poll.closed"


async def test_history_pages_older_messages(server, conv, user, api):
    for i in range(5):
        api.publish(conv, f"m{i}")
    async with await connect(server.url, token(user("alice"), [conv])) as c:
        page = await c.history(conv, limit=2)
        assert [m.seq for m in page.messages] == [4, 5] and page.has_more
        older = await c.history(conv, before=4, limit=10)
        assert [m.text for m in older.messages] == ["m0", "m1", "m2"] and not older.has_more


async def test_resume_after_three_missed_messages(server, conv, user, api):
    a, b = user("alice"), user("bob")
    async with await connect(server.url, token(b, [conv])) as bob:
        async with await connect(server.url, token(a, [conv])) as alice:
            await alice.send(conv, "before")
            assert (await bob.next_message(conv, timeout=5)).text == "before"
            cursors = bob.cursors
        await bob.close()
    assert cursors[conv].seq == 1
    async with await connect(server.url, token(a, [conv])) as alice:
        for i in range(3):
            await alice.send(conv, f"missed {i}")
    async with await connect(server.url, token(b, [conv]), cursors=cursors) as bob:
        await bob.resumed(timeout=5)
        replay = await bob.next("replay", timeout=5)
        assert [m["seq"] for m in replay["messages"]] == [2, 3, 4]
        got = [await bob.next_message(conv, timeout=5) for _ in range(3)]
        assert [m.text for m in got] == ["missed 0", "missed 1", "missed 2"]
        assert bob.cursors[conv] == Cursor(4, cursors[conv].epoch)
        with pytest.raises(TimeoutError):
            await bob.next_message(conv, timeout=0.3)


async def test_a_cursor_from_another_epoch_gets_reset(server, conv, user):
    a = user("alice")
    async with await connect(server.url, token(a, [conv])) as alice:
        await alice.send(conv, "x")
        epoch = alice.cursors[conv].epoch
    async with await connect(
        server.url, token(a, [conv]), cursors={conv: {"seq": 1, "epoch": "another-epoch"}}
    ) as c:
        reset = await c.next("reset", timeout=5)
        assert (reset["reason"], reset["epoch"], reset["seq"]) == ("epoch_changed", epoch, 1)
        await c.resumed(timeout=5)
        assert c.cursors[conv] == Cursor(1, epoch)


async def test_sync_fills_from_the_cursor(server, conv, user, api):
    async with await connect(server.url, token(user("alice"), [conv])) as c:
        api.publish(conv, "one")
        await c.next_message(conv, timeout=5)
        answer = await c.sync(conv)
        assert answer["type"] == "replay" and answer["messages"] == [] and answer["seq"] == 1


async def test_join_and_leave_through_the_api_move_the_cursor(server, conv, user, api):
    a = user("alice")
    api.publish(conv, "before the join")
    async with await connect(server.url, token(a, [])) as c:
        assert c.conversations == set()
        api.join(conv, [a])
        joined = await c.next("joined", timeout=5)
        assert joined["seq"] == 1  # the head at join time: earlier messages come from history
        assert c.cursors[conv].seq == 1
        api.publish(conv, "after the join")
        assert (await c.next_message(conv, timeout=5)).text == "after the join"
        api.leave(conv, [a])
        await c.next("left", timeout=5)
        assert conv not in c.conversations


async def test_a_token_provider_answers_reauth_without_dropping_the_connection(server, conv, user):
    a = user("alice")
    calls = []

    def provider() -> str:
        calls.append(time.time())
        # Expires within the server's refresh lead (60 s): reauth comes at once.
        return token(a, [conv], expires_in=30 if len(calls) == 1 else 3600)

    seen: list[dict] = []
    async with await connect(server.url, provider, on_frame=seen.append) as c:
        await c.next("reauth", timeout=5)
        deadline = time.monotonic() + 5
        while not any(f["type"] == "authed" for f in seen):
            assert time.monotonic() < deadline, "no authed frame"
            await c.ping()
        assert len(calls) == 2
        assert (await c.send(conv, "still connected")).message.seq == 1


async def test_refusals_close_with_their_codes(server, conv, user):
    with pytest.raises(ConnectionClosedError) as bad:
        await connect(server.url, "not-a-token")
    assert bad.value.close_code == 4401
    with pytest.raises(ConnectionClosedError) as expired:
        await connect(server.url, token(user("alice"), [conv], expires_in=1, now=time.time() - 3600))
    assert expired.value.close_code == 4401


async def test_limits_are_checked_before_sending(server, conv, user):
    async with await connect(server.url, token(user("alice"), [conv])) as c:
        with pytest.raises(LimitError):
            await c.send(conv, "x" * 10_001)
        # Code points, not UTF-16 units: 10,000 emoji are within the limit (if the frame fits).
        emoji = "\U0001f600" * 5000
        assert (await c.send(conv, emoji)).message.text == emoji


async def test_disconnect_through_the_api_closes_with_4403(server, conv, user, api):
    a = user("alice")
    c = await connect(server.url, token(a, [conv]))
    api.disconnect(a, reason="banned")
    closed = await c.wait_closed(timeout=5)
    assert closed.close_code == 4403
    with pytest.raises(ConnectionClosedError):
        await c.send(conv, "too late")


async def test_messages_iterates_until_the_connection_closes(server, conv, user, api):
    b = user("bob")
    c = await connect(server.url, token(b, [conv]), keep_frames=False)
    for i in range(3):
        api.publish(conv, f"n{i}")
    got = []
    async for m in c.messages(conv):
        got.append(m.text)
        if len(got) == 3:
            api.disconnect(b, code=4000)
    assert got == ["n0", "n1", "n2"]
    assert c.close_code == 4000


async def test_concurrent_sends_each_get_their_ack(server, conv, user):
    async with await connect(server.url, token(user("alice"), [conv])) as c:
        acks = await asyncio.gather(*(c.send(conv, f"p{i}") for i in range(20)))
        assert sorted(a.message.seq for a in acks) == list(range(1, 21))
        assert c.cursors[conv].seq == 20


async def test_a_broken_server_gives_typed_errors_not_crashes():
    import json

    from websockets.asyncio.server import serve

    from parley import ProtocolViolationError

    welcome = {
        "type": "welcome", "protocol": 1, "sessionId": "s1", "user": {"id": "u"},
        "conversations": [{"id": "c", "seq": 0, "epoch": "e"}], "presence": [],
        "heartbeat": {"intervalMs": 25000, "timeoutMs": 10000}, "limits": {},
    }
    script: list[str] = []

    async def handler(ws):
        await ws.recv()  # hello
        for frame in script:
            await ws.send(frame)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, subprotocols=["parley.v1"]) as srv:
        url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
        script[:] = ['{"type":"pong"}']
        with pytest.raises(ProtocolViolationError):
            await connect(url, "t")
        for bad in ["not json", '{"no":"type"}', '{"type":"message","message":{"seq":"x"}}',
                    '{"type":"replay","conversationId":"c"}']:
            script[:] = [json.dumps(welcome), bad]
            c = await connect(url, "t")
            with pytest.raises(ParleyError) as err:
                await c.next("typing", timeout=5)
            assert err.value.code in ("protocol", "internal"), bad
            assert c.closed


async def test_unread_frames_are_bounded_ephemeral_first(server, conv, user, api):
    a, b = user("alice"), user("bob")
    async with await connect(server.url, token(a, [conv])) as alice:
        bob = await connect(server.url, token(b, [conv]), max_inbox_bytes=4000)
        await alice.typing(conv, "start")
        await alice.ping()  # the typing frame went out before the messages below
        for i in range(30):
            api.publish(conv, f"flood {i} " + "x" * 100)
        await bob.wait_closed(timeout=10)
        # The typing frame was dropped first; the messages received before the close stay.
        with pytest.raises(ParleyError) as err:
            await bob.next("typing", timeout=1)
        assert err.value.code == "inbox_full"
        kept = 0
        while True:
            try:
                f = await bob.next("message", timeout=1)
            except ParleyError:
                break
            assert f["message"]["text"].startswith(f"flood {kept} ")
            kept += 1
        assert 10 <= kept < 30
