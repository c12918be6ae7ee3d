"""The default assistant when no OpenAI key is set: answers from the help articles in `kb/`.

It never invents anything: either it quotes the passage of an article that best answers the
question (naming the article, whose rest it sends when asked for "more") or it says it doesn't
know and points to a person. It streams word groups so the chat looks the same as with a model.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from api.ai.base import Assistant, HandoffRequest, ReplyChunk, ReplyRequest, Turn
from api.ai.glossary import to_english
from api.ai.retrieval import Article, Hit, KnowledgeBase, Lookup, tokenize, word_set
from api.handoff import wants_human
from api.language import detect_language

NOT_SURE_PREFIX = "I'm not sure about that one"
"""Every ungrounded reply starts with this, so later turns can tell them apart in the history."""
HANDOFF_REASON = "ungrounded"
UNSURE_STREAK_FOR_HANDOFF = 3
"""The third "not sure" in a row asks for a human: by then the user is clearly stuck."""
BRIEF_MAX_CHARS = 500
BRIEF_WAITING_LINES = 3
"""The newest things the user said while waiting that the brief quotes."""
HANDOFF_REASONS = {
    "phrase": "asked for a person",
    "button": "pressed Talk to a person",
    "tool_call": "the model handed over",
    "ungrounded": "the AI had no answer",
}

OFFER_HUMAN = (
    "If that doesn't help, I can connect you to a person — just say 'talk to an agent' "
    "or press *Talk to a person*."
)
NOT_SURE_REPLY = (
    f"{NOT_SURE_PREFIX}. I can connect you to a person — just say 'talk to an agent' or press "
    "*Talk to a person*. I can also help with orders, shipping, returns, refunds, payments "
    "and your account."
)
WAITING_NOTE = "A person from our team will still be with you shortly."
"""Ends an answer given while the user waits: they already asked for a person."""
WAITING_NOT_SURE_REPLY = (
    f"{NOT_SURE_PREFIX}, but the person you're waiting for can help with it. "
    "You keep your place in the queue."
)
GIVE_UP_REPLY = f"{NOT_SURE_PREFIX} either, so I'm asking a person from our team to help you."
GREETING_REPLY = (
    "Hi! I'm the Tandem Store assistant. Ask me about orders, shipping, returns, refunds, "
    "payments or your account — or say 'talk to an agent' to reach a person."
)
THANKS_REPLY = "You're welcome! If anything else comes up, just ask here."
ACK_REPLY = "Great! Is there anything else I can help you with?"
EMPTY_REPLY = "How can I help you today?"
PERSON_IN_YOUR_LANGUAGE = {
    "es": "Si lo prefiere, una persona de nuestro equipo puede atenderle en español: pulse "
    "*Talk to a person* o pida hablar con un agente.",
    "fr": "Si vous préférez, une personne de notre équipe peut vous aider en français : "
    "appuyez sur *Talk to a person* ou demandez à parler à un conseiller.",
    "de": "Wenn Sie möchten, hilft Ihnen eine Person aus unserem Team auf Deutsch: klicken Sie "
    "auf *Talk to a person* oder bitten Sie um einen Mitarbeiter.",
    "it": "Se preferisce, una persona del nostro team può aiutarla in italiano: prema "
    "*Talk to a person* o chieda di parlare con un operatore.",
    "pt": "Se preferir, uma pessoa da nossa equipe pode ajudar em português: toque em "
    "*Talk to a person* ou peça para falar com um atendente.",
    "nl": "Als u wilt, helpt iemand van ons team u in het Nederlands: klik op "
    "*Talk to a person* of vraag om een medewerker.",
    "pl": "Jeśli wolisz, osoba z naszego zespołu pomoże Ci po polsku: kliknij "
    "*Talk to a person* albo poproś o konsultanta.",
}
"""The answers come from English articles; a user writing in another language is told, in it,
that a person can help in their language and how to reach one."""

_SOURCE = "From our help article *{title}*."
_SOURCE_MORE = "From our help article *{title}*. Want the full article? Just ask."
_REST_LEAD_IN = "Here's the rest of *{title}*:"
_NOTHING_MORE = "That was all of *{title}*."
_TITLE_RE = re.compile(
    r"^(?:From our help article|Here's the rest of|That was all of|Here's what I found about)"
    r" \*(?P<title>[^*\n]+)\*",
    re.MULTILINE,
)
"""Where a reply names its article; the last form is how replies began before passages."""
_OFFER_RE = re.compile(
    r"^From our help article \*(?P<title>[^*\n]+)\*\. Want the full article\?", re.MULTILINE
)
_MORE_WORDS = word_set("more rest full whole entire complete article continue everything remaining")
_MORE_FILLERS = word_set(
    "yes yeah yep sure please pls show tell send give read see me the it of that this a an go on "
    "can could i you want to just info information details one all please whole thanks"
)
_AFFIRM = word_set("yes yeah yep sure please pls")
_RELATED_RATIO = 0.6
"""A runner-up this close to the top hit is worth a pointer: the question may be about it."""

_CHAT_LANGUAGE = {
    **dict.fromkeys(word_set("hola buenas buenos días dias gracias muchas adiós adios"), "es"),
    **dict.fromkeys(word_set("bonjour salut bonsoir merci beaucoup revoir"), "fr"),
    **dict.fromkeys(word_set("guten tag morgen moin servus danke vielen schön tschüss"), "de"),
    **dict.fromkeys(word_set("ciao buongiorno buonasera salve grazie mille tante"), "it"),
    **dict.fromkeys(word_set("olá oi bom boa obrigado obrigada muito tchau"), "pt"),
    **dict.fromkeys(word_set("goedemorgen goedemiddag goedenavond dank bedankt wel doei"), "nl"),
    **dict.fromkeys(word_set("cześć czesc dzień dzien dobry witam dziękuję dziekuje dzięki"), "pl"),
}
"""Greetings and thanks in the other seven languages, and which one each word is: too short
for the language detector, yet enough to tell the user a person can help in it."""
_GREETINGS = word_set(
    "hi hello hey heya hiya howdy hallo hoi yo greetings morning afternoon evening "
    "hola buenas buenos días dias bonjour salut bonsoir guten tag morgen moin servus ciao "
    "buongiorno buonasera salve olá oi bom boa goedemorgen goedemiddag goedenavond cześć czesc "
    "dzień dzien dobry witam hej"
)
_THANKS = word_set(
    "thanks thank thx ty cheers bye goodbye gracias merci danke grazie obrigado obrigada "
    "bedankt dank dziękuję dziekuje dzięki adiós adios revoir tschüss tchau doei"
)
_ACKS = word_set("ok okay great perfect cool awesome nice brilliant got alright helpful helped")
_FILLERS = word_set(
    "a so much very lot many you there all good that was is it everyone team "
    "muchas beaucoup au vielen schön mille tante muito je u wel bardzo"
)
_SMALL_TALK_WORDS = _GREETINGS | _THANKS | _ACKS | _FILLERS
_CHAT_WORD_RE = re.compile(r"[^\W\d_]+")

_MIN_WORDS = 3
_MAX_WORDS = 6
_PIECE_RE = re.compile(r"\S+\s*")
_BREAK_CHARS = ".,:;!?—"


@dataclass(frozen=True, slots=True)
class _Plan:
    text: str
    handoff: bool = False


def is_not_sure(text: str) -> bool:
    """Whether an AI message was this assistant admitting it had no answer."""
    return text.startswith(NOT_SURE_PREFIX)


def answered_title(text: str) -> str | None:
    """The article title an AI message answered from, read back from where it names it."""
    match = _TITLE_RE.search(text)
    return match.group("title") if match else None


def offered_title(text: str) -> str | None:
    """The article whose rest an AI message offered to send."""
    match = _OFFER_RE.search(text)
    return match.group("title") if match else None


def is_more_request(text: str, *, offered: bool) -> bool:
    """ "more", "the rest", "show me the full article", or a plain "yes please" right after
    an offer: a request for the rest of the article, not a new question."""
    words = _CHAT_WORD_RE.findall(text.lower().replace("'", "").replace("’", ""))
    if not words or len(words) > 8 or any(w not in _MORE_WORDS | _MORE_FILLERS for w in words):
        return False
    return any(w in _MORE_WORDS for w in words) or (offered and any(w in _AFFIRM for w in words))


def small_talk(text: str) -> str | None:
    """The canned reply for a message that is only a greeting, thanks or "ok", else None.

    Searching the KB for "hi" would at best find nothing and answer "not sure", which counts
    toward a handoff; a message with any other word is a question and goes to the search."""
    words = _CHAT_WORD_RE.findall(text.lower().replace("'", "").replace("’", ""))
    if not words or any(w not in _SMALL_TALK_WORDS for w in words):
        return None
    if any(w in _THANKS for w in words):
        return THANKS_REPLY
    if any(w in _GREETINGS for w in words):
        return GREETING_REPLY
    if any(w in _ACKS for w in words):
        return ACK_REPLY
    return None


def _language_of(text: str) -> str:
    """The detector's verdict, or for a bare "hola" or "merci" too short for it, the
    greeting's language."""
    language = detect_language(text)
    if language == "en" and small_talk(text) is not None:
        words = _CHAT_WORD_RE.findall(text.lower())
        return next((_CHAT_LANGUAGE[w] for w in words if w in _CHAT_LANGUAGE), language)
    return language


