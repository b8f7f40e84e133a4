"""Every error the kit raises: subclasses of :class:`ParleyError`, each with a ``code``."""

from __future__ import annotations

from typing import Any


class ParleyError(Exception):
    """Base class of the kit's errors. ``code`` is a short machine-readable string."""

    code: str = "parley_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ApiError(ParleyError):
    """parley-server's HTTP API answered with an error: ``{"error": {"code", "message"}}``.

    ``status`` is the HTTP status; ``code`` the API's error code (``invalid_body``,
    ``unauthorized``, ``not_found``, ``unavailable``, ...).
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}", code=code)
        self.status = status
        self.detail = message


class ApiConnectionError(ParleyError):
    """The HTTP API could not be reached, or did not answer within the timeout."""

    code = "api_unreachable"


class CallbackAuthError(ParleyError):
    """A callback request does not carry parley-server's ``Authorization: Bearer <secret>``."""

    code = "callback_unauthorized"


class CallbackPayloadError(ParleyError):
    """A callback body does not have the documented shape; ``field`` names the bad field."""

    code = "callback_payload"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ServerError(ParleyError):
    """An ``error`` frame from the server (``code`` is the protocol's error code).

    ``retry_after_ms`` is set for ``rate_limited`` (and may be for ``unavailable``); ``field``
    names the bad field of an ``invalid_frame``.
    """

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(str(frame.get("message", "")), code=str(frame.get("code", "internal")))
        self.frame = frame
        self.ref: str | None = frame.get("ref")
        self.field: str | None = frame.get("field")
        self.conversation_id: str | None = frame.get("conversationId")
        self.client_msg_id: str | None = frame.get("clientMsgId")
        self.retry_after_ms: int | None = frame.get("retryAfterMs")

    @property
    def retryable(self) -> bool:
        """True for the codes a client retries with the same ``clientMsgId``."""
        return self.code in RETRYABLE_CODES


#: Error codes after which a send is retried with the same clientMsgId (PROTOCOL.md, client
#: timing defaults); every other code fails the send.
RETRYABLE_CODES = frozenset({"rate_limited", "unavailable", "internal"})


class ConnectionClosedError(ParleyError):
    """The WebSocket closed (or never opened). ``close_code`` is the WebSocket close code."""

    code = "connection_closed"

    def __init__(self, close_code: int | None, reason: str = "") -> None:
        super().__init__(f"connection closed ({close_code}{': ' + reason if reason else ''})")
        self.close_code = close_code
        self.reason = reason


class ParleyTimeoutError(ParleyError, TimeoutError):
    """A wait passed its deadline (welcome, an ack, an answer, a frame)."""

    code = "timeout"


class LimitError(ParleyError):
    """A frame would break a limit the server announced in ``welcome.limits``; it was not sent."""

    code = "too_large"


class ProtocolViolationError(ParleyError):
    """The server sent something the protocol does not allow (not JSON, no ``type``...)."""

    code = "protocol"


class InvalidArgumentError(ParleyError, ValueError):
    """An argument the kit can tell is wrong before anything is sent (an empty id, a short
    secret, a token over 8 KiB, a limit out of range)."""

    code = "invalid_argument"
