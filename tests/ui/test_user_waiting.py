"""The queued user's status and grey note under AppTest, against an API process of their own:
the position and the wait estimate stay current (the stored notice keeps the old position)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.apptest import USER_APP, alerts, app, button, captions, no_exception
from tests.ui.conftest import ApiProcess, start_api, stop


@pytest.fixture(scope="module")
def queue_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    live = start_api(tmp_path_factory.mktemp("queue"))
    try:
        yield live
    finally:
        stop(live.process)


def test_the_note_and_the_status_follow_the_queue(
    queue_api: ApiProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_API_URL", queue_api.url)
    agent = queue_api.agent_client(queue_api.add_agent("Quinn"))
    agent.queue()  # online
    ahead, ahead_user = queue_api.user_room("first in line")
    assert ahead_user.request_human(ahead.room_id).status == "waiting"

    at = app(USER_APP).run()
    at.chat_input[0].set_value("Where is my parcel?").run()
    button(at, "Talk to a person").click().run()
    no_exception(at)
    status = alerts(at)[0]
    assert status.startswith("Waiting for an agent — you are #2"), status
    assert "shortly" in status  # no history of waits yet: no number
    notes = [c for c in captions(at) if c.startswith("Connecting you to a person")]
    assert notes == ["Connecting you to a person. You are #2 in the queue; an agent will be "
                     "with you shortly."], captions(at)  # fmt: skip

    agent.join(ahead.room_id)  # the one ahead is taken
    at.run()
    assert alerts(at)[0].startswith("Waiting for an agent — you are #1"), alerts(at)
    notes = [c for c in captions(at) if c.startswith("Connecting you to a person")]
    assert len(notes) == 1 and "You are #1 in the queue" in notes[0], captions(at)
