"""The user chat's "How did we do?" under AppTest, against a real API process: the rating is
stored once, thanks the user, and shows in the statistics (read from the rollups)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

from tests.ui.apptest import ROOT, TIMEOUT, USER_APP, alerts, app, button, no_exception
from tests.ui.conftest import ApiProcess

ASK = "How did we do?"
STATS_APP = str(ROOT / "ui_agent" / "stats_app.py")


def asked(at: object) -> bool:
    return any(ASK in m.value for m in at.markdown)  # type: ignore[attr-defined]


def test_a_closed_chat_asks_for_a_rating_that_reaches_the_statistics(use_api: ApiProcess) -> None:
    at = app(USER_APP).run()
    at.chat_input[0].set_value("Can I change my delivery address?").run()
    assert not asked(at)  # not while the chat is open
    room_id = at.session_state["chat"].room_id
    button(at, "End chat").click().run()
    no_exception(at)
    assert asked(at)

    button(at, "Send rating").click().run()  # no stars yet: refused, nothing sent
    assert any("Pick one to five stars" in a for a in alerts(at)), alerts(at)
    at.feedback[0].set_value(3).run()  # the fourth star
    at.text_input[0].set_value("Quick answer").run()
    button(at, "Send rating").click().run()
    no_exception(at)
    assert not asked(at)
    assert any("Thanks for your rating: ★★★★" in a for a in alerts(at)), alerts(at)

    # Reopening the same (ended) chat by its old link thanks again instead of asking twice.
    again = app(USER_APP)
    again.query_params.update(room=room_id, token=at.session_state["chat"].client.token)
    again.run()
    assert not asked(again)
    assert any("Thanks for your rating" in a for a in alerts(again)), alerts(again)

    analyst = use_api.agent_client(use_api.add_agent("Rita", role="analyst"))
    today = datetime.now(UTC).date().isoformat()
    deadline = time.monotonic() + 30  # the API's fold runs every few seconds
    while True:
        ratings = analyst.stats(**{"from": today, "to": today, "tz": "UTC"})["ratings"]
        if ratings["count"] >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert ratings["by_score"][3] >= 1 and ratings["count"] >= 1, ratings
    assert any(a["name"] == "Assistant" for a in ratings["by_agent"]), ratings

    # The Stats page shows them: its default range (30 days, UTC) holds today.
    assert analyst.token is not None
    stats = AppTest.from_file(STATS_APP, default_timeout=TIMEOUT)
    stats.session_state["stats_token"] = analyst.token
    stats.run()
    no_exception(stats)
    shown = {m.label: m.value for m in stats.metric}
    assert shown["Ratings"] == str(ratings["count"])
    assert shown["CSAT (4–5 stars)"] == f"{ratings['csat'] * 100:.0f} %"
    assert shown["Average rating"] == f"{ratings['average']:.1f} / 5"
    credited = [f for f in stats.dataframe if "Credited to" in f.value.columns]
    assert "Assistant" in list(credited[0].value["Credited to"])


def test_a_chat_the_user_never_wrote_in_is_not_rated(use_api: ApiProcess) -> None:
    at = app(USER_APP).run()
    button(at, "Talk to a person").click().run()  # opens a room without a message
    button(at, "End chat").click().run()
    no_exception(at)
    assert not asked(at)
