"""The offline FAQ assistant: streaming, grounded answers, honest "not sure", handoff, brief."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from api.ai.base import Assistant, HandoffRequest, ReplyChunk, ReplyRequest, Turn
from api.ai.offline import (
    BRIEF_MAX_CHARS,
    GIVE_UP_REPLY,
    GREETING_REPLY,
    HANDOFF_REASON,
    NOT_SURE_REPLY,
    OFFER_HUMAN,
    PERSON_IN_YOUR_LANGUAGE,
    THANKS_REPLY,
    WAITING_NOT_SURE_REPLY,
    WAITING_NOTE,
    OfflineAssistant,
    answered_title,
    chunk_words,
    is_not_sure,
    small_talk,
)
from api.ai.retrieval import KnowledgeBase, Lookup

OFF_TOPIC = "what's the capital of peru"


class SpyKnowledgeBase(KnowledgeBase):
    """Counts lookups, to prove small talk never reaches the search."""

    def __init__(self, base: KnowledgeBase) -> None:
        super().__init__(base.articles)
        self.queries: list[str] = []

    def lookup(self, query: str, *, limit: int = 3) -> Lookup:
        self.queries.append(query)
        return super().lookup(query, limit=limit)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture
def assistant(kb: KnowledgeBase) -> OfflineAssistant:
    return OfflineAssistant(kb)


def user(text: str) -> Turn:
    return Turn(sender="user", author="Sam", text=text)


def ai(text: str) -> Turn:
    return Turn(sender="ai", author="Assistant", text=text)


async def collect(assistant: Assistant, history: Sequence[Turn]) -> list[ReplyChunk]:
    return [chunk async for chunk in assistant.reply(ReplyRequest("room-1", history))]


def text_of(chunks: Sequence[ReplyChunk]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


# --- streaming -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "one",
        "Here's what I found:\n\nSome  double  spaces\tand tabs.\n\n1. Step\n2. Step\n",
        "  leading whitespace, trailing whitespace  ",
        "",
        "   ",
    ],
)
def test_chunk_words_joins_back_exactly(text: str) -> None:
    assert "".join(chunk_words(text)) == text


def test_chunk_words_makes_small_word_groups() -> None:
    text = " ".join(f"w{i}" for i in range(40))
    chunks = chunk_words(text)
    assert all(1 <= len(c.split()) <= 6 for c in chunks)
    assert all(len(c.split()) >= 3 for c in chunks[:-1])


def test_assistant_identity(assistant: OfflineAssistant) -> None:
    assert isinstance(assistant, Assistant)
    assert assistant.name == "offline"
    assert len(OfflineAssistant().kb) >= 28


async def test_streamed_chunks_join_to_the_full_reply(assistant: OfflineAssistant) -> None:
    chunks = await collect(assistant, [user("how much does shipping cost?")])
    text = text_of(chunks)
    assert len(chunks) > 1
    assert all(isinstance(c, str) and c for c in chunks)
    assert answered_title(text) == "Shipping times and costs"
    assert text.endswith(OFFER_HUMAN)
    assert chunks == chunk_words(text)


async def test_reply_yields_control_between_chunks(assistant: OfflineAssistant) -> None:
    """Even with no delay, other rooms' tasks must get to run while a long reply streams."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    chunks = await collect(assistant, [user("how do I start a return?")])
    task.cancel()
    assert ticks >= len(chunks) - 1


async def test_chunk_delay_paces_the_stream(kb: KnowledgeBase) -> None:
    delay = 0.005
    start = time.perf_counter()
    chunks = await collect(OfflineAssistant(kb, chunk_delay=delay), [user("hello")])
    assert time.perf_counter() - start >= delay * (len(chunks) - 1)


# --- grounded answers --------------------------------------------------------------------


async def test_shipping_question_answers_from_shipping_article(
    assistant: OfflineAssistant, kb: KnowledgeBase
) -> None:
    chunks = await collect(assistant, [user("How long does delivery take and what does it cost?")])
    text = text_of(chunks)
    article = next(a for a in kb.articles if a.slug == "shipping-times-costs")
    answer = article.paragraphs()[1]
    assert text.startswith(answer)  # the passage that answers, not the article's opening
    assert answered_title(text) == article.title
    assert "Want the full article? Just ask." in text
    assert article.paragraphs()[0] not in text
    assert not any(isinstance(c, HandoffRequest) for c in chunks)


