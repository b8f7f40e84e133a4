"""A minimal real-time Parley client on the ``websockets`` library (asyncio), for bots and
backend tests. It speaks the protocol of PROTOCOL.md directly:

* ``hello`` with resume cursors, ``welcome``; then the replay/reset of each conversation whose
  cursor was behind (:meth:`RealtimeClient.resumed` waits for them). A conversation without a
  cursor is not replayed: it starts at its head in ``welcome`` (page older messages with
  ``history``);
* ``send`` with a client-generated ``clientMsgId``, answered by ``ack`` (retried with the same id
  on ``rate_limited``/``unavailable``/``internal`` and on an ack timeout, a bounded number of
  times); errors come back as :class:`~parley.errors.ServerError`, correlated by ``ref``;
* receiving: every frame as the server sent it (:meth:`RealtimeClient.next`, for tests), and the
  conversation messages in seq order, without duplicates, gaps filled with ``sync``
  (:meth:`RealtimeClient.next_message` / :meth:`RealtimeClient.messages`, for bots);
* ``typing``, ``read``, ``history``, ``sync``, custom ``event``, ``ping``; server ``ping`` and
  ``reauth`` are answered on their own.

It does not reconnect: resume by connecting again with the old client's :attr:`cursors`.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Collection, Mapping, Union

from websockets.asyncio.client import ClientConnection, connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.typing import Subprotocol

from ._version import __version__
from ._sequencer import FellBehindError, Released, Sequencer
from .errors import (
    CallbackPayloadError,
    ConnectionClosedError,
    InvalidArgumentError,
    LimitError,
    ParleyError,
    ParleyTimeoutError,
    ProtocolViolationError,
    RETRYABLE_CODES,
    ServerError,
)
from .models import JSON, Ack, Cursor, HistoryPage, Message

SUBPROTOCOL = "parley.v1"
PROTOCOL_VERSION = 1
#: Frames the client keeps in its inbox while unread; typing/presence go first when it is full.
EPHEMERAL = frozenset({"typing", "presence"})

Token = Union[str, Callable[[], Union[str, Awaitable[str]]]]
CursorLike = Union[Cursor, Mapping[str, Any], int]


@dataclass(frozen=True)
class Options:
    """Options of :func:`connect` (each has a default)."""

    #: Open + ``welcome``, in seconds.
    connect_timeout: float = 10.0
    #: Wait for an answer (ack, history, pong, ok...), in seconds.
    request_timeout: float = 10.0
    #: Attempts of one ``send`` (the first included), all with the same ``clientMsgId``.
    send_attempts: int = 3
    #: Bytes of unread frames kept (typing/presence dropped first); past it the client closes.
    max_inbox_bytes: int = 8 * 1024 * 1024
    #: Largest frame accepted from the server. A replay of many large messages is one frame.
    max_frame_bytes: int = 16 * 1024 * 1024
    #: Frame types kept for :meth:`RealtimeClient.next` (``True``: all; ``False``: none, for a
    #: bot that only reads :meth:`RealtimeClient.messages`).
    keep_frames: bool | Collection[str] = True


@dataclass
class _Entry:
    frame: dict[str, Any]
    size: int


class RealtimeClient:
    """One Parley session over one WebSocket. Create it with :func:`connect`."""

    def __init__(self, ws: ClientConnection, token: Token, options: Options, seq: Sequencer) -> None:
        self._ws = ws
        self._token = token
        self._o = options
        self._seq = seq
        self._refs = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._frames: deque[_Entry] = deque()
        self._frame_bytes = 0
        self._messages: deque[Message] = deque()
        self._wakers: list[asyncio.Future[None]] = []
        self._failure: ParleyError | None = None
        self._on_frame: Callable[[dict[str, Any]], None] | None = None
        self._on_send: Callable[[dict[str, Any]], None] | None = None
        self.welcome: dict[str, Any] = {}
        self._reader: asyncio.Task[None] | None = None
        #: Fire-and-forget sends (pong, gap fill, reauth), referenced until done.
        self._background: set[asyncio.Future[None]] = set()

    # -- state -----------------------------------------------------------------------------

    @property
    def user_id(self) -> str:
        return str(self.welcome["user"]["id"])

    @property
    def session_id(self) -> str:
        return str(self.welcome["sessionId"])

    @property
    def limits(self) -> dict[str, Any]:
        return dict(self.welcome.get("limits") or {})

    @property
    def conversations(self) -> set[str]:
        """Conversations this session is subscribed to (welcome, plus joined, minus left)."""
        return set(self._seq.cursors)

    @property
    def cursors(self) -> dict[str, Cursor]:
        """Per conversation, the highest contiguous seq received and its epoch: pass them to
        :func:`connect` to resume. (Received, not necessarily read by you: drain
        :meth:`messages` before you resume from them.)"""
        return dict(self._seq.cursors)

    @property
    def closed(self) -> bool:
        return self._failure is not None

    @property
    def close_code(self) -> int | None:
        f = self._failure
        return f.close_code if isinstance(f, ConnectionClosedError) else None

    # -- sending ---------------------------------------------------------------------------

    async def send_frame(self, frame: Mapping[str, Any]) -> None:
        """Sends one frame as is (tests, frames this client has no method for)."""
        self._raise_if_closed()
        if self._on_send is not None:
            self._on_send(dict(frame))
        try:
            await self._ws.send(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
        except ConnectionClosed as err:
            raise self._closed_error(err) from err

    async def request(
        self, frame: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Sends ``frame`` with a fresh ``ref`` (unless it has one) and returns the frame that
        answers it; an ``error`` answer raises :class:`~parley.errors.ServerError`."""
        ref = str(frame.get("ref") or f"py-{next(self._refs)}")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ref] = fut
        try:
            await self.send_frame({**frame, "ref": ref})
            t = self._o.request_timeout if timeout is None else timeout
            try:
                return await asyncio.wait_for(asyncio.shield(fut), t)
            except asyncio.TimeoutError:
                raise ParleyTimeoutError(
                    f"no answer to {frame.get('type')} (ref {ref}) within {t} s"
                ) from None
        finally:
            self._pending.pop(ref, None)
            if not fut.done():
                fut.cancel()

    async def send(
        self,
        conversation_id: str,
        text: str,
        *,
        data: JSON = None,
        client_msg_id: str | None = None,
        timeout: float | None = None,
    ) -> Ack:
        """Sends a message and returns its ``ack`` (the stored message, with its ``seq``).

        Retried with the same ``client_msg_id`` (so never stored twice) after ``rate_limited``,
        ``unavailable`` or ``internal`` (waiting ``retryAfterMs`` when given) and after an ack
        timeout, up to ``send_attempts`` in all. Any other error raises
        :class:`~parley.errors.ServerError` at once (``forbidden``, ``rejected``...).
        """
        cmid = client_msg_id or str(uuid.uuid4())
        frame: dict[str, Any] = {
            "type": "send",
            "conversationId": conversation_id,
            "clientMsgId": cmid,
            "text": text,
        }
        if data is not None:
            frame["data"] = data
        self._check_limits(frame, text)
        attempts = max(1, self._o.send_attempts)
        for attempt in range(1, attempts + 1):
            try:
                answer = await self.request(frame, timeout=timeout)
            except ServerError as err:
                if err.code not in RETRYABLE_CODES or attempt == attempts:
                    raise
                delay = (err.retry_after_ms or 500 * 2 ** (attempt - 1)) / 1000
                await asyncio.sleep(min(delay, 30.0))
                continue
            except ParleyTimeoutError:
                if attempt == attempts:
                    raise
                continue
            if answer.get("type") != "ack":
                raise ProtocolViolationError(f"send answered with {answer.get('type')!r}")
            return Ack(self._message(answer.get("message")), answer.get("duplicate") is True)
        raise AssertionError("unreachable")  # pragma: no cover

    async def typing(self, conversation_id: str, state: str = "start") -> None:
        """``start`` (at most once per ~3 s while typing) or ``stop``. Never answered."""
        await self.send_frame({"type": "typing", "conversationId": conversation_id, "state": state})

    async def read(self, conversation_id: str, seq: int) -> None:
        """Everything up to ``seq`` is read. Not answered on success; a refusal arrives as an
        ``error`` frame (see :meth:`next`)."""
        await self.send_frame(
            {"type": "read", "ref": f"py-{next(self._refs)}", "conversationId": conversation_id, "seq": seq}
        )

    async def sync(self, conversation_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """Asks for every message after this client's cursor; returns the ``replay`` or
        ``reset`` (its messages also reach :meth:`messages`)."""
        cur = self._seq.cursors.get(conversation_id, Cursor(0))
        frame: dict[str, Any] = {"type": "sync", "conversationId": conversation_id, "after": cur.seq}
        if cur.epoch is not None:
            frame["epoch"] = cur.epoch
        return await self.request(frame, timeout=timeout)

    async def history(
        self,
        conversation_id: str,
        *,
        before: int | None = None,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> HistoryPage:
        """A page of older messages (``seq < before``; the newest without ``before``)."""
        frame: dict[str, Any] = {"type": "history", "conversationId": conversation_id}
        if before is not None:
            frame["before"] = before
        if limit is not None:
            frame["limit"] = limit
        answer = await self.request(frame, timeout=timeout)
        try:
            return HistoryPage.from_json(answer, "history")
        except CallbackPayloadError as err:
            raise ProtocolViolationError(f"invalid history frame: {err}") from err

    async def event(
        self,
        name: str,
        payload: JSON = None,
        *,
        conversation_id: str | None = None,
        user_id: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """A custom event to a conversation's other members or to one user (exactly one of the
        two); returns once the server answered ``ok``."""
        if (conversation_id is None) == (user_id is None):
            raise InvalidArgumentError("pass exactly one of conversation_id and user_id")
        frame: dict[str, Any] = {"type": "event", "name": name, "payload": payload}
        if conversation_id is not None:
            frame["conversationId"] = conversation_id
        else:
            frame["userId"] = user_id
        await self.request(frame, timeout=timeout)

    async def ping(self, *, timeout: float | None = None) -> float:
        """An app-level ping; returns the round trip in seconds."""
        started = time.monotonic()
        await self.request({"type": "ping"}, timeout=timeout)
        return time.monotonic() - started

    # -- receiving -------------------------------------------------------------------------

    async def next(
        self,
        predicate: Callable[[dict[str, Any]], bool] | str | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The oldest unread frame matching ``predicate`` (a function, or a frame type), as the
        server sent it. Frames before it stay for later calls. Answers to this client's own
        requests (ack, pong, ok, history...) are not here: the request returns them."""
        if isinstance(predicate, str):
            wanted = predicate
            predicate = lambda f: f.get("type") == wanted  # noqa: E731
        pred = predicate or (lambda f: True)

        def find() -> dict[str, Any] | None:
            for i, e in enumerate(self._frames):
                if pred(e.frame):
                    del self._frames[i]
                    self._frame_bytes -= e.size
                    return e.frame
            return None

        return await self._wait(find, "a matching frame", timeout)

    async def next_message(
        self, conversation_id: str | None = None, *, timeout: float | None = None
    ) -> Message:
        """The next new message (live or replayed), in seq order per conversation, never twice;
        this socket's own sends are not included (``send`` returned them)."""

        def find() -> Message | None:
            for i, m in enumerate(self._messages):
                if conversation_id is None or m.conversation_id == conversation_id:
                    del self._messages[i]
                    return m
            return None

        return await self._wait(find, "a message", timeout)

    async def messages(self, conversation_id: str | None = None) -> AsyncIterator[Message]:
        """Every new message, as :meth:`next_message` gives them, until the connection closes."""
        while True:
            try:
                yield await self.next_message(conversation_id, timeout=float("inf"))
            except ConnectionClosedError:
                return  # the messages received before the close were all given out

    async def resumed(self, *, timeout: float | None = None) -> None:
        """Waits until every conversation whose hello cursor was behind (or from another epoch)
        got its ``replay`` or ``reset``. The protocol has no "resume done" frame: the client
        knows which conversations to expect from ``welcome`` and the cursors it sent."""
        await self._wait(lambda: True if not self._seq.awaiting else None, "the resume", timeout)

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Closes the WebSocket; pending requests fail with ConnectionClosedError."""
        await self._ws.close(code, reason)
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def wait_closed(self, *, timeout: float | None = None) -> ConnectionClosedError:
        """Waits for the server to close the connection; returns the close as an error value."""
        await self._wait(lambda: True if self._failure is not None else None, "the close", timeout, closed_ok=True)
        f = self._failure
        return f if isinstance(f, ConnectionClosedError) else ConnectionClosedError(None, str(f))

    async def __aenter__(self) -> RealtimeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- internals -------------------------------------------------------------------------

    def _check_limits(self, frame: Mapping[str, Any], text: str) -> None:
        limits = self.limits
        max_text = limits.get("maxTextLength")
        # Code points (PROTOCOL.md, Limits): Python's len() counts the same.
        if isinstance(max_text, int) and len(text) > max_text:
            raise LimitError(f"text is {len(text)} code points, over the limit of {max_text}")
        max_bytes = limits.get("maxFrameBytes")
        size = len(json.dumps({**frame, "ref": "py-0000000000"}, separators=(",", ":"), ensure_ascii=False).encode())
        if isinstance(max_bytes, int) and size > max_bytes:
            raise LimitError(f"the frame is {size} bytes, over the limit of {max_bytes}")

    def _message(self, value: Any) -> Message:
        try:
            return Message.from_json(value)
        except CallbackPayloadError as err:
            raise ProtocolViolationError(f"invalid message from the server: {err}") from err

    def _raise_if_closed(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _closed_error(self, err: ConnectionClosed) -> ConnectionClosedError:
        rcvd = err.rcvd
        if rcvd is not None:
            return ConnectionClosedError(rcvd.code, rcvd.reason)
        return ConnectionClosedError(1006, "")

    async def _wait(
        self, find: Callable[[], Any], what: str, timeout: float | None, *, closed_ok: bool = False
    ) -> Any:
        t = self._o.request_timeout if timeout is None else timeout
        deadline = time.monotonic() + t
        while True:
            found = find()
            if found is not None:
                return found
            if self._failure is not None and not closed_ok:
                raise self._failure
            left = deadline - time.monotonic()
            if left <= 0:
                raise ParleyTimeoutError(f"timed out after {t} s waiting for {what}")
            waker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._wakers.append(waker)
            try:
                await asyncio.wait_for(waker, None if left == float("inf") else left)
            except asyncio.TimeoutError:
                pass
            finally:
                if waker in self._wakers:
                    self._wakers.remove(waker)

    def _wake(self) -> None:
        wakers, self._wakers = self._wakers, []
        for w in wakers:
            if not w.done():
                w.set_result(None)

    def _keep(self, frame: dict[str, Any], size: int) -> None:
        keep = self._o.keep_frames
        if keep is False or (keep is not True and frame.get("type") not in keep):
            return
        self._frames.append(_Entry(frame, size))
        self._frame_bytes += size
        if self._frame_bytes <= self._o.max_inbox_bytes:
            return
        # Like the server under backpressure: ephemeral frames go first.
        for e in [e for e in self._frames if e.frame.get("type") in EPHEMERAL]:
            self._frames.remove(e)
            self._frame_bytes -= e.size
            if self._frame_bytes <= self._o.max_inbox_bytes:
                return
        raise _InboxFull()

    def _released(self, r: Released) -> None:
        self._messages.extend(r.messages)
        if r.sync is not None:
            cur = self._seq.cursors.get(r.sync, Cursor(0))
            frame: dict[str, Any] = {
                "type": "sync",
                "ref": f"py-gap-{next(self._refs)}",
                "conversationId": r.sync,
                "after": cur.seq,
            }
            if cur.epoch is not None:
                frame["epoch"] = cur.epoch
            self._spawn(self._send_quietly(frame))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_quietly(self, frame: dict[str, Any]) -> None:
        try:
            await self.send_frame(frame)
        except ParleyError:
            pass  # the connection closed: the reader reports it

    def _handle(self, frame: dict[str, Any], size: int) -> None:
        t = frame.get("type")
        ref = frame.get("ref")
        if t == "message":
            self._released(self._seq.message(self._message(frame.get("message"))))
        elif t == "ack":
            self._released(self._seq.message(self._message(frame.get("message")), own=True))
        elif t == "replay":
            cid = str(frame.get("conversationId"))
            msgs = [self._message(m) for m in frame.get("messages") or []]
            self._released(self._seq.replay(cid, int(frame["seq"]), str(frame["epoch"]), msgs))
        elif t == "reset":
            cid = str(frame.get("conversationId"))
            self._released(self._seq.reset(cid, int(frame["seq"]), str(frame["epoch"])))
        elif t == "joined":
            self._seq.joined(str(frame["conversationId"]), int(frame["seq"]), str(frame["epoch"]))
        elif t == "left":
            self._seq.left(str(frame["conversationId"]))
        elif t == "ping":
            pong: dict[str, Any] = {"type": "pong"}
            if ref is not None:
                pong["ref"] = ref
            self._spawn(self._send_quietly(pong))
            return
        elif t == "reauth":
            self._spawn(self._reauth())
        elif t == "error" and isinstance(ref, str) and ref.startswith("py-gap-"):
            cid = frame.get("conversationId")
            if isinstance(cid, str):
                self._seq.sync_failed(cid)
        fut = self._pending.get(ref) if isinstance(ref, str) else None
        if fut is not None and not fut.done():
            if t == "error":
                fut.set_exception(ServerError(frame))
            else:
                fut.set_result(frame)
            # Replays and resets are stream content: they stay visible to next() as well.
            if t not in ("replay", "reset"):
                return
        if t in ("ack", "pong", "ok", "authed", "history"):
            return  # answers to requests that gave up waiting
        self._keep(frame, size)

    async def _reauth(self) -> None:
        if not callable(self._token):
            return  # a fixed token cannot be refreshed: the server closes 4401 at the deadline
        try:
            token = await _resolve(self._token)
            await self.request({"type": "auth", "token": token})
        except ParleyError:
            pass  # refused or closed: the server closes with 4401, which the reader reports

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                if isinstance(raw, bytes):
                    raise ProtocolViolationError("a binary frame (Parley frames are text)")
                try:
                    frame = json.loads(raw)
                except ValueError as err:
                    raise ProtocolViolationError(f"a frame that is not JSON: {err}") from err
                if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                    raise ProtocolViolationError("a frame that is not an object with a type")
                if self._on_frame is not None:
                    self._on_frame(frame)
                self._handle(frame, len(raw))
                self._wake()
            self._failure = ConnectionClosedError(
                self._ws.close_code or 1006, self._ws.close_reason or ""
            )
        except _InboxFull:
            self._failure = ParleyError(
                "unread frames passed max_inbox_bytes: the client closed", code="inbox_full"
            )
            await self._ws.close(1000, "inbox full")
        except FellBehindError as err:
            self._failure = ParleyError(str(err), code="fell_behind")
            await self._ws.close(1000, "fell behind")
        except ProtocolViolationError as err:
            self._failure = err
            await self._ws.close(1002, "protocol error")
        except ConnectionClosed as err:
            self._failure = self._closed_error(err)
        except Exception as err:  # a frame missing a required field, or an on_frame hook's bug
            self._failure = ParleyError(f"failed handling a frame: {err!r}", code="internal")
            await self._ws.close(1011, "client error")
        finally:
            if self._failure is None:
                self._failure = ConnectionClosedError(1006, "")
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(self._failure)
            self._wake()


class _InboxFull(Exception):
    pass


async def _resolve(token: Token) -> str:
    value = token() if callable(token) else token
    if inspect.isawaitable(value):
        value = await value
    if not isinstance(value, str):
        raise InvalidArgumentError("the token provider must return a string")
    return value


def _cursor(value: CursorLike) -> Cursor:
    if isinstance(value, Cursor):
        return value
    if isinstance(value, int):
        return Cursor(value)
    return Cursor(int(value["seq"]), value.get("epoch"))


async def connect(
    url: str,
    token: Token,
    *,
    cursors: Mapping[str, CursorLike] | None = None,
    headers: Mapping[str, str] | None = None,
    subprotocols: Collection[str] = (SUBPROTOCOL,),
    client_name: str = "parley-kit-python",
    on_frame: Callable[[dict[str, Any]], None] | None = None,
    on_send: Callable[[dict[str, Any]], None] | None = None,
    options: Options | None = None,
    **option_fields: Any,
) -> RealtimeClient:
    """Opens a session: WebSocket (offering ``parley.v1``), ``hello`` with ``token`` and the
    resume ``cursors``, then ``welcome``. Returns once welcomed; replays/resets follow (see
    :meth:`RealtimeClient.resumed`).

    Args:
        url: e.g. ``ws://127.0.0.1:8080/parley``.
        token: a token, or a function (sync or async) returning one; a function is also asked
            again when the server sends ``reauth``.
        cursors: ``{conversation_id: Cursor | {"seq", "epoch"} | seq}`` from an earlier session.
        headers: extra upgrade headers (a cookie, ``Authorization``).
        on_frame: called with every frame received, before the client handles it (tests).
        on_send: called with every frame the client sends, ``hello`` included (tests).
        options: an :class:`Options`, or its fields as keyword arguments.

    Raises:
        ConnectionClosedError: the server refused (``close_code`` 4401, 4403, 4406... or
            ``None`` with an HTTP status in ``reason`` when the upgrade was refused).
        ParleyTimeoutError: no ``welcome`` within ``connect_timeout``.
    """
    o = options or Options(**option_fields)
    given = {cid: _cursor(c) for cid, c in (cursors or {}).items()}
    if len(given) > 10_000:
        raise InvalidArgumentError("at most 10,000 cursors per hello")
    tok = await _resolve(token)
    hello: dict[str, Any] = {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "token": tok,
        "client": {"name": client_name, "version": __version__},
    }
    if given:
        hello["cursors"] = {cid: c.to_json() for cid, c in given.items()}

    async def open_session() -> RealtimeClient:
        try:
            ws = await ws_connect(
                url,
                subprotocols=[Subprotocol(p) for p in subprotocols],
                additional_headers=dict(headers or {}),
                max_size=o.max_frame_bytes,
                open_timeout=o.connect_timeout,
                user_agent_header=f"{client_name}/{__version__}",
            )
        except InvalidStatus as err:
            raise ConnectionClosedError(None, f"upgrade refused: HTTP {err.response.status_code}") from err
        except (OSError, WebSocketException) as err:
            raise ConnectionClosedError(None, f"cannot connect to {url}: {err}") from err
        client = RealtimeClient(ws, token, o, Sequencer(given))
        client._on_frame = on_frame
        client._on_send = on_send
        if on_send is not None:
            on_send(dict(hello))
        try:
            await ws.send(json.dumps(hello, separators=(",", ":"), ensure_ascii=False))
            raw = await ws.recv()
        except ConnectionClosed as err:
            raise client._closed_error(err) from err
        frame = json.loads(raw) if isinstance(raw, str) else None
        if not isinstance(frame, dict) or frame.get("type") != "welcome":
            await ws.close(1002, "expected welcome")
            raise ProtocolViolationError(f"expected welcome, got {str(raw)[:200]}")
        if on_frame is not None:
            on_frame(frame)
        client.welcome = frame
        client._seq.welcome(frame.get("conversations") or [])
        client._reader = asyncio.ensure_future(client._read())
        return client

    try:
        return await asyncio.wait_for(open_session(), o.connect_timeout)
    except asyncio.TimeoutError:
        raise ParleyTimeoutError(f"no welcome from {url} within {o.connect_timeout} s") from None
