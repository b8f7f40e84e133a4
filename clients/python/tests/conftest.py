"""Fixtures: the session's parley-server, the API client, unique ids per test."""

from __future__ import annotations

import uuid
from typing import Callable, Iterator

import pytest
from support import API_KEY, Server, start_server, JWT_SECRET, ISSUER, AUDIENCE

from parley import ParleyApi


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """parley-server with JWT auth (membership from the token's claim) and the HTTP API."""
    s = start_server(
        {
            "auth": {"jwt": {"secret": JWT_SECRET, "issuer": ISSUER, "audience": AUDIENCE}},
            "api": {"key": API_KEY},
            "presence": {"graceMs": 0},
        }
    )
    yield s
    s.stop()


@pytest.fixture
def conv() -> str:
    """A conversation id of this test alone."""
    return f"c-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def user() -> Callable[[str], str]:
    """Unique user ids of this test: ``user("alice")`` -> ``alice-1a2b3c``."""
    suffix = uuid.uuid4().hex[:6]
    return lambda name: f"{name}-{suffix}"


@pytest.fixture
def api(server: Server) -> Iterator[ParleyApi]:
    with ParleyApi(server.api, API_KEY) as client:
        yield client


