"""BM25 search over the passages (paragraphs) of the help articles in `kb/`.

A passage is ranked by two BM25 scores added together: its article's (title and tags weighted
above the body, so the topic is right) and its own (the paragraph's words, plus the article tags
that are about that paragraph, so the part that answers comes first). Queries are stemmed with
Snowball, misspelt words are corrected against the articles' vocabulary with RapidFuzz, a short
list of customer words is expanded to the articles' words, and a question asking "how long" or
"how much" prefers passages that state a duration or a price.

The index is built once at load time and a query only walks the postings of its own terms, so
the offline assistant streams its first token within a few milliseconds, also with 500 articles.
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

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

K1 = 1.5
"""How fast repeated terms saturate: the second mention of a word counts less than the first."""
B = 0.75
"""How much a long article is penalised: long articles mention many words by chance."""
TITLE_WEIGHT = 3.0
TAGS_WEIGHT = 2.0
BODY_WEIGHT = 1.0
"""A title or tag word says what an article is *about*; a body word may be a passing mention."""
PASSAGE_WEIGHT = 0.3
"""The passage's own BM25 score, relative to its article's, in a passage's rank."""
LEAD_BONUS = 0.15
"""An article's first paragraph usually states the main answer: it wins near-ties."""
UNMATCHED_TAGS_TO_LEAD = False
SYNONYM_WEIGHT = 0.6
"""An expanded word counts less than one the user typed."""
ANSWER_TYPE_WEIGHT = 1.5
"""The weight of "this passage states a duration / a price" for a "how long" / "how much"."""

MIN_COVERAGE = 0.4
"""Share of the query's IDF weight the top article must contain: below it, the article only
matches a side word ("... in Amsterdam?") and answering from it would mislead."""
MIN_STRENGTH = 0.5
"""Top article score divided by the query's IDF weight: weeds out matches on one weak body
mention."""


def word_set(text: str) -> frozenset[str]:
    """Long word lists read better as one string than as a quoted literal per word."""
    return frozenset(text.split())


_PACKAGE = __name__.rpartition(".")[0]
_WORD_RE = re.compile(r"[^\W_]+")
_POSSESSIVE_RE = re.compile(r"['’]s\b")
_APOSTROPHES = str.maketrans("", "", "'’")
_TAGS_PREFIX = "tags:"
_PARAGRAPH_RE = re.compile(r"\n\s*\n")

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
    very want wanted wants was wasnt way we were werent what whats when which while
    who whom whose why will with wont would wouldnt yes yet you youd youll your youre yours
    yourself wanna gonna like lol pls plz ya
    """
)
"""Words that say nothing about which article answers: pronouns, auxiliaries, chat fillers.
"where" is not one of them: "where is my order" asks for tracking, and tags say so."""

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
    "delivered": "deliver",
    "wheres": "where",
}

_SYNONYMS: dict[str, str] = {
    # what customers call the thing they ordered
    "package": "parcel",
    "parcel": "package",
    "stuff": "order parcel",
    "shipment": "parcel order",
    "purchase": "order",
    "purchased": "order buy",
    # money coming back
    "money": "refund",
    "reimburse": "refund",
    "reimbursed": "refund",
    "repay": "refund",
    "credited": "refund",
    # money going out
    "charged": "charge pay",
    "installments": "instalments",
    "dollars": "currency",
    "pounds": "currency",
    "currency": "euros",
    # things that arrive wrong
    "smashed": "damaged broken",
    "shattered": "damaged broken",
    "cracked": "damaged broken",
    "dented": "damaged",
    "incorrect": "wrong",
    # the account
    "login": "sign",
    "signin": "sign",
    "signup": "register",
    "register": "create account",
    "close": "delete",
    "erase": "delete",
    "remove": "delete",
    # products
    "plates": "ceramics",
    "bowls": "ceramics",
    "jumper": "sweater",
    "sweater": "wool",
    "sneakers": "shoes",
    "trainers": "shoes",
    "boots": "shoes",
    # places and people
    "store": "shop",
    "shop": "store",
    "human": "person agent",
    "person": "agent",
    "someone": "person",
    # mail
    "emails": "newsletter",
    "mails": "email",
    # time words
    "restocked": "restock",
    "christmas": "december",
    "label": "return",
}
"""Everyday words mapped to the words the articles use; applied to queries only."""

_TIME_QUESTION_RE = re.compile(
    r"\bhow (long|soon|quickly|fast|many (days|weeks|hours|minutes))\b|\bwhen\b|\btime limit\b"
    r"|\bwhat time\b|\buntil when\b|\bexpire\b|\bvalid\b"
)
_TIME_ANSWER_RE = re.compile(
    r"\d+\s*(?:[–-]\s*\d+\s*)?(?:business |working |calendar )?(?:days?|hours?|minutes?|weeks?"
    r"|months?|years?)\b|\bsame day\b|\bnext (?:business )?day\b|\bimmediately\b"
    r"|\bstraight away\b|\bright away\b"
)
_COST_QUESTION_RE = re.compile(r"\bhow much\b|\bcosts?\b|\bprices?\b|\bfees?\b|\bcharges?\b")
_COST_ANSWER_RE = re.compile(r"€\s?\d|\bfree\b")
TIME_TERM = "~duration"
COST_TERM = "~price"
"""Answer-type terms: never produced by tokenising words, so they only match each other."""

_stemmer = snowballstemmer.stemmer("english")


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    tags: tuple[str, ...]
    body: str

    def paragraphs(self) -> list[str]:
        """The body's blank-line separated paragraphs: the passages of this article."""
        return [p.strip() for p in _PARAGRAPH_RE.split(self.body) if p.strip()]


