"""BM25 retrieval over the help articles: ranking, the confidence rule, and speed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from api.ai.retrieval import Article, KnowledgeBase, parse_article, stem, tokenize

QUESTIONS: list[tuple[str, str]] = [
    ("how long will it take for my stuff to get here", "shipping-times-costs"),
    ("do you charge anything for delivery", "shipping-times-costs"),
    ("is postage free if I spend enough", "shipping-times-costs"),
    ("can I get it by tomorrow with express", "shipping-times-costs"),
    ("can you send things to the united states", "international-shipping"),
    ("will I have to pay customs fees when ordering to switzerland", "international-shipping"),
    ("which countries do you ship to outside europe", "international-shipping"),
    ("where is my parcel right now", "order-tracking"),
    ("I never got a tracking number for my order", "order-tracking"),
    ("what does the status processing mean on my order", "order-tracking"),
    ("the tracking says delivered but there is nothing at my door", "late-or-missing-parcel"),
    ("my order is a week late and hasn't arrived", "late-or-missing-parcel"),
    ("I typed the wrong address on my order, can I fix it", "change-order"),
    ("I want to edit the order I placed ten minutes ago", "change-order"),
    ("please cancel my purchase, I ordered it by mistake", "cancel-order"),
    ("how do I cancel an order", "cancel-order"),
    ("how many days do I have to send something back", "returns-policy"),
    ("can I return a swimsuit", "returns-policy"),
    ("how do I get a return label", "start-return"),
    ("I don't have a printer, how can I send my parcel back", "start-return"),
    ("when will I see the money after sending my return", "refund-timing"),
    ("I'm still waiting for my refund", "refund-timing"),
    ("these trousers are too small, can I swap them for a bigger size", "exchanges"),
    ("I'd like a different colour of the same jumper", "exchanges"),
    ("the vase arrived cracked", "damaged-item"),
    ("my new lamp was broken when I opened the box", "damaged-item"),
    ("you sent me a blue shirt instead of the green one I ordered", "wrong-item"),
    ("one of the things I ordered is not in the package", "wrong-item"),
    ("do you take paypal", "payment-methods"),
    ("can I split the payment into instalments", "payment-methods"),
    ("my card keeps getting declined at checkout", "failed-payment"),
    ("I was charged twice for one order", "failed-payment"),
    ("my discount code doesn't work", "promo-codes"),
    ("how do I use a coupon", "promo-codes"),
    ("how do I check how much is left on my gift card", "gift-cards"),
    ("the jacket I bought last week is now cheaper", "price-match"),
    ("do you match prices from other shops", "price-match"),
    ("I need an invoice for my company with our VAT number", "invoices-vat"),
    ("how do I register on your website", "create-account"),
    ("I forgot my password and can't log in", "password-reset"),
    ("how do I update my email address", "change-account-details"),
    ("please erase all my personal data", "privacy-delete-account"),
    ("I want to close my account", "privacy-delete-account"),
    ("stop sending me marketing emails", "newsletter-unsubscribe"),
    ("what time does customer service close", "support-hours"),
    ("can I speak to a real human", "contact-human"),
    ("what's your phone number", "contact-human"),
    ("is there a shop in amsterdam", "store-locations"),
    ("what size should I order if I'm between sizes", "size-guide"),
    ("how should I wash a wool sweater", "product-care"),
    ("the sole of my boots came off after three months", "warranty"),
    ("how do reward points work", "loyalty-program"),
    ("when will my size be available again", "back-in-stock"),
    ("can I order something that isn't released yet", "pre-orders"),
    ("can I pick my order up at one of your shops", "click-and-collect"),
]
"""Paraphrases a customer might type, each with the article that should answer it."""

OFF_TOPIC = [
    "what's the capital of peru",
    "write me a poem about cats",
    "asdfgh",
    "who won the football match yesterday",
    "can you recommend a good restaurant in amsterdam",
    "what is the meaning of life",
    "tell me a joke",
    "how do I fix my car engine",
    "what's the weather like in berlin tomorrow",
    "who is the president of france",
    "is it going to rain this weekend",
    # A place the articles name is no topic by itself.
    "what is the capital of australia",
    "is the Amsterdam shop hiring",
]

MIN_TOP1_ACCURACY = 0.90
MIN_TUNING_PASSAGE_TOP1 = 0.88
"""Below the 90 % target: see the README's AI section for where passage ranking stands."""
MIN_CONFIDENT_SHARE = 0.85


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def _top_slug(kb: KnowledgeBase, question: str) -> str | None:
    hits = kb.search(question, limit=1)
    return hits[0].article.slug if hits else None


# --- the packaged knowledge base -------------------------------------------------------------


