"""The user chat (ui_user/app.py) under AppTest, against a real API process.

AppTest never fires `run_every`: a poll is a `.run()`, which asks `?after=<last seq>` as the
timed fragment does in a browser.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.apptest import USER_APP, alerts, app, bubbles, button, captions, no_exception
from tests.ui.conftest import ApiProcess, start_api, stop
from ui_common.client import TandemClient


def status(at: AppTest) -> str:
    """The status line: the first alert box on the page."""
    return alerts(at)[0]


def online_agent(api: ApiProcess, name: str) -> TandemClient:
    """An agent whose console just polled the queue: it counts as online for 30 s."""
    agent = api.agents.get(name) or api.add_agent(name)
    client = api.agent_client(agent)
    client.queue()
    return client


def room_of(at: AppTest) -> str | None:
    """The conversation the session is in (the address no longer carries it)."""
    return at.session_state["chat"].room_id


def reopened(at: AppTest) -> AppTest:
    """A later visit from the same browser: a fresh session holding the visitor cookie that
    `at` was issued (AppTest has no cookie jar, so the id is handed over as the page would
    have read it)."""
    again = app(USER_APP)
    again.session_state["visitor"] = at.session_state["visitor"]
    return again.run()


def test_the_ai_answers_and_the_visitor_keeps_the_room(use_api: ApiProcess) -> None:
    at = app(USER_APP).run()
    no_exception(at)
    assert status(at) == "AI assistant"
    assert bubbles(at)[0][0] == "assistant"  # the greeting
    assert "room" not in at.query_params  # no room until the first message

    at.chat_input[0].set_value("How do I return an item?").run()
    no_exception(at)
    said = bubbles(at)
    assert said[0] == ("user", "How do I return an item?")
    assert said[1][0] == "assistant" and len(said[1][1]) > 20, said
    assert room_of(at) and not at.query_params  # no room and no token in the address

    # A reload (a fresh session from the same browser) shows the same conversation.
    again = reopened(at)
    no_exception(again)
    assert bubbles(again) == said
    assert room_of(again) == room_of(at) and not again.query_params


def test_an_old_link_with_a_token_still_opens_its_chat_and_leaves_the_address(
    use_api: ApiProcess,
) -> None:
    at = app(USER_APP).run()
    at.chat_input[0].set_value("Where is my parcel?").run()
    room_id = room_of(at)
    assert room_id is not None
    token = at.session_state["chat"].client.token
    old_link = app(USER_APP)
    old_link.query_params.update(room=room_id, token=token)
    old_link.run()
    no_exception(old_link)
    assert bubbles(old_link) == bubbles(at)
    assert "token" not in old_link.query_params and "room" not in old_link.query_params


def test_start_a_new_chat_leaves_the_open_one_for_good(use_api: ApiProcess) -> None:
    at = app(USER_APP).run()
    at.chat_input[0].set_value("First question").run()
    first, visitor = room_of(at), at.session_state["visitor"]
    button(at, "Start a new chat").click().run()
    no_exception(at)
    assert room_of(at) is None and status(at) == "AI assistant"
    assert [name for name, _ in bubbles(at)] == ["assistant"]  # only the greeting
    # The left chat is over: a later visit does not bring it back ...
    later = reopened(at)
    assert room_of(later) is None
    # ... and the next chat belongs to the same visitor.
    at.chat_input[0].set_value("Second question").run()
    assert room_of(at) not in (None, first)
    assert bubbles(at)[0] == ("user", "Second question")
    assert at.session_state["visitor"] == visitor


def test_talk_to_a_person_then_the_agent_talks_then_leaves(use_api: ApiProcess) -> None:
    alice = online_agent(use_api, "Alice")
    at = app(USER_APP).run()
    at.chat_input[0].set_value("My parcel never arrived").run()
    button(at, "Talk to a person").click().run()
    no_exception(at)
    assert status(at).startswith("Waiting for an agent — you are #"), alerts(at)
    assert any(c.startswith("Connecting you to a person") for c in captions(at)), captions(at)
    assert button(at, "Talk to a person").disabled

    room_id = room_of(at)
    assert room_id is not None
    alice.join(room_id)
    alice.send(room_id, "Hi, I'm Alice. Let me look into your parcel.")
    at.run()  # the poll
    assert status(at) == "Chatting with Alice"
    assert ("Alice", "Hi, I'm Alice. Let me look into your parcel.") in bubbles(at)
    assert "Alice joined the chat." in captions(at)

    # While a person holds the chat the AI stays quiet.
    at.chat_input[0].set_value("Thanks! Order 1234.").run()
    assert bubbles(at)[-1] == ("user", "Thanks! Order 1234.")

    alice.leave(room_id)
    at.run()
    assert status(at) == "AI assistant"
    assert any("left the chat" in c for c in captions(at)), captions(at)
    at.chat_input[0].set_value("How long does a refund take?").run()
    name, text = bubbles(at)[-1]
    assert name == "assistant" and text, bubbles(at)


def test_a_typed_phrase_asks_for_a_person_too(use_api: ApiProcess) -> None:
    online_agent(use_api, "Bob")
    at = app(USER_APP).run()
    at.chat_input[0].set_value("I want to speak to a human").run()
    no_exception(at)
    assert status(at).startswith("Waiting for an agent"), alerts(at)
    assert [name for name, _ in bubbles(at)] == ["user"]  # no AI reply to a handoff


def test_end_the_chat_and_start_a_new_one(use_api: ApiProcess) -> None:
    at = app(USER_APP).run()
    at.chat_input[0].set_value("Hello").run()
    first_room = room_of(at)
    button(at, "End chat").click().run()
    no_exception(at)
    assert status(at) == "This chat has ended"
    assert not at.chat_input
    assert any("closed by the customer" in c for c in captions(at)), captions(at)

    button(at, "Start a new chat").click().run()
    assert status(at) == "AI assistant"
    assert room_of(at) is None
    at.chat_input[0].set_value("Hello again").run()
    assert room_of(at) not in (None, first_room)
    assert bubbles(at)[0] == ("user", "Hello again")


def test_a_dead_link_starts_over(use_api: ApiProcess) -> None:
    at = app(USER_APP)
    at.query_params.update(room="0" * 32, token="not-a-token")
    at.run()
    no_exception(at)
    assert any("can no longer be opened" in a for a in alerts(at)), alerts(at)
    assert "room" not in at.query_params and room_of(at) is None


@pytest.fixture(scope="module")
def lonely_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """An API nobody has logged in to: no agent is online."""
    live = start_api(tmp_path_factory.mktemp("lonely"))
    try:
        yield live
    finally:
        stop(live.process)


def test_no_agent_online_the_ai_keeps_helping(
    lonely_api: ApiProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_API_URL", lonely_api.url)
    at = app(USER_APP).run()
    button(at, "Talk to a person").click().run()
    no_exception(at)
    assert status(at) == "No agents are online right now; the assistant will keep helping"
    at.chat_input[0].set_value("How do I reset my password?").run()
    assert bubbles(at)[-1][0] == "assistant"


def test_no_agent_online_a_typed_request_says_so_too(
    lonely_api: ApiProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Told by the room's status after the request (still `ai`), not by the notice's wording."""
    monkeypatch.setenv("TANDEM_API_URL", lonely_api.url)
    at = app(USER_APP).run()
    at.chat_input[0].set_value("I want to speak to a human").run()
    no_exception(at)
    assert status(at) == "No agents are online right now; the assistant will keep helping"
    at.run()  # a poll keeps saying so
    assert status(at) == "No agents are online right now; the assistant will keep helping"