@dataclass(frozen=True, slots=True)
class Passage:
    article: Article
    index: int
    """0-based position in the article."""
    text: str

    @property
    def id(self) -> str:
        """`slug#n` with n 1-based: stable as long as the article's paragraphs are."""
        return f"{self.article.slug}#{self.index + 1}"


@dataclass(frozen=True, slots=True)
class Hit:
    article: Article
    score: float


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

    @property
    def confident(self) -> bool:
        return bool(self.hits) and self.coverage >= MIN_COVERAGE and self.strength >= MIN_STRENGTH

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    @property
    def best_passage(self) -> PassageHit | None:
        return self.passages[0] if self.passages else None


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Snowball's English stemmer after a few irregular forms, so "shipping", "shipped" and
    "ships" meet, and so do "paid" and "pay"; both sides of the match go through it."""
    return str(_stemmer.stemWord(_IRREGULAR.get(word, word)))


def _words(text: str) -> list[str]:
    text = _POSSESSIVE_RE.sub("", text.lower())
    return _WORD_RE.findall(text.translate(_APOSTROPHES))


def _content_words(text: str) -> list[str]:
    """One-letter leftovers of "3-D" or "e-gift" are noise, and so are stopwords."""
    return [w for w in _words(text) if len(w) > 1 and w not in STOPWORDS]


def tokenize(text: str) -> list[str]:
    """Lowercased, stopword-free stems."""
    return [stem(w) for w in _content_words(text)]


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


def _weighted(fields: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Term frequencies with field weights folded in (a simple BM25F)."""
    tf: dict[str, float] = {}
    for text, weight in fields:
        for term in tokenize(text):
            tf[term] = tf.get(term, 0.0) + weight
    return tf


def _answer_types(text: str) -> dict[str, float]:
    found = {}
    if _TIME_ANSWER_RE.search(text):
        found[TIME_TERM] = 1.0
    if _COST_ANSWER_RE.search(text):
        found[COST_TERM] = 1.0
    return found


def _tags_by_passage(article: Article, paragraphs: Sequence[str]) -> list[list[str]]:
    """Each tag goes to the paragraph that shares most of its words (the first on a tie; none
    when none does), so "marked delivered" lands on the paragraph about it."""
    stems = [set(tokenize(p)) for p in paragraphs]
    assigned: list[list[str]] = [[] for _ in paragraphs]
    for tag in article.tags:
        words = set(tokenize(tag))
        shares = [len(words & s) / (len(words) or 1) for s in stems]
        best = max(shares)
        if best > 0:
            for i, share in enumerate(shares):
                if share == best:
                    assigned[i].append(tag)
        elif UNMATCHED_TAGS_TO_LEAD:
            assigned[0].append(tag)
    return assigned


