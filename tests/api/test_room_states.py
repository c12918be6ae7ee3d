"""The AI-or-human state machine, rule by rule."""

from __future__ import annotations

import pytest

from api import room_states
from db.models import EventKind, RoomStatus, Sender


def test_a_request_for_a_human_with_an_agent_online_queues_the_room() -> None:
    step = room_states.request_human(RoomStatus.ai, agents_online=1, reason="phrase")
    assert step == room_states.Transition(RoomStatus.waiting, EventKind.handoff, "phrase")


def test_a_request_for_a_human_with_nobody_online_stays_with_the_ai() -> None:
    outcome = room_states.request_human(RoomStatus.ai, agents_online=0, reason="button")
    assert outcome == room_states.NoAgent(reason="button")


@pytest.mark.parametrize("status", [RoomStatus.waiting, RoomStatus.agent])
def test_asking_again_while_queued_or_served_changes_nothing(status: RoomStatus) -> None:
    assert isinstance(
        room_states.request_human(status, agents_online=3, reason="phrase"),
        room_states.AlreadyQueued,
    )


def test_a_closed_room_cannot_ask_for_a_human() -> None:
    with pytest.raises(room_states.RoutingError) as err:
        room_states.request_human(RoomStatus.closed, agents_online=1, reason="phrase")
    assert err.value.status == 409


@pytest.mark.parametrize("status", [RoomStatus.ai, RoomStatus.waiting])
def test_an_agent_can_take_a_room_the_ai_or_the_queue_holds(status: RoomStatus) -> None:
    assert room_states.join(status).to is RoomStatus.agent


@pytest.mark.parametrize(
    ("status", "code"), [(RoomStatus.agent, "already_taken"), (RoomStatus.closed, "room_closed")]
)
def test_a_taken_or_closed_room_cannot_be_joined(status: RoomStatus, code: str) -> None:
    with pytest.raises(room_states.RoutingError) as err:
        room_states.join(status)
    assert (err.value.code, err.value.status) == (code, 409)


def test_leaving_hands_the_room_back_to_the_ai() -> None:
    step = room_states.leave(RoomStatus.agent, room_agent_id=7, agent_id=7)
    assert (step.to, step.event, step.reason) == (RoomStatus.ai, EventKind.left, "agent_left")


def test_only_the_rooms_agent_can_leave_it() -> None:
    with pytest.raises(room_states.RoutingError) as err:
        room_states.leave(RoomStatus.agent, room_agent_id=7, agent_id=8)
    assert err.value.status == 403


def test_closing_twice_is_not_an_error() -> None:
    assert room_states.close(RoomStatus.agent, room_agent_id=7, agent_id=7) is not None
    assert room_states.close(RoomStatus.closed, room_agent_id=None, agent_id=None) is None
    assert room_states.close(RoomStatus.closed, room_agent_id=7, agent_id=8) is None


@pytest.mark.parametrize(
    ("status", "room_agent_id", "agent_id", "admin", "allowed"),
    [
        (RoomStatus.ai, None, None, False, True),  # the room's user, whatever the state
        (RoomStatus.agent, 7, None, False, True),
        (RoomStatus.waiting, None, 8, False, True),  # any agent clears the queue
        (RoomStatus.agent, 7, 7, False, True),  # the agent holding it
        (RoomStatus.agent, 7, 8, False, False),  # another agent's chat
        (RoomStatus.ai, None, 8, False, False),  # the AI's chat
        (RoomStatus.agent, 7, 9, True, True),  # admins close anything
        (RoomStatus.ai, None, 9, True, True),
    ],
)
def test_who_may_close_a_room(
    status: RoomStatus, room_agent_id: int | None, agent_id: int | None, admin: bool, allowed: bool
) -> None:
    if allowed:
        step = room_states.close(
            status, room_agent_id=room_agent_id, agent_id=agent_id, admin=admin
        )
        assert step is not None and step.to is RoomStatus.closed
        assert step.reason == ("user" if agent_id is None else "agent")
        return
    with pytest.raises(room_states.RoutingError) as err:
        room_states.close(status, room_agent_id=room_agent_id, agent_id=agent_id, admin=admin)
    assert (err.value.status, err.value.code) == (403, "not_your_room")


@pytest.mark.parametrize(
    ("status", "sender", "replies"),
    [
        (RoomStatus.ai, Sender.user, True),
        (RoomStatus.waiting, Sender.user, False),
        (RoomStatus.agent, Sender.user, False),
        (RoomStatus.ai, Sender.ai, False),
        (RoomStatus.ai, Sender.system, False),
    ],
)
def test_the_ai_answers_only_users_in_ai_rooms(
    status: RoomStatus, sender: Sender, replies: bool
) -> None:
    assert room_states.ai_should_reply(status, sender) is replies


def test_nobody_writes_into_a_closed_room() -> None:
    for sender in (Sender.user, Sender.agent, Sender.ai):
        with pytest.raises(room_states.RoutingError):
            room_states.check_send(RoomStatus.closed, sender, room_agent_id=None, agent_id=None)


def test_an_agent_writes_only_into_a_room_it_has_joined() -> None:
    room_states.check_send(RoomStatus.agent, Sender.agent, room_agent_id=1, agent_id=1)
    with pytest.raises(room_states.RoutingError) as err:
        room_states.check_send(RoomStatus.agent, Sender.agent, room_agent_id=1, agent_id=2)
    assert err.value.status == 403
    with pytest.raises(room_states.RoutingError):
        room_states.check_send(RoomStatus.ai, Sender.agent, room_agent_id=None, agent_id=2)


