"""TF-IDF features: the batch transform gives exactly the rows of the slow per-text reference."""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from arxivwatch import model, profiles, score, train, vectorize
from arxivwatch.models import Paper

DATA = Path(__file__).parent / "data" / "learning"
STOP = sorted(ENGLISH_STOP_WORDS)

# Texts that stress the tokenizer and the phrase finder: empty, one-letter words, stop
# words between known words, Unicode letters, digits and underscores, a NUL inside a
# text, phrases at the edges, with suffixes, hyphens, and lookalikes ("organization").
EDGE_TEXTS = [
    "",
    "a b c x y z",
    "X-ray CT scans of the brain; organs, organization, ORGANIZED organ.",
    "Segmentation of images with a U-Net: semi-supervised segmentation, pseudo-labels, pseudo-labeling.",
    "Straße İstanbul ﬁne-tuning naïve café ½ x² ٣٤ _under_score_ snake_case ΣΥΝΟΨΗ",
    "segmentation\x00network image\x00\x00segmentation network",
    "mean teacher\tmean  teacher mean-teacher consistency regularization, few labels; limited labels",
    "segment anything model segmenting anything, weakly-supervised weakly supervised weak supervision",
    "the of and is are we our",
    "deep learning deep learning deep learning image segmentation image segmentation",
]


def reference_phrases(features: model.TfidfFeatures, texts: Sequence[str]) -> sp.csr_matrix:
    """Per text and seed phrase: phrase_weight * (1 + log mentions), 0 if never named."""
    pattern = profiles.phrase_pattern(features.phrases)
    values = np.zeros((len(texts), len(features.phrases)))
    for row, text in enumerate(texts):
        for phrase, mentions in Counter(pattern.findall(text.lower())).items():
            values[row, features.phrases.index(phrase)] = features.phrase_weight * (1 + np.log(mentions))
    return sp.csr_matrix(values)


def reference_transform(features: model.TfidfFeatures, texts: Sequence[str]) -> sp.csr_matrix:
    """The per-text transform as it was: analyze, count, sublinear tf times idf, L2, phrases."""
    vocabulary = {term: i for i, term in enumerate(features.terms)}
    rows: list[int] = []
    cols: list[int] = []
    for row, text in enumerate(texts):
        found = [vocabulary[t] for t in features.analyze(text) if t in vocabulary]
        cols.extend(found)
        rows.extend([row] * len(found))
    shape = (len(texts), len(features.terms))
    matrix = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=shape)
    matrix.data = (np.log(matrix.data) + 1.0) * features.idf[matrix.indices]
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    tfidf = sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)
    if not features.phrases:
        return tfidf
    return sp.csr_matrix(sp.hstack([tfidf, reference_phrases(features, texts)]))


class ReferenceFeatures:
    """A FeatureSource computing rows with reference_transform (for score comparisons)."""

    def __init__(self, features: model.TfidfFeatures) -> None:
        self.features = features

    @property
    def size(self) -> int:
        return self.features.size

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return reference_transform(self.features, texts)

    def term(self, index: int) -> str:
        return self.features.term(index)

    @property
    def idf(self) -> np.ndarray:
        """The same idf: only the transform differs (the scorer reads idf to choose reasons)."""
        return self.features.idf


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    return [
        Paper(**json.loads(line))
        for line in (DATA / "background.jsonl").read_text(encoding="utf-8").splitlines()
    ]


@pytest.fixture(scope="module")
def texts(papers: list[Paper]) -> list[str]:
    return [p.text for p in papers] + EDGE_TEXTS


def fitted(texts: Sequence[str], phrases: Sequence[str]) -> model.TfidfFeatures:
    """Features fitted the way training fits them (max_df prunes words kept in bigrams)."""
    analyzer = model.TfidfFeatures((), np.zeros(0), STOP).analyze
    vectorizer = TfidfVectorizer(analyzer=analyzer, min_df=2, max_df=0.2, sublinear_tf=True)
    vectorizer.fit(texts)
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    return model.TfidfFeatures(terms, vectorizer.idf_, STOP, phrases, 0.05)


@pytest.fixture(scope="module")
def features(texts: list[str]) -> model.TfidfFeatures:
    seeds = [seed for profile in profiles.load_profiles(None) for seed in profile.seeds]
    return fitted(texts, seeds)


def assert_same_rows(fast: sp.csr_matrix, slow: sp.csr_matrix) -> None:
    slow = sp.csr_matrix(slow)
    slow.sort_indices()
    assert fast.shape == slow.shape
    assert np.array_equal(fast.indptr, slow.indptr) and np.array_equal(fast.indices, slow.indices)
    assert np.abs(fast.data - slow.data).max(initial=0.0) <= 1e-12


def test_fixture_prunes_words_that_bigrams_keep(features: model.TfidfFeatures) -> None:
    """The fitted vocabulary has bigrams over words that are no unigram term (the hard case)."""
    unigrams = {t for t in features.terms if " " not in t}
    orphans = [t for t in features.terms if " " in t and not set(t.split(" ")) <= unigrams]
    assert len(orphans) > 10


