"""Training on the bundled lists plus a small background, and saving/loading the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from arxivwatch import curated, lists, model, profiles, train
from arxivwatch.errors import ModelError
from arxivwatch.models import CuratedEntry, Paper

DATA = Path(__file__).parent / "data" / "learning"


def _background() -> list[Paper]:
    lines = (DATA / "background.jsonl").read_text(encoding="utf-8").splitlines()
    return [Paper(**json.loads(line)) for line in lines]


@pytest.fixture(scope="module")
def trained() -> model.Model:
    entries, sources = [], []
    for path in lists.BUNDLED:
        loaded = lists.load(str(path), cache_dir=Path("/nonexistent"))
        entries += curated.parse(loaded.text, loaded.source)
        sources.append((loaded.source, loaded.sha256))
    return train.train(
        entries,
        profiles.load_profiles(None),
        metadata={},
        background=_background(),
        sources=sources,
    )


def test_every_profile_has_positives_and_a_threshold(trained: model.Model) -> None:
    """Each default profile gets positives, negatives, CV metrics and a threshold in [0, 1]."""
    assert [p.name for p in trained.profiles] == ["medical-imaging", "segmentation", "semi-supervised"]
    for profile in trained.profiles:
        metrics = trained.metrics[profile.name]
        assert metrics.positives >= 20 and metrics.negatives > 300
        assert 0.0 <= trained.threshold(profile.name) <= 1.0
        assert metrics.average_precision is not None and 0 < metrics.average_precision <= 1
        assert metrics.warning is None
    assert len(trained.sources) == 3 and all(len(h) == 64 for _, h in trained.sources)


def test_seeded_background_papers_are_weak_positives(trained: model.Model) -> None:
    """Background papers whose title names a seed count as weak positives, not negatives."""
    seeded = [
        p for p in _background() if profiles.matches_seeds(p.title, trained.profile("segmentation").seeds)
    ]
    metrics = trained.metrics["segmentation"]
    assert metrics.weak_positives == len([p for p in seeded if p.abstract]) > 0
    assert metrics.negatives == len(_background()) - len(seeded)


def test_metadata_enriches_listed_entries() -> None:
    """A listed id's metadata (title and abstract) becomes that entry's training text."""
    entry = CuratedEntry(title="U-Net", source="x", arxiv_id="1505.04597", section=("Segmentation",))
    paper = Paper(id="1505.04597", title="U-Net: Convolutional Networks", abstract="biomedical segmentation")
    [seg] = profiles.select(profiles.load_profiles(None), ["segmentation"])
    built = train.train([entry], [seg], metadata={paper.id: paper}, background=_background()[:60], sources=[])
    assert built.entry_titles == ("U-Net: Convolutional Networks",)
    assert built.metrics["segmentation"].warning is not None  # one positive is too few to validate


def test_profile_threshold_override_wins(tmp_path: Path) -> None:
    """A profile's own threshold overrides the one training chose."""
    (tmp_path / "seg.toml").write_text('title = "S"\nsections = ["segmentation"]\nthreshold = 0.8\n')
    entry = CuratedEntry(title="Panoptic segmentation", source="x", section=("Segmentation",))
    built = train.train(
        [entry], profiles.load_profiles(tmp_path), metadata={}, background=_background()[:60], sources=[]
    )
    assert built.threshold("seg") == 0.8


def test_save_load_round_trip(trained: model.Model, tmp_path: Path) -> None:
    """A saved and reloaded model carries the same metadata and coefficients."""
    path = tmp_path / "m" / "model.npz"
    model.save(trained, path)
    assert [p.name for p in path.parent.iterdir()] == ["model.npz"]  # no temp file left
    loaded = model.load(path)
    assert loaded.profiles == trained.profiles and loaded.metrics == trained.metrics
    assert loaded.sources == trained.sources and loaded.trained_at == trained.trained_at
    for name, scorer in trained.scorers.items():
        assert np.array_equal(loaded.scorers[name].coef, scorer.coef)
    text = ["Semi-supervised segmentation of brain MRI with a mean teacher"]
    assert np.array_equal(
        loaded.features.transform(text).toarray(), trained.features.transform(text).toarray()
    )


def test_calibration_trusts_seed_phrases_of_full_texts() -> None:
    """The Platt blend is fitted on full-text positives, so bare titles naming no seed do not dilute it."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    # Columns 0-7: topic words; column 8: the profile's one seed phrase.
    titles = sp.csr_matrix(np.c_[rng.random((30, 4)), np.zeros((30, 5))])  # listed by section, no seed
    weak = sp.csr_matrix(np.c_[rng.random((30, 8)) * 0.3, np.ones((30, 1))])  # abstracts naming the seed
    seeded = np.c_[rng.random((10, 8)), np.ones((10, 1))]  # a few negatives name the seed in passing
    negatives = sp.csr_matrix(np.r_[seeded, np.c_[rng.random((290, 8)), np.zeros((290, 1))]])
    columns = np.array([8])

    def seed_weight(full_text: bool) -> float:
        fitted, _ = train.fit_profile(
            titles,
            negatives,
            np.arange(30),
            weak=weak,
            seed_columns=columns,
            full_text=np.full(30, full_text),
        )
        return fitted.seed_weight

    assert seed_weight(full_text=False) > seed_weight(full_text=True) + 0.5
    assert seed_weight(full_text=False) > 1.0


def test_tfidf_features_match_scikit_learn(trained: model.Model) -> None:
    """Our transform reproduces the fitted TfidfVectorizer's rows (up to float rounding)."""
    texts = [p.text for p in _background()[:50]]
    features, matrix = train.fit_features(texts)
    again = features.transform(texts)
    assert np.allclose(again.toarray(), np.asarray(matrix.todense()))


def test_missing_model_file(tmp_path: Path) -> None:
    """Loading a model that does not exist says to run `arxivwatch train`."""
    with pytest.raises(ModelError, match="run `arxivwatch train`"):
        model.load(tmp_path / "none.npz")


def test_corrupt_model_file(tmp_path: Path) -> None:
    """A file that is not a model is refused with the retrain hint."""
    path = tmp_path / "model.npz"
    path.write_bytes(b"this is not a model")
    with pytest.raises(ModelError, match="run `arxivwatch train`"):
        model.load(path)


def test_wrong_version_model_file(trained: model.Model, tmp_path: Path) -> None:
    """A model file of another format version is refused with the retrain hint."""
    path = tmp_path / "model.npz"
    model.save(trained, path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta["format"] = model.FORMAT + 1
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ModelError, match="run `arxivwatch train`") as caught:
        model.load(path)
    assert "format" in str(caught.value)


def test_truncated_model_file(trained: model.Model, tmp_path: Path) -> None:
    """A model file cut short is refused as damaged."""
    path = tmp_path / "model.npz"
    model.save(trained, path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ModelError, match="damaged"):
        model.load(path)
