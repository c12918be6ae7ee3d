"""The console's Follow-ups page under AppTest, against a real API process nobody was online on
when the user left their message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.apptest import AGENT_APP, alerts, app, button, no_exception, plain
from tests.ui.conftest import ApiProcess, start_api, stop

FOLLOWUPS_PAGE = "page_followups.py"


@pytest.fixture(scope="module")
def quiet_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    live = start_api(tmp_path_factory.mktemp("quiet"))
    try:
        yield live
    finally:
        stop(live.process)


def test_an_agent_sees_a_followup_with_a_mailto_link_and_marks_it_done(
    quiet_api: ApiProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_API_URL", quiet_api.url)
    session, user = quiet_api.user_room()
    user.leave_followup(session.room_id, "ann+shop@example.com", "Where is order 1234?\nThanks")
    agent = quiet_api.add_agent("Gus")
    at = app(AGENT_APP).run()
    at.text_input(key="login_email").input(agent.email)
    at.text_input(key="login_password").input(agent.password)
    at.button[0].click().run()
    no_exception(at)
    assert not any(b.label == "Log in" for b in at.button), alerts(at)

    at.switch_page(FOLLOWUPS_PAGE).run()
    no_exception(at)
    assert [t.value for t in at.title] == ["Follow-ups"]
    page = " ".join(plain(m.value).replace("\u2060", "") for m in at.markdown)
    assert "ann+shop@example.com" in page and "Where is order 1234?" in page
    [link] = at.get("link_button")
    assert link.proto.url == "mailto:ann+shop@example.com"

    button(at, "Mark done").click().run()
    no_exception(at)
    assert "Marked done." in alerts(at)
    assert any("No open follow-ups" in a for a in alerts(at)), alerts(at)
    [done] = quiet_api.agent_client(agent).followups("done")
    assert done["done_by"]["name"] == "Gus"