def test_a_failed_send_keeps_the_text_and_retry_sends_it_once(
    use_api: ApiProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv("TANDEM_API_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    at = app(USER_APP).run()
    no_exception(at)
    at.chat_input[0].set_value("Where is my parcel?\nOrder 48213.").run()
    no_exception(at)
    assert ("user", "Where is my parcel?  \nOrder 48213.") in bubbles(at)  # a hard line break
    assert any(c.startswith("Not sent") for c in captions(at)), captions(at)
    unsent = at.session_state["chat"].unsent
    assert [u.text for u in unsent] == ["Where is my parcel?\nOrder 48213."]
    assert at.session_state["chat"].offline

    # The API is back (the session's client now reaches it): Retry sends it, once.
    at.session_state["chat"].client = TandemClient(use_api.url)
    button(at, "Retry").click().run()
    no_exception(at)
    assert not at.session_state["chat"].unsent
    mine = [m for m in at.session_state["chat"].messages if m.sender == "user"]
    assert [(m.text, m.client_id) for m in mine] == [(unsent[0].text, unsent[0].client_id)]
    assert not any(c.startswith("Not sent") for c in captions(at))
    assert not at.session_state["chat"].offline


def test_the_chat_box_takes_its_limit_from_the_api(use_api: ApiProcess) -> None:
    at = app(USER_APP).run()
    no_exception(at)
    assert at.chat_input[0].max_chars == use_api.client().config().max_message_chars


def test_no_agent_online_the_user_leaves_an_email_and_a_message(
    lonely_api: ApiProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_API_URL", lonely_api.url)
    at = app(USER_APP).run()
    button(at, "Talk to a person").click().run()
    no_exception(at)
    assert any("Leave your email and a message" in m.value for m in at.markdown)

    at.text_input[0].set_value("not an address")
    at.text_area[0].set_value("Order 77 is late.")
    button(at, "Send to the team").click().run()
    no_exception(at)
    assert any("check the email address" in a for a in alerts(at)), alerts(at)
    assert at.text_area[0].value == "Order 77 is late."  # nothing typed is lost

    at.text_input[0].set_value("ann@example.com")
    button(at, "Send to the team").click().run()
    no_exception(at)
    assert status(at) == "This chat has ended"
    assert any("answer by email" in c for c in captions(at)), captions(at)
    assert not any("Leave your email" in m.value for m in at.markdown)

    agent = lonely_api.agent_client(lonely_api.add_agent("Flo"))
    [left] = agent.followups()
    assert (left["email"], left["text"]) == ("ann@example.com", "Order 77 is late.")
