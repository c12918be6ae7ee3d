"""Saved replies: canned answers agents insert in the console with `/shortcut`.

Admins write them; agents and admins read them; analysts get 403. The only placeholder is
`{agent_name}`, filled by the console when the reply is inserted (users are anonymous).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import BaseModel

from api.deps import Admin, ChatAgent, TandemDep
from api.responses import errors
from api.room_states import RoutingError
from db import team
from db.models import SEQ_MAX
from db.team_models import SavedReplyPublic, SavedReplyWrite

router = APIRouter(prefix="/api", tags=["team"])

ReplyId = Annotated[int, Path(ge=1, le=SEQ_MAX)]


class SavedReplyList(BaseModel):
    replies: list[SavedReplyPublic]


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`errors(...)` with what 404 and 409 mean here."""
    documented = errors(*statuses)
    if 404 in documented:
        documented[404] = {**documented[404], "description": "No such saved reply"}
    if 409 in documented:
        documented[409] = {
            **documented[409],
            "description": "Another saved reply has this shortcut (`code`: duplicate_shortcut)",
        }
    return documented


def _duplicate(shortcut: str) -> RoutingError:
    """A 409 with a `code` (the app's RoutingError handler answers `{"detail", "code"}`)."""
    return RoutingError("duplicate_shortcut", f"The shortcut /{shortcut} is taken.")


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "Saved reply not found.")


@router.get("/replies", responses=_documented(401, 403))
async def list_replies(_: ChatAgent, tandem: TandemDep) -> SavedReplyList:
    """Every saved reply, by shortcut."""
    async with tandem.db.session() as session:
        return SavedReplyList(replies=await team.list_replies(session))


@router.post(
    "/replies", status_code=status.HTTP_201_CREATED, responses=_documented(400, 401, 403, 409, 422)
)
async def create_reply(body: SavedReplyWrite, _: Admin, tandem: TandemDep) -> SavedReplyPublic:
    try:
        async with tandem.db.write(notify=False) as session:
            return await team.create_reply(
                session, shortcut=body.shortcut, title=body.title, text=body.text
            )
    except team.DuplicateShortcut:
        raise _duplicate(body.shortcut) from None


@router.put("/replies/{reply_id}", responses=_documented(400, 401, 403, 404, 409, 422))
async def update_reply(
    reply_id: ReplyId, body: SavedReplyWrite, _: Admin, tandem: TandemDep
) -> SavedReplyPublic:
    try:
        async with tandem.db.write(notify=False) as session:
            updated = await team.update_reply(
                session, reply_id=reply_id, shortcut=body.shortcut, title=body.title, text=body.text
            )
    except team.DuplicateShortcut:
        raise _duplicate(body.shortcut) from None
    if updated is None:
        raise _not_found()
    return updated


@router.delete(
    "/replies/{reply_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_documented(401, 403, 404, 422),
)
async def delete_reply(reply_id: ReplyId, _: Admin, tandem: TandemDep) -> Response:
    async with tandem.db.write(notify=False) as session:
        deleted = await team.delete_reply(session, reply_id=reply_id)
    if not deleted:
        raise _not_found()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
