"""Fitting the model: one shared TF-IDF vocabulary, one calibrated linear classifier per profile.

Positives of a profile are the curated entries it labels (profiles.is_positive); its
negatives are the background papers, as arxiv-sanity-lite treats untagged papers,
except those whose title names one of the profile's seed phrases: those are weak
positives, featured by their abstract alone (see _weak_positives). Curated entries of
other sections are left out of that profile: a list is not a judgement on everything
it does not list. One round of self-training then moves the background papers that the
profile's classifier confidently calls positive from its negatives to pseudo-positives
(see _self_trained).

The vocabulary keeps words frequent in a cs.CV stream (max_df 0.5, not sanity-lite's
0.1, which throws away "segmentation"). Scores are Platt-calibrated on out-of-fold
decision values of full-text positives (see fit_profile), and each profile's threshold
maximises out-of-fold F1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from arxivwatch.model import FloatArray, Metrics, Model, ProfileModel, TfidfFeatures, seed_hits, versions
from arxivwatch.models import CuratedEntry, Paper, Profile
from arxivwatch.profiles import is_positive, matches_seeds

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

# The ML knobs, in one place.
NGRAMS_MAX_DF = 0.5
MIN_DF = 2
MAX_FEATURES = 60_000
ALPHA = 1e-4  # L2 regularisation of the logistic loss
EPOCHS = 15
FOLDS = 5
THREADS = 2  # cross-validation folds fitted at once
MIN_POSITIVES = 5  # fewer than this: no cross-validation, a warning, a default threshold
DEFAULT_THRESHOLD = 0.5
SEED_POSITIVES = True
WEAK_WEIGHT = 1.0  # sample weight of a weak positive relative to a curated one
PHRASE_WEIGHT = 0.05  # seed-phrase columns (named once), beside unit-length tf-idf rows
FULL_TEXT_WORDS = 50  # a curated text this long holds an abstract or notes, not just a title
MIN_ENRICHED = 20  # full-text positives needed to measure quality on abstracts rather than on titles
SELF_TRAINING = True  # one round of self-training on the background (see _self_trained)
PSEUDO_WEIGHT = 0.5  # sample weight of a pseudo-positive relative to a curated one
PSEUDO_SHARE = 0.02  # at most this share of the background becomes pseudo-positives
PSEUDO_MIN_DECISION = 0.0  # and only those the classifier puts on the positive side


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
    items = _items(entries, metadata)
    listed = {e.arxiv_id for e in entries if e.arxiv_id}
    negatives = [p for p in background if p.id not in listed]
    with _progress(progress, len(profiles) + 1) as step:
        phrases = [seed for profile in profiles for seed in profile.seeds]
        texts = [i.text for i in items] + [p.text for p in negatives]
        features, matrix = fit_features(texts, phrases)
        step()
        entry_rows, background_rows = matrix[: len(items)], matrix[len(items) :]
        # Title-only rows, so quality can be measured like for like (see _cv_quality).
        entry_titles = features.transform([item.title for item in items])
        background_titles = features.transform([p.title for p in negatives])
        scorers: dict[str, ProfileModel] = {}
        metrics: dict[str, Metrics] = {}
        for profile in profiles:
            positive = np.array([_labelled(item, profile) for item in items], dtype=bool)
            seeded = [matches_seeds(p.title, profile.seeds) for p in negatives]
            weak = _weak_positives(features, negatives, seeded)
            kept = ~np.array(seeded, dtype=bool)
            pseudo, rest = _self_trained(entry_rows[positive], weak, background_rows[kept])
            scorers[profile.name], metrics[profile.name] = fit_profile(
                entry_rows[positive],
                background_rows[kept][rest],
                np.flatnonzero(positive),
                weak=weak,
                pseudo=pseudo,
                seed_columns=features.phrase_columns(profile.seeds),
                seed_unit=features.phrase_weight or 1.0,
                full_text=np.array([_full_text(item) for item in items], dtype=bool)[positive],
                titles=(entry_titles[positive], background_titles[kept][rest]),
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


def _weak_positives(
    features: TfidfFeatures, papers: Sequence[Paper], seeded: Sequence[bool]
) -> csr_matrix | None:
    """Background papers whose title names a seed phrase, featured by their abstract alone.

    Distant supervision: the title gave the label, so the classifier must learn from
    the abstract what such papers look like (with the title kept, the seed column
    alone would separate them and nothing would be learnt).
    """
    chosen = [p.abstract for p, hit in zip(papers, seeded, strict=True) if hit and p.abstract]
    return features.transform(chosen) if SEED_POSITIVES and chosen else None


def _self_trained(
    positives: csr_matrix, weak: csr_matrix | None, negatives: csr_matrix
) -> tuple[csr_matrix | None, np.ndarray]:
    """(pseudo-positives, a mask of the negatives left): one round of self-training on the background.

    A classifier fitted on the positives (and weak positives) against the background
    still puts a few background papers on the positive side of its boundary although
    they were given as negatives: papers of the topic that name none of the curated
    titles' words or the seed phrases in their title. The most confident of them (decision
    above 0, at most PSEUDO_SHARE of the background) move from the negatives to a block
    of pseudo-positives, weighted PSEUDO_WEIGHT, which teaches the model the field's words
    that a few dozen curated titles lack (organs, modalities, "label-efficient").
    """
    import scipy.sparse as sp

    keep = np.ones(negatives.shape[0], bool)
    if not SELF_TRAINING or positives.shape[0] < MIN_POSITIVES or negatives.shape[0] == 0:
        return None, keep
    blocks = [positives] + ([weak] if weak is not None else []) + [negatives]
    n_pos = positives.shape[0] + (0 if weak is None else weak.shape[0])
    y = np.r_[np.ones(n_pos), np.zeros(negatives.shape[0])]
    weights = np.r_[
        np.ones(positives.shape[0]),
        np.full(n_pos - positives.shape[0], WEAK_WEIGHT),
        np.ones(negatives.shape[0]),
    ]
    coef, intercept = _fit(sp.vstack(blocks).tocsr(), y, weights)
    decisions = negatives @ coef + intercept
    limit = int(PSEUDO_SHARE * negatives.shape[0])
    order = np.argsort(-decisions, kind="stable")[:limit]
    chosen = order[decisions[order] > PSEUDO_MIN_DECISION]
    if len(chosen) == 0:
        return None, keep
    keep[chosen] = False
    return negatives[chosen], keep


def fit_profile(
    positives: csr_matrix,
    negatives: csr_matrix,
    positive_rows: np.ndarray,
    *,
    weak: csr_matrix | None = None,
    pseudo: csr_matrix | None = None,
    seed_columns: np.ndarray | None = None,
    seed_unit: float = 1.0,
    full_text: np.ndarray | None = None,
    titles: tuple[csr_matrix, csr_matrix] | None = None,
) -> tuple[ProfileModel, Metrics]:
    """A calibrated classifier of positives (and weak positives) against negatives.

    `full_text` marks the curated positives whose text holds more than a title. The
    calibration is fitted on the positives in the form that gets scored (those, plus the
    weak positives' abstracts) when there are enough of them; metrics and threshold use
    the curated positives and the negatives only, out of fold: weak positives help fit
    and calibrate but are never scored as evidence of quality. `seed_unit` is the value
    a seed column takes when its phrase is named once (see ProfileModel.hits). `titles`
    holds the positives' and negatives' title-only rows, for like-for-like quality
    (see _cv_quality).
    """
    import scipy.sparse as sp

    blocks = [positives] + ([weak] if weak is not None else []) + [negatives]
    x = sp.vstack(blocks).tocsr()
    n_weak = 0 if weak is None else weak.shape[0]
    y = np.r_[np.ones(positives.shape[0] + n_weak), np.zeros(negatives.shape[0])]
    judged = np.r_[
        np.ones(positives.shape[0], bool), np.zeros(n_weak, bool), np.ones(negatives.shape[0], bool)
    ]
    n_pseudo = 0 if pseudo is None else pseudo.shape[0]
    if pseudo is not None:
        # Pseudo-positives go last: they help fit, but never calibrate or count in metrics.
        x = sp.vstack([x, pseudo]).tocsr()
        y = np.r_[y, np.ones(n_pseudo)]
        judged = np.r_[judged, np.zeros(n_pseudo, bool)]
    count = int(positives.shape[0])
    columns = np.zeros(0, np.int64) if seed_columns is None else seed_columns.astype(np.int64)
    hits = seed_hits(x, columns, seed_unit)
    if count == 0:
        empty = ProfileModel(np.zeros(x.shape[1]), -10.0, 1.0, 0.0, positive_rows)
        warning = "no curated entry matches this profile's sections or seeds"
        return empty, Metrics(0, negatives.shape[0], None, None, DEFAULT_THRESHOLD, warning)
    weights = np.where(judged, 1.0, WEAK_WEIGHT)
    weights[len(weights) - n_pseudo :] = PSEUDO_WEIGHT
    coef, intercept = _fit(x, y, weights)
    if count < MIN_POSITIVES:
        warning = f"only {count} positives: too few to cross-validate; add entries to the lists"
        model = ProfileModel(coef, intercept, 1.0, 0.0, positive_rows)
        metrics = Metrics(count, negatives.shape[0], None, None, DEFAULT_THRESHOLD, warning)
        return model, replace(metrics, weak_positives=n_weak)
    title_x = (
        None
        if titles is None
        else sp.vstack(
            [titles[0]]
            + ([weak] if weak is not None else [])
            + [titles[1]]
            + ([pseudo] if pseudo is not None else [])
        ).tocsr()
    )
    decisions, title_decisions = _out_of_fold(x, y, weights, title_x)
    calibrating = np.r_[
        _calibration_rows(positives.shape[0], n_weak, negatives.shape[0], full_text), np.zeros(n_pseudo, bool)
    ]
    slope, seed_weight, offset = _platt(decisions[calibrating], hits[calibrating], y[calibrating])
    built = ProfileModel(coef, intercept, slope, offset, positive_rows, seed_weight, columns, seed_unit)
    calibrated = built.calibrate(decisions, hits)
    full = np.zeros(count, bool) if full_text is None else np.asarray(full_text, bool)
    if title_x is not None and title_decisions is not None:
        title_scores = built.calibrate(title_decisions, seed_hits(title_x, columns, seed_unit))
    else:
        title_scores = None
    metrics = _cv_quality(calibrated, title_scores, y, judged, full)
    # The threshold is applied to new papers, which come with abstracts: choose it on the rows
    # the calibration was fitted on (full-text positives), not on bare curated titles.
    threshold = _metrics(calibrated[calibrating], y[calibrating]).threshold
    return built, replace(metrics, threshold=threshold, weak_positives=n_weak)


def _calibration_rows(count: int, n_weak: int, n_negative: int, full_text: np.ndarray | None) -> np.ndarray:
    """Which rows of [positives, weak, negatives] the Platt blend is fitted on.

    A bare title names a seed phrase far less often than a title plus abstract does:
    about half the curated positives are listed under a section (AutoAugment, MoCo) and
    name no seed in their title, while nearly every semi-supervised abstract says
    "semi-supervised" or "unlabeled". Fitted on bare titles, the blend learnt that seed
    phrases are weak evidence and let the classifier's topic priors (medical, image
    classification) outrank abstracts that name the profile's phrases. So titles are left
    out when enough full-text positives exist; without them, every row is used.
    """
    full = np.zeros(count, bool) if full_text is None else np.asarray(full_text, bool)
    if int(full.sum()) + n_weak < MIN_POSITIVES:
        return np.ones(count + n_weak + n_negative, bool)
    rows: np.ndarray = np.concatenate([full, np.ones(n_weak + n_negative, bool)])
    return rows


def _fit(x: csr_matrix, y: FloatArray, weights: FloatArray) -> tuple[FloatArray, float]:
    from sklearn.linear_model import SGDClassifier

    # Logistic loss by SGD: a fixed number of passes, ~10x faster than liblinear here.
    classifier = SGDClassifier(
        loss="log_loss",
        alpha=ALPHA,
        class_weight="balanced",
        max_iter=EPOCHS,
        tol=None,
        random_state=0,
    )
    classifier.fit(x, y, sample_weight=weights)
    return np.asarray(classifier.coef_[0], dtype=np.float64), float(classifier.intercept_[0])


def _cv_quality(
    calibrated: FloatArray,
    title_scores: FloatArray | None,
    y: FloatArray,
    judged: np.ndarray,
    full: np.ndarray,
) -> Metrics:
    """Cross-validated quality on like-for-like text, and which text it was measured on.

    Negatives are background papers with abstracts. With at least MIN_ENRICHED full-text
    positives (enriched by arXiv metadata, or listed with notes), quality is measured on
    those against the negatives' full texts ("abstracts"); otherwise every positive's title
    is scored against the negatives' titles ("titles"). A bare title scored against full
    abstracts would measure text length, not the topic.
    """
    n_full = int(full.sum())
    if n_full >= MIN_ENRICHED or title_scores is None:
        rows = judged & np.r_[full, np.ones(len(y) - len(full), bool)] if n_full >= MIN_ENRICHED else judged
        label = f"abstracts ({n_full} positives)" if n_full >= MIN_ENRICHED else "mixed"
        return replace(_metrics(calibrated[rows], y[rows]), measured_on=label)
    return replace(_metrics(title_scores[judged], y[judged]), measured_on="titles")


def _out_of_fold(
    x: csr_matrix, y: FloatArray, weights: FloatArray, alt: csr_matrix | None = None
) -> tuple[FloatArray, FloatArray | None]:
    """Out-of-fold decision values of x's rows, and of alt's rows (the same papers as other
    text, e.g. titles only) under the same fold models."""
    from sklearn.model_selection import StratifiedKFold

    decisions = np.zeros(len(y))
    alt_decisions = None if alt is None else np.zeros(len(y))
    folds = StratifiedKFold(n_splits=min(FOLDS, int(y.sum())), shuffle=True, random_state=0)
    splits = list(folds.split(np.zeros(len(y)), y))

    def one(split: tuple[np.ndarray, np.ndarray]) -> None:
        train_rows, test_rows = split
        coef, intercept = _fit(x[train_rows], y[train_rows], weights[train_rows])
        decisions[test_rows] = x[test_rows] @ coef + intercept
        if alt is not None and alt_decisions is not None:
            alt_decisions[test_rows] = alt[test_rows] @ coef + intercept

    # SGD releases the GIL, so threads put both cores to work without copies.
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(one, splits))
    return decisions, alt_decisions


def _platt(decisions: FloatArray, hits: FloatArray, y: FloatArray) -> tuple[float, float, float]:
    """Platt scaling with a second input: slope, seed weight and offset of the sigmoid.

    Fitted on out-of-fold decision values (weak positives included: they are the
    realistic full-text positives), beside log(1 + hits), the profile's seed phrases
    named, each counted 1 + log(its mentions) (ProfileModel.hits), so the classifier's
    evidence and the profile's own phrases are blended by data.
    """
    from sklearn.linear_model import LogisticRegression

    inputs = np.column_stack([decisions, np.log1p(hits)])
    sigmoid = LogisticRegression(C=1e4).fit(inputs, y)
    slope, seed_weight = (float(v) for v in sigmoid.coef_[0])
    return slope, seed_weight, float(sigmoid.intercept_[0])


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


def _full_text(item: _Item) -> bool:
    """True when the item's text is more than its title (an abstract or notes)."""
    return len(item.text.split()) >= FULL_TEXT_WORDS


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