def _search_text(question: str) -> str:
    """The English articles are searched with English words: for another language, the
    glossary's words for the shop's topics it names (else the question as it is)."""
    language = _language_of(question)
    return (to_english(question, language) if language != "en" else None) or question


def chunk_words(text: str) -> list[str]:
    """Groups of 3-6 words, cut early at punctuation so chunks end on natural pauses.

    Whitespace stays attached to the word before it, so the chunks join back exactly."""
    chunks: list[str] = []
    current: list[str] = []
    for piece in _PIECE_RE.findall(text):
        current.append(piece)
        stripped = piece.rstrip()
        at_pause = stripped[-1] in _BREAK_CHARS or "\n" in piece
        if len(current) >= _MAX_WORDS or (len(current) >= _MIN_WORDS and at_pause):
            chunks.append("".join(current))
            current = []
    if current:
        chunks.append("".join(current))
    lead = text[: len(text) - len(text.lstrip())]
    if lead:
        chunks = [lead + chunks[0], *chunks[1:]] if chunks else [lead]
    return chunks


def _related_title(top: Hit, rest: Sequence[Hit]) -> str | None:
    """The runner-up's title when it scored close to the top, unless the article already
    points to it."""
    if not rest or rest[0].score < _RELATED_RATIO * top.score:
        return None
    title = rest[0].article.title
    return None if f"*{title}*" in top.article.body else title