def test_packaged_kb_has_enough_well_formed_articles(kb: KnowledgeBase) -> None:
    assert len(kb) >= 28
    for article in kb.articles:
        words = len(article.body.split())
        assert article.title and not article.title.startswith("#"), article.slug
        assert article.tags, f"{article.slug} has no tags line"
        assert 60 <= words <= 200, f"{article.slug} body has {words} words"


def test_slugs_are_unique(kb: KnowledgeBase) -> None:
    slugs = [a.slug for a in kb.articles]
    assert len(slugs) == len(set(slugs))


def test_load_reads_a_directory(tmp_path: Path) -> None:
    (tmp_path / "alpha.md").write_text("# Alpha\ntags: first\n\nAlpha body.", "utf-8")
    (tmp_path / "notes.txt").write_text("not an article", "utf-8")
    loaded = KnowledgeBase.load(tmp_path)
    assert len(loaded) == 1
    assert loaded.articles[0] == Article("alpha", "Alpha", ("first",), "Alpha body.")


def test_parse_article_without_tags_line() -> None:
    article = parse_article("x", "# Title\n\nFirst line.\n\nSecond paragraph.\n")
    assert article == Article("x", "Title", (), "First line.\n\nSecond paragraph.")


def test_parse_article_requires_a_title() -> None:
    with pytest.raises(ValueError, match="Title"):
        parse_article("bad", "no heading here")


# --- tokenising --------------------------------------------------------------------------------


def test_inflections_share_a_stem() -> None:
    assert stem("shipping") == stem("shipped") == stem("ships") == stem("ship")
    assert stem("changing") == stem("change") == stem("changes")
    assert stem("cancelling") == stem("cancel")
    assert stem("addresses") == stem("address")
    assert stem("deliveries") == stem("delivery") == stem("delivered")


def test_tokenize_drops_stopwords_and_punctuation() -> None:
    assert tokenize("Where's MY order?!") == ["where", "order"]  # "where" asks for tracking
    assert tokenize("what is it") == []


# --- ranking on the real articles -------------------------------------------------------------


@pytest.mark.parametrize(("question", "slug"), QUESTIONS)
def test_question_table_row_is_answerable(kb: KnowledgeBase, question: str, slug: str) -> None:
    """Each row must name a real article and hit something; whether the *right* article ranks
    first is judged in aggregate below, so one tuning change doesn't fail a dozen rows."""
    assert slug in {a.slug for a in kb.articles}
    assert kb.search(question)


def test_top1_accuracy_over_question_table(kb: KnowledgeBase) -> None:
    misses = [(q, want, _top_slug(kb, q)) for q, want in QUESTIONS if _top_slug(kb, q) != want]
    accuracy = 1 - len(misses) / len(QUESTIONS)
    print(f"top-1 accuracy: {accuracy:.1%} ({len(QUESTIONS) - len(misses)}/{len(QUESTIONS)})")
    assert len(QUESTIONS) >= 40
    assert accuracy >= MIN_TOP1_ACCURACY, f"top-1 {accuracy:.1%}; misses: {misses}"


def test_most_table_questions_are_confident_and_right(kb: KnowledgeBase) -> None:
    """The other side of the off-topic test: a rule that is never confident is useless."""
    good = [q for q, want in QUESTIONS if _confident_on(kb, q, want)]
    share = len(good) / len(QUESTIONS)
    unsure = [q for q, want in QUESTIONS if not _confident_on(kb, q, want)]
    assert share >= MIN_CONFIDENT_SHARE, f"confident+right {share:.1%}; not: {unsure}"


def _confident_on(kb: KnowledgeBase, question: str, slug: str) -> bool:
    lookup = kb.lookup(question)
    return lookup.confident and lookup.best is not None and lookup.best.article.slug == slug


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_are_not_confident(kb: KnowledgeBase, question: str) -> None:
    lookup = kb.lookup(question)
    assert not lookup.confident, (question, lookup)
    assert not kb.is_confident(question)


def test_search_returns_positive_scores_best_first(kb: KnowledgeBase) -> None:
    for question, _ in QUESTIONS:
        hits = kb.search(question, limit=5)
        scores = [h.score for h in hits]
        assert 0 < len(hits) <= 5
        assert all(s > 0 for s in scores)
        assert scores == sorted(scores, reverse=True)


def test_search_without_content_words_finds_nothing(kb: KnowledgeBase) -> None:
    assert kb.search("") == []
    assert kb.search("what is it, please?") == []
    assert kb.lookup("asdfgh").best is None


def test_passages_lead_with_the_paragraph_about_the_question(kb: KnowledgeBase) -> None:
    article = next(a for a in kb.articles if a.slug == "shipping-times-costs")
    paragraphs = kb.passages(article, "how much does express delivery cost")
    assert "€9.95" in paragraphs[0]
    assert sorted(paragraphs) == sorted(p.strip() for p in article.body.split("\n\n"))


