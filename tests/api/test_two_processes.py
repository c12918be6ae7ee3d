"""Two API processes behind Redis share rooms: production's shape, on real MariaDB and Redis."""

from __future__ import annotations

import json

import pytest
import websockets

from tests.api.test_ws import message_from, next_frame, of_type
from tests.conftest import REDIS_URL, auth, make_settings, require_service, start_server

pytestmark = [pytest.mark.mariadb, pytest.mark.redis]


async def test_a_user_on_one_process_and_an_agent_on_another_talk(mariadb_url: str) -> None:
    require_service("Redis", 6379)
    settings = make_settings(mariadb_url, redis_url=REDIS_URL)
    async for one in start_server(settings):
        async for two in start_server(settings):
            _, agent_token = await two.add_agent("Alice")
            room_id, token = await one.new_room()
            async with (
                websockets.connect(f"{two.ws_url}/ws/agent?token={agent_token}") as console,
                websockets.connect(f"{one.ws_url}/ws/rooms/{room_id}?token={token}") as user,
            ):
                await next_frame(console, of_type("queue"))
                await next_frame(user, of_type("room"))
                # Alice is online through process two; the handoff on process one sees it.
                await user.send(json.dumps({"type": "message", "text": "I want a human"}))
                queued = await next_frame(console, lambda f: f["type"] == "queue" and f["rooms"])
                assert [r["id"] for r in queued["rooms"]] == [room_id]

                joined = await two.http.post(
                    f"/api/rooms/{room_id}/join", headers=auth(agent_token)
                )
                assert joined.json()["status"] == "agent"
                await next_frame(
                    user, lambda f: f["type"] == "room" and f["room"]["status"] == "agent"
                )

                await user.send(json.dumps({"type": "message", "text": "hello from one"}))
                seen = await next_frame(console, message_from("user"))
                assert seen["message"]["text"] == "hello from one"
                await console.send(
                    json.dumps({"type": "message", "room_id": room_id, "text": "hi from two"})
                )
                answer = await next_frame(user, message_from("agent"))
                assert answer["message"]["text"] == "hi from two"
            seqs = [m.seq for m in await one.tandem.rooms.messages(room_id, after=0, limit=50)]
            assert seqs == list(range(1, len(seqs) + 1))
