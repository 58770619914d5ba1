"""Fitting the model: one shared TF-IDF vocabulary, one calibrated linear classifier per profile.

Positives of a profile are the curated entries it labels (profiles.is_positive); its
negatives are the background papers, as arxiv-sanity-lite treats untagged papers,
except those whose title matches the profile's own seed phrases (likely unlisted
positives, so neither). Curated entries of other sections are left out of that
profile: a list is not a judgement on everything it does not list.

The vocabulary keeps words frequent in a cs.CV stream (max_df 0.5, not sanity-lite's
0.1, which throws away "segmentation"). Scores are Platt-calibrated on out-of-fold
decision values, and each profile's threshold maximises out-of-fold F1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from arxivwatch.model import FloatArray, Metrics, Model, ProfileModel, TfidfFeatures, versions
from arxivwatch.models import CuratedEntry, Paper, Profile
from arxivwatch.profiles import is_positive, matches_seeds

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

# The ML knobs, in one place.
NGRAMS_MAX_DF = 0.5
MIN_DF = 2
MAX_FEATURES = 60_000
C = 4.0  # LogisticRegression inverse regularisation
FOLDS = 5
MIN_POSITIVES = 5  # fewer than this: no cross-validation, a warning, a default threshold
DEFAULT_THRESHOLD = 0.5
SEED_POSITIVES = True
PHRASE_WEIGHT = 0.3  # seed-phrase presence columns, beside unit-length tf-idf rows


@dataclass(frozen=True)
class _Item:
    """One distinct curated paper: its training text and section paths merged."""

    title: str
    text: str
    entries: tuple[CuratedEntry, ...]


def train(
    entries: Sequence[CuratedEntry],
    profiles: Sequence[Profile],
    *,
    metadata: Mapping[str, Paper],
    background: Sequence[Paper],
    sources: Sequence[tuple[str, str]],
    progress: bool = False,
) -> Model:
    """A model for `profiles`, fitted on `entries` (enriched by `metadata`) and `background`."""
    import scipy.sparse as sp

    items = _items(entries, metadata)
    listed = {e.arxiv_id for e in entries if e.arxiv_id}
    negatives = [p for p in background if p.id not in listed]
    with _progress(progress, len(profiles) + 1) as step:
        phrases = [seed for profile in profiles for seed in profile.seeds]
        texts = [i.text for i in items] + [p.text for p in negatives]
        features, matrix = fit_features(texts, phrases)
        step()
        entry_rows, background_rows = matrix[: len(items)], matrix[len(items) :]
        scorers: dict[str, ProfileModel] = {}
        metrics: dict[str, Metrics] = {}
        for profile in profiles:
            positive = np.array([_labelled(item, profile) for item in items], dtype=bool)
            seeded = np.array([matches_seeds(p.title, profile.seeds) for p in negatives], dtype=bool)
            extra = background_rows[seeded] if SEED_POSITIVES else background_rows[:0]
            scorers[profile.name], metrics[profile.name] = fit_profile(
                sp.vstack([entry_rows[positive], extra]),
                background_rows[~seeded],
                np.flatnonzero(positive),
            )
            step()
    return Model(
        profiles=tuple(profiles),
        features=features,
        scorers=scorers,
        metrics=metrics,
        entry_titles=tuple(item.title for item in items),
        entry_vectors=entry_rows,
        trained_at=datetime.now(UTC),
        sources=tuple(sources),
        versions=versions(),
    )


def fit_features(texts: Sequence[str], phrases: Sequence[str] = ()) -> tuple[TfidfFeatures, csr_matrix]:
    """The shared vocabulary fitted on `texts` (plus seed-phrase columns), and their matrix."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    analyzer = TfidfFeatures((), np.zeros(0), sorted(ENGLISH_STOP_WORDS)).analyze
    vectorizer = TfidfVectorizer(
        analyzer=analyzer,
        min_df=MIN_DF if len(texts) >= 50 else 1,
        max_df=NGRAMS_MAX_DF if len(texts) >= 50 else 1.0,
        max_features=MAX_FEATURES,
        sublinear_tf=True,
        dtype=np.float64,
    )
    matrix = vectorizer.fit_transform(texts)
    terms = [""] * len(vectorizer.vocabulary_)
    for term, index in vectorizer.vocabulary_.items():
        terms[index] = term
    stop = sorted(ENGLISH_STOP_WORDS)
    features = TfidfFeatures(terms, vectorizer.idf_, stop, phrases, PHRASE_WEIGHT)
    return features, features.with_phrases(matrix, texts)