def test_lookup_ranks_passages_with_stable_ids(kb: KnowledgeBase) -> None:
    lookup = kb.lookup("how much does express delivery cost")
    best = lookup.best_passage
    assert best is not None and best.passage.id == "shipping-times-costs#2"
    assert "€9.95" in best.passage.text
    assert lookup.best is not None and lookup.best.article is best.passage.article
    ids = [p.id for p in kb.passage_list]
    assert len(ids) == len(set(ids)) == sum(len(a.paragraphs()) for a in kb.articles)


def test_typos_are_corrected_against_the_articles_words(kb: KnowledgeBase) -> None:
    assert kb.lookup("forgot my pasword").best_passage is not None
    best = kb.lookup("forgot my pasword").best_passage
    assert best is not None and best.passage.article.slug == "password-reset"
    assert not kb.lookup("who is the president of france").confident


# --- what users notice: the reply's first paragraph -------------------------------------------

LEADS_WITH: list[tuple[str, str]] = [
    ("where is my order?", "order-tracking#1"),
    ("how long does a refund take?", "refund-timing#1"),
    ("what is your return policy", "returns-policy#1"),
    ("the courier says delivered but there's nothing at my door", "late-or-missing-parcel#2"),
    ("my parcel hasn't moved in a week", "late-or-missing-parcel#1"),
    ("wher is my oder", "order-tracking#1"),
    ("Hi, I ordered a jacket 2 weeks ago and it still hasn't come. Order #12345.", ""),
]
"""Questions from the issue and their right first paragraph ("" = any late-parcel or tracking
paragraph: the order number must not make the assistant give up)."""


async def _reply(question: str) -> str:
    from api.ai.base import ReplyRequest, Turn
    from api.ai.offline import OfflineAssistant

    request = ReplyRequest("t", [Turn("user", "User", question)])
    return "".join([c async for c in OfflineAssistant().reply(request) if isinstance(c, str)])


@pytest.mark.parametrize(("question", "passage_id"), LEADS_WITH)
def test_the_reply_leads_with_the_paragraph_that_answers(
    kb: KnowledgeBase, question: str, passage_id: str
) -> None:
    import asyncio

    reply = asyncio.run(_reply(question))
    lookup = kb.lookup(question)
    best = lookup.best_passage
    assert lookup.confident and best is not None, (question, lookup)
    if passage_id:
        assert best.passage.id == passage_id
    else:
        assert best.passage.article.slug in {"late-or-missing-parcel", "order-tracking"}
    assert reply.startswith(best.passage.text), reply
    # The reply quotes the paragraph, not the whole article.
    others = [p for p in best.passage.article.paragraphs() if p != best.passage.text]
    assert not any(p in reply for p in others), reply


@pytest.mark.parametrize(
    "question", ["qwertyuiop zxcv", "what's 17 times 23", "is it going to rain this weekend"]
)
def test_nonsense_gets_not_sure_and_the_offer_of_a_person(question: str) -> None:
    import asyncio

    from api.ai.offline import is_not_sure

    reply = asyncio.run(_reply(question))
    assert is_not_sure(reply), reply
    assert "person" in reply.lower(), reply


def test_asks_lines_are_searched_but_never_shown() -> None:
    article = parse_article(
        "x",
        "# Parcels\ntags: parcel\n\n<!-- asks: where is my stuff; has it shipped -->\n"
        "We email a tracking link.\n\nSecond paragraph about pickup points.\n",
    )
    assert article.paragraphs() == [
        "We email a tracking link.",
        "Second paragraph about pickup points.",
    ]
    assert article.asks == (("where is my stuff", "has it shipped"), ())
    assert "asks" not in article.body
    kb = KnowledgeBase.from_articles(
        [article, _article("other", "Pickup points", "Stuff waits at pickup points for days.")]
    )
    best = kb.lookup("where is my stuff").best_passage
    assert best is not None and best.passage.id == "x#1"


def test_a_word_only_the_thesaurus_knows_still_finds_the_answer(kb: KnowledgeBase) -> None:
    """ "cash" is in no article nor the hand-written table; WordNet ties it to "money"."""
    lookup = kb.lookup("how soon does the cash hit my account after you receive my return")
    best = lookup.best_passage
    assert lookup.confident and best is not None
    assert best.passage.article.slug == "refund-timing"


def test_the_paragraph_that_alone_has_the_words_leads(kb: KnowledgeBase) -> None:
    """The first paragraph of *Tracking your order* says "shipped" too, but only the third
    explains what each order status means."""
    best = kb.lookup("what does it mean when my order says shipped").best_passage
    assert best is not None and best.passage.id == "order-tracking#3"


