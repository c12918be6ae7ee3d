"""Passwords (argon2), agent JWTs and room tokens (python-jose, HS256 pinned on decode).

An agent token says who the agent is, their role and their token version (a token whose
version is not the agent's current one is void); a room token grants one anonymous user
access to one room and nothing else. Both travel as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from jose import JWTError, jwt

from db.models import Role, utcnow

ALGORITHM = "HS256"
_hasher = PasswordHasher()
_hashing = ThreadPoolExecutor(
    max_workers=max(2, min(8, os.cpu_count() or 2)), thread_name_prefix="argon2"
)
"""argon2 runs here, off the event loop (each hash is CPU-heavy by design, takes 64 MiB and
releases the GIL; bench/login_stall.py). Its own small pool rather than asyncio.to_thread's:
a burst of logins queues here instead of taking every default worker and a gigabyte of memory
at once."""


class InvalidToken(Exception):
    """The token is malformed, expired, signed with another key or of the wrong kind."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_off_loop(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, hash_password, password)


async def verify_password_off_loop(password: str, password_hash: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing, verify_password, password, password_hash)


# A hash to verify against when the email is unknown, so a wrong email costs as long as a
# wrong password and response times do not reveal which accounts exist.
DUMMY_HASH = hash_password("tandem-no-such-agent")


@dataclass(frozen=True, slots=True)
class AgentClaims:
    agent_id: int
    role: Role
    version: int
    """The agent's token_version when it was issued: disabling or a new password bumps it."""
    expires_at: float
    """Unix time, for sockets that outlive a request."""


@dataclass(frozen=True, slots=True)
class RoomClaims:
    room_id: str
    expires_at: float


def _signing_key(secret: str) -> str:
    # Settings refuses short keys; an empty one here means start-up skipped resolve_jwt_secret.
    if not secret:
        raise RuntimeError("no token signing key: call api.jwt_secret.resolve_jwt_secret first")
    return secret


def create_agent_token(
    *, agent_id: int, role: Role, version: int, secret: str, minutes: int
) -> str:
    expire = utcnow() + timedelta(minutes=minutes)
    claims = {
        "sub": str(agent_id),
        "role": role.value,
        "ver": version,
        "typ": "agent",
        "exp": expire,
    }
    return jwt.encode(claims, _signing_key(secret), algorithm=ALGORITHM)


def create_room_token(*, room_id: str, secret: str, days: int) -> str:
    expire = utcnow() + timedelta(days=days)
    claims = {"sub": room_id, "typ": "room", "exp": expire}
    return jwt.encode(claims, _signing_key(secret), algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str) -> AgentClaims | RoomClaims:
    try:
        claims = jwt.decode(
            token, _signing_key(secret), algorithms=[ALGORITHM], options={"require_exp": True}
        )
    except JWTError as exc:
        raise InvalidToken(str(exc)) from exc
    kind: Literal["agent", "room"] | None = claims.get("typ")
    subject = claims.get("sub")
    expires_at = claims.get("exp")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("token has no subject")
    if not isinstance(expires_at, int | float):
        raise InvalidToken("token has a bad expiry")
    if kind == "room":
        return RoomClaims(room_id=subject, expires_at=float(expires_at))
    if kind == "agent":
        version = claims.get("ver")
        if not isinstance(version, int) or isinstance(version, bool):
            # Tokens from before token versions: the agent logs in again.
            raise InvalidToken("agent token has no version")
        try:
            return AgentClaims(
                agent_id=int(subject),
                role=Role(claims.get("role")),
                version=version,
                expires_at=float(expires_at),
            )
        except ValueError as exc:
            raise InvalidToken("agent token has a bad subject or role") from exc
    raise InvalidToken("unknown token type")