def fit_profile(
    positives: csr_matrix, negatives: csr_matrix, positive_rows: np.ndarray
) -> tuple[ProfileModel, Metrics]:
    """A calibrated classifier of positives against negatives, and its cross-validated quality."""
    import scipy.sparse as sp

    x = sp.vstack([positives, negatives]).tocsr()
    y = np.r_[np.ones(x.shape[0] - negatives.shape[0]), np.zeros(negatives.shape[0])]
    count = int(y.sum())
    if count == 0:
        empty = ProfileModel(np.zeros(x.shape[1]), -10.0, 1.0, 0.0, positive_rows)
        warning = "no curated entry matches this profile's sections or seeds"
        return empty, Metrics(0, len(y) - count, None, None, DEFAULT_THRESHOLD, warning)
    coef, intercept = _fit(x, y)
    if count < MIN_POSITIVES:
        warning = f"only {count} positives: too few to cross-validate; add entries to the lists"
        model = ProfileModel(coef, intercept, 1.0, 0.0, positive_rows)
        return model, Metrics(count, len(y) - count, None, None, DEFAULT_THRESHOLD, warning)
    decisions = _out_of_fold(x, y)
    slope, offset = _platt(decisions, y)
    calibrated = 1.0 / (1.0 + np.exp(-(slope * decisions + offset)))
    metrics = _metrics(calibrated, y)
    return ProfileModel(coef, intercept, slope, offset, positive_rows), metrics


def _fit(x: csr_matrix, y: FloatArray) -> tuple[FloatArray, float]:
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=C, class_weight="balanced", solver="liblinear")
    classifier.fit(x, y)
    return np.asarray(classifier.coef_[0], dtype=np.float64), float(classifier.intercept_[0])


def _out_of_fold(x: csr_matrix, y: FloatArray) -> FloatArray:
    from sklearn.model_selection import StratifiedKFold

    decisions = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=min(FOLDS, int(y.sum())), shuffle=True, random_state=0)
    for train_rows, test_rows in folds.split(np.zeros(len(y)), y):
        coef, intercept = _fit(x[train_rows], y[train_rows])
        decisions[test_rows] = x[test_rows] @ coef + intercept
    return decisions


def _platt(decisions: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Slope and offset of the sigmoid that maps decision values to probabilities."""
    from sklearn.linear_model import LogisticRegression

    sigmoid = LogisticRegression(C=1e4).fit(decisions.reshape(-1, 1), y)
    return float(sigmoid.coef_[0][0]), float(sigmoid.intercept_[0])


def _metrics(calibrated: FloatArray, y: FloatArray) -> Metrics:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    order = np.argsort(-calibrated, kind="stable")
    precision, recall, cuts = precision_recall_curve(y, calibrated)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1])) if len(cuts) else 0
    threshold = float(np.clip(cuts[best], 0.0, 1.0)) if len(cuts) else DEFAULT_THRESHOLD
    count = int(y.sum())
    return Metrics(
        positives=count,
        negatives=len(y) - count,
        average_precision=round(float(average_precision_score(y, calibrated)), 4),
        precision_at_10=round(float(y[order[:10]].mean()), 4),
        threshold=round(threshold, 4),
    )


def _items(entries: Sequence[CuratedEntry], metadata: Mapping[str, Paper]) -> list[_Item]:
    """Distinct papers (by arXiv id, else title), with enriched text where metadata has it."""
    groups: dict[str, list[CuratedEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.arxiv_id or entry.title.lower(), []).append(entry)
    items = []
    for group in groups.values():
        first = group[0]
        paper = metadata.get(first.arxiv_id) if first.arxiv_id else None
        notes = " ".join(e.text for e in group if e.text)
        text = paper.text if paper else f"{first.title}. {notes}".strip()
        items.append(_Item(paper.title if paper else first.title, text, tuple(group)))
    return items


def _labelled(item: _Item, profile: Profile) -> bool:
    return any(is_positive(entry, profile) for entry in item.entries)


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar when asked for (the library prints nothing otherwise)."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("training", total=total)
        yield lambda: bar.advance(task)