def test_every_packaged_paragraph_says_which_questions_it_answers(kb: KnowledgeBase) -> None:
    for article in kb.articles:
        for index, _ in enumerate(article.paragraphs()):
            assert len(article.asks_of(index)) >= 1, f"{article.slug}#{index + 1} has no asks"


def test_tuning_set_top1_meets_its_floor() -> None:
    """The labelled tuning set, judged as users see replies (bench/eval_passages.py). The
    floor is what the current retrieval reaches, so a change can't quietly make it worse; the
    target is 90 %."""
    from bench.eval_passages import evaluate, summary

    stats = summary(evaluate(["tuning"]))["tuning"]
    assert stats["questions"] >= 120
    assert stats["top1_rate"] >= MIN_TUNING_PASSAGE_TOP1, stats
    assert stats["not_sure_rate"] == 1.0, stats


# --- BM25 behaviour on hand-made articles -------------------------------------------------------


def _words_only(articles: list[Article]) -> KnowledgeBase:
    """These tests pin the word scoring (BM25 fields, lengths): without the meaning signal,
    which on one-line articles without `asks` questions would outvote it."""
    return KnowledgeBase.from_articles(articles, embedder=None)


def _article(slug: str, title: str, body: str, tags: tuple[str, ...] = ()) -> Article:
    return Article(slug=slug, title=title, tags=tags, body=body)


def test_rare_term_beats_common_term() -> None:
    kb = _words_only(
        [
            _article("a", "Alpha", "parcel parcel box"),
            _article("b", "Beta", "parcel zebra box"),
            _article("c", "Gamma", "parcel crate box"),
            _article("d", "Delta", "parcel crate lid"),
        ]
    )
    hits = kb.search("parcel zebra")
    assert hits[0].article.slug == "b"
    assert hits[0].score > 2 * hits[1].score


def test_title_match_beats_body_match() -> None:
    kb = _words_only(
        [
            _article("body", "Vouchers", "A gift for friends, bought in our shop for any day."),
            _article("title", "Gift ideas", "Something for friends, bought in our shop any day."),
        ]
    )
    assert [h.article.slug for h in kb.search("gift")] == ["title", "body"]


def test_tags_count_as_matches() -> None:
    kb = _words_only(
        [
            _article("care", "Caring for wool", "Hand wash cold.", tags=("laundry",)),
            _article("other", "Opening hours", "We open at nine."),
        ]
    )
    assert [h.article.slug for h in kb.search("laundry")] == ["care"]


def test_long_article_is_penalised_for_the_same_mention() -> None:
    filler = " ".join(f"word{i}" for i in range(80))
    kb = _words_only(
        [
            _article("long", "One", f"refund {filler}"),
            _article("short", "Two", "refund soon"),
        ]
    )
    assert [h.article.slug for h in kb.search("refund")] == ["short", "long"]


def test_limit_and_empty_knowledge_base() -> None:
    kb = _words_only([_article(str(i), f"Topic {i}", "shared") for i in range(5)])
    assert len(kb.search("shared", limit=2)) == 2
    empty = KnowledgeBase.from_articles([])
    assert len(empty) == 0
    assert empty.search("anything") == []
    assert not empty.lookup("anything").confident


# --- speed on a 500-article knowledge base --------------------------------------------------


def synthetic_articles(base: list[Article], count: int = 500, seed: int = 7) -> list[Article]:
    """`count` articles made from the real ones with shuffled, partly replaced words, so the
    vocabulary and posting lists grow like a real, larger help centre would."""
    rng = random.Random(seed)
    vocabulary = sorted({w for a in base for w in a.body.split()})
    made = []
    for i in range(count):
        src = base[i % len(base)]
        words = src.body.split()
        rng.shuffle(words)
        words = [rng.choice(vocabulary) if rng.random() < 0.3 else w for w in words]
        words += [f"topic{rng.randrange(5000)}" for _ in range(10)]
        title = f"{src.title} {rng.choice(vocabulary)}"
        asks = (tuple(q for qs in src.asks for q in qs),)  # the whole body is one paragraph
        made.append(Article(f"{src.slug}-{i}", title, src.tags, " ".join(words), asks))
    return made


def test_a_large_knowledge_base_still_finds_the_right_topic(kb: KnowledgeBase) -> None:
    """500 noisy near-duplicates: the question's topic (slug family) must still rank first."""
    big = KnowledgeBase.from_articles(synthetic_articles(list(kb.articles)))
    assert len(big) == 500
    hits = [(big.search(question, limit=1), slug) for question, slug in QUESTIONS]
    right = [slug for found, slug in hits if found and found[0].article.slug.startswith(slug)]
    assert len(right) / len(QUESTIONS) >= 0.8
