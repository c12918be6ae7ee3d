"""The AI-or-human state machine, pure: given a room's state and what happened, what next.

No I/O here, so every rule is a unit test. The room service applies the decisions: it writes
the system message and the event row and pushes the frames.

    ai ──(human asked for, an agent online)──> waiting ──(agent joins)──> agent
     ^  (no agent online: notice, stays ai)       |                         |
     ├──────(the user confirms they are sorted: withdrawn)                  |
     └──────────────────(agent leaves: AI resumes)──────────────────────────┘
    any state ──(close)──> closed
    agent ──(transfer: to an agent, an admin's takeover)──> agent
    agent ──(transfer back to the queue, first in line)──> waiting
"""

from __future__ import annotations

from dataclasses import dataclass

from db.models import TRANSFER_TO_QUEUE, AgentStatus, EventKind, RoomStatus, Sender


class RoutingError(Exception):
    """An action the room's state does not allow; `status` is the HTTP status to answer with."""

    def __init__(self, code: str, detail: str, *, status: int = 409) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


@dataclass(frozen=True, slots=True)
class Transition:
    to: RoomStatus
    event: EventKind
    reason: str


@dataclass(frozen=True, slots=True)
class NoAgent:
    """A human was asked for but nobody is online: the room stays with the AI, the user is told."""

    reason: str


@dataclass(frozen=True, slots=True)
class AlreadyQueued:
    """The room already waits for (or has) a human: nothing to do."""


HumanRequestOutcome = Transition | NoAgent | AlreadyQueued

NOTICE_NO_AGENT = "No agents are online right now; the assistant will keep helping."


def notice_handoff(position: int) -> str:
    return (
        f"Connecting you to a person. You are #{position} in the queue; "
        "an agent will be with you shortly."
    )


def notice_joined(agent_name: str) -> str:
    return f"{agent_name} joined the chat."


def notice_left(agent_name: str) -> str:
    return f"{agent_name} left the chat. The AI assistant is back to help."


def notice_closed(by: str) -> str:
    return f"The chat was closed by {by}."


def notice_transferred(agent_name: str) -> str:
    return f"You're being transferred to {agent_name}."


NOTICE_BACK_IN_QUEUE = (
    "You're back in the queue, first in line: the next available agent will be with you."
)

NOTICE_WITHDRAWN = (
    "Your request for a person was cancelled. The assistant is here if you need anything else."
)


def ai_should_reply(status: RoomStatus, sender: Sender) -> bool:
    """Only a user message in an AI-handled room gets an AI reply; otherwise humans talk."""
    return sender is Sender.user and status is RoomStatus.ai


def request_human(status: RoomStatus, *, agents_online: int, reason: str) -> HumanRequestOutcome:
    if status is RoomStatus.closed:
        raise RoutingError("room_closed", "This chat is closed; start a new one.")
    if status in (RoomStatus.waiting, RoomStatus.agent):
        return AlreadyQueued()
    if agents_online <= 0:
        return NoAgent(reason=reason)
    return Transition(RoomStatus.waiting, EventKind.handoff, reason)


def join(status: RoomStatus) -> Transition:
    if status is RoomStatus.closed:
        raise RoutingError("room_closed", "This chat is closed.")
    if status is RoomStatus.agent:
        raise RoutingError("already_taken", "Another agent has already taken this chat.")
    return Transition(RoomStatus.agent, EventKind.joined, "agent")


def leave(status: RoomStatus, *, room_agent_id: int | None, agent_id: int) -> Transition:
    if status is not RoomStatus.agent or room_agent_id != agent_id:
        raise RoutingError("not_your_room", "You are not the agent of this chat.", status=403)
    return Transition(RoomStatus.ai, EventKind.left, "agent_left")


def close(
    status: RoomStatus, *, room_agent_id: int | None, agent_id: int | None, admin: bool = False
) -> Transition | None:
    """Who may close: the room's user (`agent_id` None), an admin, the agent holding it, and
    any agent while it waits (clearing spam from the queue). Not another agent's chat, nor one
    the AI holds: that would cut a conversation off under someone else.

    None when the room is already closed: closing twice is not an error."""
    if status is RoomStatus.closed:
        return None
    if agent_id is None:
        return Transition(RoomStatus.closed, EventKind.closed, "user")
    if not admin and status is RoomStatus.agent and room_agent_id != agent_id:
        raise RoutingError("not_your_room", "Another agent holds this chat.", status=403)
    if not admin and status is RoomStatus.ai:
        raise RoutingError(
            "not_your_room",
            "The assistant holds this chat: only its user or an admin can close it.",
            status=403,
        )
    return Transition(RoomStatus.closed, EventKind.closed, "agent")


