"""BM25 search over the passages (paragraphs) of the help articles in `kb/`.

A passage's rank adds up its article's BM25 score (title and tags above the body, plus the
questions its paragraphs answer, so the topic is right), its own (its words, the tags about it,
its `asks` questions), and how close the question is to the nearest of those `asks` questions
(so the paragraph written for it comes first), and, with the embedding model installed, how
close it is in meaning to the article and the passage (`api.ai.semantic`). Queries are
corrected and split into words (`api.ai.spelling`), stemmed (Snowball, after the lemma of an
irregular form) and expanded with the customers' words for the articles' words
(`api.ai.customer_words`); "how long"/"how much" prefer passages stating a duration/price. A
confidence rule (`Lookup.confident`) turns a weak match into "not sure" rather than a wrong
answer.

The index is built once at load time and a query only walks the postings of its own terms, so
the offline assistant streams its first token within milliseconds, also with 500 articles.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import NamedTuple

from api.ai import ranking
from api.ai.articles import Article, Passage, article_files, parse_article
from api.ai.bm25 import K1, B, Bm25Index, LocalIdf
from api.ai.customer_words import INTENTS, SLANG
from api.ai.documents import article_doc, embedded_texts, local_terms, passage_doc, tags_by_passage
from api.ai.embeddings import Matrix
from api.ai.lookup import Hit, Lookup, PassageHit
from api.ai.search_terms import (
    COST_QUESTION_RE,
    COST_TERM,
    STOPWORDS,
    SYNONYMS,
    TIME_QUESTION_RE,
    TIME_TERM,
    content_words,
    is_number,
    phrase_expansions,
    proper_names,
    query_terms,
    stem,
    synonyms_of_stem,
    thesaurus_words,
    tokenize,
    word_set,
)
from api.ai.semantic import EmbedderChoice, SemanticIndex, embedder_from_settings
from api.ai.spelling import Speller, english_words

# Names callers and tests have always imported from here stay importable from here.
__all__ = ["Article", "Hit", "KnowledgeBase", "Lookup", "Passage", "PassageHit", "parse_article"]
__all__ += ["COST_TERM", "K1", "STOPWORDS", "TIME_TERM", "B", "query_terms", "stem", "tokenize"]
__all__ += ["word_set"]

_PACKAGE = __name__.rpartition(".")[0]


def _best_first(item: tuple[int, float]) -> tuple[float, int]:
    """Highest score first, then the lower index (the earlier article or paragraph)."""
    return (-item[1], item[0])


_HOW_LONG_RE = re.compile(r"\bhow long\b")
_INTENT_STEMS = frozenset(stem(w) for w in INTENTS)
_ITEM = stem("item")


@dataclass(frozen=True, slots=True)
class _Query:
    own: list[str]
    alternatives: dict[str, tuple[str, ...]]
    """Per own term, the stems it may stand for: its synonyms, or the meaning of a phrase it
    is part of ("service point" → pickup point)."""
    weighted: list[tuple[str, float]]
    text: str = ""
    """The question as corrected by the speller (what the embedding model reads)."""


class _Scored(NamedTuple):
    passages: list[tuple[int, float]]
    articles: dict[int, float]
    """Article scores by words, plus the candidates by meaning at 0."""
    words: dict[int, float]
    """Article scores by words alone."""
    similarity: Matrix | None


class KnowledgeBase:
    """Articles, their passages, and an article index and a passage index over them."""

    def __init__(
        self, articles: Sequence[Article], *, embedder: EmbedderChoice = "settings"
    ) -> None:
        """`embedder`: the sentence-embedding model to rank by meaning too; by default the
        one the settings ask for (None: words only)."""
        self._articles = tuple(articles)
        passages: list[Passage] = []
        passage_docs: list[dict[str, float]] = []
        self._article_passages: list[list[int]] = []
        for article in self._articles:
            paragraphs = article.paragraphs()
            own: list[int] = []
            for index, (text, tags) in enumerate(
                zip(paragraphs, tags_by_passage(article, paragraphs), strict=True)
            ):
                own.append(len(passages))
                passage = Passage(article, index, text)
                passages.append(passage)
                passage_docs.append(passage_doc(passage, tags))
            self._article_passages.append(own)
        self._passages = tuple(passages)
        self._asks: list[tuple[int, frozenset[str]]] = [
            (p, frozenset(tokenize(ask)))
            for p, passage in enumerate(passages)
            for ask in passage.article.asks_of(passage.index)
        ]
        self._ask_postings: dict[str, list[int]] = {}
        for a, (_, terms) in enumerate(self._asks):
            for term in terms:
                self._ask_postings.setdefault(term, []).append(a)
        self._passage_article = [doc for doc, own in enumerate(self._article_passages) for _ in own]
        self._articles_index = Bm25Index([article_doc(a) for a in self._articles])
        self._passages_index = Bm25Index(passage_docs)
        self._names = proper_names(a.body for a in self._articles)
        self._local = LocalIdf(self._article_passages, [local_terms(p) for p in passages])
        self._ask_norms = [sum(self._ask_idf(t) for t in terms) for _, terms in self._asks]
        self._speller = Speller(
            {w for a in self._articles for w in content_words(f"{a.title} {' '.join(a.tags)}")}
            | {w for a in self._articles for w in content_words(a.body)}
            | {
                w for a in self._articles for asks in a.asks for q in asks for w in content_words(q)
            },
            known=SYNONYMS.keys() | SLANG.keys() | thesaurus_words() | STOPWORDS,
            is_known_stem=lambda word: stem(word) in self._articles_index.idf,
            rarity=lambda word: self.idf(stem(word)),
            english=english_words(),
        )
        if embedder == "settings":
            embedder = embedder_from_settings()
        self._semantic = (
            SemanticIndex(embedder, [embedded_texts(p) for p in passages])
            if embedder is not None and passages
            else None
        )

    @classmethod
    def load(
        cls, directory: Path | None = None, *, embedder: EmbedderChoice = "settings"
    ) -> KnowledgeBase:
        """None reads the `kb/` shipped inside the package, also from an installed wheel."""
        root: Traversable = resources.files(_PACKAGE) / "kb" if directory is None else directory
        files = article_files(root)
        articles = [parse_article(f.name.removesuffix(".md"), f.read_text("utf-8")) for f in files]
        return cls(articles, embedder=embedder)

    @classmethod
    def from_articles(
        cls, articles: Sequence[Article], *, embedder: EmbedderChoice = "settings"
    ) -> KnowledgeBase:
        return cls(articles, embedder=embedder)

    @property
    def semantic(self) -> bool:
        """Whether passages are also ranked by meaning (the embedding model is in use)."""
        return self._semantic is not None

    def __len__(self) -> int:
        return len(self._articles)

    @property
    def articles(self) -> tuple[Article, ...]:
        return self._articles

    @property
    def passage_list(self) -> tuple[Passage, ...]:
        return self._passages

    def idf(self, term: str) -> float:
        """A term no article has is treated as maximally specific: the query asks for
        something we know nothing about, which must lower confidence, not be ignored."""
        return self._articles_index.idf.get(term, self._articles_index.unknown_idf)

    def _coverage_idf(self, term: str, alternatives: Sequence[str]) -> float:
        """A word the articles lack but whose synonyms they have ("stuff") weighs as its
        most common synonym, not as a word we know nothing about."""
        if term in self._articles_index.idf:
            return self.idf(term)
        if term.isdigit():
            return ranking.UNKNOWN_NUMBER_WEIGHT
        known = [self.idf(s) for s in alternatives]
        known = [w for w in known if w < self._articles_index.unknown_idf]
        return min(known) if known else ranking.UNKNOWN_WEIGHT * self.idf(term)

    def _ask_idf(self, term: str) -> float:
        return self._passages_index.idf.get(term, self._passages_index.unknown_idf)

    def _ask_weights(self, query: Sequence[tuple[str, float]]) -> dict[str, float]:
        """Each query term's IDF weight among the `asks` questions; their sum is the unit of
        the closeness scores (`_ask_matches`, meaning)."""
        return {term: weight * self._ask_idf(term) for term, weight in query}

    def _ask_matches(self, weights: dict[str, float]) -> dict[int, float]:
        """Per passage, the best IDF-weighted Dice overlap between the query (its
        `_ask_weights`) and one of the questions it answers, in units of the query's own IDF
        weight."""
        q_norm = sum(weights.values())
        if not q_norm:
            return {}
        shared: dict[int, float] = {}
        for term, weight in weights.items():
            for a in self._ask_postings.get(term, ()):
                shared[a] = shared.get(a, 0.0) + weight
        best: dict[int, float] = {}
        for a, overlap in shared.items():
            p = self._asks[a][0]
            dice = 2.0 * overlap / (q_norm + self._ask_norms[a])
            if dice > best.get(p, 0.0):
                best[p] = dice
        return {p: dice * q_norm for p, dice in best.items()}

    # --- queries ---------------------------------------------------------------------------

    def _query(self, text: str) -> _Query:
        """The query's own terms with the articles' words each may stand for (for the
        confidence rule), and the weighted terms searched: its own, their synonyms, the
        articles' words for its phrases, and the answer type it asks for."""
        # The question as meant, also for the phrases and "how long"/"how much" ("how lnog",
        # "hepl" → help, a stopword); a correction may be two words ("giftcard" → gift card).
        text = self._speller.correct_text(text)
        # "how long" asks for a duration (the answer type below), not about anything long.
        words = content_words(_HOW_LONG_RE.sub("how", text))
        own = list(dict.fromkeys(stem(w) for w in words))
        alternatives: dict[str, list[str]] = {
            term: [stem(s) for s in synonyms_of_stem(term)] for term in own
        }
        for phrase, meaning in phrase_expansions(text):
            extra = tokenize(meaning)
            for term in tokenize(phrase):
                alternatives.setdefault(term, []).extend(extra)
        weighted: dict[str, float] = {
            t: ranking.INTENT_WEIGHT if t in _INTENT_STEMS else 1.0 for t in own
        }
        for term in own:
            if _ITEM in alternatives[term]:
                # "the sweater": what the question is about, not what it asks.
                weighted[term] = ranking.OBJECT_WEIGHT
        for extras in alternatives.values():
            for term in extras:
                weighted[term] = max(weighted.get(term, 0.0), ranking.SYNONYM_WEIGHT)
        for phrase, meaning in phrase_expansions(text):
            # "without logging in" means "as a guest": its meaning outweighs its words.
            for term in tokenize(phrase):
                if term in weighted:
                    weighted[term] = min(weighted[term], ranking.PHRASE_WORD_WEIGHT)
            for term in tokenize(meaning):
                weighted[term] = 1.0
        lowered = text.lower()
        if own and TIME_QUESTION_RE.search(lowered):
            weighted[TIME_TERM] = ranking.ANSWER_TYPE_WEIGHT
        if own and COST_QUESTION_RE.search(lowered):
            weighted[COST_TERM] = ranking.ANSWER_TYPE_WEIGHT
        return _Query(
            own=own,
            alternatives={t: tuple(alternatives.get(t, ())) for t in own},
            weighted=list(weighted.items()),
            text=text,
        )

    def _similarities(self, query: _Query) -> Matrix | None:
        """Per passage, the question's closeness in meaning (None without the model). Of the
        corrected question: the model knows "refund", not "refnud" (typos: +2 to +4 of 418)."""
        if self._semantic is None or not query.own:
            return None
        return self._semantic.similarities(self._semantic.embed(query.text))

    def _with_semantic_candidates(
        self, article_scores: dict[int, float], similarity: Matrix | None
    ) -> dict[int, float]:
        """Plus the articles of the passages closest in meaning, at an article score of 0."""
        if similarity is None:
            return article_scores
        extra = {self._passage_article[p]: 0.0 for p in SemanticIndex.nearest(similarity)}
        return {**extra, **article_scores}

    def _scored(self, query: _Query) -> _Scored:
        """Every passage of a matching article (by words, or close in meaning) with its
        score, unsorted."""
        similarity = self._similarities(query)
        words = self._articles_index.scores(query.weighted)
        articles = self._with_semantic_candidates(words, similarity)
        passages = self._score_passages(query.weighted, articles, similarity)
        return _Scored(passages, articles, words, similarity)

    def _rank_passages(self, query: _Query) -> list[tuple[int, float]]:
        """Every passage of a matching article with its score, best first."""
        scored = self._scored(query).passages
        scored.sort(key=_best_first)
        return scored

    def _score_passages(
        self,
        query: Sequence[tuple[str, float]],
        article_scores: dict[int, float],
        similarity: Matrix | None = None,
    ) -> list[tuple[int, float]]:
        if not article_scores:
            return []
        passage_scores = self._passages_index.scores(query)
        ask_weights = self._ask_weights(query)
        ask_scores = self._ask_matches(ask_weights)
        local_scores = self._local.scores(query)
        unit = sum(ask_weights.values())
        ranked = []
        for doc, a_score in article_scores.items():
            # Relative to the article's best, so it picks a paragraph but never the article.
            local_top = max(local_scores.get(p, 0.0) for p in self._article_passages[doc])
            if similarity is not None:
                nearest = max(float(similarity[p]) for p in self._article_passages[doc])
                a_score += ranking.SEMANTIC_ARTICLE_WEIGHT * unit * max(nearest, 0.0)
            for p in self._article_passages[doc]:
                lead = ranking.LEAD_BONUS if self._passages[p].index == 0 else 0.0
                score = (
                    a_score
                    + ranking.PASSAGE_WEIGHT * passage_scores.get(p, 0.0)
                    + ranking.ASK_MATCH_WEIGHT * ask_scores.get(p, 0.0)
                    + ranking.LOCAL_WEIGHT * (local_scores.get(p, 0.0) - local_top)
                    + lead
                )
                if similarity is not None:
                    score += ranking.SEMANTIC_PASSAGE_WEIGHT * unit * max(float(similarity[p]), 0.0)
                ranked.append((p, score))
        return ranked

    def lookup(self, query: str, *, limit: int = 3) -> Lookup:
        """The best passages, the best articles (at most `limit` of each), and the confidence
        rule's inputs for the article of the best passage."""
        q = self._query(query)
        own = q.own
        scored, article_scores, word_scores, similarity = self._scored(q)
        if not scored or not own:
            return Lookup(hits=(), coverage=0.0, strength=0.0)
        # Only the top few are needed: no full sort of a large knowledge base per question.
        ranked = heapq.nsmallest(limit, scored, key=_best_first)
        # Articles in the order of their best passage, so the article a reply names is always
        # the one of the passage it leads with.
        best_passage_score: dict[int, float] = {}
        for p, score in scored:
            doc = self._passage_article[p]
            if score > best_passage_score.get(doc, -math.inf):
                best_passage_score[doc] = score
        best_docs = heapq.nsmallest(limit, best_passage_score.items(), key=_best_first)
        hits = [
            Hit(self._articles[doc], score)
            for doc, score in best_docs
            if article_scores[doc] > 0 or doc not in word_scores
        ]
        passages = tuple(PassageHit(self._passages[p], score) for p, score in ranked[:limit])
        top_doc = self._passage_article[ranked[0][0]]
        postings = self._articles_index.postings
        # An order number says nothing about the topic; a short number ("30 days", "17:00")
        # may, but a match on it alone ("17 times 23") is no match.
        weights = {t: self._coverage_idf(t, q.alternatives[t]) for t in own if not is_number(t)}
        if not weights:
            return Lookup(hits=(), coverage=0.0, strength=0.0)
        total = sum(weights.values())
        found = sum(
            weight * (ranking.NAME_COVERAGE if t in self._names else 1.0)
            for t, weight in weights.items()
            if not t.isdigit()
            and any(top_doc in postings.get(s, {}) for s in (t, *q.alternatives[t]))
        )
        return Lookup(
            hits=tuple(hits),
            coverage=found / total,
            strength=article_scores[top_doc] / total,
            passages=passages,
            similarity=float(similarity[ranked[0][0]]) if similarity is not None else None,
        )

    def search(self, query: str, *, limit: int = 3) -> list[Hit]:
        """Articles best first; only articles sharing at least one term with the query."""
        return list(self.lookup(query, limit=limit).hits)

    def is_confident(self, query: str) -> bool:
        return self.lookup(query, limit=1).confident

    def passages(self, article: Article, query: str) -> list[str]:
        """The article's paragraphs with the one most about the query first, the rest in
        reading order."""
        ranked = [p for p, _ in self._rank_passages(self._query(query))]
        own = [p for p in ranked if self._passages[p].article is article]
        paragraphs = article.paragraphs()
        if not own:
            return paragraphs
        best = self._passages[own[0]].index
        return [paragraphs[best], *paragraphs[:best], *paragraphs[best + 1 :]]
