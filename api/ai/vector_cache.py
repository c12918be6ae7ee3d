"""Embedding matrices kept on disk, so a server start does not re-embed the knowledge base.

A file is named by a hash of everything its contents depend on (the model file's identity,
the texts in order), so a changed article or model simply misses and is recomputed; stale
files are never read. Written to a temporary file and renamed into place: two processes
starting together both compute and the last rename wins, and a reader never sees half a file.
A file that cannot be read as the expected matrix is recomputed and rewritten, not an error.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from api.ai.embeddings import Matrix

log = logging.getLogger(__name__)

FORMAT = "tandem-embeddings-1"
"""Bumped when what a cached row means changes (pooling, truncation), so old files miss."""


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/tandem`, else `~/.cache/tandem`: outside the work tree, shared by the
    servers a test suite starts."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tandem"


def cache_key(*, model: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(f"{FORMAT}\0{model}\0{len(texts)}\0".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()[:32]


def _read(path: Path, *, rows: int, dim: int) -> Matrix | None:
    try:
        matrix = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError) as exc:
        log.warning("embedding cache %s unreadable (%s); recomputing", path, exc)
        return None
    if matrix.dtype != np.float32 or matrix.shape != (rows, dim) or not np.isfinite(matrix).all():
        log.warning("embedding cache %s has the wrong shape or values; recomputing", path)
        return None
    return matrix


def _write(path: Path, matrix: Matrix) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                np.save(out, matrix, allow_pickle=False)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from servers run as others
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        # A read-only or full disk costs the next start a recomputation, nothing else.
        log.warning("could not write embedding cache %s: %s", path, exc)


def cached_matrix(
    *,
    directory: Path | None,
    model: str,
    texts: Sequence[str],
    dim: int,
    compute: Callable[[Sequence[str]], Matrix],
) -> Matrix:
    """`compute(texts)`, or the copy saved by an earlier call with the same model and texts.
    `directory=None` never touches the disk."""
    if directory is None:
        return compute(texts)
    path = directory / f"{cache_key(model=model, texts=texts)}.npy"
    matrix = _read(path, rows=len(texts), dim=dim)
    if matrix is None:
        matrix = compute(texts)
        _write(path, matrix)
    return matrix
