"""Detect when a chat user asks to be put through to a human support agent.

Why small rules rather than a keyword list: words like "agent", "person" or
"human" show up in plenty of messages that are no handoff request at all
("my travel agent booked it", "is a human able to return items?"), and real
requests arrive as paraphrases, with typos, shouted, or wrapped in a negation
("I don't want to talk to a human").  So the text goes through a short pipeline:

1. normalise: strip accents, lowercase, drop apostrophes, squeeze "hellllp";
2. split into clauses at punctuation and "but", tokenise;
3. correct typos toward a small vocabulary with a bounded edit distance: none
   for words under five letters (those get hand-written variants such as
   "tlak"), none for real words that sit close to a key word ("steak" is not
   "speak"), and the first letter must match;
4. in each clause look for a *request*: a request verb followed by a human
   target ("talk to a real person"), a target asked to help ("can a human help
   me"), "escalate", or a clause that is nothing but a target ("agent!");
5. throw out requests that are negated ("no need for an agent") or whose
   target means something else ("real estate agent", "my agent number").

A coarser second pass, by concept rather than word order, catches requests in the
other seven languages (and English phrasings the rules miss); it lives in
`api/handoff_multilingual.py`, and `wants_human` is true if either pass fires.

Everything is stdlib and deterministic, so a miss can be explained and fixed
by editing one of the word sets in `api/handoff_words.py`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache

from api.handoff_multilingual import TARGET_CONCEPTS, concept_of, fold, multi_wants_human
from api.handoff_words import (
    ADJECTIVE_AFTER,
    DEPARTMENT_TARGETS,
    DETERMINERS,
    ESCALATE,
    FILLER,
    FUZZY_VOCABULARY,
    HELP_CONTEXT,
    HELP_GAP,
    HELP_VERBS,
    HUMAN_TARGETS,
    LINK_WORDS,
    MOVE_ME_OBJECTS,
    MOVE_ME_VERBS,
    NEGATION_BRIDGE,
    NEGATION_SKIP,
    NEGATORS,
    OTHER_MEANING_AFTER,
    OTHER_MEANING_BEFORE,
    PARTICIPLE_AUXILIARIES,
    PARTICIPLES,
    PHRASES,
    PRONOUN_TARGETS,
    PROTECTED,
    STAFF_PERIPHRASIS,
    STRONG_VERBS,
    VARIANTS,
    VERB_NEEDS_NEXT,
    VERB_NEEDS_PREVIOUS,
    WEAK_VERBS,
    WITHDRAW_BLOCKERS,
    WITHDRAW_PHRASES,
)

_KNOWN_WORDS = frozenset(
    HUMAN_TARGETS
    | PRONOUN_TARGETS
    | DEPARTMENT_TARGETS
    | STRONG_VERBS
    | WEAK_VERBS
    | PARTICIPLES
    | ESCALATE
    | LINK_WORDS
    | FILLER
    | NEGATORS
    | NEGATION_SKIP
    | OTHER_MEANING_BEFORE
    | OTHER_MEANING_AFTER
    | HELP_CONTEXT
    | HELP_VERBS
    | PROTECTED
    | {word for pair in PHRASES for word in pair if word}
)

_CLAUSE_BREAK = re.compile(r"[.,!?;:\n()\[\]\"]+|\s[-–—]+\s|\b(?:but|however|although|though)\b")
_WORD = re.compile(r"[a-z0-9]+")
_REPEATS = re.compile(r"(.)\1{2,}")
_MAX_GAP = 7  # tokens allowed between a verb and its target
_MAX_NEGATION_REACH = 6  # tokens a negation may sit before the request it cancels


# --- pipeline ------------------------------------------------------------------


def wants_human(text: str) -> bool:
    """True when the user asks to be put through to a human support agent."""
    return any(_clause_wants_human(clause) for clause in _clauses(text)) or multi_wants_human(text)


def _normalise(text: str) -> str:
    """Lowercase ASCII without accents, apostrophes or runs of 3+ equal letters."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    ascii_text = ascii_text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    ascii_text = ascii_text.replace("let's", "lets")
    ascii_text = re.sub(r"(?<=[a-z])'s\b", " s", ascii_text)
    ascii_text = ascii_text.replace("'", "")
    ascii_text = STAFF_PERIPHRASIS.sub("staff", ascii_text)
    return _REPEATS.sub(r"\1\1", ascii_text)


def _clauses(text: str) -> list[list[str]]:
    """Split into clauses, each a list of corrected, phrase-merged tokens."""
    clauses: list[list[str]] = []
    for part in _CLAUSE_BREAK.split(_normalise(text)):
        tokens = [word for raw in _WORD.findall(part) for word in _correct(raw).split()]
        if tokens:
            clauses.append(_merge_phrases(tokens))
    return clauses


