"""The console's "Previous conversations (n)" under AppTest, against a real API process: the
agent who takes a returning visitor's chat sees the earlier chat's transcript and rating."""

from __future__ import annotations

import time

from tests.ui.apptest import no_exception, plain
from tests.ui.conftest import ApiProcess
from tests.ui.test_agent_app import logged_in


def test_the_agent_sees_the_visitors_previous_chat_and_its_rating(use_api: ApiProcess) -> None:
    at, _ = logged_in(use_api, "Hana")
    user = use_api.client()
    earlier = user.create_room()
    user.token = earlier.token
    user.send(earlier.room_id, "My parcel 7788 is late")
    deadline = time.monotonic() + 10
    while not any(m.sender == "ai" for m in user.messages(earlier.room_id)):
        assert time.monotonic() < deadline, "the AI did not answer within 10 s"
        time.sleep(0.05)
    user.close_room(earlier.room_id)
    user.rate(earlier.room_id, 2, "too slow")

    now = user.create_room(visitor=earlier.visitor)  # the same browser, back later
    assert now.visitor == earlier.visitor
    user.token = now.token
    user.send(now.room_id, "Still no parcel")
    at.run()  # the console's poll: Hana is online
    assert user.request_human(now.room_id).status == "waiting"
    at.run()
    at.button(key=f"take-{now.room_id}").click().run()
    no_exception(at)

    [pane] = [e for e in at.expander if "Previous conversations" in e.label]
    assert "Previous conversations (1)" in pane.label
    texts = [plain(m.value) for m in pane.markdown]
    assert "My parcel 7788 is late" in texts, texts
    assert any("Rated ★★☆☆☆ (2/5) — “too slow”" in t for t in texts), texts

    # A first-time visitor's chat has no such pane.
    other, stranger = use_api.user_room("Hello, first time here")
    stranger.request_human(other.room_id)
    at.run()
    at.button(key=f"take-{other.room_id}").click().run()
    no_exception(at)
    assert not [e for e in at.expander if "Previous conversations" in e.label]