def test_an_ai_reply_is_refused_once_a_human_has_taken_over() -> None:
    room_states.check_send(RoomStatus.ai, Sender.ai, room_agent_id=None, agent_id=None)
    for status in (RoomStatus.waiting, RoomStatus.agent):
        with pytest.raises(room_states.RoutingError) as err:
            room_states.check_send(status, Sender.ai, room_agent_id=None, agent_id=None)
        assert err.value.code == "ai_preempted"


def test_the_user_keeps_writing_while_waiting_and_with_an_agent() -> None:
    for status in (RoomStatus.ai, RoomStatus.waiting, RoomStatus.agent):
        room_states.check_send(status, Sender.user, room_agent_id=None, agent_id=None)


def test_notices_say_what_happened() -> None:
    assert "#2" in room_states.notice_handoff(2)
    assert room_states.notice_joined("Alice").startswith("Alice")
    assert "AI" in room_states.notice_left("Alice")


# ---------------------------------------------------------------- transfers and capacity


def test_who_may_transfer_and_where() -> None:
    from api.room_states import transfer

    to_ben = transfer(RoomStatus.agent, room_agent_id=1, by=1, admin=False, to_agent=2)
    assert (to_ben.to, to_ben.event, to_ben.reason) == (
        RoomStatus.agent,
        EventKind.transferred,
        "agent",
    )
    back = transfer(RoomStatus.agent, room_agent_id=1, by=1, admin=False, to_agent=None)
    assert (back.to, back.reason) == (RoomStatus.waiting, "queue")
    takeover = transfer(RoomStatus.agent, room_agent_id=1, by=9, admin=True, to_agent=9)
    assert takeover.reason == "takeover"
    for status, by, admin, to, code in (
        (RoomStatus.agent, 2, False, 3, "not_your_room"),  # not the holder
        (RoomStatus.agent, 1, False, 1, "same_agent"),
        (RoomStatus.waiting, 9, True, None, "not_held"),
        (RoomStatus.ai, 9, True, 9, "not_held"),
        (RoomStatus.closed, 1, False, 2, "room_closed"),
    ):
        with pytest.raises(room_states.RoutingError) as refused:
            transfer(status, room_agent_id=1, by=by, admin=admin, to_agent=to)
        assert refused.value.code == code


def test_who_may_take_one_more_chat() -> None:
    from api.room_states import can_take
    from db.models import AgentStatus

    ok = {"name": "Ben", "status": AgentStatus.available, "online": True, "max_chats": 3}
    can_take(own=False, held=2, **ok)  # type: ignore[arg-type]
    can_take(own=True, held=0, **{**ok, "online": False})  # type: ignore[arg-type]
    for own, held, changes, code in (
        (False, 3, {}, "agent_full"),
        (True, 3, {}, "agent_full"),
        (False, 0, {"status": AgentStatus.away}, "agent_away"),
        (True, 0, {"status": AgentStatus.away}, "agent_away"),
        (False, 0, {"online": False}, "agent_offline"),
    ):
        with pytest.raises(room_states.RoutingError) as refused:
            can_take(own=own, held=held, **{**ok, **changes})  # type: ignore[arg-type]
        assert refused.value.code == code and refused.value.status == 409
    with pytest.raises(room_states.RoutingError, match="Ben has 3 open chats, the maximum of 3"):
        can_take(own=False, held=3, **ok)  # type: ignore[arg-type]


def test_only_a_waiting_room_can_withdraw_its_request() -> None:
    step = room_states.withdraw(RoomStatus.waiting)
    assert (step.to, step.event, step.reason) == (RoomStatus.ai, EventKind.withdrawn, "user")
    for status, code in (
        (RoomStatus.ai, "not_waiting"),
        (RoomStatus.agent, "not_waiting"),
        (RoomStatus.closed, "room_closed"),
    ):
        with pytest.raises(room_states.RoutingError) as refused:
            room_states.withdraw(status)
        assert refused.value.code == code


def test_an_ai_answer_marked_while_waiting_is_stored_only_while_waiting() -> None:
    def check(status: RoomStatus, *, while_waiting: bool) -> None:
        room_states.check_send(
            status, Sender.ai, room_agent_id=None, agent_id=None, while_waiting=while_waiting
        )

    check(RoomStatus.waiting, while_waiting=True)
    check(RoomStatus.ai, while_waiting=False)
    for status, marked in (
        (RoomStatus.waiting, False),  # an unmarked AI reply in the queue: preempted, as before
        (RoomStatus.agent, True),  # an agent joined while it streamed
        (RoomStatus.ai, True),  # the request was withdrawn while it streamed
    ):
        with pytest.raises(room_states.RoutingError):
            check(status, while_waiting=marked)
    assert room_states.ai_may_answer_while_waiting(RoomStatus.waiting, Sender.user, enabled=True)
    assert not room_states.ai_may_answer_while_waiting(
        RoomStatus.waiting, Sender.user, enabled=False
    )
    assert not room_states.ai_may_answer_while_waiting(RoomStatus.agent, Sender.user, enabled=True)