@pytest.mark.parametrize("follow_up", ["more", "the rest please", "show me the full article"])
async def test_more_sends_the_rest_of_the_article(
    assistant: OfflineAssistant, kb: KnowledgeBase, follow_up: str
) -> None:
    first = user("how much is express shipping?")
    answer = text_of(await collect(assistant, [first]))
    history = [first, ai(answer), user(follow_up)]
    rest = text_of(await collect(assistant, history))
    article = next(a for a in kb.articles if a.slug == "shipping-times-costs")
    shown = [p for p in article.paragraphs() if p in answer]
    assert len(shown) == 1
    assert rest.startswith("Here's the rest of *Shipping times and costs*:")
    assert [p for p in article.paragraphs() if p in rest] == [
        p for p in article.paragraphs() if p not in shown
    ]
    assert not is_not_sure(rest)
    assert answered_title(rest) == article.title


async def test_yes_after_the_offer_sends_the_rest_too(assistant: OfflineAssistant) -> None:
    first = user("how do I cancel my order")
    answer = text_of(await collect(assistant, [first]))
    rest = text_of(await collect(assistant, [first, ai(answer), user("yes please")]))
    assert rest.startswith("Here's the rest of *Cancelling an order*:")


async def test_more_without_an_offer_is_not_a_follow_up(assistant: OfflineAssistant) -> None:
    assert text_of(await collect(assistant, [user("more")])) == NOT_SURE_REPLY
    history = [user("hi"), ai(GREETING_REPLY), user("yes please")]
    assert is_not_sure(text_of(await collect(assistant, history)))


async def test_a_new_question_after_an_offer_is_answered_as_a_question(
    assistant: OfflineAssistant,
) -> None:
    first = user("how do I cancel my order")
    answer = text_of(await collect(assistant, [first]))
    history = [first, ai(answer), user("and how do I reset my password")]
    assert answered_title(text_of(await collect(assistant, history))) == "Resetting your password"


async def test_answer_leads_with_the_relevant_paragraph(assistant: OfflineAssistant) -> None:
    text = text_of(await collect(assistant, [user("how much is express shipping?")]))
    first_paragraph = text.split("\n\n")[0]
    assert "€9.95" in first_paragraph


async def test_answers_the_last_user_turn(assistant: OfflineAssistant) -> None:
    history = [user("do you take paypal"), ai("..."), user("how do I reset my password")]
    text = text_of(await collect(assistant, history))
    assert answered_title(text) == "Resetting your password"


# --- not sure and handoff ----------------------------------------------------------------


async def test_off_topic_is_honest_and_offers_a_human(assistant: OfflineAssistant) -> None:
    chunks = await collect(assistant, [user(OFF_TOPIC)])
    text = text_of(chunks)
    assert text == NOT_SURE_REPLY
    assert is_not_sure(text)
    assert "talk to an agent" in text and "*Talk to a person*" in text
    assert not any(isinstance(c, HandoffRequest) for c in chunks)


async def test_third_ungrounded_answer_in_a_row_asks_for_a_human(
    assistant: OfflineAssistant,
) -> None:
    history: list[Turn] = []
    results = []
    for question in ("asdfgh", "write me a poem about cats", OFF_TOPIC):
        history.append(user(question))
        chunks = await collect(assistant, history)
        results.append(chunks)
        history.append(ai(text_of(chunks)))
    handoffs = [[c for c in chunks if isinstance(c, HandoffRequest)] for chunks in results]
    assert handoffs == [[], [], [HandoffRequest(reason=HANDOFF_REASON)]]
    assert results[2][-1] == HandoffRequest(reason="ungrounded")
    assert text_of(results[2]) == GIVE_UP_REPLY
    assert is_not_sure(GIVE_UP_REPLY)


async def test_a_grounded_answer_breaks_the_unsure_streak(assistant: OfflineAssistant) -> None:
    history = [
        user("asdfgh"),
        ai(NOT_SURE_REPLY),
        user("do you take paypal"),
        ai("Here's what I found about *Payment methods*: ..."),
        user("qwerty"),
        ai(NOT_SURE_REPLY),
        user(OFF_TOPIC),
    ]
    chunks = await collect(assistant, history)
    assert not any(isinstance(c, HandoffRequest) for c in chunks)


async def test_confident_answer_after_two_unsure_does_not_hand_off(
    assistant: OfflineAssistant,
) -> None:
    history = [user("a"), ai(NOT_SURE_REPLY), user("b"), ai(NOT_SURE_REPLY)]
    chunks = await collect(assistant, [*history, user("how do I cancel my order?")])
    assert answered_title(text_of(chunks)) == "Cancelling an order"
    assert not any(isinstance(c, HandoffRequest) for c in chunks)


def test_is_not_sure_tells_replies_apart() -> None:
    assert is_not_sure(NOT_SURE_REPLY)
    assert not is_not_sure("Here's what I found about *Gift cards*: ...")
    assert not is_not_sure(GREETING_REPLY)


