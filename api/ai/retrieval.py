"""BM25 search over the help articles in `kb/`, in plain Python.

The offline assistant must work with no model, no network and no extra dependency, and answer
fast enough to stream its first token within a few milliseconds, so the index is built once at
load time and a query only walks the postings of its own terms.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

K1 = 1.5
"""How fast repeated terms saturate: the second mention of a word counts less than the first."""
B = 0.75
"""How much a long article is penalised: long articles mention many words by chance."""
TITLE_WEIGHT = 3.0
TAGS_WEIGHT = 2.0
BODY_WEIGHT = 1.0
"""A title or tag word says what an article is *about*; a body word may be a passing mention."""

MIN_COVERAGE = 0.4
"""Share of the query's IDF weight the top article must contain: below it, the article only
matches a side word ("... in Amsterdam?") and answering from it would mislead."""
MIN_STRENGTH = 0.5
"""Top score divided by the query's IDF weight: weeds out matches on one weak body mention."""


def word_set(text: str) -> frozenset[str]:
    """Long word lists read better as one string than as a quoted literal per word."""
    return frozenset(text.split())


_PACKAGE = __name__.rpartition(".")[0]
_WORD_RE = re.compile(r"[^\W_]+")
_APOSTROPHES = str.maketrans("", "", "'’")
_TAGS_PREFIX = "tags:"

STOPWORDS = word_set(
    """
    a about above after again ago all also am an and any anyone anything are arent as at be
    been being before below both but by can cannot cant could couldnt did didnt do does doesnt
    doing done dont down during each eight else even ever every few five for four from further
    get gets getting got had hadnt has hasnt have havent having he hello her here hers herself
    hey hi him himself his how however i id if ill im in into is isnt it its itself ive just
    know let lets like me might mine more most much must my myself need needs nine no nor not
    now of off ok okay on once one only or other our ours ourselves out over own please pls
    really right said same say says seven shall she should shouldnt six so some someone something
    still such tell ten than thank thanks that thats the their theirs them themselves then there
    theres these they thing things this those three through to told too two under until up us
    very want wanted wants was wasnt way we were werent what whats when where wheres which while
    who whom whose why will with wont would wouldnt yes yet you youd youll your youre yours
    yourself
    """
)
"""Words that say nothing about which article answers: pronouns, auxiliaries, chat fillers."""

_IRREGULAR = {
    "paid": "pay",
    "bought": "buy",
    "sent": "send",
    "broke": "break",
    "broken": "break",
    "shrank": "shrink",
    "shrunk": "shrink",
    "came": "come",
    "lost": "lose",
    "delivery": "deliver",
    "deliveries": "deliver",
}


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    tags: tuple[str, ...]
    body: str


@dataclass(frozen=True, slots=True)
class Hit:
    article: Article
    score: float


@dataclass(frozen=True, slots=True)
class Lookup:
    """A search plus the verdict on it, so callers never re-derive the confidence rule."""

    hits: tuple[Hit, ...]
    coverage: float
    """Share of the query's IDF weight found in the top article (0 when nothing matched)."""
    strength: float
    """Top score over the query's IDF weight: how strongly, not just whether, it matched."""

    @property
    def confident(self) -> bool:
        return bool(self.hits) and self.coverage >= MIN_COVERAGE and self.strength >= MIN_STRENGTH

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


