"""The handoff detector's second pass: requests for a person in eight languages, by concept.

Why a separate pass: the English rules in `api.handoff` read word order closely, which does not
carry over to Spanish, French, German, Italian, Portuguese, Dutch or Polish (nor to English
phrasings those rules miss). This pass maps every word to a concept (a target, a verb of
talking or connecting, of wanting, of helping, a negation, a machine, ...) and looks for a
request among the concepts. Typos are corrected toward the concept vocabulary by rapidfuzz.
The vocabulary lives in `api.handoff_words_intl`; `api.handoff` combines the two passes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from api.handoff_words import PROTECTED
from api.handoff_words_intl import (
    MULTI_CONCEPTS,
    MULTI_OTHER_AFTER,
    MULTI_OTHER_BEFORE,
    MULTI_PHRASES,
    MULTI_TOPIC_WORDS,
)

_WORD = re.compile(r"[a-z0-9]+")
_REPEATS = re.compile(r"(.)\1{2,}")
_FOLD = str.maketrans({"ł": "l", "Ł": "l", "ß": "ss", "œ": "oe", "æ": "ae", "ø": "o", "đ": "d"})
_MULTI_CLAUSE_BREAK = re.compile(
    r"[.,!?;:\n()\[\]\"¿¡]+|\s[-–—]+\s|\b(?:but|pero|mais|aber|ma|mas|maar|ale|however)\b"
)
_MULTI_WINDOW = 6  # tokens between the two halves of a request
_MULTI_NEGATION_REACH = 4  # tokens a negation may sit before a request
TARGET_CONCEPTS = frozenset({"TARGET", "DEPARTMENT"})
_BARE_OK = frozenset({"TARGET", "LINK", "PLEASE", "MACHINE", "INSTEAD", "NEGATE"})
_PERSONNE_AS_PERSON = frozenset({"une", "la", "vraie", "autre", "cette", "reelle", "vrai"})


def _concept_tables() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    words: dict[str, str] = {}
    stems: list[tuple[str, str]] = []
    for concept, entries in MULTI_CONCEPTS.items():
        for entry in entries:
            if entry.endswith("*"):
                stems.append((entry[:-1], concept))
            else:
                words.setdefault(entry, concept)
    stems.sort(key=lambda pair: -len(pair[0]))
    return words, tuple(stems)


_CONCEPT_WORDS, _CONCEPT_STEMS = _concept_tables()
_FUZZY_WORDS = tuple(w for w in _CONCEPT_WORDS if len(w) >= 5 and "_" not in w)
_FUZZY_STEMS = tuple((stem, concept) for stem, concept in _CONCEPT_STEMS if len(stem) >= 5)


def fold(text: str) -> str:
    """Lowercase ASCII: accents stripped, ł/ß folded, apostrophes made spaces."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    plain = re.sub(r"n['’]t\b", "nt", plain)  # English "don't" stays one word
    plain = re.sub(r"['’‘`]", " ", plain)
    return _REPEATS.sub(r"\1\1", plain)


@lru_cache(maxsize=8192)
def concept_of(token: str) -> str | None:
    """The concept a (folded) word stands for, typos within one or two edits forgiven."""
    if token in _CONCEPT_WORDS:
        return _CONCEPT_WORDS[token]
    for stem, concept in _CONCEPT_STEMS:
        if token.startswith(stem) and len(token) - len(stem) <= 5:
            return concept
    if len(token) < 5 or token in PROTECTED:
        return None
    match = process.extractOne(
        token, _FUZZY_WORDS, scorer=OSA.distance, score_cutoff=_typo_budget(len(token))
    )
    if match is not None and match[0][0] == token[0]:
        return _CONCEPT_WORDS[match[0]]
    for stem, concept in _FUZZY_STEMS:  # a stem is a prefix: "konsultanetm" ~ "konsultant"
        if stem[0] != token[0]:
            continue
        budget = _typo_budget(len(stem))
        for length in (len(stem) - 1, len(stem), len(stem) + 1):
            if length <= len(token) and OSA.distance(token[:length], stem) <= budget:
                return concept
    return None


def _typo_budget(length: int) -> int:
    return 2 if length >= 9 else 1


def _multi_clauses(text: str) -> Iterator[list[str]]:
    for part in _MULTI_CLAUSE_BREAK.split(fold(text)):
        tokens = _WORD.findall(part)
        merged: list[str] = []
        i = 0
        while i < len(tokens):
            pair = (tokens[i], tokens[i + 1] if i + 1 < len(tokens) else "")
            if pair in MULTI_PHRASES:
                merged.append(MULTI_PHRASES[pair])
                i += 2
            else:
                merged.append(tokens[i])
                i += 1
        if merged:
            yield merged


def _clause_concepts(tokens: Sequence[str]) -> list[str | None]:
    concepts: list[str | None] = []
    for i, token in enumerate(tokens):
        if token == "personne":  # French: "une personne" or "personne" (nobody)
            before = tokens[i - 1] if i else ""
            concepts.append("TARGET" if before in _PERSONNE_AS_PERSON else "NEGATE")
            continue
        concept = concept_of(token)
        if concept in TARGET_CONCEPTS:
            before = tokens[i - 1] if i else ""
            after = tokens[i + 1] if i + 1 < len(tokens) else ""
            if before in MULTI_OTHER_BEFORE or after in MULTI_OTHER_AFTER:
                concept = "OTHER"
        concepts.append(concept)
    return concepts


def multi_wants_human(text: str) -> bool:
    """The concept pass: True if any clause holds an un-negated request for a person."""
    return any(_concepts_want_human(tokens) for tokens in _multi_clauses(text))


def _concepts_want_human(tokens: Sequence[str]) -> bool:
    if any(token in MULTI_TOPIC_WORDS for token in tokens):
        return False
    concepts = _clause_concepts(tokens)
    if "REPORT" in concepts or "SELF" in concepts:
        return False
    targets = [i for i, c in enumerate(concepts) if c in TARGET_CONCEPTS]
    if _is_bare_request(concepts):
        return True
    if _wants_no_machine(concepts):
        return True
    for t in targets:
        for v, concept in enumerate(concepts):
            if (
                concept == "TALK"
                or concept == "CONNECT"
                or (concept in ("WANT", "HELP") and concepts[t] == "TARGET")
            ):
                pass
            else:
                continue
            if abs(v - t) > _MULTI_WINDOW or not _gap_ok(concepts, min(v, t), max(v, t)):
                continue
            if not _multi_negated(concepts, min(v, t), max(v, t)):
                return True
    return False


def _gap_ok(concepts: Sequence[str | None], start: int, end: int) -> bool:
    """At most two unknown words, and no machine, between the halves of a request."""
    between = concepts[start + 1 : end]
    return sum(c is None for c in between) <= 2 and "MACHINE" not in between


def _multi_negated(concepts: Sequence[str | None], start: int, end: int) -> bool:
    window = concepts[max(0, start - _MULTI_NEGATION_REACH) : end + 1]
    return "NEGATE" in window


def _is_bare_request(concepts: Sequence[str | None]) -> bool:
    """'agente por favor', 'un humain svp', 'mensch statt maschine bitte'."""
    if "TARGET" not in concepts or any(c not in _BARE_OK for c in concepts):
        return False
    first = concepts.index("TARGET")
    return "NEGATE" not in concepts[:first] and (
        "NEGATE" not in concepts or "MACHINE" in concepts[first:]
    )


def _wants_no_machine(concepts: Sequence[str | None]) -> bool:
    """'no quiero hablar con una maquina', 'ich will nicht mit einer Maschine reden'."""
    if "MACHINE" not in concepts or "NEGATE" not in concepts:
        return False
    if not ({"TALK", "WANT", "CONNECT"} & set(concepts)):
        return False
    return concepts.index("NEGATE") < concepts.index("MACHINE")
