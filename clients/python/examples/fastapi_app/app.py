"""A FastAPI backend behind parley-server, with the Python kit.

It owns users, memberships and messages (in memory here: use your database), issues the JWTs
its users connect with, answers parley-server's callbacks (membership, persistence, read
receipts) and calls its HTTP API (announce, add a member live).

Run it (with parley-server configured as in ../README.md):

    JWT_SECRET=... CALLBACK_SECRET=... PARLEY_API=http://127.0.0.1:8080 PARLEY_API_KEY=... \\
        uvicorn fastapi_app.app:app --port 8000
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response

from parley import AsyncParleyApi, CallbackAuthError, sign_token, verify_callback
from parley.callbacks import (
    ConversationsRequest,
    MembersRequest,
    PersistAccept,
    PersistReject,
    PersistRequest,
    ReadRequest,
    Reply,
    ok,
)


@dataclass
class Settings:
    jwt_secret: str = os.environ.get("JWT_SECRET", "change-me-change-me-change-me-change-me")
    jwt_issuer: str = os.environ.get("JWT_ISSUER", "fastapi-app")
    jwt_audience: str = os.environ.get("JWT_AUDIENCE", "parley")
    callback_secret: str = os.environ.get("CALLBACK_SECRET", "change-me")
    parley_api: str = os.environ.get("PARLEY_API", "http://127.0.0.1:8080")
    parley_api_key: str = os.environ.get("PARLEY_API_KEY", "change-me")
    admin_key: str = os.environ.get("ADMIN_KEY", "admin")


@dataclass
class Store:
    """Users, members and messages. A real app uses its database (with a unique index on the
    idempotency key)."""

    users: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "alice": ("Alice", "alice-pw"),
            "bob": ("Bob", "bob-pw"),
            "carol": ("Carol", "carol-pw"),
        }
    )
    members: dict[str, set[str]] = field(
        default_factory=lambda: {"general": {"alice", "bob"}, "random": {"alice", "carol"}}
    )
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


BANNED_WORDS = {"spam"}


def reply(r: Reply) -> Response:
    """A kit :class:`Reply` as a FastAPI response."""
    return Response(r.content, status_code=r.status, media_type=r.content_type)


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    s = settings or Settings()
    db = store or Store()
    app = FastAPI(title="Parley FastAPI example")
    app.state.settings = s
    app.state.store = db

    def parley() -> AsyncParleyApi:
        return AsyncParleyApi(s.parley_api, s.parley_api_key, timeout=5)

    async def from_parley(request: Request) -> dict[str, Any]:
        """Every callback route: check parley-server's secret, then read the JSON body."""
        try:
            verify_callback(request.headers, s.callback_secret)
        except CallbackAuthError:
            raise HTTPException(401, "not parley-server") from None
        return await request.json()

    def admin(x_admin_key: str = Header("")) -> None:
        if x_admin_key != s.admin_key:
            raise HTTPException(401, "admin key required")

    # -- your app's own endpoints -----------------------------------------------------------

    @app.post("/login")
    async def login(body: dict[str, str]) -> dict[str, str]:
        user = db.users.get(body.get("userId", ""))
        if user is None or user[1] != body.get("password"):
            raise HTTPException(401, "wrong user or password")
        token = sign_token(
            body["userId"],
            s.jwt_secret,
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            name=user[0],
            expires_in=3600,
        )
        return {"token": token}

    @app.get("/conversations/{conversation_id}/messages")
    async def messages(conversation_id: str) -> dict[str, Any]:
        with db.lock:
            rows = [m for m in db.messages.values() if m["conversationId"] == conversation_id]
        return {"messages": rows}

    @app.post("/announce", dependencies=[Depends(admin)])
    async def announce(body: dict[str, str]) -> dict[str, Any]:
        async with parley() as api:
            message = await api.publish(
                body["conversationId"], body["text"], sender={"name": "Announcements"}
            )
        return {"seq": message.seq, "id": message.id}

    @app.post("/conversations/{conversation_id}/members", dependencies=[Depends(admin)])
    async def add_member(conversation_id: str, body: dict[str, str]) -> dict[str, bool]:
        with db.lock:  # your database first...
            db.members.setdefault(conversation_id, set()).add(body["userId"])
        async with parley() as api:  # ...then Parley: open sockets join at once
            await api.join(conversation_id, [body["userId"]])
        return {"ok": True}

    # -- parley-server's callbacks ----------------------------------------------------------

    @app.post("/parley/conversations")
    async def conversations(body: dict[str, Any] = Depends(from_parley)) -> Response:
        req = ConversationsRequest.from_body(body)
        with db.lock:
            ids = sorted(c for c, users in db.members.items() if req.user_id in users)
        return reply(ConversationsRequest.reply(ids))

    @app.post("/parley/members")
    async def members(body: dict[str, Any] = Depends(from_parley)) -> Response:
        req = MembersRequest.from_body(body)
        with db.lock:
            return reply(MembersRequest.reply(sorted(db.members.get(req.conversation_id, ()))))

    @app.post("/parley/persist")
    async def persist(body: dict[str, Any] = Depends(from_parley)) -> Response:
        req = PersistRequest.from_body(body)
        if not req.key_matches():
            return reply(PersistReject("bad idempotency key").reply())
        m = req.message
        if any(word in m.text.lower() for word in BANNED_WORDS):
            return reply(PersistReject("that word is not allowed here").reply())
        with db.lock:
            row = db.messages.get(req.idempotency_key)  # a retry: answer with the first result
            if row is None:
                row = {
                    "id": f"msg-{len(db.messages) + 1}",
                    "conversationId": m.conversation_id,
                    "senderId": m.sender_id,
                    "text": m.text,
                    "storedAt": int(time.time() * 1000),
                }
                db.messages[req.idempotency_key] = row
        return reply(PersistAccept(id=row["id"]).reply())

    @app.post("/parley/read")
    async def read(body: dict[str, Any] = Depends(from_parley)) -> Response:
        req = ReadRequest.from_body(body)
        with db.lock:
            key = (req.conversation_id, req.user_id)
            db.reads[key] = max(db.reads.get(key, 0), req.seq)
        return reply(ok())

    return app


app = create_app()
