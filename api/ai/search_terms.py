"""How text becomes search terms: stopwords dropped, Snowball stems, synonyms, answer types.

Kept apart from the index (`api.ai.bm25`) and the ranking (`api.ai.retrieval`) because both
the articles and the queries go through exactly these functions: a change here moves both
sides of every match at once. The handoff vocabularies borrow `word_set` from here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer

from api.ai.customer_words import PHRASES, SLANG, SYNONYMS
from api.ai.tables import package_rows


def word_set(text: str) -> frozenset[str]:
    """Long word lists read better as one string than as a quoted literal per word."""
    return frozenset(text.split())


_WORD_RE = re.compile(r"[^\W_]+")
_POSSESSIVE_RE = re.compile(r"['’]s\b")
_APOSTROPHES = str.maketrans("", "", "'’")

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
    who whom whose will with wont would wouldnt yes yet you youd youll your youre yours
    yourself wanna gonna like lol pls plz ya everything everyone because
    help idea wondering wonder possible anybody somebody happens happen happened happening oops
    guys kindly question anywhere
    hmm ugh
    """
)
"""Words that say nothing about which article answers: pronouns, auxiliaries, chat fillers.
"where" is not one of them: "where is my order" asks for tracking, and tags say so; nor is
"why": "why should I create an account" asks for the benefits, not how to sign up."""

_IRREGULAR = {
    "paid": "pay",
    "bought": "buy",
    "sent": "send",
    "broke": "break",
    "broken": "break",
    "torn": "tear",
    "tore": "tear",
    "shrank": "shrink",
    "shrunk": "shrink",
    "came": "come",
    "lost": "lose",
    "delivery": "deliver",
    "deliveries": "deliver",
    "delivered": "deliver",
    "wheres": "where",
    "left": "leave",
    "made": "make",
    "stole": "steal",
    "stolen": "steal",
    "wore": "wear",
    "worn": "wear",
    "took": "take",
    "taken": "take",
    "gave": "give",
    "given": "give",
    "forgotten": "forget",
    "forgot": "forget",
}

_PHRASE_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in PHRASES) + r")\b")


def phrase_expansions(text: str) -> list[tuple[str, str]]:
    """Each known phrase in `text` with the articles' words for it."""
    flat = " ".join(_words(text))
    return [(m, PHRASES[m]) for m in _PHRASE_RE.findall(flat)]


TIME_QUESTION_RE = re.compile(
    r"\bhow (long|soon|quickly|fast|many (days|weeks|hours|minutes))\b|\btime limit\b"
    r"|\bwhat time\b|\buntil when\b|\bexpire\b|\bvalid\b"
    r"|^\W*when\b|\bwhen (will|do|does|did|is|are|can|could|should|would|shall|am|was|were)\b"
    r"|\b(know|tell me|tell us|idea|sure|wondering|wonder|ask|asking|find out|say|see) when\b"
)
"""A "when" asks for a time at the start, before a question's verb ("when will", "I dropped it
off, when do I") or after "know"/"tell me"; not when it opens a clause: "what happens when I
return it", "broken when I opened the box", "an error when paying"."""
_TIME_ANSWER_RE = re.compile(
    r"\d+\s*(?:[–-]\s*\d+\s*)?(?:business |working |calendar )?(?:days?|hours?|minutes?|weeks?"
    r"|months?|years?)\b|\bsame day\b|\bnext (?:business )?day\b|\bimmediately\b"
    r"|\bstraight away\b|\bright away\b"
)
COST_QUESTION_RE = re.compile(
    r"\bhow much\b|\bcosts?\b|\bprices?\b|\bfees?\b|\bcharges?\b|\bwho pays\b"
    r"|\b(?:have|need) to pay\b|\bpay (?:for|extra)\b|\bfree\b"
)
_COST_ANSWER_RE = re.compile(r"€\s?\d|\bfree\b|\byou pay\b|\bfree of charge\b")
TIME_TERM = "~duration"
COST_TERM = "~price"
"""Answer-type terms: never produced by tokenising words, so they only match each other."""

_stemmer = snowballstemmer.stemmer("english")