@lru_cache(maxsize=4096)
def _correct(token: str) -> str:
    """Map a token to its vocabulary spelling; unknown words come back as they are."""
    if token in VARIANTS:
        return VARIANTS[token]
    if token in _KNOWN_WORDS:
        return token
    squeezed = re.sub(r"(.)\1+", r"\1", token)
    if squeezed in _KNOWN_WORDS or squeezed in VARIANTS:
        return VARIANTS.get(squeezed, squeezed)
    return _fuzzy_match(token) or token


def _edit_budget(length: int) -> int:
    """Edits tolerated for a word of this length: none below 5 letters."""
    if length >= 8:
        return 2
    if length >= 5:
        return 1
    return 0


def _fuzzy_match(token: str) -> str | None:
    """The closest vocabulary word within the edit budget, if any."""
    best: str | None = None
    best_distance = 99
    for word in FUZZY_VOCABULARY:
        budget = _edit_budget(min(len(token), len(word)))
        if budget == 0 or token[0] != word[0] or abs(len(token) - len(word)) > budget:
            continue
        distance = _edit_distance(token, word)
        if distance <= budget and distance < best_distance:
            best, best_distance = word, distance
    return best


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent swaps)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _merge_phrases(tokens: list[str]) -> list[str]:
    """Join two-word phrases ("customer service", "is there") into one token.

    A phrase ending in a verb stays split before "with"/"to", so "live chat
    with an agent" keeps its verb; likewise "a human help me" keeps "help".
    """
    merged: list[str] = []
    i = 0
    while i < len(tokens):
        pair = (tokens[i], tokens[i + 1] if i + 1 < len(tokens) else "")
        following = tokens[i + 2] if i + 2 < len(tokens) else ""
        verb_use = (pair[1] in STRONG_VERBS and following in {"with", "to"}) or (
            pair[1] == "help" and following in {"me", "us", "out", "with"}
        )
        if pair in PHRASES and not verb_use:
            merged.append(PHRASES[pair])
            i += 2
        else:
            merged.append(tokens[i])
            i += 1
    return merged


# --- reading one clause ----------------------------------------------------------


def _clause_wants_human(tokens: Sequence[str]) -> bool:
    """True if this clause holds a request for a human that is not negated."""
    negations = frozenset(_negation_hits(tokens))
    return _is_bare_target(tokens) or any(
        not _is_negated(tokens, start, end, negations) for start, end in _requests(tokens)
    )


def _requests(tokens: Sequence[str]) -> Iterator[tuple[int, int]]:
    """(start, end) index spans of every request found in the clause."""
    for i in range(len(tokens)):
        if tokens[i] in ESCALATE and _is_verb(tokens, i):
            yield i, i
        if _is_move_me(tokens, i):
            yield i, i
        kind = _verb_kind(tokens, i)
        if kind is not None:
            target = _target_after(tokens, i, kind)
            if target is not None:
                yield i, target
        if tokens[i] in HELP_CONTEXT:
            target = _target_asked_to_help(tokens, i)
            if target is not None:
                yield i, target


def _is_move_me(tokens: Sequence[str], i: int) -> bool:
    """'transfer me', 'put me through please': moving the user, nothing else said."""
    if tokens[i] not in MOVE_ME_VERBS or _verb_kind(tokens, i) is None:
        return False
    if i + 1 >= len(tokens) or tokens[i + 1] not in MOVE_ME_OBJECTS:
        return False
    return all(word in FILLER or word in {"through", "over"} for word in tokens[i + 2 :])


def _target_kind(tokens: Sequence[str], i: int) -> str | None:
    """'human', 'pronoun' or 'department' if tokens[i] names someone to talk to."""
    word = tokens[i]
    if word in HUMAN_TARGETS:
        kind = "human"
    elif word in PRONOUN_TARGETS:
        kind = "pronoun"
    elif word in DEPARTMENT_TARGETS:
        kind = "department"
    else:
        return None
    before = tokens[i - 1] if i > 0 else ""
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    if before in OTHER_MEANING_BEFORE or after in OTHER_MEANING_AFTER:
        return None
    return kind


def _is_verb(tokens: Sequence[str], i: int) -> bool:
    """False when a verb-looking word is used as a noun ("the chat", "a transfer")."""
    return i == 0 or tokens[i - 1] not in DETERMINERS


def _verb_kind(tokens: Sequence[str], i: int) -> str | None:
    """'strong' or 'weak' if tokens[i] is a request verb in this position."""
    word = tokens[i]
    before = tokens[i - 1] if i > 0 else ""
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    if word in PARTICIPLES:
        return "strong" if before in PARTICIPLE_AUXILIARIES else None
    if word not in STRONG_VERBS and word not in WEAK_VERBS:
        return None
    if not _is_verb(tokens, i):
        return None
    if word in VERB_NEEDS_PREVIOUS and VERB_NEEDS_PREVIOUS[word].isdisjoint(
        tokens[max(0, i - 2) : i]
    ):
        return None
    if word in VERB_NEEDS_NEXT and after not in VERB_NEEDS_NEXT[word]:
        return None
    return "strong" if word in STRONG_VERBS else "weak"


