"""Follow-ups: when no agent is online, the user leaves an email and a message for later.

Their room closes with reason `followup` in the transaction that stores the follow-up
(`RoomService.close_as`), so the statistics count it apart from other closes and nothing is
left half-done. Agents list them, open one and mark it done; Tandem sends no mail (the console
gives a `mailto:` link).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Tandem
from api.room_states import NOTICE_FOLLOWUP, RoutingError
from db import followups, queries
from db.models import Room, RoomStatus, utcnow
from db.team_models import FollowupPublic


class FollowupNotFound(RoutingError):
    def __init__(self) -> None:
        super().__init__("not_found", "No such follow-up.", status=404)


async def leave(tandem: Tandem, room_id: str, *, email: str, text: str) -> FollowupPublic:
    """Store the follow-up and close the room. 409 `agents_online` when an agent could take
    the chat now (ask for a person instead), 409 `room_closed` when the chat has ended."""
    email, text = email.strip(), text.strip()
    if not text:
        raise RoutingError("bad_request", "The message is empty.", status=422)
    now = utcnow()

    async def store(session: AsyncSession, room: Room) -> bool:
        if room.status in (RoomStatus.waiting, RoomStatus.agent):
            raise RoutingError(
                "agents_online", "This chat is with the team already: write here.", status=409
            )
        window = tandem.presence.window
        if await queries.count_online_agents(session, now=now, window=window) > 0:
            raise RoutingError(
                "agents_online", "An agent is online now: ask for a person instead.", status=409
            )
        await followups.add_followup(session, room_id=room.id, email=email, text=text, now=now)
        return True

    closed = await tandem.rooms.close_as(
        room_id, reason="followup", notice=NOTICE_FOLLOWUP, check=store
    )
    if not closed:
        raise RoutingError("room_closed", "This chat is closed; start a new one.")
    async with tandem.db.session() as session:
        [found] = await followups.list_for_room(session, room_id=room_id)
    return found


async def listing(tandem: Tandem, *, done: bool | None, limit: int) -> list[FollowupPublic]:
    async with tandem.db.session() as session:
        return await followups.list_followups(session, done=done, limit=limit)


async def get(tandem: Tandem, followup_id: int) -> FollowupPublic:
    async with tandem.db.session() as session:
        found = await followups.get_followup(session, followup_id=followup_id)
    if found is None:
        raise FollowupNotFound()
    return found


async def mark_done(tandem: Tandem, followup_id: int, *, agent_id: int) -> FollowupPublic:
    async with tandem.db.write(notify=False) as session:
        if not await followups.mark_done(
            session, followup_id=followup_id, agent_id=agent_id, now=utcnow()
        ):
            raise FollowupNotFound()
    return await get(tandem, followup_id)
