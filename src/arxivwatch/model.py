"""The trained model: one shared feature space, one calibrated linear scorer per profile.

Saved as a single `.npz` of plain numpy arrays (loaded with allow_pickle=False) whose
"meta" member is UTF-8 JSON: the format version, the date, the list sources and their
hashes, the profile definitions, the metrics and the library versions. Nothing in the
file is ever unpickled or executed. This module is the only code that reads or writes
model files; saving is atomic (a temp file, then a rename).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from arxivwatch.errors import ModelError
from arxivwatch.models import Profile
from arxivwatch.paths import file_in_the_way, not_a_folder
from arxivwatch.profiles import phrase_pattern
from arxivwatch.vectorize import PhraseFinder, Vocabulary, csr_rows, tfidf_rows

FORMAT = 2  # bump when the file layout changes; older files are then refused
RETRAIN = "run `arxivwatch train` to build a new one"

FloatArray = NDArray[np.float64]

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

_WORD = r"(?u)\b\w\w+\b"  # scikit-learn's default token pattern


class FeatureSource(Protocol):
    """A way to turn texts into feature rows (the seam for e.g. an embedding model)."""

    @property
    def size(self) -> int:
        """The number of feature columns."""
        ...

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        """One L2-normalised row per text."""
        ...

    def term(self, index: int) -> str:
        """A human name for a column, used in reasons."""
        ...


class TfidfFeatures:
    """Unigram+bigram TF-IDF (sublinear tf, English stop words dropped, L2 rows).

    After the term columns come the seed-phrase columns, one a phrase, outside the L2
    norm: phrase_weight * (1 + log count) where the text names the phrase `count` times,
    the same sublinear tf as the terms (a paper saying "self-supervised" five times is
    stronger evidence than one mentioning it in passing, but not five times stronger).

    The vocabulary and idf come from scikit-learn's TfidfVectorizer at training time
    (with `analyze` as its analyzer); transforming is done a batch at a time with word
    ids and numpy (see vectorize.py), which gives the same rows bit for bit at a
    fraction of the vectorizer's per-document cost.
    """

    def __init__(
        self,
        terms: Sequence[str],
        idf: FloatArray,
        stop_words: Sequence[str],
        phrases: Sequence[str] = (),
        phrase_weight: float = 0.0,
    ) -> None:
        self.terms = tuple(terms)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.stop_words = frozenset(stop_words)
        self.phrases = tuple(dict.fromkeys(p.lower() for p in phrases))
        self.phrase_weight = phrase_weight
        self._token = re.compile(_WORD)
        self._phrase = phrase_pattern(self.phrases) if self.phrases else None
        self._phrase_index = {p: len(self.terms) + i for i, p in enumerate(self.phrases)}
        self._index = Vocabulary(self.terms, self.stop_words)
        self._phrases = PhraseFinder(self._phrase, self.phrases) if self._phrase else None

    @property
    def size(self) -> int:
        return len(self.terms) + len(self.phrases)

    def phrase_columns(self, phrases: Sequence[str]) -> NDArray[np.int64]:
        """The columns of the given seed phrases (those this feature space has)."""
        found = [self._phrase_index[p.lower()] for p in phrases if p.lower() in self._phrase_index]
        return np.array(sorted(set(found)), dtype=np.int64)

    def term(self, index: int) -> str:
        if index >= len(self.terms):
            return self.phrases[index - len(self.terms)]
        return self.terms[index]

    def analyze(self, text: str) -> list[str]:
        """The unigrams and bigrams of `text`, stop words removed first (as sklearn does).

        Training's vectorizer uses this analyzer, so it defines the terms; transform
        gives the same columns and values without building these strings.
        """
        stop = self.stop_words
        words = [w for w in self._token.findall(text.lower()) if w not in stop]
        return words + [f"{a} {b}" for a, b in pairwise(words)]

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        lowered = [text.lower() for text in texts]
        batch = self._index.words_of(lowered)
        rows, columns = self._index.term_columns(batch)
        rows, columns, values = tfidf_rows(rows, columns, self.idf, len(texts))
        if self._phrases is not None and self.phrase_weight != 0.0:
            rows, columns, values = self._append_phrases(
                (rows, columns, values), self._phrases.find(lowered, batch)
            )
        return csr_rows(rows, columns, values, (len(texts), self.size))

    def _append_phrases(
        self,
        entries: tuple[NDArray[np.int64], NDArray[np.int64], FloatArray],
        found: Sequence[tuple[int, Sequence[str]]],
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
        """`entries` (sorted by row) merged with a phrase_weight entry per phrase found."""
        index, size = self._phrase_index, self.size
        keys = np.array([row * size + index[n] for row, names in found for n in names], dtype=np.int64)
        cells, counts = np.unique(keys, return_counts=True)  # sorted by row, then column
        rows = np.concatenate([entries[0], cells // size])
        # Phrase columns follow every term column, so a stable sort by row keeps each
        # row's columns in increasing order.
        order = np.argsort(rows, kind="stable")
        columns = np.concatenate([entries[1], cells % size])[order]
        values = np.concatenate([entries[2], self.phrase_value(counts)])[order]
        return rows[order], columns, values

    def phrase_value(self, counts: NDArray[np.int64]) -> FloatArray:
        """A seed-phrase column's value for a text naming the phrase `counts` times (> 0)."""
        values: FloatArray = self.phrase_weight * (1.0 + np.log(counts.astype(np.float64)))
        return values

    def with_phrases(self, tfidf: csr_matrix, texts: Sequence[str]) -> csr_matrix:
        """`tfidf` with one column per seed phrase appended (see phrase_value)."""
        import scipy.sparse as sp

        if self._phrase is None:
            return tfidf
        index = self._phrase_index
        rows: list[int] = []
        cols: list[int] = []
        for row, text in enumerate(texts):
            found = [index[m] for m in self._phrase.findall(text.lower())]
            cols.extend(found)
            rows.extend([row] * len(found))
        # Duplicate (row, column) entries are summed: the matrix holds the counts.
        phrases = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(texts), self.size))
        phrases.data = self.phrase_value(phrases.data)
        return sp.csr_matrix(phrases + sp.hstack([tfidf, sp.csr_matrix((len(texts), len(self.phrases)))]))

    def meta(self) -> dict[str, object]:
        return {
            "kind": "tfidf",
            "terms": list(self.terms),
            "stop_words": sorted(self.stop_words),
            "phrases": list(self.phrases),
            "phrase_weight": self.phrase_weight,
        }

    @classmethod
    def from_state(cls, meta: Mapping[str, Any], idf: FloatArray) -> TfidfFeatures:
        if meta.get("kind") != "tfidf" or len(meta["terms"]) != len(idf):
            raise ValueError("feature description does not match its arrays")
        weight = float(meta["phrase_weight"])
        return cls(meta["terms"], idf, meta["stop_words"], meta["phrases"], weight)