NOTICE_FOLLOWUP = (
    "Thanks: your message is with the team, who will answer by email. This chat is now closed."
)
NOTICE_ABANDONED = "This chat was closed because it had no activity for a long time."


def close_as(status: RoomStatus, *, reason: str) -> Transition | None:
    """A close of the system's own (`followup`, `abandoned`): whoever holds the room; None when
    it is already closed."""
    if status is RoomStatus.closed:
        return None
    return Transition(RoomStatus.closed, EventKind.closed, reason)


def ai_may_answer_while_waiting(status: RoomStatus, sender: Sender, *, enabled: bool) -> bool:
    """A user message in a waiting room may get an AI answer "while you wait" (the setting
    TANDEM_AI_WHILE_WAITING); once an agent has joined, the AI is silent."""
    return enabled and sender is Sender.user and status is RoomStatus.waiting


def withdraw(status: RoomStatus) -> Transition:
    """The user confirmed they no longer need a person: the room leaves the queue, back to
    the AI. Only a waiting room can: once an agent has joined there is nothing to withdraw."""
    if status is RoomStatus.closed:
        raise RoutingError("room_closed", "This chat is closed.")
    if status is not RoomStatus.waiting:
        raise RoutingError("not_waiting", "This chat is not waiting for a person.")
    return Transition(RoomStatus.ai, EventKind.withdrawn, "user")


def check_send(
    status: RoomStatus,
    sender: Sender,
    *,
    room_agent_id: int | None,
    agent_id: int | None,
    while_waiting: bool = False,
) -> None:
    """Raise when `sender` may not write into a room in `status`. An AI reply marked
    `while_waiting` may be stored while the room waits; any other only in an AI room."""
    if status is RoomStatus.closed:
        raise RoutingError("room_closed", "This chat is closed; start a new one.")
    if sender is Sender.agent and (status is not RoomStatus.agent or room_agent_id != agent_id):
        raise RoutingError("not_your_room", "Join this chat before writing in it.", status=403)
    if sender is Sender.ai and while_waiting and status is RoomStatus.waiting:
        return
    if sender is Sender.ai and (status is not RoomStatus.ai or while_waiting):
        raise RoutingError("ai_preempted", "A human has taken over this chat.")


def can_take(
    *, name: str, own: bool, status: AgentStatus, online: bool, held: int, max_chats: int
) -> None:
    """May this agent get one more chat? `own`: they take it themselves (a join, a takeover),
    so being connected goes without saying; a transfer also needs them online."""
    if status is AgentStatus.away:
        detail = (
            "You are away: set yourself available to take chats."
            if own
            else f"{name} is away and gets no new chats."
        )
        raise RoutingError("agent_away", detail)
    if not own and not online:
        raise RoutingError("agent_offline", f"{name} is not online.")
    if held >= max_chats:
        who = "You have" if own else f"{name} has"
        raise RoutingError(
            "agent_full",
            f"{who} {held} open chats, the maximum of {max_chats}: resolve or transfer one first.",
        )


def transfer(
    status: RoomStatus,
    *,
    room_agent_id: int | None,
    by: int,
    admin: bool,
    to_agent: int | None,
) -> Transition:
    """Who may transfer: the agent holding the chat, or an admin (an admin's transfer to
    themselves is a takeover). Only a held chat moves: a waiting one is joined instead."""
    if status is RoomStatus.closed:
        raise RoutingError("room_closed", "This chat is closed.")
    if status is not RoomStatus.agent:
        raise RoutingError(
            "not_held", "Only a chat an agent holds can be transferred; join it instead."
        )
    if room_agent_id != by and not admin:
        raise RoutingError(
            "not_your_room",
            "Only the agent holding this chat (or an admin) can transfer it.",
            status=403,
        )
    if to_agent is None:
        return Transition(RoomStatus.waiting, EventKind.transferred, TRANSFER_TO_QUEUE)
    if to_agent == room_agent_id:
        raise RoutingError("same_agent", "This agent already holds the chat.")
    reason = "takeover" if to_agent == by else "agent"
    return Transition(RoomStatus.agent, EventKind.transferred, reason)
