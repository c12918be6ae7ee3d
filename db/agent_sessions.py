"""Console sessions: a revocable "stay logged in" that the browser keeps instead of a JWT.

The secret is 32 random bytes (URL-safe); only its SHA-256 is stored, so a database read does
not hand anyone a session. A session is good while not revoked, not expired, and issued at the
agent's current `token_version` (disabling an agent or resetting their password bumps it).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AgentSession

sessions_t = AgentSession.__table__  # type: ignore[attr-defined]

SECRET_BYTES = 32
SECRET_MAX = 128
"""Longer input is no session of ours: refused before hashing."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "backslashreplace")).hexdigest()


async def create_session(
    session: AsyncSession, *, agent_id: int, token_version: int, now: datetime, days: float
) -> tuple[str, datetime]:
    """A new session for the agent: (the secret, when it expires)."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    expires = now + timedelta(days=days)
    await session.execute(
        sa.insert(sessions_t).values(
            id=digest(secret),
            agent_id=agent_id,
            token_version=token_version,
            created_at=now,
            expires_at=expires,
        )
    )
    return secret, expires


async def find_live(session: AsyncSession, *, secret: str, now: datetime) -> tuple[int, int] | None:
    """(agent id, token version) of a session neither revoked nor expired; the caller checks
    the version against the agent's."""
    if not secret or len(secret) > SECRET_MAX:
        return None
    row = (
        await session.execute(
            sa.select(sessions_t.c.agent_id, sessions_t.c.token_version).where(
                sessions_t.c.id == digest(secret),
                sessions_t.c.revoked_at.is_(None),
                sessions_t.c.expires_at > now,
            )
        )
    ).first()
    return None if row is None else (int(row.agent_id), int(row.token_version))


async def revoke(session: AsyncSession, *, secret: str, now: datetime) -> None:
    """Idempotent: an unknown or already revoked secret is no error."""
    if not secret or len(secret) > SECRET_MAX:
        return
    await session.execute(
        sa.update(sessions_t)
        .where(sessions_t.c.id == digest(secret), sessions_t.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
