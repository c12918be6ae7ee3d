"""What a knowledge-base search answers: the articles and passages best first, and the
confidence rule's verdict on them, so callers never re-derive it (`api/ai/retrieval.py`
searches; the assistants read these)."""

from __future__ import annotations

from dataclasses import dataclass

from api.ai.articles import Article, Passage

MIN_COVERAGE = 0.4
"""Share of the query's IDF weight the top article must contain: below it, the article only
matches a side word ("... in Amsterdam?") and answering from it would mislead."""
MIN_SIMILARITY = 0.7
"""Cosine of the question's sentence embedding to the best passage (its nearest `asks`
question or its text) above which the passage answers it even when the words alone don't say
so. Off-topic questions of the tuning set reach 0.67 at most; half the answerable ones reach
0.77."""
MIN_STRENGTH = 0.5
"""Top article score divided by the query's IDF weight: weeds out matches on one weak body
mention."""


@dataclass(frozen=True, slots=True)
class Hit:
    article: Article
    score: float
    """The rank score of the article's best passage, so hits come in the order of the
    passages a reply leads with."""


@dataclass(frozen=True, slots=True)
class PassageHit:
    passage: Passage
    score: float


@dataclass(frozen=True, slots=True)
class Lookup:
    """A search plus the verdict on it, so callers never re-derive the confidence rule."""

    hits: tuple[Hit, ...]
    """Articles best first, by their own score."""
    coverage: float
    """Share of the query's IDF weight found in the top article (0 when nothing matched)."""
    strength: float
    """Top article score over the query's IDF weight: how strongly, not just whether, it
    matched."""
    passages: tuple[PassageHit, ...] = ()
    """Passages best first; the first one leads the reply."""
    similarity: float | None = None
    """The question's closeness in meaning to the best passage (None: no embedding model)."""

    @property
    def confident(self) -> bool:
        if not self.hits:
            return False
        words = self.coverage >= MIN_COVERAGE and self.strength >= MIN_STRENGTH
        meaning = self.similarity is not None and self.similarity >= MIN_SIMILARITY
        return words or meaning

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    @property
    def best_passage(self) -> PassageHit | None:
        return self.passages[0] if self.passages else None
