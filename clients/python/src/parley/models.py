"""Typed views of the JSON that parley-server sends: messages, profiles, cursors, presence.

Each model reads the wire shape (camelCase) with ``from_json`` and writes it back with
``to_json``. Reading checks every documented field's type and raises
:class:`~parley.errors.CallbackPayloadError` naming the field; unknown fields are ignored
(the protocol's forward-compatibility rule) but kept in ``extra``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from .errors import CallbackPayloadError

JSON = Any
"""Any JSON value (what ``json.loads`` returns)."""


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CallbackPayloadError(f"{where}: expected an object", field=where)
    return value


def _str(d: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    v = d.get(key)
    if v is None and optional:
        return None
    if not isinstance(v, str):
        raise CallbackPayloadError(f"{where}.{key}: expected a string", field=f"{where}.{key}")
    return v


def _int(d: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    v = d.get(key)
    if v is None and optional:
        return None
    # bool is an int in Python, never in JSON's sense.
    if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v:
        raise CallbackPayloadError(f"{where}.{key}: expected an integer", field=f"{where}.{key}")
    return int(v)


def _strs(d: Mapping[str, Any], key: str, where: str) -> list[str]:
    v = d.get(key)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise CallbackPayloadError(
            f"{where}.{key}: expected an array of strings", field=f"{where}.{key}"
        )
    return list(v)


@dataclass(frozen=True)
class Profile:
    """The public profile stored on a user's messages (from the token or the auth callback)."""

    name: str | None = None
    avatar_url: str | None = None

    @classmethod
    def from_json(cls, value: Any, where: str = "profile") -> Profile:
        d = _obj(value, where)
        return cls(
            name=_str(d, "name", where, optional=True),
            avatar_url=_str(d, "avatarUrl", where, optional=True),
        )

    def to_json(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.name is not None:
            out["name"] = self.name
        if self.avatar_url is not None:
            out["avatarUrl"] = self.avatar_url
        return out


MessageKind = Literal["user", "system"]


@dataclass(frozen=True, kw_only=True)
class MessageDraft:
    """A message before Parley assigned its ``seq``: what the persistence callback receives."""

    id: str
    conversation_id: str
    client_msg_id: str
    sender_id: str
    kind: MessageKind
    text: str
    created_at: int
    sender: Profile | None = None
    data: JSON = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    _FIELDS = (
        "id", "conversationId", "clientMsgId", "senderId", "sender", "kind", "text", "data",
        "createdAt", "seq",
    )

    @classmethod
    def _fields(cls, value: Any, where: str) -> dict[str, Any]:
        d = _obj(value, where)
        kind = d.get("kind")
        if kind not in ("user", "system"):
            raise CallbackPayloadError(
                f'{where}.kind: expected "user" or "system"', field=f"{where}.kind"
            )
        sender = d.get("sender")
        return {
            "id": _str(d, "id", where),
            "conversation_id": _str(d, "conversationId", where),
            "client_msg_id": _str(d, "clientMsgId", where),
            "sender_id": _str(d, "senderId", where),
            "kind": kind,
            "text": _str(d, "text", where),
            "created_at": _int(d, "createdAt", where),
            "sender": None if sender is None else Profile.from_json(sender, f"{where}.sender"),
            "data": d.get("data"),
            "extra": {k: v for k, v in d.items() if k not in cls._FIELDS},
        }

    @classmethod
    def from_json(cls, value: Any, where: str = "message") -> MessageDraft:
        return cls(**cls._fields(value, where))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.extra,
            "id": self.id,
            "conversationId": self.conversation_id,
            "clientMsgId": self.client_msg_id,
            "senderId": self.sender_id,
            "kind": self.kind,
            "text": self.text,
            "createdAt": self.created_at,
        }
        if self.sender is not None:
            out["sender"] = self.sender.to_json()
        if self.data is not None:
            out["data"] = self.data
        return out


@dataclass(frozen=True, kw_only=True)
class Message(MessageDraft):
    """A stored message: a draft with its per-conversation ``seq`` (1, 2, 3, ...)."""

    seq: int

    @classmethod
    def from_json(cls, value: Any, where: str = "message") -> Message:
        fields = cls._fields(value, where)
        seq = _int(_obj(value, where), "seq", where)
        if seq < 1:
            raise CallbackPayloadError(f"{where}.seq: expected an integer >= 1", field=f"{where}.seq")
        return cls(**fields, seq=seq)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "seq": self.seq}


@dataclass(frozen=True)
class Cursor:
    """Where a client stands in a conversation: the highest contiguous ``seq`` it holds, and
    the ``epoch`` of the history that seq counts in (``None`` before the first welcome)."""

    seq: int = 0
    epoch: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq} if self.epoch is None else {"seq": self.seq, "epoch": self.epoch}


@dataclass(frozen=True)
class Presence:
    """Whether a user has a live socket; ``last_seen_at`` (ms) once they went offline."""

    user_id: str
    online: bool
    last_seen_at: int | None = None

    @classmethod
    def from_json(cls, value: Any, where: str = "presence") -> Presence:
        d = _obj(value, where)
        online = d.get("online")
        if not isinstance(online, bool):
            raise CallbackPayloadError(f"{where}.online: expected a boolean", field=f"{where}.online")
        return cls(
            user_id=_str(d, "userId", where),
            online=online,
            last_seen_at=_int(d, "lastSeenAt", where, optional=True),
        )


@dataclass(frozen=True)
class HistoryPage:
    """A page of older messages, in ascending seq order; ``has_more`` when older ones exist."""

    messages: list[Message]
    has_more: bool

    @classmethod
    def from_json(cls, value: Any, where: str = "page") -> HistoryPage:
        d = _obj(value, where)
        raw = d.get("messages")
        if not isinstance(raw, list):
            raise CallbackPayloadError(f"{where}.messages: expected an array", field=f"{where}.messages")
        return cls(
            messages=[Message.from_json(m, f"{where}.messages[{i}]") for i, m in enumerate(raw)],
            has_more=d.get("hasMore") is True,
        )


@dataclass(frozen=True)
class Ack:
    """The answer to a ``send``: the stored message; ``duplicate`` for a recognised retry."""

    message: Message
    duplicate: bool


__all__ = [
    "JSON",
    "Ack",
    "Cursor",
    "HistoryPage",
    "Message",
    "MessageDraft",
    "MessageKind",
    "Presence",
    "Profile",
]
