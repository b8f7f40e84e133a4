#!/usr/bin/env python3
"""A small chat backend in Python's standard library that uses the standalone Parley server.

It owns users, conversations and messages (SQLite), issues HS256 JWTs for its users, answers
Parley's HTTP callbacks (membership, persistence, read receipts) and calls Parley's HTTP API
(publish a system message, add a member live).

Configuration (environment variables):
  PORT              port to listen on (default 8000; 0 = any free port)
  HOST              default 127.0.0.1
  DATABASE          SQLite file (default :memory:)
  JWT_SECRET        HS256 secret shared with parley-server (auth.jwt.secret)
  JWT_ISSUER        default "python-backend"; JWT_AUDIENCE default "parley"
  CALLBACK_SECRET   Parley sends it as "Authorization: Bearer ..." on every callback (callbacks.secret)
  PARLEY_API        base URL of parley-server's HTTP API, e.g. http://127.0.0.1:8080
  PARLEY_API_KEY    its API key (api.key)
  ADMIN_KEY         protects /announce and /conversations/<id>/members (header X-Admin-Key)

On start it prints one JSON line: {"msg": "listening", "port": N}.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JWT_SECRET = os.environ.get("JWT_SECRET", "change-me-change-me-change-me-change-me")
JWT_ISSUER = os.environ.get("JWT_ISSUER", "python-backend")
JWT_AUDIENCE = os.environ.get("JWT_AUDIENCE", "parley")
CALLBACK_SECRET = os.environ.get("CALLBACK_SECRET", "")
PARLEY_API = os.environ.get("PARLEY_API", "http://127.0.0.1:8080")
PARLEY_API_KEY = os.environ.get("PARLEY_API_KEY", "")
ADMIN_KEY = os.environ.get("ADMIN_KEY", "admin")
BANNED_WORDS = {"spam"}

# --- storage -------------------------------------------------------------------------------

db = sqlite3.connect(os.environ.get("DATABASE", ":memory:"), check_same_thread=False)
db_lock = threading.Lock()
with db_lock:
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, name TEXT, password TEXT);
        CREATE TABLE IF NOT EXISTS members (conversation_id TEXT, user_id TEXT,
            PRIMARY KEY (conversation_id, user_id));
        CREATE TABLE IF NOT EXISTS messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            idempotency_key TEXT UNIQUE,
            conversation_id TEXT, sender_id TEXT, client_msg_id TEXT,
            text TEXT, data TEXT, created_at INTEGER);
        CREATE TABLE IF NOT EXISTS reads (conversation_id TEXT, user_id TEXT, seq INTEGER,
            PRIMARY KEY (conversation_id, user_id));
        INSERT OR IGNORE INTO users VALUES
            ('alice', 'Alice', 'alice-pw'), ('bob', 'Bob', 'bob-pw'), ('carol', 'Carol', 'carol-pw');
        INSERT OR IGNORE INTO members VALUES
            ('general', 'alice'), ('general', 'bob'), ('random', 'alice'), ('random', 'carol');
        """
    )
    db.commit()


def query(sql, args=()):
    with db_lock:
        cur = db.execute(sql, args)
        rows = cur.fetchall()
        db.commit()
        return rows