def test_transform_equals_the_reference(features: model.TfidfFeatures, texts: list[str]) -> None:
    """Real abstracts and edge cases get the same columns and values as the per-text reference."""
    fast = features.transform(texts)
    assert fast.has_sorted_indices
    assert_same_rows(fast, reference_transform(features, texts))
    assert fast[:, len(features.terms) :].nnz > 20  # seed phrases were found, and agree


def test_training_rows_equal_the_reference(texts: list[str]) -> None:
    """with_phrases (training's path) gives the reference's phrase columns too."""
    seeds = [seed for profile in profiles.load_profiles(None) for seed in profile.seeds]
    features, matrix = train.fit_features(texts, seeds)
    matrix.sort_indices()  # scikit-learn leaves a row's columns in the order first seen
    assert_same_rows(matrix, reference_transform(features, texts))


def test_phrase_columns_count_mentions(features: model.TfidfFeatures) -> None:
    """A phrase named three times weighs phrase_weight * (1 + log 3); named once, phrase_weight."""
    text = "Semi-supervised segmentation: semi-supervised learning, semi-supervision, semi-supervised."
    row = features.transform([text])
    column = features.phrase_columns(["semi-supervised"])[0]
    once = features.phrase_columns(["semi-supervision"])[0]
    assert row[0, column] == pytest.approx(features.phrase_weight * (1 + np.log(3)))
    assert row[0, once] == pytest.approx(features.phrase_weight)
    hits = model.seed_hits(row, features.phrase_columns(["semi-supervised", "semi-supervision"]), 0.05)
    assert hits[0] == pytest.approx(2 + np.log(3))


def test_transform_is_the_same_one_text_at_a_time(features: model.TfidfFeatures, texts: list[str]) -> None:
    """A text's row does not depend on the batch it comes in."""
    batch = features.transform(texts)
    for row in (0, 7, len(texts) - 6, len(texts) - 5, len(texts) - 1):
        assert (features.transform([texts[row]]) != batch[row]).nnz == 0


def test_transform_matches_sklearn(features: model.TfidfFeatures, texts: list[str]) -> None:
    """The TF-IDF columns equal scikit-learn's own vectorizer given the same vocabulary and idf."""
    vectorizer = TfidfVectorizer(
        vocabulary={t: i for i, t in enumerate(features.terms)},
        ngram_range=(1, 2),
        stop_words=STOP,
        sublinear_tf=True,
    )
    vectorizer.idf_ = features.idf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # notes about a preset vocabulary and stop words
        expected = vectorizer.transform(texts)
    assert_same_rows(features.transform(texts)[:, : len(features.terms)], expected)


def test_phrases_the_fast_regex_cannot_take_use_the_original(texts: list[str]) -> None:
    """Phrases ending in a non-word character ("c++") fall back to the original regex, same rows."""
    features = fitted(texts, ["c++", "segmentation", "x-ray"])
    sample = [*texts[:50], "c++ and c++x code, x-ray", "c++"]
    # \b after "+" needs a word character next: only "c++x" names the phrase.
    assert features.transform(sample)[:, -3].nnz == 1
    assert_same_rows(features.transform(sample), reference_transform(features, sample))


def test_empty_batch_and_empty_vocabulary(features: model.TfidfFeatures) -> None:
    """No texts give an empty matrix; a vocabulary with no terms gives empty rows."""
    assert features.transform([]).shape == (0, features.size)
    empty = model.TfidfFeatures((), np.zeros(0), STOP)
    assert empty.transform(["some words here", ""]).shape == (2, 0)


def test_fast_pattern_is_refused_for_edge_phrases() -> None:
    """The \\W-prefixed regex is used only when every phrase starts and ends with a word character."""
    good = ("u-net", "mean teacher")
    assert vectorize.fast_pattern(profiles.phrase_pattern(good), good) is not None
    for bad in (("c++",), (".net",), ("u-net", "-ray")):
        assert vectorize.fast_pattern(profiles.phrase_pattern(bad), bad) is None


def test_scores_equal_those_from_reference_features(
    features: model.TfidfFeatures, papers: list[Paper]
) -> None:
    """Scores and reasons are unchanged when rows come from the reference transform."""
    rng = np.random.default_rng(0)
    scorer = model.ProfileModel(
        coef=rng.normal(size=features.size),
        intercept=-0.5,
        slope=1.5,
        offset=0.1,
        positives=np.arange(5),
        seed_weight=0.7,
        seed_columns=np.arange(len(features.terms), features.size),
    )
    trained = model.Model(
        profiles=tuple(profiles.load_profiles(None)[:1]),
        features=features,
        scorers={profiles.load_profiles(None)[0].name: scorer},
        metrics={},
        entry_titles=tuple(p.title for p in papers[:5]),
        entry_vectors=features.transform([p.text for p in papers[:5]]),
        trained_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    slow = dataclasses.replace(trained, features=ReferenceFeatures(features))
    fast_scores = score.Scorer(trained).score(papers)
    slow_scores = score.Scorer(slow).score(papers)
    name = trained.profiles[0].name
    # Same values; the reference's rows may keep their columns in another order, which
    # changes the rounding of the dot products in the last bit only.
    assert [s[name].reasons for s in fast_scores] == [s[name].reasons for s in slow_scores]
    values = np.array([[s[name].value for s in fast_scores], [s[name].value for s in slow_scores]])
    assert np.abs(values[0] - values[1]).max() <= 1e-12