def _strip_suffix(word: str) -> str:
    """A few English suffixes, enough that "shipping", "shipped" and "ships" meet."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ment", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("eed"):
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Also drops a final "e" and undoubles a final consonant, so "change"/"changing" and
    "cancel"/"cancelling" share a stem; both sides of the match go through the same rules."""
    word = _strip_suffix(_IRREGULAR.get(word, word))
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] != "s":
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lowercased, stopword-free stems; one-letter leftovers of "3-D" or "e-gift" are noise."""
    words = _WORD_RE.findall(text.lower().translate(_APOSTROPHES))
    return [stem(w) for w in words if len(w) > 1 and w not in STOPWORDS]


def query_terms(text: str) -> list[str]:
    """Distinct terms in first-seen order: repeating a word in a chat line adds no meaning."""
    return list(dict.fromkeys(tokenize(text)))


def parse_article(slug: str, text: str) -> Article:
    """`# Title`, an optional `tags:` line, then the body."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError(f"kb article {slug!r} must start with a '# Title' line")
    title = lines[0][2:].strip()
    rest = lines[1:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    tags: tuple[str, ...] = ()
    if rest and rest[0].lower().startswith(_TAGS_PREFIX):
        raw = rest[0][len(_TAGS_PREFIX) :].split(",")
        tags = tuple(t.strip() for t in raw if t.strip())
        rest = rest[1:]
    return Article(slug=slug, title=title, tags=tags, body="\n".join(rest).strip())


def _weighted_terms(article: Article) -> dict[str, float]:
    """Term frequencies with field weights folded in (a simple BM25F)."""
    tf: dict[str, float] = {}
    fields = (
        (article.title, TITLE_WEIGHT),
        (" ".join(article.tags), TAGS_WEIGHT),
        (article.body, BODY_WEIGHT),
    )
    for text, weight in fields:
        for term in tokenize(text):
            tf[term] = tf.get(term, 0.0) + weight
    return tf


def _idf(n_docs: int, df: int) -> float:
    """Okapi IDF with +1 inside the log (as Lucene), so a term in every article stays >= 0."""
    return math.log((n_docs - df + 0.5) / (df + 0.5) + 1.0)


def _article_files(root: Traversable) -> list[Traversable]:
    return sorted((f for f in root.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)


class KnowledgeBase:
    """Articles plus an inverted index whose postings already hold each term's BM25 share."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self._articles = tuple(articles)
        doc_terms = [_weighted_terms(a) for a in self._articles]
        n_docs = len(doc_terms)
        self._idf = {
            term: _idf(n_docs, df)
            for term, df in Counter(t for terms in doc_terms for t in terms).items()
        }
        self._unknown_idf = _idf(n_docs, 0)
        self._postings = self._build_postings(doc_terms)

    def _build_postings(self, doc_terms: Sequence[dict[str, float]]) -> dict[str, dict[int, float]]:
        """Scores depend on the query only through which terms it has, so each posting stores
        the finished term score and a search is a sum of dictionary lookups."""
        lengths = [sum(terms.values()) for terms in doc_terms]
        avg_len = (sum(lengths) / len(lengths)) if lengths else 1.0
        postings: dict[str, dict[int, float]] = {}
        for doc, terms in enumerate(doc_terms):
            norm = K1 * (1.0 - B + B * lengths[doc] / (avg_len or 1.0))
            for term, tf in terms.items():
                share = self._idf[term] * tf * (K1 + 1.0) / (tf + norm)
                postings.setdefault(term, {})[doc] = share
        return postings

    @classmethod
    def load(cls, directory: Path | None = None) -> KnowledgeBase:
        """None reads the `kb/` shipped inside the package, also from an installed wheel."""
        root: Traversable = resources.files(_PACKAGE) / "kb" if directory is None else directory
        files = _article_files(root)
        return cls([parse_article(f.name.removesuffix(".md"), f.read_text("utf-8")) for f in files])

    @classmethod
    def from_articles(cls, articles: Sequence[Article]) -> KnowledgeBase:
        return cls(articles)

    def __len__(self) -> int:
        return len(self._articles)

    @property
    def articles(self) -> tuple[Article, ...]:
        return self._articles

    def search(self, query: str, *, limit: int = 3) -> list[Hit]:
        """Best first; only articles sharing at least one term with the query."""
        return [
            Hit(self._articles[doc], score) for doc, score in self._rank(query_terms(query), limit)
        ]

    def lookup(self, query: str, *, limit: int = 3) -> Lookup:
        """`search` plus the confidence rule's inputs for the top hit."""
        terms = query_terms(query)
        ranked = self._rank(terms, limit)
        hits = tuple(Hit(self._articles[doc], score) for doc, score in ranked)
        if not ranked:
            return Lookup(hits=hits, coverage=0.0, strength=0.0)
        top_doc, top_score = ranked[0]
        total = sum(self.idf(t) for t in terms)
        found = sum(self.idf(t) for t in terms if top_doc in self._postings.get(t, {}))
        return Lookup(hits=hits, coverage=found / total, strength=top_score / total)

    def is_confident(self, query: str) -> bool:
        return self.lookup(query, limit=1).confident

    def idf(self, term: str) -> float:
        """A term no article has is treated as maximally specific: the query asks for
        something we know nothing about, which must lower confidence, not be ignored."""
        return self._idf.get(term, self._unknown_idf)

    def passages(self, article: Article, query: str) -> list[str]:
        """The body's paragraphs with the one most about the query moved first, so the reply
        leads with the answer; the rest keep their order so the article still reads well."""
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", article.body) if p.strip()]
        if not paragraphs:
            return []
        terms = set(query_terms(query))
        scores = [self._paragraph_score(p, terms) for p in paragraphs]
        best = max(range(len(paragraphs)), key=lambda i: (scores[i], -i))
        if scores[best] <= scores[0]:
            return paragraphs
        return [paragraphs[best], *paragraphs[:best], *paragraphs[best + 1 :]]

    def _paragraph_score(self, paragraph: str, terms: set[str]) -> float:
        return sum(self.idf(t) for t in terms.intersection(tokenize(paragraph)))

    def _rank(self, terms: Iterable[str], limit: int) -> list[tuple[int, float]]:
        scores: dict[int, float] = {}
        for term in terms:
            for doc, share in self._postings.get(term, {}).items():
                scores[doc] = scores.get(doc, 0.0) + share
        best = heapq.nlargest(limit, scores.items(), key=lambda item: (item[1], -item[0]))
        return [(doc, score) for doc, score in best if score > 0.0]
