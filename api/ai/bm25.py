"""The BM25 index under the help-article search: IDF and postings with finished scores.

Kept apart from `api.ai.retrieval` because it knows nothing of articles or words: it scores
numbered documents of weighted terms, built once, so a query only walks its own postings.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence

K1 = 1.5
"""How fast repeated terms saturate: the second mention of a word counts less than the first."""
B = 0.75
"""How much a long article is penalised: long articles mention many words by chance."""


def _idf(n_docs: int, df: int) -> float:
    """Okapi IDF with +1 inside the log (as Lucene), so a term in every document stays >= 0."""
    return math.log((n_docs - df + 0.5) / (df + 0.5) + 1.0)


class Bm25Index:
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


class LocalIdf:
    """Per document, the IDF of its terms among its sibling documents only (the passages of
    one article): within an article the article's own topic words say nothing, and the word
    only one paragraph has ("expire", "guest") says which paragraph is meant."""

    def __init__(self, groups: Sequence[Sequence[int]], docs: Sequence[Collection[str]]) -> None:
        self.postings: dict[str, dict[int, float]] = {}
        for group in groups:
            df = Counter(t for doc in group for t in docs[doc])
            for doc in group:
                for term in docs[doc]:
                    self.postings.setdefault(term, {})[doc] = _idf(len(group), df[term])

    def scores(self, query: Sequence[tuple[str, float]]) -> dict[int, float]:
        out: dict[int, float] = {}
        for term, weight in query:
            for doc, idf in self.postings.get(term, {}).items():
                out[doc] = out.get(doc, 0.0) + weight * idf
        return out