# --- small talk ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("hi", GREETING_REPLY),
        ("Hello there!", GREETING_REPLY),
        ("good morning", GREETING_REPLY),
        ("thanks", THANKS_REPLY),
        ("Thank you so much!", THANKS_REPLY),
        ("hi, where is my parcel?", None),
        ("thanks, and how do I return shoes?", None),
    ],
)
def test_small_talk_recognises_only_pure_greetings_and_thanks(
    message: str, expected: str | None
) -> None:
    assert small_talk(message) == expected


async def test_greetings_and_thanks_do_not_search(kb: KnowledgeBase) -> None:
    spy = SpyKnowledgeBase(kb)
    assistant = OfflineAssistant(spy)
    assert text_of(await collect(assistant, [user("hi")])) == GREETING_REPLY
    assert text_of(await collect(assistant, [user("Thanks a lot!")])) == THANKS_REPLY
    assert spy.queries == []
    await collect(assistant, [user("hi, where is my parcel?")])
    assert spy.queries == ["hi, where is my parcel?"]


async def test_greeting_does_not_count_toward_handoff(assistant: OfflineAssistant) -> None:
    history = [user("x"), ai(NOT_SURE_REPLY), user("y"), ai(NOT_SURE_REPLY), user("hello")]
    chunks = await collect(assistant, history)
    assert text_of(chunks) == GREETING_REPLY
    assert not any(isinstance(c, HandoffRequest) for c in chunks)


# --- while the user waits --------------------------------------------------------------------


async def waiting_reply(assistant: OfflineAssistant, history: Sequence[Turn]) -> list[ReplyChunk]:
    request = ReplyRequest("room-1", history, while_waiting=True)
    return [chunk async for chunk in assistant.reply(request)]


async def test_an_answer_while_waiting_offers_no_person(assistant: OfflineAssistant) -> None:
    history = [user("talk to a human"), user("hello?"), user("how do I reset my password?")]
    text = text_of(await waiting_reply(assistant, history))
    assert answered_title(text) == "Resetting your password"  # the newest line, not "hello?"
    assert OFFER_HUMAN not in text and text.endswith(WAITING_NOTE)


async def test_no_answer_while_waiting_never_hands_over_again(assistant: OfflineAssistant) -> None:
    history = [user(OFF_TOPIC), ai(NOT_SURE_REPLY), user(OFF_TOPIC), ai(NOT_SURE_REPLY)]
    chunks = await waiting_reply(assistant, [*history, user(OFF_TOPIC)])
    assert text_of(chunks) == WAITING_NOT_SURE_REPLY
    assert not any(isinstance(c, HandoffRequest) for c in chunks)
    assert is_not_sure(WAITING_NOT_SURE_REPLY)  # still counted as "no answer" in the brief


async def test_no_person_in_your_language_line_while_waiting(assistant: OfflineAssistant) -> None:
    text = text_of(await waiting_reply(assistant, [user("¿Cómo restablezco mi contraseña?")]))
    assert not any(sentence in text for sentence in PERSON_IN_YOUR_LANGUAGE.values())


# --- brief -------------------------------------------------------------------------------


async def test_brief_has_the_latest_need_and_answered_titles(
    assistant: OfflineAssistant,
) -> None:
    history = [user("hi")]
    for question in ("I forgot my password, can't log in", "do you take paypal", OFF_TOPIC):
        history.append(ai(text_of(await collect(assistant, history))))
        history.append(user(question))
    history.append(ai(text_of(await collect(assistant, history))))
    brief = await assistant.brief(history)
    assert brief.startswith(f'Needs: "{OFF_TOPIC}"')
    assert "AI answered with: Resetting your password; Payment methods" in brief
    assert "no answer 1×" in brief
    assert len(brief) <= BRIEF_MAX_CHARS


async def test_brief_stays_short_for_long_messages(assistant: OfflineAssistant) -> None:
    long_question = "I ordered a lamp and " + "it is really quite broken " * 40
    history = [user(long_question), ai("Here's what I found about *Damaged or faulty items*:")]
    brief = await assistant.brief(history)
    assert len(brief) <= BRIEF_MAX_CHARS
    assert brief.endswith("AI answered with: Damaged or faulty items")
    assert "…" in brief


async def test_brief_keeps_the_need_behind_a_bare_request_for_a_person(
    assistant: OfflineAssistant,
) -> None:
    history = [
        user("the courier says delivered but there's nothing at my door"),
        ai("From our help article *Missing parcels*. Want the full article? Just ask."),
        user("ok"),
        user("talk to a human please"),
    ]
    brief = await assistant.brief(history, reason="phrase")
    assert brief.startswith('Needs: "the courier says delivered but there\'s nothing at my door"')
    assert "Handoff: asked for a person" in brief
    assert "AI answered with: Missing parcels" in brief
    assert "While waiting" not in brief


