"""Token signing, callback verification, the idempotency key (checked against the server's own
TypeScript function) and the typed callback models."""

from __future__ import annotations

import json
import subprocess
import time

import jwt
import pytest
from support import NODE_ARGS, REPO

from parley import CallbackAuthError, CallbackPayloadError, InvalidArgumentError, sign_token
from parley.callbacks import (
    AuthAccept,
    AuthRequest,
    ConversationsRequest,
    IsMemberRequest,
    MembersRequest,
    OfflineRequest,
    PersistAccept,
    PersistReject,
    PersistRequest,
    ReadRequest,
    auth_forbidden,
    auth_unauthenticated,
    idempotency_key,
    is_from_parley,
    ok,
    verify_callback,
)
from parley.models import Profile

SECRET = "s" * 32


def test_sign_token_sets_the_claims_parley_server_reads():
    t = sign_token(
        "alice", SECRET, issuer="app", audience="parley", name="Alice",
        avatar_url="https://a.png", conversations=["c1"], expires_in=60, now=1_000_000,
        claims={"tenant": "acme"}, headers={"kid": "k1"},
    )
    claims = jwt.decode(t, SECRET, algorithms=["HS256"], audience="parley", options={"verify_exp": False})
    assert claims == {
        "sub": "alice", "iss": "app", "aud": "parley", "name": "Alice", "picture": "https://a.png",
        "conversations": ["c1"], "tenant": "acme", "iat": 1_000_000, "exp": 1_000_060,
    }
    assert jwt.get_unverified_header(t)["kid"] == "k1"


def test_sign_token_refuses_what_the_server_would_refuse():
    with pytest.raises(InvalidArgumentError):
        sign_token("alice", "short-secret")
    with pytest.raises(InvalidArgumentError):
        sign_token("", SECRET)
    with pytest.raises(InvalidArgumentError):
        sign_token("x" * 129, SECRET)
    with pytest.raises(InvalidArgumentError):
        sign_token("alice", SECRET, expires_in=0)
    with pytest.raises(InvalidArgumentError):
        sign_token("alice", SECRET, conversations=[f"conversation-{i}" for i in range(1000)])


def test_verify_callback_checks_the_bearer_secret_case_insensitively():
    verify_callback({"Authorization": "Bearer cb-secret"}, "cb-secret")
    verify_callback({"authorization": "bearer cb-secret"}, "cb-secret")
    verify_callback({"authorization": "Bearer new"}, ["old", "new"])  # during a rotation
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "cb-secret"}):
        with pytest.raises(CallbackAuthError):
            verify_callback(headers, "cb-secret")
    assert not is_from_parley(None, "cb-secret")
    with pytest.raises(InvalidArgumentError):
        is_from_parley("Bearer ", "")


def test_idempotency_key_matches_the_server_byte_for_byte():
    triples = [
        ["alice", "c1", "6f1c7a1e-1b2c-4d5e-8f90-123456789abc"],
        ["zoë", "ç/ü\"\\", "emoji \U0001f600 \u2028 \t\n\x01\x7f"],
        ["lone \ud800 surrogate", "c", "é"],
    ]
    script = (
        "import('./packages/server/src/hooks.ts').then((m) => {"
        " const t = JSON.parse(process.argv[1]);"
        " console.log(JSON.stringify(t.map(([senderId, conversationId, clientMsgId]) =>"
        " m.idempotencyKey({ senderId, conversationId, clientMsgId }))));"
        "})"
    )
    # json.dumps escapes the lone surrogate, so Node decodes the same strings.
    out = subprocess.run(
        [*NODE_ARGS, "-e", script, json.dumps(triples)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(out.stdout) == [idempotency_key(*t) for t in triples]


MESSAGE = {
    "id": "p-1", "conversationId": "c1", "clientMsgId": "k1", "senderId": "alice",
    "sender": {"name": "Alice"}, "kind": "user", "text": "hi", "data": {"x": 1},
    "createdAt": 1763700000000, "futureField": True,
}


def test_callback_models_read_the_documented_bodies():
    auth = AuthRequest.from_body(b'{"token":null,"reason":"hello","headers":{"x-tenant":"acme"},"cookies":{}}')
    assert (auth.token, auth.reason, auth.headers) == (None, "hello", {"x-tenant": "acme"})
    assert ConversationsRequest.from_body({"userId": "alice"}).user_id == "alice"
    assert IsMemberRequest.from_body({"userId": "a", "conversationId": "c"}).conversation_id == "c"
    assert MembersRequest.from_body('{"conversationId":"c"}').conversation_id == "c"
    key = idempotency_key("alice", "c1", "k1")
    persist = PersistRequest.from_body({"idempotencyKey": key, "message": MESSAGE})
    assert persist.key_matches()
    assert persist.message.sender == Profile(name="Alice")
    assert persist.message.extra == {"futureField": True}
    assert persist.message.to_json() == MESSAGE
    assert not PersistRequest.from_body({"idempotencyKey": "0" * 64, "message": MESSAGE}).key_matches()
    assert ReadRequest.from_body({"conversationId": "c", "userId": "u", "seq": 4}).seq == 4
    offline = OfflineRequest.from_body(
        {"conversationId": "c1", "message": {**MESSAGE, "seq": 3}, "userIds": ["bob"]}
    )
    assert (offline.message.seq, offline.user_ids) == (3, ["bob"])


@pytest.mark.parametrize(
    "body, field",
    [
        ({"reason": "later"}, "reason"),
        ({"idempotencyKey": "k", "message": {**MESSAGE, "kind": "bot"}}, "body.message.kind"),
        ({"idempotencyKey": "k", "message": {**MESSAGE, "createdAt": "now"}}, "body.message.createdAt"),
        ({"conversationId": "c", "userId": "u", "seq": True}, "body.seq"),
        ({"conversationId": "c", "message": {**MESSAGE, "seq": 0}, "userIds": []}, "body.message.seq"),
    ],
)
def test_callback_models_name_the_bad_field(body, field):
    parse = {
        "reason": AuthRequest.from_body,
        "body.message.kind": PersistRequest.from_body,
        "body.message.createdAt": PersistRequest.from_body,
        "body.seq": ReadRequest.from_body,
        "body.message.seq": OfflineRequest.from_body,
    }[field]
    with pytest.raises(CallbackPayloadError) as err:
        parse(body)
    assert err.value.field == field
    with pytest.raises(CallbackPayloadError):
        parse(b"not json")


def test_answers_have_the_documented_status_and_body():
    accept = AuthAccept("alice", Profile(name="Alice"), expires_at=int(time.time() * 1000), conversations=["c1"])
    r = accept.reply()
    assert r.status == 200 and r.body["userId"] == "alice" and r.body["conversations"] == ["c1"]
    assert json.loads(r.content)["profile"] == {"name": "Alice"}
    assert auth_unauthenticated().status == 401
    assert auth_forbidden("banned").body == {"reason": "banned"}
    assert ConversationsRequest.reply(["c1"]).body == {"conversationIds": ["c1"]}
    assert IsMemberRequest.reply(True).body == {"member": True}
    assert MembersRequest.reply(["a"]).body == {"userIds": ["a"]}
    assert PersistAccept().reply().body == {}
    assert PersistAccept(id="m-1", text="hi", data={"a": 1}).reply().body == {"id": "m-1", "text": "hi", "data": {"a": 1}}
    reject = PersistReject("x" * 300).reply()
    assert reject.status == 422 and len(reject.body["reason"]) == 200
    assert ok().status == 204 and ok().content == b""
