"""Scoring papers: calibrated values, ranking, reasons, streaming and worker processes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from arxivwatch import curated, lists, model, profiles, score, train
from arxivwatch.models import Paper

DATA = Path(__file__).parent / "data" / "learning"

UNET = Paper(
    id="9901.00001",
    title="A convolutional encoder-decoder network for biomedical image segmentation",
    abstract=(
        "We present a U-Net-like architecture with a contracting path and a symmetric expanding "
        "path that enables precise localization. The network segments neuronal structures in "
        "electron microscopy stacks and outperforms prior methods on the ISBI cell segmentation "
        "challenge, producing accurate pixel-wise segmentation masks from very few annotated images."
    ),
)
OFF_TOPIC = Paper(
    id="9901.00002",
    title="Scaling laws for instruction-tuned language models in machine translation",
    abstract=(
        "We study how translation quality of large language models grows with parameters and "
        "tokens, and fit power laws to BLEU across twelve language pairs."
    ),
)


@pytest.fixture(scope="module")
def trained() -> model.Model:
    background = [
        Paper(**json.loads(line))
        for line in (DATA / "background.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    entries = [
        e for path in lists.BUNDLED for e in curated.parse(path.read_text(encoding="utf-8"), path.name)
    ]
    return train.train(entries, profiles.load_profiles(None), metadata={}, background=background, sources=[])


def test_scores_are_probabilities_in_input_order(trained: model.Model) -> None:
    """One dict per paper, in order, one Score per profile, each value in [0, 1]."""
    results = score.Scorer(trained).score([UNET, OFF_TOPIC])
    assert [r["segmentation"].paper_id for r in results] == [UNET.id, OFF_TOPIC.id]
    for result in results:
        assert set(result) == {"medical-imaging", "segmentation", "semi-supervised"}
        assert all(0.0 <= s.value <= 1.0 for s in result.values())
        assert all(s.profile == name for name, s in result.items())


def test_on_topic_outscores_off_topic(trained: model.Model) -> None:
    """A U-Net-like abstract outscores a language-model abstract for segmentation."""
    on, off = score.Scorer(trained).score([UNET, OFF_TOPIC])
    assert on["segmentation"].value > 0.5 > off["segmentation"].value
    assert on["segmentation"].value > off["segmentation"].value + 0.3


def test_reasons_name_terms_and_the_nearest_entry(trained: model.Model) -> None:
    """Reasons list weighty terms from the paper and a "like: <curated title>" entry."""
    [result] = score.Scorer(trained).score([UNET])
    reasons = result["segmentation"].reasons
    likes = [r for r in reasons if r.startswith("like: ")]
    terms = [r for r in reasons if not r.startswith("like: ")]
    assert len(likes) == 1 and likes[0][6:] in trained.entry_titles
    assert terms and any("segment" in t for t in terms)


def test_loaded_model_gives_identical_scores(trained: model.Model, tmp_path: Path) -> None:
    """Scores from a saved-and-loaded model equal those of the model in memory."""
    path = tmp_path / "model.npz"
    model.save(trained, path)
    before = score.Scorer(trained).score([UNET, OFF_TOPIC])
    after = score.Scorer(model.load(path)).score([UNET, OFF_TOPIC])
    assert before == after


def test_stream_matches_batch_and_keeps_order(trained: model.Model) -> None:
    """score_stream yields every paper once, in order, with the batch scores."""
    papers = [UNET, OFF_TOPIC] * 5
    streamed = list(score.score_stream(trained, papers, batch_size=3))
    assert [p for p, _ in streamed] == papers
    batch = score.Scorer(trained).score(papers)
    assert [s for _, s in streamed] == batch


def test_worker_processes_give_the_same_matrix(trained: model.Model) -> None:
    """Splitting a large batch across two processes changes nothing in the features."""
    texts = [UNET.text, OFF_TOPIC.text] * (score.PARALLEL_FROM // 2 + 1)
    with score.Scorer(trained, workers=2) as parallel:
        split = parallel.features(texts)
    single = score.Scorer(trained, workers=1).features(texts)
    assert split.shape == single.shape and (split != single).nnz == 0
    values = score.Scorer(trained).probabilities(single)
    assert values.shape == (len(texts), 3) and np.all((values >= 0) & (values <= 1))


def test_empty_batch(trained: model.Model) -> None:
    """Scoring no papers returns an empty list."""
    assert score.Scorer(trained).score([]) == []


def test_long_stream_through_workers_matches_batch(trained: model.Model) -> None:
    """A stream long enough for the worker processes gives the same scores, in order."""
    papers = [UNET, OFF_TOPIC] * (score.PARALLEL_FROM // 2 + 100)
    with score.Scorer(trained, workers=2) as scorer:
        streamed = list(scorer.stream(papers, batch_size=256))
    assert [p for p, _ in streamed] == papers
    assert streamed[0][1] == score.Scorer(trained, workers=1).score([UNET])[0]
    assert streamed[-1][1]["segmentation"].value < streamed[-2][1]["segmentation"].value


def test_reasons_name_each_word_once(trained: model.Model) -> None:
    """A seed column and the tf-idf column of the same word give one reason, at most three terms."""
    papers = [
        Paper(**json.loads(line))
        for line in (DATA / "background.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    seeded = [p for p in papers if "segmentation" in p.text.lower()]
    results = score.Scorer(trained).score(seeded)
    reasons = [r["segmentation"].reasons for r in results]
    terms = [[x for x in found if not x.startswith("like: ")] for found in reasons]
    assert any("segmentation" in t for t in terms)
    assert all(len(t) == len(set(t)) and len(t) <= score.REASON_TERMS for t in terms)
    assert all(not any(x.startswith("like: ") for x in found[:-1]) for found in reasons)


def test_scoring_leaves_the_garbage_collector_as_it_was(trained: model.Model) -> None:
    """Building results pauses the cyclic collector and turns it back on afterwards."""
    import gc

    assert gc.isenabled()
    score.Scorer(trained).score([UNET, OFF_TOPIC])
    assert gc.isenabled()
    gc.disable()
    try:
        score.Scorer(trained).score([UNET])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_large_batch_through_workers_matches_one_process(trained: model.Model) -> None:
    """score() of a batch big enough to pipeline through workers equals scoring it in one process."""
    background = [
        Paper(**json.loads(line))
        for line in (DATA / "background.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    papers = (background * (score.PARALLEL_FROM // len(background) + 1))[: score.PARALLEL_FROM + 7]
    with score.Scorer(trained, workers=2) as parallel:
        split = parallel.score(papers)
    assert [r["segmentation"].paper_id for r in split] == [p.id for p in papers]
    assert split == score.Scorer(trained, workers=1).score(papers)


def test_a_papers_scores_do_not_depend_on_its_batch(trained: model.Model) -> None:
    """Scored alone or among 2,400, a paper gets the same value and reasons (ties broken by column)."""
    papers = [
        Paper(**json.loads(line))
        for line in (DATA / "background.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    scorer = score.Scorer(trained, workers=1)
    together = scorer.score(papers * 6)[-len(papers) :]  # late rows: large row numbers
    alone = [scorer.score([paper])[0] for paper in papers]
    assert alone == together


def test_scores_blend_the_seed_hits_training_computes(trained: model.Model) -> None:
    """Scorer.probabilities equals each profile's calibrate(decision, hits) on the same rows."""
    scorer = score.Scorer(trained)
    texts = [UNET.text, OFF_TOPIC.text, "Semi-supervised segmentation. " * 4 + UNET.abstract]
    matrix = scorer.features(texts)
    values = scorer.probabilities(matrix)
    for k, name in enumerate(scorer.names):
        profile = trained.scorers[name]
        decisions = matrix @ profile.coef + profile.intercept
        expected = profile.calibrate(decisions, profile.hits(matrix))
        assert np.allclose(values[:, k], expected, rtol=0, atol=1e-12)