async def test_brief_quotes_what_the_user_said_while_waiting(
    assistant: OfflineAssistant,
) -> None:
    history = [
        user("my refund hasn't arrived"),
        user("agent please"),
        Turn("user", "User", "it was order 1234, paid by card", while_waiting=True),
        Turn("user", "User", "thanks", while_waiting=True),
        Turn("user", "User", "also the box was damaged", while_waiting=True),
    ]
    brief = await assistant.brief(history, reason="button")
    assert brief.startswith('Needs: "my refund hasn\'t arrived"')
    assert "Handoff: pressed Talk to a person" in brief
    assert brief.endswith(
        'While waiting: "it was order 1234, paid by card" / "also the box was damaged"'
    )
    assert len(brief) <= BRIEF_MAX_CHARS


async def test_brief_of_an_empty_history(assistant: OfflineAssistant) -> None:
    assert await assistant.brief([]) == ""


# --- the user's language -------------------------------------------------------------------


async def test_a_spanish_question_gets_the_person_sentence_in_spanish(
    assistant: OfflineAssistant,
) -> None:
    text = text_of(await collect(assistant, [user("¿Cuánto tarda el reembolso de mi pedido?")]))
    assert text.endswith(PERSON_IN_YOUR_LANGUAGE["es"])
    assert "*Talk to a person*" in text


async def test_a_german_off_topic_question_stays_not_sure_and_adds_german(
    assistant: OfflineAssistant,
) -> None:
    text = text_of(await collect(assistant, [user("Was ist die Hauptstadt von Peru?")]))
    assert is_not_sure(text)
    assert text.endswith(PERSON_IN_YOUR_LANGUAGE["de"])


async def test_an_english_question_gets_no_extra_sentence(assistant: OfflineAssistant) -> None:
    text = text_of(await collect(assistant, [user(OFF_TOPIC)]))
    assert text == NOT_SURE_REPLY
    assert not any(sentence in text for sentence in PERSON_IN_YOUR_LANGUAGE.values())


@pytest.mark.parametrize(
    ("message", "language", "expected"),
    [
        ("hola", "es", GREETING_REPLY),
        ("Bonjour !", "fr", GREETING_REPLY),
        ("guten Tag", "de", GREETING_REPLY),
        ("grazie mille", "it", THANKS_REPLY),
        ("obrigado", "pt", THANKS_REPLY),
        ("dank je wel", "nl", THANKS_REPLY),
        ("dziękuję bardzo", "pl", THANKS_REPLY),
    ],
)
async def test_a_greeting_or_thanks_in_another_language_offers_a_person_in_it(
    assistant: OfflineAssistant, message: str, language: str, expected: str
) -> None:
    """Too short for the language detector, yet no "not sure" (which counts toward a
    handoff): the greeting is answered and a person in the user's language offered."""
    text = text_of(await collect(assistant, [user(message)]))
    assert text.startswith(expected)
    assert text.endswith(PERSON_IN_YOUR_LANGUAGE[language])
    assert not is_not_sure(text)


@pytest.mark.parametrize(
    ("question", "language", "title"),
    [
        ("¿Dónde está mi pedido?", "es", "Tracking your order"),
        ("Mon colis est arrivé endommagé", "fr", "Damaged or faulty items"),
        ("Wie kann ich meine Bestellung stornieren?", "de", "Cancelling an order"),
        ("Come posso restituire un articolo?", "it", "Returns policy"),
        ("Esqueci a minha senha da conta", "pt", "Resetting your password"),
        ("Waar is mijn bestelling?", "nl", "Tracking your order"),
        ("Paczka dotarła uszkodzona", "pl", "Damaged or faulty items"),
    ],
)
async def test_a_question_in_another_language_is_answered_from_the_articles(
    assistant: OfflineAssistant, question: str, language: str, title: str
) -> None:
    """The articles are English; the glossary finds the one the question is about, and the
    reply says in the user's language that a person can help in it."""
    text = text_of(await collect(assistant, [user(question)]))
    assert answered_title(text) == title
    assert text.endswith(PERSON_IN_YOUR_LANGUAGE[language])


async def test_a_question_in_another_language_naming_no_shop_topic_stays_not_sure(
    assistant: OfflineAssistant,
) -> None:
    text = text_of(await collect(assistant, [user("¿Dónde está la estación de tren?")]))
    assert is_not_sure(text)
    assert text.endswith(PERSON_IN_YOUR_LANGUAGE["es"])