# --- JWT (HS256) ---------------------------------------------------------------------------


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def issue_token(user_id: str, name: str, ttl_seconds: int = 3600) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    now = int(time.time())
    claims = {"sub": user_id, "name": name, "iss": JWT_ISSUER, "aud": JWT_AUDIENCE,
              "iat": now, "exp": now + ttl_seconds}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    signature = hmac.new(JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


# --- Parley HTTP API -----------------------------------------------------------------------


def parley_api(method: str, path: str, body=None):
    """Calls parley-server's HTTP API; returns (status, json)."""
    request = urllib.request.Request(
        PARLEY_API + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + PARLEY_API_KEY, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


# --- HTTP ----------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # one JSON line per request, on stderr
        sys.stderr.write(json.dumps({"msg": "request", "line": fmt % args}) + "\n")

    def reply(self, status: int, body=None):
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def from_parley(self) -> bool:
        """Callbacks carry the shared secret; anything else is refused."""
        expected = "Bearer " + CALLBACK_SECRET
        return bool(CALLBACK_SECRET) and hmac.compare_digest(self.headers.get("Authorization", ""), expected)

    def is_admin(self) -> bool:
        return hmac.compare_digest(self.headers.get("X-Admin-Key", ""), ADMIN_KEY)

    def do_GET(self):
        match = re.fullmatch(r"/conversations/([^/]+)/messages", self.path)
        if match:
            rows = query("SELECT id, sender_id, text FROM messages WHERE conversation_id = ? ORDER BY id",
                         (match.group(1),))
            return self.reply(200, {"messages": [{"id": f"msg-{r[0]}", "senderId": r[1], "text": r[2]}
                                                 for r in rows]})
        if self.path == "/healthz":
            return self.reply(200, {"status": "ok"})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        try:
            body = self.body()
        except ValueError:
            return self.reply(400, {"error": "invalid JSON"})
        route = ROUTES.get(self.path)
        if route is None:
            match = re.fullmatch(r"/conversations/([^/]+)/members", self.path)
            if match:
                return self.add_member(match.group(1), body)
            return self.reply(404, {"error": "not found"})
        if self.path.startswith("/parley/") and not self.from_parley():
            return self.reply(401, {"error": "unknown caller"})
        route(self, body)

    # The app's own endpoints.

    def login(self, body):
        rows = query("SELECT name, password FROM users WHERE id = ?", (body.get("userId"),))
        if not rows or not hmac.compare_digest(rows[0][1], str(body.get("password", ""))):
            return self.reply(401, {"error": "wrong user or password"})
        self.reply(200, {"token": issue_token(body["userId"], rows[0][0])})

    def announce(self, body):
        """Stores a system message, then publishes it through Parley's API.

        `hub.publish` does not call the persistence callback (the app is the caller), so the app
        stores it itself; its row id doubles as Parley's `clientMsgId`, which makes a retried
        publish idempotent.
        """
        if not self.is_admin():
            return self.reply(403, {"error": "admin only"})
        key = "announce-" + hashlib.sha256(os.urandom(16)).hexdigest()[:16]
        query("INSERT INTO messages (idempotency_key, conversation_id, sender_id, client_msg_id, text,"
              " data, created_at) VALUES (?, ?, 'system', ?, ?, ?, ?)",
              (key, body["conversationId"], key, body["text"], json.dumps({"announcement": True}),
               int(time.time() * 1000)))
        status, answer = parley_api("POST", f"/v1/conversations/{body['conversationId']}/messages",
                                    {"text": body["text"], "sender": {"name": "Announcements"},
                                     "data": {"announcement": True}, "clientMsgId": key})
        self.reply(status, answer)

    def add_member(self, conversation_id, body):
        if not self.is_admin():
            return self.reply(403, {"error": "admin only"})
        query("INSERT OR IGNORE INTO members VALUES (?, ?)", (conversation_id, body["userId"]))
        # The app's database is the truth; Parley is told so that open sockets join live.
        status, answer = parley_api("POST", f"/v1/conversations/{conversation_id}/join",
                                    {"userIds": [body["userId"]]})
        self.reply(status, answer)

    # Parley's callbacks.

    def conversations(self, body):
        rows = query("SELECT conversation_id FROM members WHERE user_id = ?", (body["userId"],))
        self.reply(200, {"conversationIds": [r[0] for r in rows]})

    def members(self, body):
        rows = query("SELECT user_id FROM members WHERE conversation_id = ?", (body["conversationId"],))
        self.reply(200, {"userIds": [r[0] for r in rows]})

    def persist(self, body):
        message = body["message"]
        if any(word in message["text"].lower() for word in BANNED_WORDS):
            return self.reply(422, {"reason": "that word is not allowed here"})
        # The idempotency key makes a retried callback return the row stored the first time.
        query("INSERT OR IGNORE INTO messages (idempotency_key, conversation_id, sender_id, client_msg_id,"
              " text, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
              (body["idempotencyKey"], message["conversationId"], message["senderId"],
               message["clientMsgId"], message["text"], json.dumps(message.get("data")),
               message["createdAt"]))
        row = query("SELECT id FROM messages WHERE idempotency_key = ?", (body["idempotencyKey"],))[0]
        self.reply(200, {"id": f"msg-{row[0]}"})

    def read(self, body):
        query("INSERT INTO reads VALUES (?, ?, ?) ON CONFLICT (conversation_id, user_id)"
              " DO UPDATE SET seq = MAX(seq, excluded.seq)",
              (body["conversationId"], body["userId"], body["seq"]))
        self.reply(204)


ROUTES = {
    "/login": Handler.login,
    "/announce": Handler.announce,
    "/parley/conversations": Handler.conversations,
    "/parley/members": Handler.members,
    "/parley/persist": Handler.persist,
    "/parley/read": Handler.read,
}


def main():
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))),
                                 Handler)
    print(json.dumps({"msg": "listening", "port": server.server_address[1]}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
