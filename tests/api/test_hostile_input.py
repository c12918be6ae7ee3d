"""What a hostile visitor sends stays with them: an error for them, nothing broken for others."""

from __future__ import annotations

import json

from tests.conftest import LiveServer, auth


async def test_a_422_never_echoes_a_large_body(sqlite_server: LiveServer) -> None:
    room_id, token = await sqlite_server.new_room()
    url = f"/api/rooms/{room_id}/messages"
    for body in (
        {"text": "hi", "client_id": "x" * 60_000},
        {"text": ["x" * 100] * 500},
        {"text": 1, "client_id": "\ud800" * 10_000},
    ):
        content = json.dumps(body)
        assert 50_000 < len(content) < 64 * 1024
        response = await sqlite_server.http.post(
            url, content=content, headers={**auth(token), "Content-Type": "application/json"}
        )
        assert response.status_code == 422
        assert len(response.content) < 2_000, response.text[:300]
        for error in response.json()["detail"]:
            assert set(error) == {"loc", "msg", "type"} and error["loc"][0] == "body"
    broken = await sqlite_server.http.post(
        url, content="{" + "x" * 60_000, headers={**auth(token), "Content-Type": "application/json"}
    )
    assert broken.status_code == 422 and len(broken.content) < 2_000
