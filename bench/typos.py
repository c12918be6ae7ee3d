"""One injected typo per question, for measuring how retrieval copes with what customers type.

Seeded per question (the seed and the question's text), so adding a question to a set never
changes the typo another question gets, and a run can be repeated exactly.
"""

from __future__ import annotations

import random
import re
import string

_WORD_RE = re.compile(r"[A-Za-z]{4,}")
EDITS = ("swap", "drop", "double", "replace")
"""Two neighbouring letters swapped, one dropped, one doubled, one replaced by another."""


def inject_typo(question: str, *, seed: int) -> str:
    """`question` with one edit in one of its words of four letters or more (unchanged when it
    has none)."""
    rng = random.Random(f"{seed}:{question}")
    words = list(_WORD_RE.finditer(question))
    if not words:
        return question
    match = rng.choice(words)
    word = match.group()
    edit = rng.choice(EDITS)
    i = rng.randrange(len(word) - 1) if edit == "swap" else rng.randrange(len(word))
    if edit == "swap":
        typo = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if typo == word:  # "ll" swapped: drop one instead
            typo = word[:i] + word[i + 1 :]
    elif edit == "drop":
        typo = word[:i] + word[i + 1 :]
    elif edit == "double":
        typo = word[:i] + word[i] + word[i:]
    else:
        letter = rng.choice([c for c in string.ascii_lowercase if c != word[i].lower()])
        typo = word[:i] + letter + word[i + 1 :]
    return question[: match.start()] + typo + question[match.end() :]