@dataclass(frozen=True)
class Metrics:
    """How one profile did in training (cross-validated on its own training data)."""

    positives: int
    negatives: int
    average_precision: float | None
    precision_at_10: float | None
    threshold: float
    warning: str | None = None
    weak_positives: int = 0  # background papers whose title names a seed (never scored on)
    measured_on: str = ""  # the text CV quality was measured on: "titles" or "abstracts (N positives)"


@dataclass(frozen=True)
class ProfileModel:
    """A linear scorer over the shared features plus a Platt sigmoid that calibrates it."""

    coef: FloatArray
    intercept: float
    slope: float  # calibrated = sigmoid(slope * decision + seed_weight * log1p(hits) + offset)
    offset: float
    positives: NDArray[np.int64]  # indices into Model.entry_titles: nearest-entry reasons
    # hits: the sum of the profile's seed columns over seed_unit (a phrase's value when
    # named once), i.e. the sum over its seed phrases named of 1 + log(mentions).
    seed_weight: float = 0.0
    seed_columns: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    seed_unit: float = 1.0

    def hits(self, matrix: csr_matrix) -> FloatArray:
        """The hits of each row of `matrix` (see the field comments)."""
        return seed_hits(matrix, self.seed_columns, self.seed_unit)

    def calibrate(self, decisions: FloatArray, hits: FloatArray) -> FloatArray:
        """Probabilities from decision values and seed-phrase hits."""
        z = self.slope * decisions + self.seed_weight * np.log1p(hits) + self.offset
        values: FloatArray = 1.0 / (1.0 + np.exp(-z))
        return values


