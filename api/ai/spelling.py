"""Typo correction for help questions: an unknown word is mapped to the articles' word it was
most likely meant to be ("pasword", "retrun", "oder").

Kept apart from the ranking (`api.ai.retrieval`): it only needs the articles' vocabulary and
how common each word is, and it caches what it has corrected.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

_CACHE_LIMIT = 65_536


class Speller:
    """Corrects words against a fixed vocabulary, with RapidFuzz's optimal string alignment
    distance (a swap of two neighbouring letters is one edit)."""

    def __init__(
        self,
        vocabulary: Iterable[str],
        *,
        known: Collection[str],
        is_known_stem: Callable[[str], bool],
        rarity: Callable[[str], float],
    ) -> None:
        self._vocabulary = sorted(set(vocabulary))
        self._known = frozenset(known) | frozenset(self._vocabulary)
        self._is_known_stem = is_known_stem
        self._rarity = rarity
        self._by_length: dict[int, list[str]] = {}
        self._by_initial: dict[str, list[str]] = {}
        for word in self._vocabulary:
            self._by_length.setdefault(len(word), []).append(word)
            self._by_initial.setdefault(word[0], []).append(word)
        self._cache: dict[str, str] = {}

    def correct(self, word: str) -> str:
        """A word the articles don't know (nor a form of one), of four letters or more, comes
        back as the closest known word; anything else comes back as it is."""
        if word in self._known or len(word) < 4 or not word.isalpha():
            return word
        if self._is_known_stem(word):
            return word
        fixed = self._cache.get(word)
        if fixed is None:
            fixed = self._closest(word)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[word] = fixed
        return fixed

    def _closest(self, word: str) -> str:
        """The known word fewest edits away, among those with the same first letter or, for
        longer words, any; ties go to the commonest word."""
        cutoff = 1 if len(word) < 8 else 2
        pools = [self._by_initial.get(word[0], [])]
        if len(word) >= 6:
            # Only words of a length the edits can reach: a fraction of the vocabulary.
            lengths = range(len(word) - cutoff, len(word) + cutoff + 1)
            pools.append([w for n in lengths for w in self._by_length.get(n, ())])
        for pool in pools:
            matches = process.extract(
                word, pool, scorer=OSA.distance, score_cutoff=cutoff, limit=None
            )
            if len(word) < 6:
                # A short word one letter off is as often another word ("life", "line"):
                # only a dropped letter ("oder") or two swapped ones ("hlep") count.
                matches = [
                    m for m in matches if len(m[0]) == len(word) + 1 or sorted(m[0]) == sorted(word)
                ]
            if matches:
                best = min(m[1] for m in matches)
                closest = [str(m[0]) for m in matches if m[1] == best]
                return min(closest, key=lambda w: (self._rarity(w), w))
        return word
