"""Visitor identity: a server-issued, signed id that links the rooms one browser opens.

The user chat keeps the signed id in a cookie and sends it when it opens a room or comes back
to the plain address; the server only ever accepts an id it signed itself, so a client cannot
choose one (and with it read another visitor's rooms). The signature is an HMAC-SHA256 of the
id under a key derived from `TANDEM_JWT_SECRET`: rotating the secret starts every visitor anew.

Holding the signed id is what lets a browser resume its open chat (`POST /api/visitors/resume`
gives a fresh room token for it), as holding a room token lets it read that one room.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid

from fastapi import HTTPException, status

from api.auth import create_room_token
from api.deps import Tandem
from db import visitors
from db.models import RoomPublic

_ID = re.compile(r"^[0-9a-f]{32}$")
_LABEL = b"tandem-visitor-v1"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def sign(visitor_id: str, *, secret: str) -> str:
    mac = hmac.new(_key(secret), visitor_id.encode(), hashlib.sha256).digest()
    return f"{visitor_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def verify(signed: str | None, *, secret: str) -> str | None:
    """The visitor id inside `signed` if this server signed it, else None."""
    if not signed or len(signed) > 100:
        return None
    visitor_id, _, _ = signed.partition(".")
    if not _ID.match(visitor_id):
        return None
    return visitor_id if hmac.compare_digest(sign(visitor_id, secret=secret), signed) else None


def _secret(tandem: Tandem) -> str:
    return tandem.settings.jwt_secret.get_secret_value()


def resolve(tandem: Tandem, signed: str | None) -> tuple[str, str]:
    """(visitor id, signed id): the one offered if it is ours, else a new one."""
    secret = _secret(tandem)
    visitor_id = verify(signed, secret=secret) or uuid.uuid4().hex
    return visitor_id, sign(visitor_id, secret=secret)


def room_token(tandem: Tandem, room_id: str) -> str:
    return create_room_token(
        room_id=room_id,
        secret=_secret(tandem),
        days=tandem.settings.room_token_expire_days,
    )


async def resume(tandem: Tandem, signed: str) -> tuple[RoomPublic, str]:
    """The visitor's newest open room and a fresh token for it: 401 for an id we did not
    sign, 404 when the visitor has no open chat (the chat then opens a new one)."""
    visitor_id = verify(signed, secret=_secret(tandem))
    if visitor_id is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Unknown visitor.")
    async with tandem.db.session() as session:
        room_id = await visitors.open_room_of(session, visitor_id=visitor_id)
    if room_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "This visitor has no open chat.")
    return await tandem.rooms.get_room(room_id), room_token(tandem, room_id)