def _idf(n_docs: int, df: int) -> float:
    """Okapi IDF with +1 inside the log (as Lucene), so a term in every document stays >= 0."""
    return math.log((n_docs - df + 0.5) / (df + 0.5) + 1.0)


class _Index:
    """BM25 postings whose entries already hold each term's finished score share."""

    def __init__(self, docs: Sequence[dict[str, float]]) -> None:
        n_docs = len(docs)
        self.idf = {t: _idf(n_docs, df) for t, df in Counter(t for d in docs for t in d).items()}
        self.unknown_idf = _idf(n_docs, 0)
        lengths = [sum(d.values()) for d in docs]
        avg_len = (sum(lengths) / len(lengths)) if lengths else 1.0
        self.postings: dict[str, dict[int, float]] = {}
        for doc, terms in enumerate(docs):
            norm = K1 * (1.0 - B + B * lengths[doc] / (avg_len or 1.0))
            for term, tf in terms.items():
                share = self.idf[term] * tf * (K1 + 1.0) / (tf + norm)
                self.postings.setdefault(term, {})[doc] = share

    def scores(self, query: Sequence[tuple[str, float]]) -> dict[int, float]:
        out: dict[int, float] = {}
        for term, weight in query:
            for doc, share in self.postings.get(term, {}).items():
                out[doc] = out.get(doc, 0.0) + weight * share
        return out