def _lemmas() -> dict[str, str]:
    """Irregular English forms → their lemma, from simplemma's English dictionary
    (`tools/kb_english_words.py` keeps only the forms Snowball stems apart from their lemma:
    "bought" → buy, "children" → child)."""
    return dict(package_rows("english_lemmas.tsv"))


_LEMMAS = _lemmas() | _IRREGULAR
"""The shop's own irregular forms win ("delivery" → deliver)."""


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Snowball's English stemmer after the lemma of an irregular form, so "shipping",
    "shipped" and "ships" meet, and so do "paid" and "pay", "bought" and "buy"; both sides
    of the match go through it."""
    return str(_stemmer.stemWord(_LEMMAS.get(word, word)))


def _words(text: str) -> list[str]:
    text = _POSSESSIVE_RE.sub("", text.lower())
    return _WORD_RE.findall(text.translate(_APOSTROPHES))


_NUMBER_RE = re.compile(r"^\d{4,}$")


def content_words(text: str) -> list[str]:
    """One-letter leftovers of "3-D" or "e-gift" are noise, and so are stopwords."""
    words = (SLANG.get(w, w) for w in _words(text))
    return [w for w in words if len(w) > 1 and w not in STOPWORDS]


_LABEL_RE = re.compile(r"\*[^*\n]+\*")
_SENTENCE_RE = re.compile(r"(?<=[.!?:;])\s+|\n")
_CALENDAR = word_set(
    """
    monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays
    thursdays fridays saturdays sundays january february march april may june july august
    september october november december
    """
)


def proper_names(texts: Iterable[str]) -> frozenset[str]:
    """Stems of the names in `texts` (cities, countries, brands): words always capitalised,
    also mid-sentence, outside *UI labels*; days and months are not names of anything."""
    lower: set[str] = set()
    capitalised: set[str] = set()
    for text in texts:
        text = _LABEL_RE.sub(" ", text)
        lower.update(re.findall(r"\b[a-z]{2,}\b", text))
        for sentence in _SENTENCE_RE.split(text):
            words = re.findall(r"\b[A-Za-z]{2,}\b", sentence)[1:]
            capitalised.update(w.lower() for w in words if w[0].isupper() and not w.isupper())
    return frozenset(stem(w) for w in capitalised - lower - _CALENDAR)


def is_number(term: str) -> bool:
    """Order numbers and years: an unknown one says nothing about the topic (a short number,
    "17 times 23", still counts as a word the articles lack)."""
    return bool(_NUMBER_RE.match(term))


def tokenize(text: str) -> list[str]:
    """Lowercased, stopword-free stems."""
    return [stem(w) for w in content_words(text)]


def query_terms(text: str) -> list[str]:
    """Distinct terms in first-seen order: repeating a word in a chat line adds no meaning."""
    return list(dict.fromkeys(tokenize(text)))


def answer_types(text: str) -> dict[str, float]:
    found = {}
    if _TIME_ANSWER_RE.search(text):
        found[TIME_TERM] = 1.0
    if _COST_ANSWER_RE.search(text):
        found[COST_TERM] = 1.0
    return found


@lru_cache(maxsize=1)
def _synonym_stems() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for word, extras in SYNONYMS.items():
        out.setdefault(stem(word), []).extend(extras.split())
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def _thesaurus() -> list[tuple[str, str]]:
    """WordNet's synonyms of the articles' words, generated by tools/kb_wordnet.py: (an
    everyday word, the articles' words it may mean)."""
    return package_rows("wordnet_words.tsv")


@lru_cache(maxsize=1)
def _thesaurus_stems() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for word, words in _thesaurus():
        out.setdefault(stem(word), []).extend(words.split())
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


@lru_cache(maxsize=1)
def thesaurus_words() -> frozenset[str]:
    """The everyday words the thesaurus maps ("wipe"): real words, so the speller may
    correct a typo into one and leaves them alone."""
    return frozenset(word for word, _ in _thesaurus())


def synonyms_of_stem(term: str) -> tuple[str, ...]:
    """The hand-written table first, since it knows the shop's sense of a word; the thesaurus
    only for a word it lacks ("wipe" → erase), so nobody has to foresee every synonym."""
    return _synonym_stems().get(term) or _thesaurus_stems().get(term, ())
