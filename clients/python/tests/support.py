"""Test support: a real parley-server (the repository's CLI, run by Node with tsx), tokens signed by
the kit, and a TypeScript @parley/client peer. Every wait has a deadline."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from parley import sign_token

HERE = Path(__file__).resolve().parent
KIT = HERE.parent
REPO = Path(os.environ.get("PARLEY_REPO", KIT.parent.parent)).resolve()
EXAMPLES = KIT / "examples"
SCHEMA = REPO / "packages" / "protocol" / "schema"
NODE = os.environ.get("PARLEY_NODE", "node")
NODE_ARGS = [NODE, "--conditions=@parley/source", "--import", "tsx"]

JWT_SECRET = "python-kit-secret-python-kit-secret-0123"
ISSUER = "python-kit-tests"
AUDIENCE = "parley"
API_KEY = "python-kit-api-key"

sys.path.insert(0, str(EXAMPLES))
sys.path.insert(0, str(EXAMPLES / "django_app"))


@dataclass
class Server:
    """A parley-server child process."""

    proc: subprocess.Popen[str]
    port: int
    api_port: int
    logs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/parley"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_server(config: dict[str, Any], timeout: float = 30.0) -> Server:
    """Starts ``parley-server start --config <file>`` and waits for its ``listening`` line."""
    fd, path = tempfile.mkstemp(prefix="parley-kit-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"host": "127.0.0.1", "port": 0, "logLevel": "info", **config}, f)
    proc = subprocess.Popen(
        [*NODE_ARGS, str(REPO / "packages/server/src/cli.ts"), "start", "--config", path],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    logs: list[dict[str, Any]] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                logs.append(json.loads(line))
            except ValueError:
                logs.append({"raw": line})
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(0.0, left))
        except queue.Empty:
            proc.kill()
            raise RuntimeError(f"parley-server did not log 'listening' within {timeout} s")
        if line is None:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"parley-server exited ({proc.wait()}): {err[-2000:]}")
        entry = json.loads(line) if line.startswith("{") else {}
        if entry.get("msg") == "listening":
            return Server(proc, entry["port"], entry["apiPort"], logs)


def token(user_id: str, conversations: list[str], **kw: Any) -> str:
    """A token for the session server, signed by the kit."""
    return sign_token(
        user_id,
        JWT_SECRET,
        issuer=ISSUER,
        audience=AUDIENCE,
        conversations=conversations,
        name=user_id.title(),
        **kw,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TsPeer:
    """A TypeScript @parley/client in a child process (tests/ts_peer.ts), driven by JSON lines:
    it prints events (``open``, ``message``, ``sent``, ``error``) and takes commands."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.events.append({"event": "raw", "line": line.decode(errors="replace")})
            self._arrived.set()
        self.events.append({"event": "exit"})
        self._arrived.set()

    async def expect(self, pred: Callable[[dict[str, Any]], bool], what: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for e in list(self.events):
                if pred(e):
                    self.events.remove(e)
                    return e
                if e.get("event") == "exit":
                    err = await self.proc.stderr.read() if self.proc.stderr else b""
                    raise AssertionError(f"the TS peer exited before {what}: {err.decode()[-2000:]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; events: {self.events[-5:]}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def command(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()

    async def close(self) -> None:
        if self.proc.returncode is None:
            try:
                await self.command(op="close")
                await asyncio.wait_for(self.proc.wait(), 10)
            except (asyncio.TimeoutError, ConnectionError):
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


async def start_ts_peer(url: str, tok: str, conversation_id: str) -> TsPeer:
    proc = await asyncio.create_subprocess_exec(
        *NODE_ARGS,
        str(HERE / "ts_peer.ts"),
        cwd=REPO,
        env={**os.environ, "PARLEY_URL": url, "PARLEY_TOKEN": tok, "PARLEY_CONVERSATION": conversation_id},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    peer = TsPeer(proc)
    await peer.expect(lambda e: e.get("event") == "open", "the TS client to open", timeout=30)
    return peer


def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA / name).read_text())
