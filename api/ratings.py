"""Ratings: the user's "How did we do?" once their chat is closed (rules: db/ratings.py).

Only the room's own user rates (its room token), once, on a closed room they wrote in; the
rating is credited to the last agent who held the chat, or to the AI when none did
(DECISIONS #11). The commit wakes the statistics fold like any write.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from api.deps import Principal, Tandem
from api.room_states import RoutingError
from db import ratings, transcripts
from db.models import Role, utcnow
from db.team_models import RatingPublic


async def rate(
    tandem: Tandem, room_id: str, *, principal: Principal, score: int, comment: str | None
) -> RatingPublic:
    if principal.agent is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only the chat's user rates it.")
    comment = (comment or "").strip() or None
    try:
        async with tandem.db.write() as session:
            await ratings.rate_room(
                session, room_id=room_id, score=score, comment=comment, at=utcnow()
            )
    except ratings.RatingRefused as refused:
        raise RoutingError(refused.code, refused.detail, status=409) from None
    found = await read(tandem, room_id)
    assert found is not None
    return found


async def read(tandem: Tandem, room_id: str) -> RatingPublic | None:
    async with tandem.db.session() as session:
        return await ratings.rating_of(session, room_id=room_id)


async def read_for(tandem: Tandem, room_id: str, *, principal: Principal) -> RatingPublic | None:
    """The room's user, and whoever may read its transcript (analysts, admins, the agents who
    held it), see its rating."""
    await tandem.rooms.get_room(room_id)  # RoomNotFound: 404
    agent = principal.agent
    if agent is not None and agent.role not in (Role.analyst, Role.admin):
        assert agent.id is not None
        async with tandem.db.session() as session:
            if not await transcripts.took_part(session, room_id=room_id, agent_id=agent.id):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, "Agents read only the ratings of their chats."
                )
    return await read(tandem, room_id)
