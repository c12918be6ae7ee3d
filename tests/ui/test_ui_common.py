"""The shared UI package: its models read what the API sends, and the apps stay apart."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from db.models import AgentPublic, AgentRef, MessagePublic, Role, RoomPublic, RoomStatus, Sender
from ui_common import view
from ui_common.models import Agent, Message, Room

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 18, 53, 55, tzinfo=UTC)


def test_a_room_as_the_api_sends_it() -> None:
    sent = RoomPublic(
        id="r1",
        status=RoomStatus.waiting,
        agent=AgentRef(id=3, name="Alice"),
        created_at=NOW,
        queue_position=2,
        brief="Wants a refund",
        waiting_since=NOW,
        last_seq=7,
    ).model_dump(mode="json")
    room = Room.from_json(sent)
    assert room.status == "waiting" and room.queue_position == 2 and room.last_seq == 7
    assert room.agent is not None and room.agent.name == "Alice"
    assert room.created_at == NOW and room.waiting_since == NOW
    plain = Room.from_json(
        RoomPublic(id="r2", status=RoomStatus.ai, created_at=NOW).model_dump(mode="json")
    )
    assert plain.agent is None and plain.waiting_since is None and plain.brief is None


def test_a_message_and_an_agent_as_the_api_sends_them() -> None:
    sent = MessagePublic(
        seq=4, room_id="r1", sender=Sender.agent, author="Alice", text="Hi", created_at=NOW
    ).model_dump(mode="json")
    message = Message.from_json(sent)
    assert (message.seq, message.sender, message.author, message.text) == (
        4,
        "agent",
        "Alice",
        "Hi",
    )
    me = Agent.from_json(
        AgentPublic(id=1, email="a@example.com", name="Ann", role=Role.analyst).model_dump(
            mode="json"
        )
    )
    assert me.can_read_stats and not me.can_chat


def test_an_unknown_status_is_a_contract_break() -> None:
    with pytest.raises(ValueError, match="unexpected value"):
        Room.from_json({"id": "r", "status": "parked", "created_at": NOW.isoformat()})


def test_merge_dedupes_by_seq() -> None:
    def m(seq: int) -> Message:
        return Message(seq, "r", "user", "User", f"#{seq}", NOW)

    assert [x.seq for x in view.merge([m(1), m(3)], [m(3), m(2)])] == [1, 2, 3]
    assert view.last_seq([]) == 0


def _imported(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def test_the_apps_share_ui_common_and_never_import_each_other() -> None:
    assert "ui_agent" not in _imported("ui_user")
    assert "ui_user" not in _imported("ui_agent")
    assert not {"ui_user", "ui_agent", "api", "db"} & _imported("ui_common")


def test_times_in_the_browsers_zone_and_line_breaks_kept() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    assert view.local_time(NOW, zone=berlin, now=NOW) == "19:53"  # today: the time only
    assert view.local_time(NOW, zone=berlin, now=NOW.replace(day=25)) == "Nov 23, 19:53"
    assert view.person_text("one\ntwo *three*") == "one  \ntwo \\*three\\*"


def test_the_favicon_is_a_local_file() -> None:
    assert view.FAVICON.is_file() and view.FAVICON.read_bytes()[:4] == b"\x89PNG"


def test_an_answer_given_while_waiting_is_marked_in_the_chat() -> None:
    """Both apps draw messages with `render_message`: the mark shows on a while-waiting AI
    answer, and only there."""
    from streamlit.testing.v1 import AppTest

    sent = MessagePublic(
        seq=5,
        room_id="r1",
        sender=Sender.ai,
        author="Tandem Assistant",
        text="Passwords are reset from the login page.",
        created_at=NOW,
        while_waiting=True,
    ).model_dump(mode="json")
    assert Message.from_json(sent).while_waiting is True

    def script() -> None:
        from datetime import UTC, datetime

        from ui_common import view
        from ui_common.models import Message

        at = datetime(2026, 11, 23, 18, 53, 55, tzinfo=UTC)
        view.render_message(Message(1, "r1", "ai", "Tandem Assistant", "Before.", at))
        view.render_message(
            Message(2, "r1", "ai", "Tandem Assistant", "While.", at, while_waiting=True)
        )

    app = AppTest.from_function(script).run(timeout=30)
    marks = [c.value for c in app.caption if view.WHILE_YOU_WAIT in c.value]
    assert len(marks) == 1
