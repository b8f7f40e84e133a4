"""Clients of parley-server's HTTP API (``Authorization: Bearer <api.key>``), on httpx.

:class:`ParleyApi` is synchronous (Django views, scripts, Celery tasks);
:class:`AsyncParleyApi` has the same methods as coroutines (FastAPI, asyncio workers). Both
raise :class:`~parley.errors.ApiError` for an error answer and
:class:`~parley.errors.ApiConnectionError` when the server cannot be reached in time. Neither
retries on its own: ``publish`` with a ``client_msg_id`` and join/leave/disconnect are safe to
retry; events are not (a retry delivers the event twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Mapping, TypeVar
from urllib.parse import quote

import httpx

from .errors import ApiConnectionError, ApiError, InvalidArgumentError
from .models import JSON, HistoryPage, Message, Presence, Profile

T = TypeVar("T")

#: Default timeout of one API request, in seconds.
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One API request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    json: Any = None
    params: Mapping[str, str] | None = None
    #: Statuses that are an answer, not an error (``/readyz`` answers 503 while draining).
    accept: tuple[int, ...] = ()


def _seg(value: str, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        raise InvalidArgumentError(f"{what} must be a string of 1-128 characters")
    return quote(value, safe="")


def _user_ids(user_ids: Iterable[str]) -> list[str]:
    ids = [user_ids] if isinstance(user_ids, str) else list(user_ids)
    if not ids:
        raise InvalidArgumentError("user_ids must not be empty")
    for u in ids:
        _seg(u, "every user id")
    return ids


def _none(_: Any) -> None:
    return None


def _event(name: str, payload: JSON) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError("an event name must be a non-empty string")
    return {"name": name, "payload": payload}


class _Calls:
    """Builds each API request; shared by the sync and the async client."""

    @staticmethod
    def publish(
        conversation_id: str,
        text: str,
        data: JSON,
        sender_id: str | None,
        sender: Profile | Mapping[str, str] | None,
        client_msg_id: str | None,
    ) -> _Call[Message]:
        body: dict[str, Any] = {"text": text}
        if data is not None:
            body["data"] = data
        if sender_id is not None:
            body["senderId"] = sender_id
        if sender is not None:
            body["sender"] = sender.to_json() if isinstance(sender, Profile) else dict(sender)
        if client_msg_id is not None:
            body["clientMsgId"] = client_msg_id
        return _Call(
            "POST",
            f"/v1/conversations/{_seg(conversation_id, 'conversation_id')}/messages",
            lambda b: Message.from_json(b.get("message"), "answer.message"),
            json=body,
        )

    @staticmethod
    def history(conversation_id: str, before: int | None, limit: int | None) -> _Call[HistoryPage]:
        params: dict[str, str] = {}
        if before is not None:
            params["before"] = str(int(before))
        if limit is not None:
            if not 1 <= limit <= 200:
                raise InvalidArgumentError("limit must be 1-200")
            params["limit"] = str(int(limit))
        return _Call(
            "GET",
            f"/v1/conversations/{_seg(conversation_id, 'conversation_id')}/messages",
            lambda b: HistoryPage.from_json(b, "answer"),
            params=params,
        )

    @staticmethod
    def emit(conversation_id: str, name: str, payload: JSON) -> _Call[None]:
        path = f"/v1/conversations/{_seg(conversation_id, 'conversation_id')}/events"
        return _Call("POST", path, _none, json=_event(name, payload))

    @staticmethod
    def send_to_user(user_id: str, name: str, payload: JSON) -> _Call[None]:
        path = f"/v1/users/{_seg(user_id, 'user_id')}/events"
        return _Call("POST", path, _none, json=_event(name, payload))

    @staticmethod
    def membership(op: str, conversation_id: str, user_ids: Iterable[str]) -> _Call[None]:
        path = f"/v1/conversations/{_seg(conversation_id, 'conversation_id')}/{op}"
        return _Call("POST", path, _none, json={"userIds": _user_ids(user_ids)})

    @staticmethod
    def disconnect(user_id: str, code: int | None, reason: str | None) -> _Call[None]:
        body: dict[str, Any] = {}
        if code is not None:
            if not (code == 1000 or 3000 <= code <= 4999):
                raise InvalidArgumentError("code must be 1000 or 3000-4999")
            body["code"] = code
        if reason is not None:
            body["reason"] = reason
        return _Call("POST", f"/v1/users/{_seg(user_id, 'user_id')}/disconnect", _none, json=body)

    @staticmethod
    def presence(user_ids: Iterable[str]) -> _Call[list[Presence]]:
        ids = _user_ids(user_ids)
        if len(ids) > 1000:
            raise InvalidArgumentError("at most 1000 user ids per presence query")
        return _Call(
            "GET",
            "/v1/presence",
            lambda b: [
                Presence.from_json(p, f"answer.presence[{i}]")
                for i, p in enumerate(b.get("presence") or [])
            ],
            params={"userIds": ",".join(ids)},
        )

    @staticmethod
    def stats() -> _Call[dict[str, Any]]:
        return _Call("GET", "/v1/stats", lambda b: dict(b))

    @staticmethod
    def ready() -> _Call[bool]:
        return _Call("GET", "/readyz", lambda b: b.get("status") == "ready", accept=(503,))


def _finish(call: _Call[T], res: httpx.Response) -> T:
    body: Any
    try:
        body = res.json() if res.content else {}
    except ValueError:
        body = None
    if 200 <= res.status_code < 300 or res.status_code in call.accept:
        if not isinstance(body, dict):
            raise ApiError(res.status_code, "invalid_answer", "the answer is not a JSON object")
        return call.parse(body)
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        raise ApiError(res.status_code, str(err.get("code")), str(err.get("message", "")))
    raise ApiError(res.status_code, f"http_{res.status_code}", res.text[:200])


def _headers(api_key: str) -> dict[str, str]:
    if not api_key:
        raise InvalidArgumentError("api_key must not be empty")
    return {"authorization": f"Bearer {api_key}", "user-agent": "parley-kit-python"}


def _unreachable(call: _Call[Any], err: httpx.HTTPError) -> ApiConnectionError:
    kind = "timed out" if isinstance(err, httpx.TimeoutException) else "failed"
    return ApiConnectionError(f"{call.method} {call.path} {kind}: {err!r}")


class ParleyApi:
    """Synchronous client of parley-server's HTTP API.

    Args:
        base_url: where the API listens, e.g. ``http://parley:8080`` (``api.port`` if set).
        api_key: one of the server's ``api.key`` values.
        timeout: per request, in seconds. Default 10.
        client: an ``httpx.Client`` of your own (its base URL and auth are not used).

    Use as a context manager, or call :meth:`close`, to release connections.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._headers = _headers(api_key)
        self._own = client is None
        self._client = client or httpx.Client(timeout=timeout)
        self._timeout = timeout

    def _run(self, call: _Call[T]) -> T:
        try:
            res = self._client.request(
                call.method,
                self._base + call.path,
                json=call.json if call.method != "GET" else None,
                params=call.params,
                headers=self._headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as err:
            raise _unreachable(call, err) from err
        return _finish(call, res)

    def publish(
        self,
        conversation_id: str,
        text: str,
        *,
        data: JSON = None,
        sender_id: str | None = None,
        sender: Profile | Mapping[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> Message:
        """Stores and fans out a ``kind: "system"`` message; returns it with its ``seq``.
        ``client_msg_id`` makes it idempotent (a repeat returns the original)."""
        return self._run(_Calls.publish(conversation_id, text, data, sender_id, sender, client_msg_id))

    def history(
        self, conversation_id: str, *, before: int | None = None, limit: int | None = None
    ) -> HistoryPage:
        """The newest ``limit`` (1-200, default 50) messages with ``seq < before``."""
        return self._run(_Calls.history(conversation_id, before, limit))

    def emit(self, conversation_id: str, name: str, payload: JSON = None) -> None:
        """A custom event to every member socket of a conversation."""
        return self._run(_Calls.emit(conversation_id, name, payload))

    def send_to_user(self, user_id: str, name: str, payload: JSON = None) -> None:
        """A custom event to every socket of one user."""
        return self._run(_Calls.send_to_user(user_id, name, payload))

    def join(self, conversation_id: str, user_ids: Iterable[str]) -> None:
        """Adds members: their open sockets get ``joined`` without reconnecting. Update your
        database first (this also drops parley-server's cached membership answers)."""
        return self._run(_Calls.membership("join", conversation_id, user_ids))

    def leave(self, conversation_id: str, user_ids: Iterable[str]) -> None:
        """Removes members: their sockets get ``left`` and nothing more of it."""
        return self._run(_Calls.membership("leave", conversation_id, user_ids))

    def disconnect(self, user_id: str, *, code: int | None = None, reason: str | None = None) -> None:
        """Closes every socket of a user (default 4403: the client stops)."""
        return self._run(_Calls.disconnect(user_id, code, reason))

    def presence(self, user_ids: Iterable[str]) -> list[Presence]:
        """Online/offline (with ``last_seen_at``) of up to 1000 users."""
        return self._run(_Calls.presence(user_ids))

    def stats(self) -> dict[str, Any]:
        """``{"hub": {...}, "callbacks": {...}}`` of the process that answered."""
        return self._run(_Calls.stats())

    def ready(self) -> bool:
        """``/readyz``: False once the server is draining."""
        return self._run(_Calls.ready())

    def close(self) -> None:
        if self._own:
            self._client.close()

    def __enter__(self) -> ParleyApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncParleyApi:
    """The asynchronous twin of :class:`ParleyApi` (same arguments, coroutine methods)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._headers = _headers(api_key)
        self._own = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._timeout = timeout

    async def _run(self, call: _Call[T]) -> T:
        try:
            res = await self._client.request(
                call.method,
                self._base + call.path,
                json=call.json if call.method != "GET" else None,
                params=call.params,
                headers=self._headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as err:
            raise _unreachable(call, err) from err
        return _finish(call, res)

    async def publish(
        self,
        conversation_id: str,
        text: str,
        *,
        data: JSON = None,
        sender_id: str | None = None,
        sender: Profile | Mapping[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> Message:
        """See :meth:`ParleyApi.publish`."""
        return await self._run(
            _Calls.publish(conversation_id, text, data, sender_id, sender, client_msg_id)
        )

    async def history(
        self, conversation_id: str, *, before: int | None = None, limit: int | None = None
    ) -> HistoryPage:
        """See :meth:`ParleyApi.history`."""
        return await self._run(_Calls.history(conversation_id, before, limit))

    async def emit(self, conversation_id: str, name: str, payload: JSON = None) -> None:
        """See :meth:`ParleyApi.emit`."""
        return await self._run(_Calls.emit(conversation_id, name, payload))

    async def send_to_user(self, user_id: str, name: str, payload: JSON = None) -> None:
        """See :meth:`ParleyApi.send_to_user`."""
        return await self._run(_Calls.send_to_user(user_id, name, payload))

    async def join(self, conversation_id: str, user_ids: Iterable[str]) -> None:
        """See :meth:`ParleyApi.join`."""
        return await self._run(_Calls.membership("join", conversation_id, user_ids))

    async def leave(self, conversation_id: str, user_ids: Iterable[str]) -> None:
        """See :meth:`ParleyApi.leave`."""
        return await self._run(_Calls.membership("leave", conversation_id, user_ids))

    async def disconnect(
        self, user_id: str, *, code: int | None = None, reason: str | None = None
    ) -> None:
        """See :meth:`ParleyApi.disconnect`."""
        return await self._run(_Calls.disconnect(user_id, code, reason))

    async def presence(self, user_ids: Iterable[str]) -> list[Presence]:
        """See :meth:`ParleyApi.presence`."""
        return await self._run(_Calls.presence(user_ids))

    async def stats(self) -> dict[str, Any]:
        """See :meth:`ParleyApi.stats`."""
        return await self._run(_Calls.stats())

    async def ready(self) -> bool:
        """See :meth:`ParleyApi.ready`."""
        return await self._run(_Calls.ready())

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncParleyApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
