"""Helpers for the HTTP callbacks parley-server makes to your app.

parley-server POSTs JSON to the URLs in its configuration (``auth.callback.url``,
``membership.*Url``, ``persistence.url``, ``reads.url``, ``offline.url``) with
``Authorization: Bearer <callbacks.secret>`` on every call. This module:

* checks that a request came from parley-server (:func:`verify_callback`, constant time);
* parses each callback body into a typed request (``AuthRequest.from_body(request.body)``...),
  raising :class:`~parley.errors.CallbackPayloadError` for a body that is not the documented
  shape;
* builds each documented answer as a :class:`Reply` (status + JSON body) that any framework
  turns into a response;
* computes the persistence idempotency key exactly as parley-server does
  (:func:`idempotency_key`).

Framework-neutral: Django, FastAPI, Flask... each turn a ``Reply`` into their response type in
one line (see ``examples/``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping

from .errors import CallbackAuthError, CallbackPayloadError, InvalidArgumentError
from .models import JSON, Message, MessageDraft, Profile, _int, _obj, _str, _strs

# ---------------------------------------------------------------------------------------------
# Authenticity
# ---------------------------------------------------------------------------------------------


def _header(headers: Any, name: str) -> str | None:
    """A header from Django's/Starlette's case-insensitive headers or a plain dict."""
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None:
        value = getter(name.lower())
    if value is None and isinstance(headers, Mapping):
        for k, v in headers.items():
            if isinstance(k, str) and k.lower() == name.lower():
                value = v
                break
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value if isinstance(value, str) else None


def is_from_parley(authorization: str | None, secret: str | Iterable[str]) -> bool:
    """True when ``authorization`` (the ``Authorization`` header's value) is
    ``Bearer <secret>`` for the secret, or for any of several secrets while you rotate it.

    Every secret is compared in constant time, with no early exit.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or any(not s for s in secrets):
        raise InvalidArgumentError("the callback secret must be a non-empty string")
    if authorization is None or not authorization[:7].lower() == "bearer ":
        return False
    given = authorization[7:].strip().encode()
    ok = False
    for s in secrets:
        if hmac.compare_digest(given, s.encode()):
            ok = True
    return ok


def verify_callback(headers: Any, secret: str | Iterable[str]) -> None:
    """Raises :class:`~parley.errors.CallbackAuthError` unless the request's headers carry
    parley-server's ``Authorization: Bearer <callbacks.secret>``.

    ``headers`` is ``request.headers`` of Django or Starlette/FastAPI, or any mapping. Answer a
    refused request with 401 (parley-server logs it as a configuration error).
    """
    if not is_from_parley(_header(headers, "Authorization"), secret):
        raise CallbackAuthError("the request does not carry the callback secret")


# ---------------------------------------------------------------------------------------------
# Idempotency key
# ---------------------------------------------------------------------------------------------

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _js_json(value: Any) -> str:
    """``JSON.stringify`` of strings/lists as Node writes it: no spaces, non-ASCII kept as is,
    lone surrogates escaped as ``\\udxxx``."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text)


def idempotency_key(sender_id: str, conversation_id: str, client_msg_id: str) -> str:
    """The key parley-server sends with a persistence callback: SHA-256 (hex) of the JSON array
    ``[senderId, conversationId, clientMsgId]`` serialised like JavaScript's
    ``JSON.stringify`` (no whitespace: Python's default ``json.dumps`` would differ)."""
    data = _js_json([sender_id, conversation_id, client_msg_id]).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """An answer to a callback: an HTTP status and a JSON body (``None``: no body)."""

    status: int
    body: dict[str, Any] | None = None

    @property
    def content(self) -> bytes:
        """The body as UTF-8 JSON bytes (empty without a body)."""
        return b"" if self.body is None else json.dumps(self.body).encode("utf-8")

    content_type = "application/json"


def ok() -> Reply:
    """204 No Content: the answer to ``reads`` and ``offline`` callbacks."""
    return Reply(204)


def unauthorized() -> Reply:
    """401: for a request that failed :func:`verify_callback`."""
    return Reply(401, {"error": "unauthorized"})


def _body(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw).decode("utf-8")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as err:
            raise CallbackPayloadError(f"the body is not JSON: {err}") from err
    return _obj(raw, "body")


# ---------------------------------------------------------------------------------------------
# Auth: auth.callback.url
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthRequest:
    """``auth.callback.url``: who is this? ``reason`` is ``hello`` (new connection) or
    ``refresh`` (in-band token refresh). ``headers``/``cookies`` hold what
    ``auth.callback.headers``/``cookies`` forward from the upgrade request."""

    token: str | None
    reason: Literal["hello", "refresh"]
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_body(cls, raw: Any) -> AuthRequest:
        d = _body(raw)
        reason = d.get("reason")
        if reason not in ("hello", "refresh"):
            raise CallbackPayloadError('body.reason: expected "hello" or "refresh"', field="reason")
        headers = d.get("headers") or {}
        cookies = d.get("cookies") or {}
        return cls(
            token=_str(d, "token", "body", optional=True),
            reason=reason,
            headers=dict(_obj(headers, "body.headers")),
            cookies=dict(_obj(cookies, "body.cookies")),
        )


@dataclass(frozen=True)
class AuthAccept:
    """200: the user is in. ``expires_at`` (ms since the epoch) makes parley-server ask the
    client for a fresh token before then; ``conversations`` is used with
    ``membership.mode: "claim"``."""

    user_id: str
    profile: Profile | None = None
    expires_at: int | None = None
    conversations: list[str] | None = None

    def reply(self) -> Reply:
        if not 1 <= len(self.user_id) <= 128:
            raise InvalidArgumentError("user_id must be 1-128 characters")
        body: dict[str, Any] = {"userId": self.user_id}
        if self.profile is not None:
            body["profile"] = self.profile.to_json()
        if self.expires_at is not None:
            body["expiresAt"] = int(self.expires_at)
        if self.conversations is not None:
            body["conversations"] = list(self.conversations)
        return Reply(200, body)


def auth_unauthenticated() -> Reply:
    """401: not authenticated. The client gets close 4401, refreshes its token and retries."""
    return Reply(401, {"error": "unauthenticated"})


def auth_forbidden(reason: str = "forbidden") -> Reply:
    """403: authenticated but not allowed (banned). The client gets close 4403 and stops."""
    return Reply(403, {"reason": reason[:100]})


# ---------------------------------------------------------------------------------------------
# Membership: membership.conversationsUrl / isMemberUrl / membersUrl
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationsRequest:
    """``membership.conversationsUrl``: every conversation of ``user_id``."""

    user_id: str

    @classmethod
    def from_body(cls, raw: Any) -> ConversationsRequest:
        return cls(user_id=_str(_body(raw), "userId", "body"))

    @staticmethod
    def reply(conversation_ids: Iterable[str]) -> Reply:
        return Reply(200, {"conversationIds": list(conversation_ids)})


@dataclass(frozen=True)
class IsMemberRequest:
    """``membership.isMemberUrl``: is ``user_id`` a member of ``conversation_id``?"""

    user_id: str
    conversation_id: str

    @classmethod
    def from_body(cls, raw: Any) -> IsMemberRequest:
        d = _body(raw)
        return cls(
            user_id=_str(d, "userId", "body"), conversation_id=_str(d, "conversationId", "body")
        )

    @staticmethod
    def reply(member: bool) -> Reply:
        return Reply(200, {"member": bool(member)})


@dataclass(frozen=True)
class MembersRequest:
    """``membership.membersUrl``: every member of ``conversation_id``."""

    conversation_id: str

    @classmethod
    def from_body(cls, raw: Any) -> MembersRequest:
        return cls(conversation_id=_str(_body(raw), "conversationId", "body"))

    @staticmethod
    def reply(user_ids: Iterable[str]) -> Reply:
        return Reply(200, {"userIds": list(user_ids)})


# ---------------------------------------------------------------------------------------------
# Persistence: persistence.url
# ---------------------------------------------------------------------------------------------

#: parley-server shows a rejection reason to users; longer ones are cut here.
MAX_REJECT_REASON = 200


@dataclass(frozen=True)
class PersistRequest:
    """``persistence.url``: store ``message`` under ``idempotency_key`` — and answer a repeated
    key with the first result (a retry after a timeout, or a client re-sending after a restart,
    must not store twice)."""

    idempotency_key: str
    message: MessageDraft

    @classmethod
    def from_body(cls, raw: Any) -> PersistRequest:
        d = _body(raw)
        return cls(
            idempotency_key=_str(d, "idempotencyKey", "body"),
            message=MessageDraft.from_json(d.get("message"), "body.message"),
        )

    def key_matches(self) -> bool:
        """True when ``idempotency_key`` is the hash of this message's sender, conversation and
        clientMsgId (a guard against a tampered or hand-made request)."""
        m = self.message
        expected = idempotency_key(m.sender_id, m.conversation_id, m.client_msg_id)
        return hmac.compare_digest(expected, self.idempotency_key)


@dataclass(frozen=True)
class PersistAccept:
    """200: stored. ``id`` (your id) replaces Parley's; ``text``/``data`` replace the sender's
    (moderation, link previews). All optional: ``PersistAccept()`` keeps the message as is."""

    id: str | None = None
    text: str | None = None
    data: JSON = None

    def reply(self) -> Reply:
        body: dict[str, Any] = {}
        if self.id is not None:
            if not 1 <= len(self.id) <= 128:
                raise InvalidArgumentError("a message id must be 1-128 characters")
            body["id"] = self.id
        if self.text is not None:
            body["text"] = self.text
        if self.data is not None:
            body["data"] = self.data
        return Reply(200, body)


@dataclass(frozen=True)
class PersistReject:
    """422: rejected. The sender's ``send()`` fails with code ``rejected`` and ``reason`` as
    its message (shown to users; cut to 200 characters)."""

    reason: str

    def reply(self) -> Reply:
        return Reply(422, {"reason": self.reason[:MAX_REJECT_REASON]})


# ---------------------------------------------------------------------------------------------
# Read receipts (reads.url) and offline recipients (offline.url)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadRequest:
    """``reads.url``: ``user_id`` has read ``conversation_id`` up to ``seq`` (monotonic).
    Answer :func:`ok`."""

    conversation_id: str
    user_id: str
    seq: int

    @classmethod
    def from_body(cls, raw: Any) -> ReadRequest:
        d = _body(raw)
        return cls(
            conversation_id=_str(d, "conversationId", "body"),
            user_id=_str(d, "userId", "body"),
            seq=_int(d, "seq", "body"),
        )


@dataclass(frozen=True)
class OfflineRequest:
    """``offline.url``: ``message`` was stored while ``user_ids`` had no live socket (send
    push notifications or emails). A retry may repeat a call: de-duplicate by ``message.id``.
    Answer :func:`ok`."""

    conversation_id: str
    message: Message
    user_ids: list[str]

    @classmethod
    def from_body(cls, raw: Any) -> OfflineRequest:
        d = _body(raw)
        return cls(
            conversation_id=_str(d, "conversationId", "body"),
            message=Message.from_json(d.get("message"), "body.message"),
            user_ids=_strs(d, "userIds", "body"),
        )
