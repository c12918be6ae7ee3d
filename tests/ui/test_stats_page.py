"""The statistics page (ui_agent/stats_page.py) under AppTest, against a real API process whose
SQLite database `tandem demo-data` filled, the way an operator would."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.apptest import ROOT, TIMEOUT, alerts, captions, no_exception
from tests.ui.conftest import Agent, ApiProcess
from ui_agent.stats_page import (
    NO_CHANGE,
    count_delta,
    delta_props,
    duration,
    highlight,
    percent,
    rate_delta,
    seconds_delta,
    zone_choices,
)
from ui_common.client import TandemClient

STATS_APP = str(ROOT / "ui_agent" / "stats_app.py")
CONVERSATIONS = 120
ANALYST = "demo-analyst@tandem.example"


@pytest.fixture(scope="module")
def demo(api: ApiProcess) -> ApiProcess:
    """120 demo chats over the last 10 days, in the database the API serves."""
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "demo-data", "--conversations", str(CONVERSATIONS),
         "--days", "10", "--seed", "7"],
        env=api.env, cwd=Path(ROOT), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"Inserted {CONVERSATIONS} conversations" in done.stdout
    # The demo accounts get random passwords, printed once: "  email<TAB>name<TAB>role<TAB>pw".
    (line,) = [line for line in done.stdout.splitlines() if line.strip().startswith(ANALYST)]
    _, name, role, password = line.strip().split("\t")
    api.agents[ANALYST] = Agent(email=ANALYST, name=name, role=role, password=password)
    return api


def page(api: ApiProcess, token: str) -> AppTest:
    at = AppTest.from_file(STATS_APP, default_timeout=TIMEOUT)
    at.session_state["stats_token"] = token
    return at.run()


def metrics(at: AppTest) -> dict[str, Any]:
    return {m.label: m for m in at.metric}


def api_stats(client: TandemClient, tz: str) -> dict[str, Any]:
    """What the page should show: the default range, asked of the API directly."""
    today = date.today()
    period = {"from": str(today - timedelta(days=29)), "to": str(today), "tz": tz}
    return client.stats(**period)


def test_kpis_table_and_charts_show_the_api_numbers(demo: ApiProcess, use_api: ApiProcess) -> None:
    client = demo.client()
    token = client.login(ANALYST, demo.agents[ANALYST].password)
    at = page(demo, token)
    no_exception(at)
    expected = api_stats(client, "UTC")
    assert expected["conversations"]["started"] == CONVERSATIONS

    shown = metrics(at)
    assert shown["Conversations"].value == str(CONVERSATIONS)
    assert shown["Conversations"].delta == ""  # nothing in the 30 days before: no delta
    c = expected["conversations"]
    assert shown["AI resolved alone"].value == percent(c["containment_rate"])
    assert shown["Handed to a human"].value == percent(c["handoff_rate"])
    assert shown["No agent online"].value == str(expected["no_agent"]["requests"])
    assert shown["Median wait"].value == duration(expected["wait_seconds"]["p50"])
    assert shown["Median first reply"].value == duration(expected["first_response_seconds"]["p50"])
    assert shown["Median length"].value == duration(expected["duration_seconds"]["p50"])

    table = at.dataframe[0].value
    assert list(table["Agent"]) == [a["name"] for a in expected["agents"]]
    assert list(table["Chats"]) == [a["chats"] for a in expected["agents"]]
    assert sum(table["Chats"]) >= c["served_by_agent"] > 0
    assert list(table["Median first reply (s)"]) == pytest.approx(
        [a["first_response_p50"] for a in expected["agents"]]
    )
    h = expected["handoffs"]
    assert f"{h['answered']} handoffs answered · {h['abandoned']} abandoned in the queue" in (
        " ".join(captions(at))
    )
    # volume, waits, reasons, the heatmap; and ratings per day (demo chats are rated)
    assert expected["ratings"]["count"] > 0
    assert len(at.get("vega_lite_chart")) == 5
    assert metrics(at)["Ratings"].value == f"{expected['ratings']['count']:,}"
    assert len(at.download_button) == 1  # the CSV

    # Another zone: the same chats (all well inside the range), fetched anew.
    at.selectbox(key="stats_tz").select("Europe/Berlin").run()
    no_exception(at)
    assert metrics(at)["Conversations"].value == str(CONVERSATIONS)
    berlin = api_stats(client, "Europe/Berlin")
    assert berlin["range"]["tz"] == "Europe/Berlin"
    assert sum(map(sum, berlin["by_hour_of_week"])) == CONVERSATIONS


def test_the_live_strip_shows_the_queue_and_team_now(demo: ApiProcess, use_api: ApiProcess) -> None:
    client = demo.client()
    at = page(demo, client.login(ANALYST, demo.agents[ANALYST].password))
    no_exception(at)
    live = client.get("/api/stats/live")
    shown = metrics(at)
    assert shown["Waiting now"].value == str(live["waiting"])
    assert shown["With an agent"].value == str(live["with_agent"])
    assert shown["Agents online"].value == str(live["agents_online"])
    if live["waiting"]:  # the demo's still-waiting chats have waited days by now
        assert shown["Longest current wait"].value.endswith("min")
    else:
        assert shown["Longest current wait"].value == "–"
    assert "Live · updated every 5 s" in captions(at)


def test_search_open_and_download_a_transcript(demo: ApiProcess, use_api: ApiProcess) -> None:
    client = demo.client()
    at = page(demo, client.login(ANALYST, demo.agents[ANALYST].password))
    at.text_input(key="stats_q").input("tracking").run()
    no_exception(at)
    picker = at.selectbox(key="stats_pick")
    assert picker.options, "no conversation mentions tracking"
    picker.select_index(0).run()
    no_exception(at)
    room_id = str(at.selectbox(key="stats_pick").value)
    found = client.search_transcripts("tracking", limit=25)["results"]
    assert room_id == found[0]["room_id"]  # newest first, as the API lists them
    record = client.transcript(room_id)
    bubbles = [m for m in record["messages"] if m["sender"] != "system"]
    assert len(at.chat_message) == len(bubbles) > 0
    assert len(at.download_button) == 2  # the CSV and this transcript's JSON

    at.text_input(key="stats_q").input("no-such-words-anywhere").run()
    assert "No conversation of this period mentions that." in captions(at)


def test_an_agent_is_told_it_needs_another_role(demo: ApiProcess, use_api: ApiProcess) -> None:
    agent = demo.agents.get("Stan") or demo.add_agent("Stan")
    at = page(demo, demo.client().login(agent.email, agent.password))
    no_exception(at)
    assert "Statistics need the analyst or admin role." in alerts(at)
    assert not at.metric


def test_the_period_before_is_the_delta(demo: ApiProcess, use_api: ApiProcess) -> None:
    """Two weeks that each hold demo chats: the tile shows the difference to the week before."""
    client = demo.client()
    at = page(demo, client.login(ANALYST, demo.agents[ANALYST].password))
    today = datetime.now(UTC).date()
    last = today - timedelta(days=1)
    week = (last - timedelta(days=4), last)
    at.date_input(key="stats_days").set_value(week).run()
    no_exception(at)
    now = client.stats(**{"from": str(week[0]), "to": str(week[1]), "tz": "UTC"})
    before = client.stats(
        **{"from": str(week[0] - timedelta(days=5)), "to": str(week[0] - timedelta(days=1))}
    )
    n, b = now["conversations"]["started"], before["conversations"]["started"]
    assert n > 0 and b > 0
    tile = metrics(at)["Conversations"]
    assert tile.value == str(n)
    assert tile.delta == f"{n - b:+,}"


def test_an_empty_period_says_so_instead_of_empty_charts(
    demo: ApiProcess, use_api: ApiProcess
) -> None:
    client = demo.client()
    at = page(demo, client.login(ANALYST, demo.agents[ANALYST].password))
    before_any = date.today() - timedelta(days=200)  # the demo chats are from the last 10 days
    at.date_input(key="stats_days").set_value((before_any, before_any + timedelta(days=6))).run()
    no_exception(at)
    assert metrics(at)["Conversations"].value == "0"
    assert not at.get("vega_lite_chart")  # no 0.000000 axes, no solid heatmap
    assert any(a.startswith("No conversation started in this period") for a in alerts(at))


def test_search_results_list_marks_the_term_safely(demo: ApiProcess, use_api: ApiProcess) -> None:
    client = demo.client()
    at = page(demo, client.login(ANALYST, demo.agents[ANALYST].password))
    at.text_input(key="stats_q").input("tracking").run()
    no_exception(at)
    (listing,) = [h for h in at.get("html") if "<ol" in h.proto.body]
    assert "<mark>tracking</mark>" in listing.proto.body.lower()
    assert " UTC · " in listing.proto.body  # each hit has its time, in the page's zone


def transfers_now(client: TandemClient) -> dict[str, Any]:
    transfers: dict[str, Any] = api_stats(client, "UTC")["transfers"]
    return transfers


def test_transfers_are_shown_by_reason(demo: ApiProcess, use_api: ApiProcess) -> None:
    """An agent takes a waiting chat and puts it back in the queue: once the API counts the
    transfer, the page shows it under "Back to the queue" and in the total."""
    analyst = demo.client()
    token = analyst.login(ANALYST, demo.agents[ANALYST].password)
    before = transfers_now(analyst)
    at = page(demo, token)
    no_exception(at)
    if not before["total"]:  # the demo data has no transfers
        assert "No chat of this period was transferred." in captions(at)
        assert "Transfers" not in metrics(at)

    agent = demo.agent_client(demo.add_agent("Tess"))
    waiting = agent.queue()  # the demo's still-waiting chats, inside the page's period
    assert waiting, "the demo data should leave some chats waiting"
    agent.join(waiting[0].id)
    agent.request("POST", f"/api/rooms/{waiting[0].id}/transfer", json={"queue": True})
    deadline = time.monotonic() + 30  # /api/stats reads the rollups: the next fold round
    while (after := transfers_now(analyst))["total"] == before["total"]:
        assert time.monotonic() < deadline, "the transfer never reached /api/stats"
        time.sleep(0.5)
    assert after["total"] == before["total"] + 1

    at = page(demo, token)
    no_exception(at)
    shown = metrics(at)
    assert shown["Transfers"].value == f"{after['total']:,}"
    reasons = {r["reason"]: r for r in after["by_reason"]}
    queue = reasons["queue"]
    assert shown["Back to the queue"].value == f"{queue['requests']:,}"
    others = reasons.get("agent", {"requests": 0})
    assert shown["To another agent"].value == f"{others['requests']:,}"
    chats = queue["conversations"]
    assert f"in {chats} chat{'s' if chats != 1 else ''}" in captions(at)


def test_highlight_escapes_first_then_marks() -> None:
    assert highlight("<b>Refund</b> & refund", "refund") == (
        "&lt;b&gt;<mark>Refund</mark>&lt;/b&gt; &amp; <mark>refund</mark>"
    )
    assert highlight("a & b", "&") == "a <mark>&amp;</mark> b"
    assert highlight("<img src=x onerror=alert(1)>", "img") == (
        "&lt;<mark>img</mark> src=x onerror=alert(1)&gt;"
    )


def test_edges_of_the_numbers() -> None:
    assert duration(360) == "6 min 0 s"
    assert duration(3600) == "1 h 0 min"
    assert count_delta(5, 5) == NO_CHANGE
    assert delta_props(NO_CHANGE) == {
        "delta": NO_CHANGE,
        "delta_color": "off",
        "delta_arrow": "off",
    }
    assert seconds_delta(100.0, 100.2) == NO_CHANGE
    assert seconds_delta(400.0, 40.0) == "+6 min 0 s"
    assert rate_delta(0.5, 0.5) == NO_CHANGE
    assert zone_choices("Asia/Kathmandu")[0] == "Asia/Kathmandu"
    assert zone_choices("Europe/Berlin").count("Europe/Berlin") == 1
    assert zone_choices(None)[0] == "UTC"
    assert zone_choices("Not/AZone")[0] == "UTC"
