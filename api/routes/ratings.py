"""The user's rating of a closed chat: `POST/GET /api/rooms/{id}/rating` (rules: api/ratings.py)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from api import ratings
from api.deps import RoomPrincipal, TandemDep
from api.responses import errors
from db.team_models import RatingCreate, RatingPublic

router = APIRouter(prefix="/api", tags=["ratings"])


class RatingState(BaseModel):
    rating: RatingPublic | None
    """null: not rated (yet)."""


@router.post(
    "/rooms/{room_id}/rating",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def rate_room(
    room_id: str, body: RatingCreate, principal: RoomPrincipal, tandem: TandemDep
) -> RatingPublic:
    """ "How did we do?": 1–5 and an optional comment, with the room token, once per room,
    on a closed room the user wrote in (409 otherwise, with a `code`)."""
    return await ratings.rate(
        tandem, room_id, principal=principal, score=body.score, comment=body.comment
    )


@router.get("/rooms/{room_id}/rating", responses=errors(401, 403, 404))
async def get_rating(room_id: str, principal: RoomPrincipal, tandem: TandemDep) -> RatingState:
    """The room's rating, if it has one (the user chat asks only while this is null)."""
    return RatingState(rating=await ratings.read_for(tandem, room_id, principal=principal))
