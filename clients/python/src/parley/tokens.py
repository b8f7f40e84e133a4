"""Tokens for parley-server's JWT mode (``auth.jwt``), signed with PyJWT.

parley-server verifies the signature (HS256 with ``auth.jwt.secret`` by default), ``exp``
(required), ``iss``/``aud`` when configured, and reads the user id from ``sub``, the profile
from ``name``/``picture`` and, with ``membership.mode: "claim"``, the user's conversations
from ``conversations``. The claim names follow the server's defaults and can be changed to
match ``auth.jwt.userIdClaim``, ``auth.jwt.profileClaims`` and ``membership.claim``.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any, Iterable, Mapping

import jwt

from .errors import InvalidArgumentError

#: parley-server refuses a token longer than this (PROTOCOL.md, Limits).
MAX_TOKEN_BYTES = 8 * 1024
#: parley-server's minimum length for an HS256 shared secret (``auth.jwt.secret``).
MIN_HMAC_SECRET_LENGTH = 32
#: User ids are 1-128 characters.
MAX_ID_LENGTH = 128


def sign_token(
    user_id: str,
    key: str | bytes | Any,
    *,
    expires_in: float | timedelta = 3600,
    issuer: str | None = None,
    audience: str | list[str] | None = None,
    name: str | None = None,
    avatar_url: str | None = None,
    conversations: Iterable[str] | None = None,
    claims: Mapping[str, Any] | None = None,
    algorithm: str = "HS256",
    headers: Mapping[str, Any] | None = None,
    now: float | None = None,
    user_id_claim: str = "sub",
    name_claim: str = "name",
    avatar_url_claim: str = "picture",
    conversations_claim: str = "conversations",
) -> str:
    """Signs a token a client passes to ``createClient({ token })`` (or ``hello.token``).

    Args:
        user_id: the user's id (1-128 characters), in ``sub``.
        key: the HS256 shared secret (``auth.jwt.secret``, at least 32 characters), or a
            private key for RS256/ES256/EdDSA when parley-server uses ``auth.jwt.jwksUrl``
            (those need PyJWT's ``cryptography`` extra).
        expires_in: lifetime in seconds (or a ``timedelta``). parley-server asks the client for
            a fresh token in-band before it runs out. Default: one hour.
        issuer: ``iss``; set it when ``auth.jwt.issuer`` is configured.
        audience: ``aud``; set it when ``auth.jwt.audience`` is configured.
        name: display name stored on the user's messages (``name``).
        avatar_url: avatar URL stored on the user's messages (``picture``).
        conversations: the user's conversation ids, for ``membership.mode: "claim"``.
        claims: any other claims (they win over the ones above, except ``exp``/``iat``).
        algorithm: default HS256.
        headers: extra JOSE headers, e.g. ``{"kid": "key-2"}`` for a JWKS with several keys.
        now: the current time in seconds since the epoch (tests). Default: ``time.time()``.

    Raises:
        InvalidArgumentError: empty or over-long user id, an HS secret shorter than 32
            characters, a lifetime that is not positive, or a token over 8 KiB.
    """
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= MAX_ID_LENGTH:
        raise InvalidArgumentError("user_id must be a string of 1-128 characters")
    if algorithm.startswith("HS"):
        secret = key.encode() if isinstance(key, str) else key
        if not isinstance(secret, bytes) or len(secret) < MIN_HMAC_SECRET_LENGTH:
            raise InvalidArgumentError(
                f"an {algorithm} secret must be at least {MIN_HMAC_SECRET_LENGTH} characters "
                "(parley-server refuses shorter ones)"
            )
    lifetime = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    if not lifetime > 0:
        raise InvalidArgumentError("expires_in must be positive")
    issued = int(time.time() if now is None else now)
    payload: dict[str, Any] = {user_id_claim: user_id}
    if issuer is not None:
        payload["iss"] = issuer
    if audience is not None:
        payload["aud"] = audience
    if name is not None:
        payload[name_claim] = name
    if avatar_url is not None:
        payload[avatar_url_claim] = avatar_url
    if conversations is not None:
        payload[conversations_claim] = list(conversations)
    payload.update(claims or {})
    payload["iat"] = issued
    payload["exp"] = issued + math.ceil(lifetime)
    token = jwt.encode(payload, key, algorithm=algorithm, headers=dict(headers or {}) or None)
    if len(token.encode()) > MAX_TOKEN_BYTES:
        raise InvalidArgumentError(
            f"the token is {len(token)} bytes, over parley-server's {MAX_TOKEN_BYTES}: "
            "fewer conversations in the claim (use membership callbacks for large lists)"
        )
    return token
