"""Which of the eight supported languages a user's message is written in.

`detect_language` wraps py3langid (a naive-Bayes n-gram model shipped inside the wheel, so
nothing is downloaded at run time), restricted to the languages Tandem handles. Short or
ambiguous text ("ok", "agent", "hi") says too little, so it falls back to English.
"""

from __future__ import annotations

from py3langid.langid import MODEL_FILE, LanguageIdentifier

SUPPORTED = ("en", "es", "fr", "de", "it", "pt", "nl", "pl")
"""ISO 639-1 codes, English first: the fallback."""
FALLBACK = "en"
NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
}
MIN_LETTERS = 8
"""Fewer letters than this is not enough to tell languages apart."""
MIN_CONFIDENCE = 0.5
"""Below this probability (over the eight languages) the text is called English."""


def _load() -> LanguageIdentifier:
    """The model cut down to the eight languages: the full one keeps every language's column
    (~23 MB more in each API process) for a `set_languages` reset Tandem never makes."""
    full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    full.set_languages(list(SUPPORTED))
    return LanguageIdentifier(
        full.nb_ptc,
        full.nb_pc,
        full.nb_classes,
        full.tk_nextmove,
        full.tk_output,
        norm_probs=True,
        tk_row=full.tk_row,
    )


_IDENTIFIER = _load()
"""Loaded at import (about a second), not on the first message: loading blocks, and inside the
event loop it would stall every chat for that long."""


def detect_language(text: str) -> str:
    """The ISO code of `text`'s language among `SUPPORTED`; 'en' when short or unsure."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS or len(text.split()) < 2:
        return FALLBACK
    language, probability = _IDENTIFIER.classify(text)
    if language not in SUPPORTED or probability < MIN_CONFIDENCE:
        return FALLBACK
    return str(language)