def seed_hits(matrix: csr_matrix, columns: NDArray[np.int64], unit: float) -> FloatArray:
    """Per row, the sum of the seed `columns` over `unit` (a seed column's value when its
    phrase is named once): with TfidfFeatures, the sum of 1 + log(mentions) over the
    seed phrases named."""
    total = np.asarray(matrix[:, columns].sum(axis=1), dtype=np.float64).ravel()
    values: FloatArray = total / unit
    return values


@dataclass(frozen=True)
class Model:
    """Everything scoring needs, and what training measured."""

    profiles: tuple[Profile, ...]
    features: FeatureSource
    scorers: Mapping[str, ProfileModel]
    metrics: Mapping[str, Metrics]
    entry_titles: tuple[str, ...]
    entry_vectors: csr_matrix  # the curated entries' feature rows
    trained_at: datetime
    sources: tuple[tuple[str, str], ...] = ()  # (list source, sha256)
    versions: Mapping[str, str] = field(default_factory=dict)

    def threshold(self, name: str) -> float:
        """The profile's threshold: its own override if set, else the one training chose."""
        profile = self.profile(name)
        if profile.threshold is not None:
            return profile.threshold
        return self.metrics[name].threshold

    def profile(self, name: str) -> Profile:
        """The profile definition the model was trained with."""
        for profile in self.profiles:
            if profile.name == name:
                return profile
        raise ModelError(f"the model has no profile {name!r}", hint=RETRAIN)


