"""The FastAPI and Django examples end to end: each app serves on a free port, a parley-server
is configured to call it back (membership, persistence, read receipts), and real-time clients
log in through the app and chat through Parley."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import threading
import time
from typing import Any, Awaitable, Callable

import httpx
import pytest
from support import start_server

from parley import ServerError
from parley.realtime import connect

CALLBACK_SECRET = "example-callback-secret"
API_KEY = "example-api-key"
ADMIN_KEY = "example-admin"
JWT_SECRET = "example-secret-example-secret-example-secret"


def parley_config(app_url: str, issuer: str) -> dict[str, Any]:
    return {
        "auth": {"jwt": {"secret": JWT_SECRET, "issuer": issuer, "audience": "parley"}},
        "membership": {
            "mode": "callback",
            "conversationsUrl": f"{app_url}/parley/conversations",
            "membersUrl": f"{app_url}/parley/members",
            "cacheTtlMs": 1000,
        },
        "persistence": {"url": f"{app_url}/parley/persist"},
        "reads": {"url": f"{app_url}/parley/read"},
        "callbacks": {"secret": CALLBACK_SECRET},
        "api": {"key": API_KEY},
    }


async def until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Re-checks app state that another process changes (a callback arriving), with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def chat_through_the_app(
    app_url: str,
    ws_url: str,
    stored_texts: Callable[[], Awaitable[list[str]]],
    read_seq: Callable[[str, str], int],
) -> None:
    """The scenario both examples pass: login, chat, rejection, announce, live join, reads."""
    async with httpx.AsyncClient(base_url=app_url, timeout=10) as http:

        async def login(user: str) -> str:
            r = await http.post("/login", json={"userId": user, "password": f"{user}-pw"})
            assert r.status_code == 200, r.text
            return r.json()["token"]

        assert (await http.post("/login", json={"userId": "alice", "password": "no"})).status_code == 401
        refused = await http.post(
            "/parley/persist", json={}, headers={"authorization": "Bearer not-the-secret"}
        )
        assert refused.status_code == 401

        async with await connect(ws_url, await login("alice")) as alice, await connect(
            ws_url, await login("bob")
        ) as bob, await connect(ws_url, await login("carol")) as carol:
            assert alice.conversations == {"general", "random"}
            assert carol.conversations == {"random"}
            ack = await alice.send("general", "hello from the example")
            assert ack.message.id.startswith(("msg-", "dj-"))  # the app's own id
            got = await bob.next_message("general", timeout=10)
            assert (got.id, got.sender.name) == (ack.message.id, "Alice")
            assert "hello from the example" in await stored_texts()

            with pytest.raises(ServerError) as rejected:
                await carol.send("random", "buy spam now")
            assert (rejected.value.code, rejected.value.message) == (
                "rejected",
                "that word is not allowed here",
            )

            r = await http.post(
                "/announce",
                json={"conversationId": "general", "text": "maintenance at noon"},
                headers={"x-admin-key": ADMIN_KEY},
            )
            assert r.status_code == 200, r.text
            note = await bob.next_message("general", timeout=10)
            assert (note.kind, note.text, note.sender.name) == ("system", "maintenance at noon", "Announcements")

            r = await http.post(
                "/conversations/general/members", json={"userId": "carol"}, headers={"x-admin-key": ADMIN_KEY}
            )
            assert r.status_code == 200, r.text
            await carol.next(lambda f: f["type"] == "joined" and f["conversationId"] == "general", timeout=10)
            assert (await carol.send("general", "thanks for adding me")).message.seq == note.seq + 1

            await bob.read("general", note.seq)
            await until(lambda: read_seq("general", "bob") == note.seq, "bob's read receipt in the app")


@pytest.fixture
def app_socket():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


async def test_fastapi_example(app_socket):
    import uvicorn
    from fastapi_app.app import Settings, create_app

    settings = Settings(
        jwt_secret=JWT_SECRET,
        jwt_issuer="fastapi-app",
        callback_secret=CALLBACK_SECRET,
        parley_api_key=API_KEY,
        admin_key=ADMIN_KEY,
    )
    app = create_app(settings)
    app_url = f"http://127.0.0.1:{app_socket.getsockname()[1]}"
    web = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.ensure_future(web.serve(sockets=[app_socket]))
    parley = await asyncio.to_thread(start_server, parley_config(app_url, "fastapi-app"))
    settings.parley_api = parley.api
    try:
        await until(lambda: web.started, "uvicorn to start")
        store = app.state.store

        async def texts() -> list[str]:
            return [m["text"] for m in store.messages.values()]

        await chat_through_the_app(
            app_url, parley.url, texts, lambda c, u: store.reads.get((c, u), 0)
        )
    finally:
        await asyncio.to_thread(parley.stop)
        web.should_exit = True
        await asyncio.wait_for(serving, 10)


async def test_django_example():
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
    from socketserver import ThreadingMixIn

    db = tempfile.NamedTemporaryFile(prefix="parley-django-", suffix=".sqlite3", delete=False)
    db.close()
    os.environ["DJANGO_SETTINGS_MODULE"] = "chat.settings"
    os.environ["DATABASE"] = db.name
    # The test reads the example's tables from the event loop's thread (the app itself is a
    # plain WSGI app in its own threads).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    django.setup()
    call_command("migrate", verbosity=0)
    settings.PARLEY.update(
        JWT_SECRET=JWT_SECRET, JWT_ISSUER="django-app", CALLBACK_SECRET=CALLBACK_SECRET,
        API_KEY=API_KEY, ADMIN_KEY=ADMIN_KEY,
    )

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    class Threading(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    web = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=Threading, handler_class=Quiet)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    app_url = f"http://127.0.0.1:{web.server_port}"
    parley = await asyncio.to_thread(start_server, parley_config(app_url, "django-app"))
    settings.PARLEY["API"] = parley.api
    try:
        from chat.models import Message, ReadPosition

        async def texts() -> list[str]:
            return list(Message.objects.values_list("text", flat=True))

        def read_seq(conversation_id: str, user_id: str) -> int:
            row = ReadPosition.objects.filter(conversation_id=conversation_id, user_id=user_id).first()
            return row.seq if row else 0

        await chat_through_the_app(app_url, parley.url, texts, read_seq)
    finally:
        await asyncio.to_thread(parley.stop)
        web.shutdown()
        web.server_close()
        os.unlink(db.name)