def test_repeated_seed_mentions_raise_the_score(trained: model.Model) -> None:
    """An abstract naming a seed phrase several times outscores the same abstract naming it once."""
    once = Paper(id="9901.00003", title="", abstract="We propose a semi-supervised method. " + UNET.abstract)
    again = "We propose a semi-supervised method; semi-supervised training uses semi-supervised losses. "
    thrice = Paper(id="9901.00004", title="", abstract=again + UNET.abstract)
    hits = [
        trained.scorers["semi-supervised"].hits(trained.features.transform([p.text])) for p in (once, thrice)
    ]
    assert hits[0][0] == pytest.approx(1.0) and hits[1][0] == pytest.approx(1.0 + np.log(3))
    assert trained.scorers["semi-supervised"].seed_weight > 0
    low, high = score.Scorer(trained).score([once, thrice])
    assert high["semi-supervised"].value > low["semi-supervised"].value


REPORTED_GENERIC = {"net", "self", "learning", "highlight", "extreme"}


@pytest.fixture(scope="module")
def background_results(trained: model.Model) -> list[dict[str, score.Score]]:
    """The scores of every background paper, for checks over many real abstracts."""
    papers = [
        Paper(**json.loads(line))
        for line in (DATA / "background.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    with score.Scorer(trained) as scorer:
        return scorer.score(papers)


def test_reasons_are_never_generic_words(
    trained: model.Model, background_results: list[dict[str, score.Score]]
) -> None:
    """No reason is a reported generic word, a GENERIC word, or a common term (idf below MIN_REASON_IDF)."""
    features = trained.features
    assert isinstance(features, model.TfidfFeatures)
    idf = dict(zip(features.terms, features.idf, strict=True))
    seeds = {s.lower() for p in trained.profiles for s in p.seeds}
    terms = [
        term
        for result in background_results
        for s in result.values()
        for term in s.reasons
        if not term.startswith("like: ")
    ]
    assert len(terms) > 500, "the check needs many reasons to mean something"
    assert not set(terms) & REPORTED_GENERIC
    assert not set(terms) & score.GENERIC
    assert all(t.lower() in seeds or idf[t] >= score.MIN_REASON_IDF for t in terms)


def test_names_of_tex_commands_are_never_reasons() -> None:
    """A term holding a TeX command's name ("textbf", "mathcal segmentation") cannot be a reason,
    while a distinctive word beside it, and a command that is also an English word ("label"), can."""
    terms = ["textbf", "segmentation", "textbf segmentation", "mathcal", "label", "pseudo label"]
    features = model.TfidfFeatures(terms, np.full(len(terms), 5.0), [])
    _, names = score._names(features)
    assert score._explaining_columns(features, names).tolist() == [0.0, 1.0, 0.0, 0.0, 1.0, 1.0]


def test_a_word_is_not_repeated_beside_its_phrase(background_results: list[dict[str, score.Score]]) -> None:
    """ "active learning" and "active" are never reasons of one paper together."""
    for result in background_results:
        for s in result.values():
            terms = [t for t in s.reasons if not t.startswith("like: ")]
            words = {w for t in terms if " " in t for w in t.replace("-", " ").split()}
            assert not [t for t in terms if " " not in t and t in words], s.reasons


def test_distinct_keeps_phrases_over_their_words() -> None:
    """The reported case: "active, active learning, learning" becomes "active learning" and the like."""
    assert score._distinct(["active", "active learning", "labels", None, "like: X"]) == (
        "active learning",
        "labels",
        "like: X",
    )
    assert score._distinct(["semi-supervised", "semi supervised", None]) == ("semi-supervised",)


def test_distinct_names_a_word_once_whatever_its_number() -> None:
    """The demo's "cancer; patients; patient" and "label; labels" name each word once, the first form."""
    cells = ["cancer", "patients", "patient", "tumor", None]
    assert score._distinct(cells) == ("cancer", "patients", "tumor")
    assert score._distinct(["labels", "label", "active learning", None]) == ("labels", "active learning")
    assert score._distinct(["segmentations", "image segmentation", "loss", None]) == (
        "image segmentation",
        "loss",
    )
    assert score._distinct(["loss", "los", "analysis", "focus", None]) == ("loss", "los", "analysis")


def test_like_names_a_clean_title_of_that_profile(
    trained: model.Model, background_results: list[dict[str, score.Score]]
) -> None:
    """ "like:" names a curated positive of the same profile, by its clean title, never a list note."""
    from arxivwatch.titles import clean_title

    titles = trained.entry_titles
    for name in ("medical-imaging", "segmentation", "semi-supervised"):
        own = {clean_title(titles[int(i)]) for i in trained.scorers[name].positives}
        likes = [
            r[6:] for result in background_results for r in result[name].reasons if r.startswith("like: ")
        ]
        assert likes, name
        assert set(likes) <= own
    every = [r for result in background_results for s in result.values() for r in s.reasons]
    assert not [r for r in every if "Best Paper -" in r or "(Just notes)" in r or "[website]" in r]


def test_like_is_left_out_when_the_nearest_entry_shares_only_a_word(trained: model.Model) -> None:
    """The demo's synthetic chest X-ray paper is not "like" an RGB-D object segmentation paper
    (cosine 0.13, sharing little more than "segmentation"): below score.MIN_LIKE none is named."""
    from arxivwatch.arxiv.parse import parse_feed
    from arxivwatch.jobs.learn import sample_feed

    wanted = "Evaluating and Improving the Effectiveness of Synthetic Chest X-Rays"
    feed = parse_feed(sample_feed(), source="bundled sample feed")
    papers = [p for p in feed.papers if p.title.startswith(wanted)]
    assert len(papers) == 1
    with score.Scorer(trained, workers=1) as scorer:
        results = scorer.score(papers)
    likes = [r for result in results for r in result["segmentation"].reasons if r.startswith("like: ")]
    assert likes == []


def test_like_titles_carry_no_terminal_controls(trained: model.Model) -> None:
    """A curated title with ANSI escapes, C1 controls or bidi overrides names its "like:" reason in
    printable characters only, so `arxivwatch score` output cannot recolour or reorder a terminal."""
    from dataclasses import replace

    hostile = " \x1b[31m\u202eevil\u202c\x9b0m\x07 ok"
    poisoned = replace(trained, entry_titles=tuple(t + hostile for t in trained.entry_titles))
    with score.Scorer(poisoned, workers=1) as scorer:
        (result,) = scorer.score([UNET])
    likes = [r for s in result.values() for r in s.reasons if r.startswith("like: ")]
    assert likes
    assert all(r.isprintable() and r.endswith(" [31mevil 0m ok") for r in likes), likes