def _last_user_text(history: Sequence[Turn]) -> str | None:
    """What the user wrote since the last reply: one reply answers all of it together (the
    room service runs one reply at a time), else the newest user message."""
    run: list[str] = []
    for turn in reversed(history):
        if turn.sender != "user":
            break
        run.append(turn.text)
    if run:
        return "\n".join(reversed(run))
    return next((t.text for t in reversed(history) if t.sender == "user"), None)


def _last_ai_text(history: Sequence[Turn]) -> str | None:
    return next((t.text for t in reversed(history) if t.sender == "ai"), None)


def _unsure_streak(history: Sequence[Turn]) -> bool:
    """Whether the AI's previous replies were all "not sure", enough that one more means
    the user needs a person."""
    needed = UNSURE_STREAK_FOR_HANDOFF - 1
    ai_texts = [t.text for t in history if t.sender == "ai"][-needed:]
    return len(ai_texts) == needed and all(is_not_sure(t) for t in ai_texts)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


class OfflineAssistant(Assistant):
    """Answers from the packaged help articles; needs no network, key or model."""

    name = "offline"

    def __init__(self, kb: KnowledgeBase | None = None, *, chunk_delay: float = 0.0) -> None:
        self._kb = kb if kb is not None else KnowledgeBase.load()
        self._chunk_delay = chunk_delay

    @property
    def kb(self) -> KnowledgeBase:
        return self._kb

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        # In a thread: a lookup embeds the question (some ms of CPU), which must not hold up
        # the event loop's other rooms and sockets.
        if request.while_waiting:
            history = _newest_user_turn_only(request.history)
            plan = _while_waiting(await asyncio.to_thread(self._plan, history))
        else:
            plan = await asyncio.to_thread(self._plan, request.history)
        for index, chunk in enumerate(chunk_words(plan.text)):
            if index:
                await asyncio.sleep(self._chunk_delay)
            yield chunk
        if plan.handoff:
            yield HandoffRequest(reason=HANDOFF_REASON)

    def _plan(self, history: Sequence[Turn]) -> _Plan:
        question = _last_user_text(history)
        if question is None or not question.strip():
            return _Plan(EMPTY_REPLY)
        plan = self._plan_for(question, history)
        sentence = PERSON_IN_YOUR_LANGUAGE.get(_language_of(question))
        return _Plan(f"{plan.text}\n\n{sentence}", plan.handoff) if sentence else plan

    def _plan_for(self, question: str, history: Sequence[Turn]) -> _Plan:
        previous = _last_ai_text(history) or ""
        offered = offered_title(previous)
        if offered is not None and is_more_request(question, offered=True):
            article = next((a for a in self._kb.articles if a.title == offered), None)
            if article is not None:
                return _Plan(_rest_text(article, previous))
        canned = small_talk(question)
        if canned is not None:
            return _Plan(canned)
        lookup = self._kb.lookup(_search_text(question))
        if lookup.confident:
            return _Plan(self._grounded_text(lookup))
        if _unsure_streak(history):
            return _Plan(GIVE_UP_REPLY, handoff=True)
        return _Plan(NOT_SURE_REPLY)

    def _grounded_text(self, lookup: Lookup) -> str:
        """The passage that answers first, then where it comes from and that there is more."""
        best = lookup.best_passage
        assert best is not None  # a confident lookup has passages
        article = best.passage.article
        source = _SOURCE_MORE if len(article.paragraphs()) > 1 else _SOURCE
        parts = [best.passage.text, source.format(title=article.title)]
        top = next(h for h in lookup.hits if h.article is article)
        rest = [h for h in lookup.hits if h.article is not article]
        related = _related_title(top, rest)
        if related:
            parts.append(f"You might also find *{related}* useful.")
        parts.append(OFFER_HUMAN)
        return "\n\n".join(parts)

    async def brief(self, history: Sequence[Turn], *, reason: str | None = None) -> str:
        """The user's latest need, why a person was asked for, what the AI already sent and
        how often it had no answer (so the agent doesn't repeat an article the user has
        read), and what the user said while waiting. Extractive: their words, quoted."""
        before = [t.text for t in history if t.sender == "user" and not t.while_waiting]
        ai_texts = [t.text for t in history if t.sender == "ai"]
        need = next((t for t in reversed(before) if _is_need(t)), before[-1] if before else "")
        titles = list(dict.fromkeys(t for t in map(answered_title, ai_texts) if t))
        unsure = sum(1 for t in ai_texts if is_not_sure(t))
        said = [
            t.text
            for t in history
            if t.sender == "user" and t.while_waiting and _is_substantive(t.text)
        ][-BRIEF_WAITING_LINES:]
        return _compose_brief(need, titles, unsure, reason=reason, said=said)


