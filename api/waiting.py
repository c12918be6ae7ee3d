"""What the AI does with a user message while the room waits for a person (#12).

It answers questions ("while you wait"), stays silent once the user says they only want the
person, and when the user says they are sorted ("never mind, it's fixed") asks whether to
cancel the request, which it cancels only on a yes. Once an agent has joined it is silent.

Its state is read from the room's own messages since it joined the queue (`waiting_since`),
never kept in memory, so two API processes sharing the database agree on it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum

from api.frames import message_frame
from api.handoff import wants_human, wants_to_withdraw
from api.handoff_multilingual import fold
from api.replies import AI_AUTHOR, HISTORY_WINDOW, Replies, ReplyRun, Store
from api.room_states import RoutingError
from db import queries
from db.engine import Database
from db.models import MessagePublic, RoomStatus, Sender
from db.room_log import MessageDraft

Withdraw = Callable[[str], Awaitable[list[str]]]
"""(room_id) → the frames of the withdrawal (notice, room state): the room service's."""
Refresh = Callable[[str], None]
"""(room_id): bring the room's brief up to date, in the background."""
RefreshAfter = Callable[[ReplyRun], None]
"""The same, once an AI answer has ended."""

log = logging.getLogger(__name__)

CONFIRM_WITHDRAW = "Shall I cancel your request for a person?"
"""Asked when the withdrawal detector fires; the next user message answers it."""
KEPT_IN_QUEUE = "All right, you keep your place in the queue: a person will be with you shortly."

_WORD = re.compile(r"[a-z0-9]+")


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_YES = _set(
    "yes yeah yep yup sure ok okay please cancel withdraw go ahead do it fine si sí oui ja "
    "sim tak jawel certo claro bitte gerne d accord"
)
"""Words a short "yes" is made of, in the eight languages; any other word makes it no yes."""
_YES_HEADS = _set("yes yeah yep yup sure ok okay please cancel go si oui ja sim tak")
_NO = _set("no nope nah don dont keep wait stay still not non nein nee nie nao não niet")
_QUESTION_WORDS = _set(
    "how what where when why who which whose can could do does did is are was will would "
    "should shall may might have has"
)
_CHECKING_IN = _set(
    "hello hi hey hallo hola bonjour ciao ola anyone anybody someone somebody there here still "
    "waiting is are you me long how much more please ok okay"
)
"""Words of a user checking someone is there, which no help article answers."""


class Step(StrEnum):
    answer = "answer"
    """A question: the AI answers it, marked while you wait."""
    silent = "silent"
    """Not a question, or the user only wants the person: the AI says nothing."""
    ask = "ask"
    """The user says they are sorted: ask before cancelling the request."""
    withdraw = "withdraw"
    """The user said yes to the question: the request is withdrawn."""
    keep = "keep"
    """The user said no: nothing changes, and they are told so."""


def decide(during: Sequence[MessagePublic]) -> Step:
    """The step for the newest message of `during`: the room's messages since it joined the
    queue, oldest first, ending with the user message to act on."""
    current = during[-1]
    before = [m for m in during[:-1] if m.sender in (Sender.user, Sender.ai)]
    text = current.text
    if before and before[-1].sender is Sender.ai and before[-1].text == CONFIRM_WITHDRAW:
        if is_yes(text):
            return Step.withdraw
        if is_no(text):
            return Step.keep
    if wants_human(text) or any(m.sender is Sender.user and wants_human(m.text) for m in before):
        return Step.silent  # "I only want the person": the AI leaves them alone until then
    if wants_to_withdraw(text):
        return Step.ask
    return Step.answer if is_question(text) else Step.silent


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def is_yes(text: str) -> bool:
    """A short yes ("yes please", "ok, cancel it", "oui"): nothing else, no negation."""
    words = _words(text)
    if not words or len(words) > 6 or words[0] not in _YES_HEADS:
        return False
    fillers = {
        "it",
        "that",
        "the",
        "request",
        "thanks",
        "thank",
        "you",
        "merci",
        "danke",
        "gracias",
    }
    return all(w in _YES or w in fillers for w in words) and not any(w in _NO for w in words)


def is_no(text: str) -> bool:
    """A short no ("no", "no, keep me in the queue", "nein danke")."""
    words = _words(text)
    return bool(words) and len(words) <= 8 and words[0] in _NO


def is_question(text: str) -> bool:
    """A question mark, or an English question's first word ("how do I ..."). Greetings,
    thanks and statements for the agent get no answer while the user waits."""
    words = _words(text)
    if len(words) < 2 or all(w in _CHECKING_IN for w in words):
        return False  # "hello? anyone there?": for the person, not a question to answer
    return "?" in text or words[0] in _QUESTION_WORDS


class WhileWaiting:
    """Applies `decide` to a user message stored in a waiting room."""

    def __init__(
        self,
        *,
        db: Database,
        store: Store,
        replies: Replies,
        withdraw: Withdraw,
        refresh_brief: Refresh,
        refresh_brief_after: RefreshAfter,
    ) -> None:
        self._db = db
        self._store = store
        self._replies = replies
        self._withdraw = withdraw
        self._refresh_brief = refresh_brief
        self._refresh_brief_after = refresh_brief_after

    async def on_user_message(self, message: MessagePublic) -> tuple[list[str], ReplyRun | None]:
        """The frames the message set off at once, and the AI reply it started, if any."""
        room_id = message.room_id
        async with self._db.session() as session:
            room = await queries.get_room_public(session, room_id=room_id)
            recent = await queries.recent_messages(session, room_id=room_id, limit=HISTORY_WINDOW)
        if room is None or room.status is not RoomStatus.waiting or room.waiting_since is None:
            return [], None  # an agent joined (or the user left the queue) meanwhile
        since = room.waiting_since
        during = [m for m in recent if m.created_at >= since and m.seq <= message.seq]
        if not during or during[-1].seq != message.seq:
            return [], None
        step = decide(during)
        if step is Step.withdraw:
            return await self._withdraw(room_id), None
        self._refresh_brief(room_id)
        if step is Step.answer:
            run = self._replies.start(room_id, while_waiting=True)
            if run is not None:
                self._refresh_brief_after(run)
            return [], run
        if step in (Step.ask, Step.keep):
            text = CONFIRM_WITHDRAW if step is Step.ask else KEPT_IN_QUEUE
            return await self._say(room_id, text), None
        return [], None

    async def _say(self, room_id: str, text: str) -> list[str]:
        draft = MessageDraft(
            room_id=room_id, sender=Sender.ai, author=AI_AUTHOR, text=text, while_waiting=True
        )
        try:
            stored = await self._store(draft)
        except RoutingError:
            return []  # an agent joined first: the AI is silent
        return [message_frame(stored.message)]