def _article_files(root: Traversable) -> list[Traversable]:
    return sorted((f for f in root.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)


class KnowledgeBase:
    """Articles, their passages, and an article index and a passage index over them."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self._articles = tuple(articles)
        passages: list[Passage] = []
        passage_docs: list[dict[str, float]] = []
        self._article_passages: list[list[int]] = []
        for article in self._articles:
            paragraphs = article.paragraphs()
            own: list[int] = []
            for index, (text, tags) in enumerate(
                zip(paragraphs, _tags_by_passage(article, paragraphs), strict=True)
            ):
                own.append(len(passages))
                passages.append(Passage(article, index, text))
                doc = _weighted(((text, BODY_WEIGHT), (" ".join(tags), TAGS_WEIGHT)))
                doc.update(_answer_types(text))
                passage_docs.append(doc)
            self._article_passages.append(own)
        self._passages = tuple(passages)
        self._passage_article = [doc for doc, own in enumerate(self._article_passages) for _ in own]
        self._articles_index = _Index(
            [
                _weighted(
                    (
                        (a.title, TITLE_WEIGHT),
                        (" ".join(a.tags), TAGS_WEIGHT),
                        (a.body, BODY_WEIGHT),
                    )
                )
                for a in self._articles
            ]
        )
        self._passages_index = _Index(passage_docs)
        self._vocabulary = sorted(
            {w for a in self._articles for w in _content_words(f"{a.title} {' '.join(a.tags)}")}
            | {w for a in self._articles for w in _content_words(a.body)}
        )
        self._known = frozenset(self._vocabulary) | frozenset(_SYNONYMS)
        self._by_initial: dict[str, list[str]] = {}
        for word in self._vocabulary:
            self._by_initial.setdefault(word[0], []).append(word)
        self._typos: dict[str, str] = {}

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

    @property
    def passage_list(self) -> tuple[Passage, ...]:
        return self._passages

    def idf(self, term: str) -> float:
        """A term no article has is treated as maximally specific: the query asks for
        something we know nothing about, which must lower confidence, not be ignored."""
        return self._articles_index.idf.get(term, self._articles_index.unknown_idf)

    def _coverage_idf(self, term: str) -> float:
        """A word the articles lack but whose synonyms they have ("stuff") weighs as its
        most common synonym, not as a word we know nothing about."""
        if term in self._articles_index.idf:
            return self.idf(term)
        known = [self.idf(stem(s)) for s in _synonyms_of_stem(term)]
        known = [w for w in known if w < self._articles_index.unknown_idf]
        return min(known) if known else self.idf(term)

    # --- queries ---------------------------------------------------------------------------

    def _correct(self, word: str) -> str:
        """A word the articles don't know, one edit from one they do and starting with the same
        letter, is taken as that word misspelt ("pasword", "adress")."""
        if word in self._known or len(word) < 5 or not word.isalpha():
            return word
        fixed = self._typos.get(word)
        if fixed is None:
            candidates = self._by_initial.get(word[0], [])
            match = process.extractOne(
                word, candidates, scorer=Levenshtein.distance, score_cutoff=1
            )
            fixed = str(match[0]) if match else word
            if len(self._typos) < 65_536:
                self._typos[word] = fixed
        return fixed

    def _query(self, text: str) -> tuple[list[str], list[tuple[str, float]]]:
        """The query's own terms (for the confidence rule) and the weighted terms searched:
        its own, their synonyms, and the answer type it asks for."""
        words = [self._correct(w) for w in _content_words(text)]
        own = list(dict.fromkeys(stem(w) for w in words))
        weighted: dict[str, float] = dict.fromkeys(own, 1.0)
        for word in words:
            for extra in _SYNONYMS.get(word, "").split():
                term = stem(extra)
                weighted[term] = max(weighted.get(term, 0.0), SYNONYM_WEIGHT)
        lowered = text.lower()
        if own and _TIME_QUESTION_RE.search(lowered):
            weighted[TIME_TERM] = ANSWER_TYPE_WEIGHT
        if own and _COST_QUESTION_RE.search(lowered):
            weighted[COST_TERM] = ANSWER_TYPE_WEIGHT
        return own, list(weighted.items())

    def _rank_passages(self, query: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        article_scores = self._articles_index.scores(query)
        if not article_scores:
            return []
        passage_scores = self._passages_index.scores(query)
        ranked = []
        for doc, a_score in article_scores.items():
            for p in self._article_passages[doc]:
                lead = LEAD_BONUS if self._passages[p].index == 0 else 0.0
                ranked.append((p, a_score + PASSAGE_WEIGHT * passage_scores.get(p, 0.0) + lead))
        ranked.sort(key=lambda item: (-item[1], item[0]))
        return ranked

    def lookup(self, query: str, *, limit: int = 3) -> Lookup:
        """The best passages, the best articles (at most `limit` of each), and the confidence
        rule's inputs for the article of the best passage."""
        own, weighted = self._query(query)
        ranked = self._rank_passages(weighted)
        if not ranked or not own:
            return Lookup(hits=(), coverage=0.0, strength=0.0)
        article_scores = self._articles_index.scores(weighted)
        best_articles = heapq.nlargest(
            limit, article_scores.items(), key=lambda item: (item[1], -item[0])
        )
        hits = [Hit(self._articles[doc], score) for doc, score in best_articles if score > 0]
        passages = tuple(PassageHit(self._passages[p], score) for p, score in ranked[:limit])
        top_doc = self._passage_article[ranked[0][0]]
        postings = self._articles_index.postings
        weights = {t: self._coverage_idf(t) for t in own}
        total = sum(weights.values())
        found = sum(
            weight
            for t, weight in weights.items()
            if top_doc in postings.get(t, {})
            or any(top_doc in postings.get(stem(s), {}) for s in _synonyms_of_stem(t))
        )
        return Lookup(
            hits=tuple(hits),
            coverage=found / total,
            strength=article_scores[top_doc] / total,
            passages=passages,
        )

    def search(self, query: str, *, limit: int = 3) -> list[Hit]:
        """Articles best first; only articles sharing at least one term with the query."""
        return list(self.lookup(query, limit=limit).hits)

    def is_confident(self, query: str) -> bool:
        return self.lookup(query, limit=1).confident

    def passages(self, article: Article, query: str) -> list[str]:
        """The article's paragraphs with the one most about the query first, the rest in
        reading order."""
        _, weighted = self._query(query)
        ranked = [p for p, _ in self._rank_passages(weighted)]
        own = [p for p in ranked if self._passages[p].article is article]
        paragraphs = article.paragraphs()
        if not own:
            return paragraphs
        best = self._passages[own[0]].index
        return [paragraphs[best], *paragraphs[:best], *paragraphs[best + 1 :]]


@lru_cache(maxsize=1)
def _synonym_stems() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for word, extras in _SYNONYMS.items():
        out.setdefault(stem(word), []).extend(extras.split())
    return {k: tuple(v) for k, v in out.items()}


def _synonyms_of_stem(term: str) -> tuple[str, ...]:
    return _synonym_stems().get(term, ())
