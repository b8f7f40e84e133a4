"""Parley's Python kit, for backends behind ``parley-server``.

* :class:`ParleyApi` / :class:`AsyncParleyApi` — the server's HTTP API (publish, history,
  events, join/leave, disconnect, presence, stats);
* :func:`sign_token` — tokens for the server's JWT mode;
* :mod:`parley.callbacks` — verify that a callback came from parley-server, typed callback
  requests and answers, the persistence idempotency key;
* :mod:`parley.realtime` — a minimal real-time client (asyncio, ``websockets``) for bots and
  backend tests.
"""

from ._version import __version__
from .api import AsyncParleyApi, ParleyApi
from .callbacks import idempotency_key, is_from_parley, verify_callback
from .errors import (
    ApiConnectionError,
    ApiError,
    CallbackAuthError,
    CallbackPayloadError,
    ConnectionClosedError,
    InvalidArgumentError,
    LimitError,
    ParleyError,
    ParleyTimeoutError,
    ProtocolViolationError,
    ServerError,
)
from .models import Ack, Cursor, HistoryPage, Message, MessageDraft, Presence, Profile
from .tokens import sign_token

__all__ = [
    "__version__",
    "Ack",
    "ApiConnectionError",
    "ApiError",
    "AsyncParleyApi",
    "CallbackAuthError",
    "CallbackPayloadError",
    "ConnectionClosedError",
    "Cursor",
    "HistoryPage",
    "InvalidArgumentError",
    "LimitError",
    "Message",
    "MessageDraft",
    "ParleyApi",
    "ParleyError",
    "ParleyTimeoutError",
    "Presence",
    "Profile",
    "ProtocolViolationError",
    "ServerError",
    "idempotency_key",
    "is_from_parley",
    "sign_token",
    "verify_callback",
]
