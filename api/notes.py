"""Private notes: written by the agent holding a room (or an admin), read by agents only.

A note is not a message: it is stored in its own table (db/team.py) and its frame,
`{"type":"note","note":Note}`, goes to agents' channels (`agent_channel`) only: the holding
agent's and the author's. It is never published on the room's channel, so nothing reachable
with a room token (the room's WebSocket, its messages, the NDJSON stream) carries one, and the
AI's prompt, built from messages, never sees one.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException, status

from api.deps import Tandem
from api.frames import agent_channel
from api.room_states import RoutingError
from db import team
from db.models import Agent, AgentRef, Role, RoomPublic, RoomStatus
from db.team_models import NotePublic

log = logging.getLogger(__name__)


def note_frame(note: NotePublic) -> str:
    return '{"type":"note","note":' + note.model_dump_json() + "}"


def check_reader(agent: Agent | None) -> Agent:
    """Agents and admins read notes; a room token or an analyst: 403."""
    if agent is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Private notes are for agents only.")
    if agent.role is Role.analyst:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Analysts do not read private notes.")
    return agent


def holds(agent: Agent, room: RoomPublic) -> bool:
    return room.status is RoomStatus.agent and room.agent is not None and room.agent.id == agent.id


async def add(tandem: Tandem, room_id: str, *, agent: Agent | None, text: str) -> NotePublic:
    """Store a note by `agent` (the room's holder, or an admin) and push it to the agents."""
    author = check_reader(agent)
    assert author.id is not None
    room = await tandem.rooms.get_room(room_id)  # RoomNotFound: 404
    if author.role is not Role.admin and not holds(author, room):
        raise RoutingError(
            "not_your_room",
            "Only the agent holding this chat (or an admin) adds notes.",
            status=403,
        )
    text = text.strip()
    if not text:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "The note is empty.")
    async with tandem.db.write(notify=False) as session:
        note = await team.add_note(
            session, room_id=room_id, agent=AgentRef(id=author.id, name=author.name), text=text
        )
    channels = {agent_channel(author.id)}
    if room.agent is not None:
        channels.add(agent_channel(room.agent.id))
    frame = note_frame(note)
    try:
        await tandem.hub.publish_many([(channel, frame) for channel in sorted(channels)])
    except Exception:  # stored: readers get it from GET .../notes
        log.warning("could not publish note %s of room %s", note.id, room_id, exc_info=True)
    return note


async def list_for(tandem: Tandem, room_id: str, *, agent: Agent | None) -> list[NotePublic]:
    check_reader(agent)
    await tandem.rooms.get_room(room_id)  # RoomNotFound: 404
    async with tandem.db.session() as session:
        return await team.list_notes(session, room_id=room_id)
