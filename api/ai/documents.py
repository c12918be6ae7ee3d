"""What stands for an article and for each of its passages in the knowledge base's indexes
(`api.ai.retrieval`): their words weighted by field (a simple BM25F), the tags that belong to
each paragraph, the words that can set a paragraph apart from its siblings, and the texts
embedded for its meaning."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from api.ai import ranking
from api.ai.articles import Article, Passage
from api.ai.search_terms import answer_types, tokenize


def weighted(fields: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Term frequencies with field weights folded in (a simple BM25F)."""
    tf: dict[str, float] = {}
    for text, weight in fields:
        for term in tokenize(text):
            tf[term] = tf.get(term, 0.0) + weight
    return tf


def article_doc(article: Article) -> dict[str, float]:
    """A title or tag word says what an article is *about*; a body word may be a passing
    mention; its paragraphs' questions say what it answers."""
    return weighted(
        (
            (article.title, ranking.TITLE_WEIGHT),
            (" ".join(article.tags), ranking.TAGS_WEIGHT),
            (article.body, ranking.BODY_WEIGHT),
            (" ".join(q for asks in article.asks for q in asks), ranking.ARTICLE_ASKS_WEIGHT),
        )
    )


def passage_doc(passage: Passage, tags: Sequence[str]) -> dict[str, float]:
    """Its own words, its article's title as context, the tags about it, the questions it
    answers, and what kind of answer it states (a duration, a price)."""
    article = passage.article
    doc = weighted(
        (
            (passage.text, ranking.BODY_WEIGHT),
            (article.title, ranking.PASSAGE_TITLE_WEIGHT),
            (" ".join(tags), ranking.TAGS_WEIGHT),
            (" ".join(article.asks_of(passage.index)), ranking.ASKS_WEIGHT),
        )
    )
    doc.update(answer_types(passage.text))
    return doc


def local_terms(passage: Passage) -> set[str]:
    """The terms that may set a paragraph apart from its article's others (`LocalIdf`)."""
    return {*tokenize(passage.text), *answer_types(passage.text)} | {
        t for ask in passage.article.asks_of(passage.index) for t in tokenize(ask)
    }


def tags_by_passage(article: Article, paragraphs: Sequence[str]) -> list[list[str]]:
    """Each tag goes to the paragraph that shares most of its words (the first on a tie; none
    when none does), so "marked delivered" lands on the paragraph about it."""
    stems = [set(tokenize(p)) for p in paragraphs]
    assigned: list[list[str]] = [[] for _ in paragraphs]
    for tag in article.tags:
        words = set(tokenize(tag))
        shares = [len(words & s) / (len(words) or 1) for s in stems]
        best = max(shares)
        for i, share in enumerate(shares):
            if best > 0 and share == best:
                assigned[i].append(tag)
    return assigned


def embedded_texts(passage: Passage) -> list[str]:
    """What stands for a passage in meaning: the questions it answers (a question is closest
    to other questions) and its own text (on the tuning set, 362/418 passages found by meaning
    alone, against 355 with the questions alone and 249 with the text alone)."""
    return [*passage.article.asks_of(passage.index), passage.text]
