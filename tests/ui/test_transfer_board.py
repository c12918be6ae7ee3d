"""Status, transfers and the supervisor board in the console, under AppTest against a real API:
a transfer between two agents (the customer is told, the receiver is told with the note, the
note never reaches the customer), the Away switch, and the board's live view and takeover."""

from __future__ import annotations

import pytest

from tests.ui.apptest import alerts, captions, no_exception, plain
from tests.ui.conftest import ApiProcess
from tests.ui.test_agent_app import logged_in, sidebar_texts, waiting_room

BOARD_PAGE = "page_board.py"


def test_a_transfer_between_two_agents(use_api: ApiProcess) -> None:
    ann, _ = logged_in(use_api, "Ann")
    ben, ben_agent = logged_in(use_api, "Ben")  # logged in: online, with room for chats
    ben_id = use_api.agent_client(ben_agent).me().id
    session, user = waiting_room(use_api, "My invoice is wrong")
    room = session.room_id
    ann.run()
    ann.button(key=f"take-{room}").click().run()
    no_exception(ann)

    ann.selectbox(key=f"transfer-to-{room}").set_value(ben_id)
    ann.text_input(key=f"transfer-note-{room}").input("Billing: refund approved")
    ann.button(key=f"transfer-go-{room}").click().run()
    no_exception(ann)
    assert "Chat transferred." in alerts(ann)
    assert "No open chats" in sidebar_texts(ann)
    texts = [m.text for m in user.messages(room)]
    assert texts[-1] == "You're being transferred to Ben."
    assert all("refund approved" not in t for t in texts)

    ben.run()
    no_exception(ben)
    told = [a for a in alerts(ben) if a.startswith("New chat for you")]
    assert told and "My invoice is wrong" in told[0] and "Billing: refund approved" in told[0]
    assert "Note · Ann" in captions(ben)
    assert ben.chat_input(key=f"reply-{room}") is not None
    ben.chat_input(key=f"reply-{room}").set_value("Ben here, sorting it out").run()
    no_exception(ben)
    assert user.messages(room)[-1].text == "Ben here, sorting it out"


def test_the_away_switch(use_api: ApiProcess) -> None:
    at, agent = logged_in(use_api, "Awa")
    me = use_api.agent_client(agent)
    at.toggle(key="status_away").set_value(True).run()
    no_exception(at)
    mine = [a for a in me.get("/api/agents")["agents"] if a["name"] == "Awa"]
    assert mine[0]["status"] == "away" and mine[0]["online"] is False
    at.toggle(key="status_away").set_value(False).run()
    no_exception(at)
    mine = [a for a in me.get("/api/agents")["agents"] if a["name"] == "Awa"]
    assert mine[0]["status"] == "available"


def test_the_board_shows_everything_and_takes_over(use_api: ApiProcess) -> None:
    rita, _ = logged_in(use_api, "Rita", "admin")
    cy, cy_agent = logged_in(use_api, "Cy")
    held, user = waiting_room(use_api, "Where is my refund?")
    use_api.agent_client(cy_agent).join(held.room_id)
    user.send(held.room_id, "hello? anyone?")
    waiting, _ = waiting_room(use_api, "Second question")

    rita.switch_page(BOARD_PAGE).run()
    no_exception(rita)
    assert [t.value for t in rita.title] == ["Supervisor board"]
    page = "\n".join(plain(m.value) for m in rita.markdown)
    assert "Cy" in page and "1 / 3 chats" in page
    assert f"{waiting.room_id[:6]} · waiting" in page and "reason: button" in page
    assert f"{held.room_id[:6]} · **Cy** · unanswered just now" in page

    rita.button(key=f"board-take-{held.room_id}").click().run()
    no_exception(rita)
    assert any("You took the chat over" in a for a in alerts(rita)), alerts(rita)
    assert user.messages(held.room_id)[-1].text == "You're being transferred to Rita."
    page = "\n".join(plain(m.value) for m in rita.markdown)
    assert f"{held.room_id[:6]} · **Rita** ·" in page

    # An agent has no Board page.
    cy.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        cy.switch_page(BOARD_PAGE)