def versions() -> dict[str, str]:
    """The library versions a model records (and that scoring depends on)."""
    import sklearn

    from arxivwatch import __version__

    return {"arxivwatch": __version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def save(model: Model, path: Path) -> None:
    """Write `model` to `path` atomically (temp file in the same folder, then rename)."""
    import scipy.sparse as sp

    if not isinstance(model.features, TfidfFeatures):
        raise ModelError("only TF-IDF features can be saved yet", hint="use the default features")
    vectors = sp.csr_matrix(model.entry_vectors)
    arrays: dict[str, np.ndarray] = {
        "idf": model.features.idf,
        "entry_data": vectors.data,
        "entry_indices": vectors.indices.astype(np.int64),
        "entry_indptr": vectors.indptr.astype(np.int64),
    }
    for i, profile in enumerate(model.profiles):
        scorer = model.scorers[profile.name]
        arrays[f"coef_{i}"] = scorer.coef
        arrays[f"positives_{i}"] = scorer.positives
        arrays[f"seed_columns_{i}"] = scorer.seed_columns
    meta = _meta(model, model.features, vectors.shape)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    try:
        _write_atomically(path, arrays)
    except OSError as e:
        blocker = file_in_the_way(path, folder=False)
        if blocker is not None:  # mkdir's "File exists" would not say which file
            raise ModelError(
                f"cannot write the model: {not_a_folder('the model path', path, blocker)}",
                hint=f"move or rename the file {blocker}, or set [training] model to a path in a folder; "
                "the previous model is still in place",
            ) from e
        raise ModelError(
            f"cannot write the model {path}: {e.strerror or e}",
            hint="free space on its disk (or make its folder writable) and train again; "
            "the previous model is still in place",
        ) from e


def _write_atomically(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """savez_compressed into a temp file beside `path`, then rename; the temp file never stays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> Model:
    """The model at `path`; ModelError (with the fix) if missing, corrupt or incompatible."""
    if not path.exists():
        raise ModelError(f"no model at {path}", hint=RETRAIN)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        strays = sorted(name for name, value in arrays.items() if not isinstance(value, np.ndarray))
        if strays:  # np.load gives the raw bytes of a member that is not an .npy array
            raise ModelError(f"the model file {path} is damaged ({strays[0]} is not an array)", hint=RETRAIN)
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    # MemoryError: a member's header claims a shape too large to allocate; RecursionError: nested meta
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, MemoryError, RecursionError) as e:
        raise ModelError(f"the model file {path} is damaged", hint=RETRAIN) from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelError(
            f"the model file {path} has format {found}, this arxivwatch reads {FORMAT}",
            hint=RETRAIN,
        )
    try:
        return _build(meta, arrays)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, MemoryError) as e:
        raise ModelError(f"the model file {path} is damaged", hint=RETRAIN) from e


def _meta(model: Model, features: TfidfFeatures, shape: tuple[int, int]) -> dict[str, object]:
    return {
        "format": FORMAT,
        "trained_at": model.trained_at.isoformat(),
        "sources": [list(s) for s in model.sources],
        "versions": dict(model.versions),
        "features": features.meta(),
        "entry_titles": list(model.entry_titles),
        "entry_shape": list(shape),
        "profiles": [
            {
                "definition": _profile_json(p),
                "metrics": asdict(model.metrics[p.name]),
                "intercept": model.scorers[p.name].intercept,
                "slope": model.scorers[p.name].slope,
                "offset": model.scorers[p.name].offset,
                "seed_weight": model.scorers[p.name].seed_weight,
                "seed_unit": model.scorers[p.name].seed_unit,
            }
            for p in model.profiles
        ],
    }


def _profile_json(profile: Profile) -> dict[str, object]:
    data = asdict(profile)
    for key in ("sections", "seeds", "categories"):
        data[key] = list(data[key])
    return data


def _build(meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Model:
    import scipy.sparse as sp

    features = TfidfFeatures.from_state(meta["features"], arrays["idf"])
    shape = (int(meta["entry_shape"][0]), int(meta["entry_shape"][1]))
    vectors = sp.csr_matrix(
        (arrays["entry_data"], arrays["entry_indices"], arrays["entry_indptr"]), shape=shape
    )
    profiles: list[Profile] = []
    scorers: dict[str, ProfileModel] = {}
    metrics: dict[str, Metrics] = {}
    for i, item in enumerate(meta["profiles"]):
        definition = dict(item["definition"])
        for key in ("sections", "seeds", "categories"):
            definition[key] = tuple(definition[key])
        profile = Profile(**definition)
        profiles.append(profile)
        scorers[profile.name] = ProfileModel(
            coef=np.asarray(arrays[f"coef_{i}"], dtype=np.float64),
            intercept=float(item["intercept"]),
            slope=float(item["slope"]),
            offset=float(item["offset"]),
            positives=np.asarray(arrays[f"positives_{i}"], dtype=np.int64),
            seed_weight=float(item["seed_weight"]),
            seed_columns=np.asarray(arrays[f"seed_columns_{i}"], dtype=np.int64),
            seed_unit=float(item["seed_unit"]),
        )
        metrics[profile.name] = Metrics(**item["metrics"])
        if scorers[profile.name].coef.shape != (features.size,):
            raise ValueError("coefficients do not match the vocabulary")
    return Model(
        profiles=tuple(profiles),
        features=features,
        scorers=scorers,
        metrics=metrics,
        entry_titles=tuple(meta["entry_titles"]),
        entry_vectors=vectors,
        trained_at=datetime.fromisoformat(str(meta["trained_at"])),
        sources=tuple(tuple(s) for s in meta["sources"]),
        versions=dict(meta["versions"]),
    )


def describe(model: Model) -> dict[str, object]:
    """A JSON-ready summary for `arxivwatch status` and `train` output."""
    return {
        "trained_at": model.trained_at.isoformat(),
        "sources": [{"source": s, "sha256": h} for s, h in model.sources],
        "versions": dict(model.versions),
        "profiles": {name: asdict(m) for name, m in model.metrics.items()},
    }
