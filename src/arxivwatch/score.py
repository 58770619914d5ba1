"""Scoring papers against a trained model, with the reasons for each score.

A score is the profile's calibrated probability in [0, 1]. Its reasons are the terms
that weighed most for this paper (tf-idf value times the classifier's weight) and the
nearest curated entry of that profile ("like: <title>", the entry's clean title).

Only terms that explain are reasons: seed phrases, and terms that are distinctive (idf
at least MIN_REASON_IDF: in fewer than about one training text in seven), not generic
words of scientific writing (GENERIC: "learning", "net", "self", "highlight", ...) nor
names of TeX commands (TEX_COMMANDS: "textbf", "mathcal", ...), and that weigh at least
REASON_SHARE of the paper's strongest term. A word is not repeated beside a phrase that
holds it ("active learning", not also "active"). An entry is "like" the paper only when
their similarity reaches MIN_LIKE.

Tokenizing is nearly all the cost, and it is pure Python, so large batches are split
across worker processes (one per core, at most two by default) that hold their own
copy of the features; small batches stay in this process.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain, islice
from typing import TYPE_CHECKING

import numpy as np

from arxivwatch.model import FeatureSource, Model
from arxivwatch.models import Paper, Score
from arxivwatch.titles import clean_title

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

REASON_TERMS = 3
REASON_CANDIDATES = 8  # the strongest terms drawn per paper, before the filters above
REASON_SHARE = 0.25  # a reason weighs at least this share of the paper's strongest term
MIN_REASON_IDF = 3.0  # idf = 1 + ln((1 + n) / (1 + df)): 3.0 is a term in about 1 text in 7.4
MIN_LIKE = 0.15  # cosine similarity of tf-idf rows below which no curated entry is "like" it (at 0.1,
# little more than "segmentation" in common made a synthetic chest X-ray paper "like" an RGB-D one)
# Words of scientific writing that never say why a paper fits a profile, and fragments
# of hyphenated words ("self-supervised" gives "self", "U-Net" gives "net").
GENERIC = frozenset(
    """
    net self semi multi non pre co end art state highlight highlights extreme novel new propose
    proposed proposes present presents introduce introduces demonstrate demonstrates achieve
    achieves achieved improve improves improved improvement outperform outperforms significant
    significantly effective efficient robust simple strong results result performance approach
    approaches method methods framework frameworks model models modeling network networks neural
    deep learning learn learned data dataset datasets training train trained task tasks based using
    use used work paper study problem problems application applications challenging challenge
    challenges key important potential general specific wide widely extensive comprehensive accurate
    accuracy fast real world time level scale large small high low better best existing recent
    various different experiments experimental analysis evaluation evaluate propose rare way ways
    provide provides enable enables
    """.split()  # noqa: SIM905 (a word list reads best as text)
)
PARALLEL_FROM = 2_000  # below this many texts, a worker pool costs more than it saves
PIPELINE_BATCH = 1_000  # texts per worker task when score() pipelines a large batch

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
        # One column per profile, 1 / seed_unit at its seed columns: matrix @ it gives
        # each profile's hits (ProfileModel.hits), for all profiles in one product.
        self._seeds = np.zeros((model.features.size, len(self.names)))
        for k, name in enumerate(self.names):
            scorer = model.scorers[name]
            self._seeds[scorer.seed_columns, k] = 1.0 / scorer.seed_unit
        self._name_ids, self._names = _names(model.features)
        explains = _explaining_columns(model.features, self._names)
        self._coef_columns = [
            np.ascontiguousarray(self._coef[:, k] * explains) for k in range(len(self.names))
        ]
        # Per profile: its curated positives' rows as columns, and "like: <title>" of each
        # (None last, for rows that resemble none).
        positives = [model.scorers[n].positives for n in self.names]
        self._entry_columns = [model.entry_vectors[rows].T.tocsr() for rows in positives]
        titles = [clean_title(title) for title in model.entry_titles]
        self._likes = [np.array([*(f"like: {titles[int(i)]}" for i in rows), None]) for rows in positives]
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
        if self._workers >= 2 and len(papers) >= PARALLEL_FROM:
            # Pipelined: the workers tokenize the next chunks while this process builds
            # the results of the last one (measured: about 10% faster than tokenizing
            # all, split across processes, then building all results).
            return [scores for _, scores in self.stream(papers, PIPELINE_BATCH)]
        return self._results(papers, self.features([p.text for p in papers]))

    def _results(self, papers: Sequence[Paper], matrix: csr_matrix) -> list[dict[str, Score]]:
        with _collector_paused():
            return self._build(papers, matrix)

    def _build(self, papers: Sequence[Paper], matrix: csr_matrix) -> list[dict[str, Score]]:
        values = self.probabilities(matrix).tolist()  # Python floats: no numpy scalar per cell
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        reasons = [self._reasons(matrix, k, rows) for k in range(len(self.names))]
        return [
            {
                name: Score(paper.id, name, values[row][k], reasons[k][row])
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
        # The workers take all chunks but the first, which this process does meanwhile
        # rather than wait: one core fewer idles.
        futures = [pool.submit(_transform, chunk) for chunk in chunks[1:]]
        first = self.model.features.transform(chunks[0])
        return sp.vstack([first, *(f.result() for f in futures)], format="csr")

    def probabilities(self, matrix: csr_matrix) -> np.ndarray:
        """Calibrated probabilities, one row per paper and one column per profile."""
        decisions = np.asarray(matrix @ self._coef) + self._intercept
        hits = np.asarray(matrix @ self._seeds)
        z = self._slope * decisions + self._seed_weight * np.log1p(hits) + self._offset
        values: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return values

    def _reasons(self, matrix: csr_matrix, k: int, rows: np.ndarray) -> list[tuple[str, ...]]:
        """Per row: the top weighted terms for profile k, then "like: <nearest entry>".

        `rows` is the row of each stored value of `matrix`.
        """
        contribution = matrix.data * self._coef_columns[k][matrix.indices]
        count = matrix.shape[0]
        order = _top_first(contribution, rows, matrix.indices, count)
        sorted_rows = rows[order]
        starts = np.searchsorted(sorted_rows, np.arange(count))
        ends = np.searchsorted(sorted_rows, np.arange(count), side="right")
        positions = starts[:, None] + np.arange(REASON_CANDIDATES)
        picked = order[np.minimum(positions, len(order) - 1)] if len(order) else positions
        valid = positions < ends[:, None]
        if len(order):
            weight = contribution[picked]
            valid &= weight >= REASON_SHARE * weight[:, :1]
        names = np.where(valid, self._name_ids[matrix.indices[picked]] if len(order) else 0, -1)
        # A seed column repeats the word its tf-idf column already names: keep the first.
        for j in range(1, names.shape[1]):
            valid[:, j] &= (names[:, :j] != names[:, j : j + 1]).all(axis=1)
        cells = np.empty((count, names.shape[1] + 1), dtype=object)
        cells[:, :-1] = self._names[np.where(valid, names, -1)]
        cells[:, -1] = self._likes[k][self._nearest(matrix, k)]
        return [_distinct(row) for row in cells.tolist()]

    def _nearest(self, matrix: csr_matrix, k: int) -> np.ndarray:
        """Per row, the index in self._likes[k] of the most similar curated positive of
        profile k, or -1 (no like) if it shares no term with any."""
        entries = self._entry_columns[k]
        if entries.shape[1] == 0:
            return np.full(matrix.shape[0], -1)
        similarity = (matrix @ entries).toarray()
        best = np.argmax(similarity, axis=1)
        found = similarity[np.arange(len(best)), best] >= MIN_LIKE
        return np.where(found, best, -1)

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


def _top_first(weights: np.ndarray, rows: np.ndarray, columns: np.ndarray, count: int) -> np.ndarray:
    """Positions of the positive `weights`, by row, then weight (largest first), then column,
    keeping at least each row's REASON_CANDIDATES first: what a row's reasons are drawn from.

    The order depends on the row's own values only, never on the batch around it. A
    lexsort of every positive weight would be slow; so one float sort (the row minus the
    weight scaled into (0, 0.5]) first orders them all up to rounding, which is at most
    `slack`; the weights no further below the row's REASON_CANDIDATES-th than that are
    the only ones that can reach the top, and only those get the exact lexsort.
    """
    positive = np.flatnonzero(weights > 0)
    if len(positive) == 0:
        return positive
    scale = 2.0 * float(weights[positive].max())
    order = positive[np.argsort(rows[positive] - weights[positive] / scale)]
    sorted_rows = rows[order]
    starts = np.searchsorted(sorted_rows, np.arange(count))
    ends = np.searchsorted(sorted_rows, np.arange(count), side="right")
    last = starts + REASON_CANDIDATES - 1  # the REASON_CANDIDATES-th of the row
    slack = scale * (count + 1) * 2.0**-48  # generous bound on the key's rounding
    floor = np.where(last < ends, weights[order[np.minimum(last, len(order) - 1)]] - slack, -np.inf)
    kept = order[weights[order] >= floor[sorted_rows]]
    exact: np.ndarray = kept[np.lexsort((columns[kept], -weights[kept], rows[kept]))]
    return exact


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch's results are built.

    Tens of thousands of new tuples, dicts and Scores (none in a cycle) would otherwise
    set off collections that walk every live object, the model's included: about a
    fifth of the time of building results.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _distinct(cells: list[str | None]) -> tuple[str, ...]:
    """The first REASON_TERMS terms, none a word of a phrase among them, then the "like:".

    ["active", "active learning", "labels", None, "like: X"] -> ("active learning", "labels", "like: X");
    a plural beside its singular is the same word ("patient", "patients" -> "patient").
    """
    terms = [c for c in cells[:-1] if c]
    in_phrases = {word for term in terms if " " in term or "-" in term for word in _words(term)}
    seen: set[str] = set()
    kept: list[str] = []
    for term in terms:
        key = " ".join(_words(term))
        if key in seen or (key in in_phrases and " " not in key):
            continue
        seen.add(key)
        kept.append(term)
    like = cells[-1]
    return (*kept[:REASON_TERMS], like) if like else tuple(kept[:REASON_TERMS])


def _words(term: str) -> list[str]:
    """The term's words, lower-case, a plural's final "s" dropped ("patients" -> "patient")."""
    return [_singular(w) for w in term.lower().replace("-", " ").split()]


def _singular(word: str) -> str:
    # Only the plain plural: "labels", "images"; not "loss", "focus", "analysis", "gas".
    return word[:-1] if len(word) > 3 and word.endswith("s") and word[-2] not in "siu" else word


def _explaining_columns(features: FeatureSource, names: np.ndarray) -> np.ndarray:
    """1.0 for each column that can be a reason (see the module docstring), else 0.0.

    `names` holds the columns' names (object array); seed-phrase columns (past the idf) always explain.
    """
    generic = _generic_terms()
    explains = np.fromiter(
        (
            name not in generic and TEX_COMMANDS.isdisjoint(str(name).split())
            for name in names[: features.size]
        ),
        dtype=bool,
    )
    idf = getattr(features, "idf", None)
    if idf is not None:
        explains[: len(idf)] &= np.asarray(idf) >= MIN_REASON_IDF
        explains[len(idf) :] = True
    return explains.astype(np.float64)


# Names of TeX commands: a feed's raw TeX ("\\textbf{U-Net}", "$\\mathcal{O}(n)$") makes words
# of them, which say nothing of why a paper fits; no term holding one is a reason. (Commands that are also
# English words, such as \\label or \\input, stay reasons: "label" is a semi-supervised word.)
TEX_COMMANDS = frozenset(
    """
    textbf textit texttt textrm textsc emph mathrm mathcal mathbf mathbb mathit mathsf mathscr
    boldsymbol frac sqrt href cite citep citet eqref includegraphics mbox hbox vspace hspace newline
    cdot ldots operatorname leq geq infty
    """.split()  # noqa: SIM905 (a word list reads best as text)
)


@lru_cache(maxsize=1)
def _generic_terms() -> frozenset[str]:
    """GENERIC words, and the bigrams made of two of them ("deep learning", "neural network")."""
    return GENERIC | {f"{a} {b}" for a in GENERIC for b in GENERIC}


def _names(features: FeatureSource) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the first column with the same name; the column names, then None."""
    names = list(map(features.term, range(features.size)))
    # Built from the last column back, the dict keeps each name's first column.
    first = dict(zip(reversed(names), range(len(names) - 1, -1, -1), strict=True))
    ids = np.fromiter(map(first.__getitem__, names), dtype=np.int64, count=len(names))
    return ids, np.array([*names, None], dtype=object)


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
