"""Scoring papers against a trained model, with the reasons for each score.

A score is the profile's calibrated probability in [0, 1]. Its reasons are the terms
that weighed most for this paper (tf-idf value times the classifier's weight) and the
nearest curated entry of that profile ("like: <title>").

Tokenizing is nearly all the cost, and it is pure Python, so large batches are split
across worker processes (one per core, at most two by default) that hold their own
copy of the features; small batches stay in this process.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain, islice
from typing import TYPE_CHECKING

import numpy as np

from arxivwatch.model import FeatureSource, Model
from arxivwatch.models import Paper, Score

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

REASON_TERMS = 3
PARALLEL_FROM = 2_000  # below this many texts, a worker pool costs more than it saves

_worker_features: FeatureSource | None = None


class Scorer:
    """Scores batches of papers for every profile of `model`.

    `workers` caps the processes used for large batches (default: up to two cores);
    use the scorer as a context manager, or call close(), to release them.
    """

    def __init__(self, model: Model, *, workers: int | None = None) -> None:
        self.model = model
        self.names = tuple(p.name for p in model.profiles)
        self._coef = np.column_stack([model.scorers[n].coef for n in self.names])
        self._intercept = np.array([model.scorers[n].intercept for n in self.names])
        self._slope = np.array([model.scorers[n].slope for n in self.names])
        self._offset = np.array([model.scorers[n].offset for n in self.names])
        self._seed_weight = np.array([model.scorers[n].seed_weight for n in self.names])
        # One indicator column per profile: matrix @ it counts the seed phrases present.
        self._seeds = np.zeros((model.features.size, len(self.names)))
        for k, name in enumerate(self.names):
            self._seeds[model.scorers[name].seed_columns, k] = 1.0
        self._entries = model.entry_vectors
        self._terms = [model.features.term(i) for i in range(model.features.size)]
        self._workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Scorer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def score(self, papers: Sequence[Paper]) -> list[dict[str, Score]]:
        """One dict per paper, in input order, keyed by profile name."""
        if not papers:
            return []
        return self._results(papers, self.features([p.text for p in papers]))

    def _results(self, papers: Sequence[Paper], matrix: csr_matrix) -> list[dict[str, Score]]:
        values = self.probabilities(matrix)
        reasons = [self._reasons(matrix, k) for k in range(len(self.names))]
        return [
            {
                name: Score(paper.id, name, float(values[row, k]), reasons[k][row])
                for k, name in enumerate(self.names)
            }
            for row, paper in enumerate(papers)
        ]

    def stream(
        self, papers: Iterable[Paper], batch_size: int = 1000
    ) -> Iterator[tuple[Paper, dict[str, Score]]]:
        """Score `papers` batch by batch, in order; long streams tokenize in the workers.

        While the workers tokenize the next batches, this process scores the finished
        one, so both cores stay busy; a stream shorter than PARALLEL_FROM stays here.
        """
        batches = _batched(papers, max(1, batch_size))
        head: list[list[Paper]] = []
        while sum(map(len, head)) < PARALLEL_FROM and (batch := next(batches, None)):
            head.append(batch)
        if self._workers < 2 or sum(map(len, head)) < PARALLEL_FROM:
            for batch in chain(head, batches):
                yield from zip(batch, self.score(batch), strict=True)
            return
        pool = self._ensure_pool()
        pending: deque[tuple[list[Paper], Future[csr_matrix]]] = deque()
        for batch in chain(head, batches):
            pending.append((batch, pool.submit(_transform, [p.text for p in batch])))
            if len(pending) > self._workers:
                done, future = pending.popleft()
                yield from zip(done, self._results(done, future.result()), strict=True)
        while pending:
            done, future = pending.popleft()
            yield from zip(done, self._results(done, future.result()), strict=True)

    def features(self, texts: Sequence[str]) -> csr_matrix:
        """The feature rows of `texts`, split across worker processes for large batches."""
        if self._workers < 2 or len(texts) < PARALLEL_FROM:
            return self.model.features.transform(texts)
        import scipy.sparse as sp

        pool = self._ensure_pool()
        size = -(-len(texts) // self._workers)
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        return sp.vstack(list(pool.map(_transform, chunks))).tocsr()

    def probabilities(self, matrix: csr_matrix) -> np.ndarray:
        """Calibrated probabilities, one row per paper and one column per profile."""
        decisions = np.asarray(matrix @ self._coef) + self._intercept
        hits = np.asarray((matrix > 0) @ self._seeds)
        z = self._slope * decisions + self._seed_weight * np.log1p(hits) + self._offset
        values: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return values

    def _reasons(self, matrix: csr_matrix, k: int) -> list[tuple[str, ...]]:
        """Per row: the top weighted terms for profile k, then "like: <nearest entry>"."""
        contribution = matrix.data * self._coef[matrix.indices, k]
        count = matrix.shape[0]
        rows = np.repeat(np.arange(count), np.diff(matrix.indptr))
        positive = np.flatnonzero(contribution > 0)
        # One float sort instead of a lexsort: the row number, minus a weight scaled into
        # [0, 0.5), orders by row and, within a row, by weight, largest first.
        scale = 2.0 * float(contribution[positive].max()) if len(positive) else 1.0
        order = positive[np.argsort(rows[positive] - contribution[positive] / scale)]
        sorted_rows = rows[order]
        starts = np.searchsorted(sorted_rows, np.arange(count))
        ends = np.searchsorted(sorted_rows, np.arange(count), side="right")
        positions = starts[:, None] + np.arange(REASON_TERMS + 1)
        picked = order[np.minimum(positions, len(order) - 1)] if len(order) else positions
        valid = positions < ends[:, None]
        term_ids = np.where(valid, matrix.indices[picked] if len(order) else 0, -1).tolist()
        terms, likes = self._terms, self._nearest(matrix, self.names[k])
        out = []
        for ids, like in zip(term_ids, likes, strict=True):
            # dict.fromkeys: a seed column repeats the word its tf-idf column already names
            words = list(dict.fromkeys(terms[i] for i in ids if i >= 0))[:REASON_TERMS]
            out.append((*words, f"like: {like}") if like else tuple(words))
        return out

    def _nearest(self, matrix: csr_matrix, name: str) -> list[str | None]:
        """Per row, the title of the most similar curated positive of profile `name`."""
        rows = self.model.scorers[name].positives
        if len(rows) == 0:
            return [None] * matrix.shape[0]
        similarity = np.asarray((matrix @ self._entries[rows].T).todense())
        best = np.argmax(similarity, axis=1)
        found = similarity[np.arange(len(best)), best] > 0
        titles = self.model.entry_titles
        return [titles[int(rows[b])] if ok else None for b, ok in zip(best, found, strict=True)]

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                initializer=_init_worker,
                initargs=(self.model.features,),
            )
        return self._pool


def score_stream(
    model: Model, papers: Iterable[Paper], batch_size: int = 1000
) -> Iterator[tuple[Paper, dict[str, Score]]]:
    """Score an iterable of papers lazily, `batch_size` at a time, in input order."""
    with Scorer(model) as scorer:
        yield from scorer.stream(papers, batch_size)


def _init_worker(features: FeatureSource) -> None:
    global _worker_features  # one copy per worker process, sent once at start-up
    _worker_features = features


def _transform(texts: Sequence[str]) -> csr_matrix:
    assert _worker_features is not None
    return _worker_features.transform(texts)


def _batched(papers: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    iterator = iter(papers)
    while batch := list(islice(iterator, size)):
        yield batch
