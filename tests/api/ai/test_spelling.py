"""Typos, word forms and run-together words in help questions, as the user sees the answer."""

from __future__ import annotations

import pytest

from api.ai.retrieval import Article, KnowledgeBase
from bench.typos import inject_typo


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.mark.parametrize(
    ("question", "passage_id"),
    [
        ("wher is my oder", "order-tracking#1"),
        ("I lost my trackingnumber", "order-tracking#1"),
        ("is the utrecht hsop open on sunday", "store-locations#2"),
        ("the lgass arrived in pieces", "damaged-item#1"),
        ("is click and collect fre", "click-and-collect#1"),  # a dropped letter: "free"
        ("how long do I have to return hsoes", "returns-policy#1"),
    ],
)
def test_a_misspelled_question_leads_with_the_passage_that_answers(
    kb: KnowledgeBase, question: str, passage_id: str
) -> None:
    lookup = kb.lookup(question)
    best = lookup.best_passage
    assert lookup.confident and best is not None, (question, lookup)
    assert best.passage.id == passage_id


@pytest.mark.parametrize(
    ("question", "not_about"),
    [
        ("I lost my passport", "password-reset"),  # was "corrected" to password
        ("what is the weather like in amsterdam", "product-care"),  # was leather
        ("do you sell wedding dresses", "product-care"),  # was bedding
    ],
)
def test_a_correctly_spelled_word_the_articles_lack_is_not_mangled(
    kb: KnowledgeBase, question: str, not_about: str
) -> None:
    lookup = kb.lookup(question)
    assert not lookup.confident, (question, lookup.best_passage)
    best = lookup.best_passage
    assert best is None or best.passage.article.slug != not_about


@pytest.mark.parametrize(
    "question",
    ["can you hepl me with my homework", "is it going to rian this weekend", "whats 17 tmes 23"],
)
def test_an_off_topic_question_with_a_typo_still_gets_not_sure(
    kb: KnowledgeBase, question: str
) -> None:
    assert not kb.lookup(question).confident


def _kb(*articles: tuple[str, str, str]) -> KnowledgeBase:
    return KnowledgeBase.from_articles(
        [Article(slug=s, title=t, tags=(), body=b) for s, t, b in articles]
    )


def test_irregular_forms_meet_their_lemma() -> None:
    kb = _kb(
        ("kids", "Kids", "A free gift for every child."),
        ("wrapping", "Gifts", "Gift wrapping costs 2 euros."),
    )
    best = kb.lookup("is there a gift for children").best_passage
    assert best is not None and best.passage.article.slug == "kids"


def test_a_when_that_opens_a_clause_does_not_ask_for_a_time() -> None:
    kb = _kb(
        (
            "returns",
            "Returns",
            "To return an item, pack it and drop it off at a pickup point.\n\n"
            "A returned item is refunded within 5 days.",
        ),
    )
    best = kb.lookup("what happens when I return an item").best_passage
    assert best is not None and best.passage.id == "returns#1"
    best = kb.lookup("when will my returned item be refunded").best_passage
    assert best is not None and best.passage.id == "returns#2"


def test_how_long_asks_for_a_duration_not_about_anything_long() -> None:
    kb = _kb(
        (
            "voucher",
            "Vouchers",
            "You can use a voucher as long as your account is open and the order is large.\n\n"
            "A voucher is valid for 6 months.",
        ),
    )
    best = kb.lookup("how long can I use a voucher").best_passage
    assert best is not None and best.passage.id == "voucher#2"


def test_the_typo_injector_makes_one_repeatable_edit() -> None:
    question = "where is my parcel"
    typo = inject_typo(question, seed=1)
    assert typo == inject_typo(question, seed=1) != question
    assert len(typo.split()) == 4
    changed = [(a, b) for a, b in zip(question.split(), typo.split(), strict=True) if a != b]
    assert len(changed) == 1 and len(changed[0][0]) >= 4
    assert inject_typo("hi ok", seed=1) == "hi ok"


MIN_TUNING_TOP1_WITH_TYPOS = 0.84
"""One typo per tuning question (seed 1): 355/418 = 0.849 now, 304/418 = 0.727 on `main` at
d7e5301 (the speller then knew only the articles' words)."""


def test_tuning_set_with_one_typo_per_question_meets_its_floor() -> None:
    from bench.eval_passages import evaluate, summary

    stats = summary(evaluate(["tuning"], typo_seed=1))["tuning"]
    assert stats["top1_rate"] >= MIN_TUNING_TOP1_WITH_TYPOS, stats


def test_a_real_word_is_not_turned_into_a_name_the_articles_use() -> None:
    """PostNL is in the articles and not in the English list; "postal" is in the list."""
    kb = _kb(
        ("carriers", "Carriers", "Orders to the Netherlands travel with PostNL."),
        ("codes", "Zip codes", "Enter your zip code at checkout."),
    )
    best = kb.lookup("where do I put my postal code").best_passage
    assert best is not None and best.passage.article.slug == "codes"
