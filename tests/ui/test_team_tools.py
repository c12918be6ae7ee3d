"""The console's team tools under AppTest, against a real API process: a `/shortcut` in the
reply box sends the saved reply with the agent's name filled, the picker puts it in the box,
and a private note shows in the chat pane (and never reaches the customer)."""

from __future__ import annotations

from tests.ui.apptest import alerts, bubbles, captions, no_exception, plain
from tests.ui.conftest import ApiProcess
from tests.ui.test_agent_app import logged_in, waiting_room


def test_shortcuts_picker_and_notes(use_api: ApiProcess) -> None:
    admin = use_api.agent_client(use_api.add_agent("Root", role="admin"))
    admin.create_saved_reply("hello", "Greeting", "Hi, I am {agent_name}. {How} can I help?")
    at, _ = logged_in(use_api, "Gail")
    session, user = waiting_room(use_api, "My order is late")
    at.run()
    at.button(key=f"take-{session.room_id}").click().run()
    no_exception(at)
    box = f"reply-{session.room_id}"

    # `/hello` alone sends the saved text, the agent's name filled (other braces kept).
    at.chat_input(key=box).set_value("/hello").run()
    no_exception(at)
    sent = [m.text for m in user.messages(session.room_id) if m.sender == "agent"]
    assert sent == ["Hi, I am Gail. {How} can I help?"]
    assert bubbles(at)[-1] == ("Gail", "Hi, I am Gail. {How} can I help?")

    # An unknown shortcut is not sent to the customer.
    at.chat_input(key=box).set_value("/helo").run()
    no_exception(at)
    assert "No saved reply /helo." in alerts(at)
    assert len([m for m in user.messages(session.room_id) if m.sender == "agent"]) == 1

    # The picker puts the filled text in the box, to edit before sending.
    at.selectbox(key=f"saved-{session.room_id}").set_value("hello").run()
    no_exception(at)
    assert at.chat_input(key=box).value == "Hi, I am Gail. {How} can I help?"

    # A private note shows in the pane, marked, after what was said before it.
    at.text_input(key=f"note-{session.room_id}").input("VIP: refund approved").run()
    no_exception(at)
    assert "Note · Gail" in captions(at)
    assert "VIP: refund approved" in [plain(m.value) for m in at.markdown]
    assert all("VIP" not in m.text for m in user.messages(session.room_id))
    user.send(session.room_id, "thanks!")
    at.run()
    no_exception(at)
    assert bubbles(at)[-1] == ("user", "thanks!")
    assert "Note · Gail" in captions(at)  # still there, read back from the API