def _newest_user_turn_only(history: Sequence[Turn]) -> list[Turn]:
    """While waiting, the user's lines since the AI last spoke were mostly for the person
    (statements, "hello?"): the answer is to the newest, the question that set it off."""
    kept = list(history)
    while len(kept) >= 2 and kept[-1].sender == "user" and kept[-2].sender == "user":
        del kept[-2]
    return kept


def _while_waiting(plan: _Plan) -> _Plan:
    """The user already waits for a person: no offer of one, no handoff, no "ask for a
    person in your language" (they have)."""
    if is_not_sure(plan.text):
        return _Plan(WAITING_NOT_SURE_REPLY)
    text = plan.text.split("\n\n" + OFFER_HUMAN)[0]
    for sentence in PERSON_IN_YOUR_LANGUAGE.values():
        text = text.replace("\n\n" + sentence, "")
    return _Plan(f"{text}\n\n{WAITING_NOTE}")


def _rest_text(article: Article, previous: str) -> str:
    """The article's paragraphs the previous reply didn't show, in reading order."""
    shown = " ".join(previous.split())
    rest = [p for p in article.paragraphs() if " ".join(p.split()) not in shown]
    if not rest:
        return "\n\n".join([_NOTHING_MORE.format(title=article.title), OFFER_HUMAN])
    return "\n\n".join([_REST_LEAD_IN.format(title=article.title), *rest, OFFER_HUMAN])


def _is_substantive(text: str) -> bool:
    return small_talk(text) is None and bool(tokenize(text))


def _is_need(text: str) -> bool:
    """A message that says what the user needs: not small talk, nor a bare "a person please"."""
    return _is_substantive(text) and not (wants_human(text) and len(tokenize(text)) <= 6)


def _compose_brief(
    asked: str,
    titles: Sequence[str],
    unsure: int,
    *,
    reason: str | None = None,
    said: Sequence[str] = (),
) -> str:
    """The need gets whatever room the facts leave, so the facts are never cut off."""
    tail = []
    if reason:
        tail.append(f"Handoff: {HANDOFF_REASONS.get(reason, reason)}")
    if titles:
        tail.append("AI answered with: " + "; ".join(titles))
    if unsure:
        tail.append(f"AI had no answer {unsure}×")
    if said:
        tail.append("While waiting: " + " / ".join(f'"{_clip(t, 100)}"' for t in said))
    suffix = "".join(f" | {part}" for part in tail)
    room = BRIEF_MAX_CHARS - len(suffix) - len('Needs: ""')
    if not asked.strip() or room < 20:
        return _clip(suffix.removeprefix(" | "), BRIEF_MAX_CHARS)
    return f'Needs: "{_clip(asked, room)}"{suffix}'
