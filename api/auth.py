"""Passwords (argon2), agent JWTs and room tokens (python-jose, HS256 pinned on decode).

An agent token says who the agent is and their role; a room token grants one anonymous user
access to one room and nothing else. Both travel as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from jose import JWTError, jwt

from db.models import Role, utcnow

ALGORITHM = "HS256"
_hasher = PasswordHasher()


class InvalidToken(Exception):
    """The token is malformed, expired, signed with another key or of the wrong kind."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the email is unknown, so a wrong email costs as long as a
# wrong password and response times do not reveal which accounts exist.
DUMMY_HASH = hash_password("tandem-no-such-agent")


@dataclass(frozen=True, slots=True)
class AgentClaims:
    agent_id: int
    role: Role


@dataclass(frozen=True, slots=True)
class RoomClaims:
    room_id: str


def create_agent_token(*, agent_id: int, role: Role, secret: str, minutes: int) -> str:
    expire = utcnow() + timedelta(minutes=minutes)
    claims = {"sub": str(agent_id), "role": role.value, "typ": "agent", "exp": expire}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def create_room_token(*, room_id: str, secret: str, days: int) -> str:
    expire = utcnow() + timedelta(days=days)
    return jwt.encode({"sub": room_id, "typ": "room", "exp": expire}, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str) -> AgentClaims | RoomClaims:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require_exp": True})
    except JWTError as exc:
        raise InvalidToken(str(exc)) from exc
    kind: Literal["agent", "room"] | None = claims.get("typ")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("token has no subject")
    if kind == "room":
        return RoomClaims(room_id=subject)
    if kind == "agent":
        try:
            return AgentClaims(agent_id=int(subject), role=Role(claims.get("role")))
        except ValueError as exc:
            raise InvalidToken("agent token has a bad subject or role") from exc
    raise InvalidToken("unknown token type")
