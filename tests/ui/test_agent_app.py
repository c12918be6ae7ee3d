"""The agent console (ui_agent/app.py) under AppTest, against a real API process.

The customer side is driven over HTTP with the same client the apps use. A poll is a `.run()`.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.apptest import AGENT_APP, alerts, app, bubbles, button, captions, no_exception, plain
from tests.ui.conftest import Agent, ApiProcess
from ui_common.client import Session, TandemClient

CHATS_PAGE = "page_chats.py"  # as st.navigation registers them, relative to ui_agent/app.py
STATS_PAGE = "page_stats.py"


def logged_in(api: ApiProcess, name: str, role: str = "agent") -> tuple[AppTest, Agent]:
    agent = api.agents.get(name) or api.add_agent(name, role)
    at = app(AGENT_APP).run()
    at.text_input(key="login_email").input(agent.email)
    at.text_input(key="login_password").input(agent.password)
    at.button[0].click().run()  # the form's submit button
    no_exception(at)
    return at, agent


def waiting_room(api: ApiProcess, text: str) -> tuple[Session, TandemClient]:
    """A customer who wrote `text` and pressed "Talk to a person" (an agent must be online)."""
    session, user = api.user_room(text)
    room = user.request_human(session.room_id)
    assert room.status == "waiting", room
    return session, user


def sidebar_texts(at: AppTest) -> str:
    parts = [plain(e.value) for e in at.sidebar.markdown] + [
        plain(e.value) for e in at.sidebar.caption
    ]
    return "\n".join(parts)


def test_wrong_password_is_refused(use_api: ApiProcess) -> None:
    agent = use_api.add_agent("Carol")
    at = app(AGENT_APP).run()
    assert at.button[0].label == "Log in"
    at.text_input(key="login_email").input(agent.email)
    at.text_input(key="login_password").input("wrong-password")
    at.button[0].click().run()
    no_exception(at)
    assert "Wrong email or password." in alerts(at)
    assert at.button[0].label == "Log in"


def test_queue_take_reply_leave_resolve(use_api: ApiProcess) -> None:
    at, _ = logged_in(use_api, "Dana")
    assert "Dana" in sidebar_texts(at)
    assert "Nobody is waiting." in sidebar_texts(at) or "Waiting (" in at.sidebar.subheader[0].value

    # A customer asks for a person: the next poll lists the request, first message and all.
    session, user = waiting_room(use_api, "My parcel never arrived")
    at.run()
    no_exception(at)
    take = at.button(key=f"take-{session.room_id}")
    # What they type while waiting leads the request's line (an order number, say).
    user.send(session.room_id, "Order 4711, if that helps")
    at.run()
    assert "↳ Order 4711, if that helps" in sidebar_texts(at)
    assert (
        "My parcel never arrived" in sidebar_texts(at)
        or use_api.client(user.token).room(session.room_id).brief
    )

    # Taking it shows the whole history, the AI part included.
    take.click().run()
    no_exception(at)
    said = bubbles(at)
    assert ("user", "My parcel never arrived") in said
    assert any(name == "assistant" for name, _ in said), said
    assert "Dana joined the chat." in captions(at)
    assert user.room(session.room_id).status == "agent"

    # The agent replies; the customer sees it.
    at.chat_input(key=f"reply-{session.room_id}").set_value("Hello, Dana here.").run()
    no_exception(at)
    texts = [m.text for m in user.messages(session.room_id)]
    assert "Hello, Dana here." in texts
    # The customer writes; the next poll shows it.
    user.send(session.room_id, "It was order 42.")
    at.run()
    assert bubbles(at)[-1] == ("user", "It was order 42.")

    # A second chat at once: the first gets an unread count while the second is open.
    second, user2 = waiting_room(use_api, "Where is my refund?")
    at.run()
    at.button(key=f"take-{second.room_id}").click().run()
    assert ("user", "Where is my refund?") in bubbles(at)
    user.send(session.room_id, "Are you still there?")
    at.run()
    radio = at.sidebar.radio[0]
    labels = radio.options
    assert any("(1 new)" in label for label in labels), labels
    # The label says what the customer needs now (their latest words), not how they began.
    label = next(label for label in labels if "(1 new)" in label)
    assert label.startswith("Are you still there?"), labels
    radio.set_value(session.room_id).run()
    assert bubbles(at)[-1] == ("user", "Are you still there?")

    # Leave: the AI takes over again. Resolve the other one: it closes.
    button(at, "Leave chat").click().run()
    no_exception(at)
    assert user.room(session.room_id).status == "ai"
    assert any("AI assistant took over" in a for a in alerts(at)), alerts(at)
    assert bubbles(at) and ("user", "Where is my refund?") in bubbles(at)  # switched to the other
    button(at, "Resolve").click().run()
    no_exception(at)
    assert user2.room(second.room_id).status == "closed"
    assert "No open chats. Take a request above." in sidebar_texts(at)


def test_a_request_taken_by_someone_else(use_api: ApiProcess) -> None:
    erin, _ = logged_in(use_api, "Erin")
    frank, frank_agent = logged_in(use_api, "Frank")
    session, _user = waiting_room(use_api, "Please help with my invoice")
    erin.run()
    frank.run()
    use_api.agent_client(frank_agent).join(session.room_id)  # Frank was quicker
    erin.button(key=f"take-{session.room_id}").click().run()
    no_exception(erin)
    assert any("already taken" in a for a in alerts(erin)), alerts(erin)
    erin.run()
    assert not [b for b in erin.button if b.key == f"take-{session.room_id}"]


def test_the_customer_closing_is_shown(use_api: ApiProcess) -> None:
    at, _ = logged_in(use_api, "Gina")
    session, user = waiting_room(use_api, "Quick question")
    at.run()
    at.button(key=f"take-{session.room_id}").click().run()
    user.close_room(session.room_id)
    at.run()
    no_exception(at)
    assert "This chat is closed." in alerts(at)
    assert not at.chat_input
    button(at, "Dismiss").click().run()
    assert "No open chats. Take a request above." in sidebar_texts(at)


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_logout_and_roles(use_api: ApiProcess) -> None:
    """st.navigation lists the pages a role may see: agents Chats, analysts Stats, admins both."""
    at, _ = logged_in(use_api, "Hank")
    assert "Waiting (" in " ".join(s.value for s in at.sidebar.subheader)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(STATS_PAGE)  # an agent has no Stats page
    button(at, "Log out").click().run()
    assert "You are logged out." in alerts(at)
    assert at.button[0].label == "Log in"

    analyst, _ = logged_in(use_api, "Ivy", "analyst")
    assert titles(analyst) == ["Statistics"]
    assert not analyst.chat_input
    assert "Waiting (" not in " ".join(s.value for s in analyst.sidebar.subheader)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        analyst.switch_page(CHATS_PAGE)

    admin, _ = logged_in(use_api, "Jo", "admin")
    assert "Waiting (" in " ".join(s.value for s in admin.sidebar.subheader)  # Chats first
    admin.switch_page(STATS_PAGE).run()
    no_exception(admin)
    assert titles(admin) == ["Statistics"]
    admin.switch_page(CHATS_PAGE).run()
    no_exception(admin)
    assert "Waiting (" in " ".join(s.value for s in admin.sidebar.subheader)
