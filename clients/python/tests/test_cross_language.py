"""A TypeScript @parley/client and the Python client in one conversation, through a real
parley-server: both directions, a reply driven by the TypeScript side, and a resume of the
Python client after 3 messages it missed while offline."""

from __future__ import annotations

from support import start_ts_peer, token

from parley.realtime import connect


async def test_python_and_typescript_chat_in_one_conversation(server, conv, user):
    py_user, ts_user = user("py"), user("ts")
    peer = await start_ts_peer(server.url, token(ts_user, [conv]), conv)
    try:
        async with await connect(server.url, token(py_user, [conv])) as py:
            ack = await py.send(conv, "echo hello from python", data={"lang": "py"})
            at_ts = await peer.expect(
                lambda e: e.get("event") == "message" and e["message"]["id"] == ack.message.id,
                "the Python message at the TS client",
            )
            assert at_ts["message"]["senderId"] == py_user
            assert at_ts["message"]["data"] == {"lang": "py"}
            # The TS client answers "echo ..." messages: a reply written in TypeScript.
            reply = await py.next_message(conv, timeout=10)
            assert (reply.sender_id, reply.text) == (ts_user, "ts heard: hello from python")
            assert reply.seq == ack.message.seq + 1
            await peer.command(op="send", text="typed in TypeScript")
            sent = await peer.expect(
                lambda e: e.get("event") == "sent" and e["message"]["text"] == "typed in TypeScript",
                "the TS ack",
            )
            got = await py.next_message(conv, timeout=10)
            assert (got.id, got.seq, got.text) == (
                sent["message"]["id"],
                sent["message"]["seq"],
                "typed in TypeScript",
            )
    finally:
        await peer.close()


async def test_python_resumes_after_three_messages_sent_from_typescript(server, conv, user):
    py_user, ts_user = user("py"), user("ts")
    peer = await start_ts_peer(server.url, token(ts_user, [conv]), conv)
    try:
        async with await connect(server.url, token(py_user, [conv])) as py:
            await peer.command(op="send", text="while online")
            assert (await py.next_message(conv, timeout=10)).text == "while online"
            cursors = py.cursors
        for i in range(3):
            await peer.command(op="send", text=f"missed {i}")
            await peer.expect(
                lambda e, i=i: e.get("event") == "sent" and e["message"]["text"] == f"missed {i}",
                f"the TS ack of missed {i}",
            )
        async with await connect(server.url, token(py_user, [conv]), cursors=cursors) as py:
            await py.resumed(timeout=10)
            got = [await py.next_message(conv, timeout=10) for _ in range(3)]
            assert [m.text for m in got] == ["missed 0", "missed 1", "missed 2"]
            assert [m.seq for m in got] == [cursors[conv].seq + i for i in (1, 2, 3)]
            assert all(m.sender_id == ts_user for m in got)
            # Live again: the next TS message arrives after the replayed ones, nothing twice.
            await peer.command(op="send", text="after the resume")
            nxt = await py.next_message(conv, timeout=10)
            assert (nxt.text, nxt.seq) == ("after the resume", got[-1].seq + 1)
    finally:
        await peer.close()