def _target_after(tokens: Sequence[str], verb: int, kind: str) -> int | None:
    """Index of the target a request verb reaches through linking words."""
    for_me = verb + 1 < len(tokens) and tokens[verb + 1] in MOVE_ME_OBJECTS  # "get me ..."
    for j in range(verb + 1, min(len(tokens), verb + 1 + _MAX_GAP)):
        target = _target_kind(tokens, j)
        if target is not None:
            if kind == "weak" and target == "department":
                continue  # "I need real support from a real person"
            if kind == "weak" and _wanted_for_something_else(tokens, j, target, for_me):
                return None
            return j
        word = tokens[j]
        adjective = tokens[j - 1] in ADJECTIVE_AFTER and j + 1 < len(tokens)
        if word in LINK_WORDS or word in STRONG_VERBS or word in PARTICIPLES:
            continue
        if adjective and _target_kind(tokens, j + 1) is not None:
            continue
        return None
    return None


def _wanted_for_something_else(tokens: Sequence[str], target: int, kind: str, for_me: bool) -> bool:
    """'I need a person to sign for it', 'is there anyone who bought this': the
    person is wanted for a task (or is a topic), not to chat with."""
    rest = list(tokens[target + 1 : target + 5])
    if rest[:1] == ["else"]:
        rest = rest[1:]
    if rest[:1] == ["to"]:
        return len(rest) > 1 and rest[1] not in HELP_VERBS
    if kind == "pronoun" and not for_me and rest[:1] in (["who"], ["that"]):
        verbs = [word for word in rest[1:] if word not in HELP_GAP]
        return not verbs or verbs[0] not in HELP_VERBS
    return False


def _target_asked_to_help(tokens: Sequence[str], context: int) -> int | None:
    """'can a human help me', 'I need someone to look at this': the target's index."""
    j = context + 1
    while j < len(tokens) and j <= context + 4 and _target_kind(tokens, j) is None:
        if tokens[j] not in LINK_WORDS and tokens[j] not in {"i", "we"}:
            return None
        j += 1
    if j >= len(tokens) or _target_kind(tokens, j) not in {"human", "pronoun"}:
        return None
    for k in range(j + 1, min(len(tokens), j + 5)):
        if tokens[k] in HELP_VERBS:
            return j
        if tokens[k] not in HELP_GAP and _target_kind(tokens, k) is None:
            return None
    return None


def _is_bare_target(tokens: Sequence[str]) -> bool:
    """'agent!', 'a real human please', 'customer service': only a target and filler."""
    if any(word in NEGATORS for word in tokens):
        return False
    targets = {i for i in range(len(tokens)) if _target_kind(tokens, i) in {"human", "pronoun"}}
    others = (i for i in range(len(tokens)) if i not in targets and tokens[i] not in FILLER)
    return bool(targets) and next(others, None) is None


def _negation_hits(tokens: Sequence[str]) -> list[int]:
    """Indices of the verbs and targets that a negator governs."""
    hits: list[int] = []
    for i, word in enumerate(tokens):
        if word not in NEGATORS:
            continue
        for j in range(i + 1, min(len(tokens), i + 5)):
            if _verb_kind(tokens, j) is not None or tokens[j] in ESCALATE:
                hits.append(j)
                break
            if _target_kind(tokens, j) is not None:
                hits.append(j)
                break
            if tokens[j] not in NEGATION_SKIP:
                break
    return hits


def _is_negated(tokens: Sequence[str], start: int, end: int, negations: frozenset[int]) -> bool:
    """True if a negation lands inside the request, or on a verb chained to it
    ("don't want to talk to a human": the negated "want" leads into "talk")."""
    if any(hit in negations for hit in range(start, end + 1)):
        return True
    for hit in range(max(0, start - _MAX_NEGATION_REACH), start):
        if hit in negations and all(
            tokens[k] in NEGATION_BRIDGE or _verb_kind(tokens, k) is not None
            for k in range(hit + 1, start)
        ):
            return True
    return False


# --- withdrawal -----------------------------------------------------------------------


def wants_to_withdraw(text: str) -> bool:
    """True when a user waiting for a person says they no longer need one ("never mind,
    it's fixed", "ya está resuelto, gracias").

    Strict on purpose (a wrong "yes" would drop a waiting user from the queue): the message
    must hold a withdrawal phrase, and nothing that undoes it — a negation or "still" outside
    the phrase ("it's not fixed"), or a request for a person ("never mind the refund, I
    still need the person")."""
    folded = " " + " ".join(_WORD.findall(fold(text))) + " "
    found = False
    for phrase in WITHDRAW_PHRASES:
        padded = f" {phrase} "
        if padded in folded:
            found = True
            folded = folded.replace(padded, " ")
    if not found:
        return False
    rest = folded.split()
    if any(word in WITHDRAW_BLOCKERS for word in rest):
        return False
    if any(concept_of(word) in TARGET_CONCEPTS for word in rest) or wants_human(text):
        return False
    return "?" not in text
