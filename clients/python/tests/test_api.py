"""The HTTP API clients (sync and async) against a real parley-server."""

from __future__ import annotations

import pytest
from support import API_KEY, free_port, token

from parley import ApiConnectionError, ApiError, AsyncParleyApi, InvalidArgumentError, ParleyApi
from parley.realtime import connect


async def test_publish_reaches_members_live_and_is_idempotent(server, conv, user, api):
    async with await connect(server.url, token(user("bob"), [conv])) as bob:
        m = api.publish(conv, "maintenance at noon", data={"level": "info"},
                        sender={"name": "Ops bot"}, client_msg_id="webhook-1")
        assert (m.kind, m.sender_id, m.seq, m.sender.name) == ("system", "system", 1, "Ops bot")
        got = await bob.next_message(conv, timeout=5)
        assert (got.id, got.text, got.data) == (m.id, "maintenance at noon", {"level": "info"})
        again = api.publish(conv, "maintenance at noon", client_msg_id="webhook-1")
        assert (again.id, again.seq) == (m.id, m.seq)


def test_history_pages(conv, api):
    for i in range(3):
        api.publish(conv, f"h{i}")
    page = api.history(conv, limit=2)
    assert [m.text for m in page.messages] == ["h1", "h2"] and page.has_more
    assert [m.seq for m in api.history(conv, before=2).messages] == [1]
    assert api.history("nobody-here").messages == []
    with pytest.raises(ApiError) as err:
        api.history(conv, before=0)
    assert (err.value.status, err.value.code) == (400, "invalid_query")


async def test_events_join_leave_and_disconnect(server, conv, user, api):
    b = user("bob")
    async with await connect(server.url, token(b, [])) as bob:
        api.join(conv, [b])
        assert (await bob.next("joined", timeout=5))["conversationId"] == conv
        api.emit(conv, "poll.closed", {"id": 7})
        e = await bob.next("event", timeout=5)
        assert (e["name"], e["from"], e["payload"], e["conversationId"]) == ("poll.closed", "system", {"id": 7}, conv)
        api.send_to_user(b, "invoice.paid", {"id": 9})
        assert (await bob.next("event", timeout=5))["payload"] == {"id": 9}
        api.leave(conv, b)
        assert (await bob.next("left", timeout=5))["conversationId"] == conv
        api.disconnect(b, code=4001, reason="maintenance")
        assert (await bob.wait_closed(timeout=5)).close_code == 4001


async def test_presence_and_stats(server, conv, user, api):
    a = user("alice")
    async with await connect(server.url, token(a, [conv])):
        online, nobody = api.presence([a, user("nobody")])
        assert online.online and online.user_id == a
        assert not nobody.online
        stats = api.stats()
        assert stats["hub"]["sessions"] >= 1 and "callbacks" in stats
    assert api.ready() is True


async def test_the_async_client_has_the_same_calls(server, conv, user):
    b = user("bob")
    async with AsyncParleyApi(server.api, API_KEY) as api:
        async with await connect(server.url, token(b, [conv])) as bob:
            m = await api.publish(conv, "from asyncio")
            assert (await bob.next_message(conv, timeout=5)).id == m.id
            assert [x.text for x in (await api.history(conv)).messages] == ["from asyncio"]
            await api.send_to_user(b, "ping.me", None)
            assert (await bob.next("event", timeout=5))["name"] == "ping.me"
            assert (await api.presence([b]))[0].online
            assert (await api.stats())["hub"]["sessions"] >= 1
            await api.disconnect(b)
            assert (await bob.wait_closed(timeout=5)).close_code == 4403
        assert await api.ready()


def test_errors_are_typed(server):
    with ParleyApi(server.api, "wrong-key") as bad:
        with pytest.raises(ApiError) as err:
            bad.stats()
        assert (err.value.status, err.value.code) == (401, "unauthorized")
    with ParleyApi(server.api, API_KEY) as api:
        with pytest.raises(ApiError) as err:
            api.disconnect("someone", code=4000, reason="")
        assert (err.value.status, err.value.code) == (400, "invalid_body")
        with pytest.raises(InvalidArgumentError):
            api.join("c", [])
        with pytest.raises(InvalidArgumentError):
            api.disconnect("someone", code=1006)
    with ParleyApi(f"http://127.0.0.1:{free_port()}", API_KEY, timeout=2) as down:
        with pytest.raises(ApiConnectionError):
            down.stats()
