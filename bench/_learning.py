"""Training (in child processes: time and peak memory) and scoring throughput against bare sklearn.

The bare pipeline is what the scorer is held to: scikit-learn's own TfidfVectorizer,
given the model's vocabulary, idf and stop words (the same analysis: lowercase, the
default token pattern, stop words dropped, then unigrams and bigrams, sublinear tf,
L2 rows), and one LogisticRegression per profile carrying the model's weights, called
through decision_function. It covers the TF-IDF columns only: the model's extra
seed-phrase columns (if any) have no scikit-learn counterpart, so that work is the
scorer's own overhead in the ratio. Same 10,000 texts, same process, same repeat: the ratio of
each repeat is taken within that repeat.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _workload
from _stats import Figure, repeat, timed

if TYPE_CHECKING:
    from arxivwatch.model import Model
    from arxivwatch.models import Paper

STREAM_BATCH = 256  # the batch size jobs.learn.score_lines (`arxivwatch score`) passes


def train_runs(repeats: int, background: int, model_path: Path) -> tuple[list[Figure], dict[str, Any]]:
    """Train `repeats` times, each in a fresh process; the first run saves the model.

    Each repeat also trains once without self-training, so what it costs is measured.
    """
    runs, plain = [], []
    for i in range(repeats):
        cmd = [sys.executable, str(_workload.BENCH / "_train_child.py"), "--background", str(background)]
        runs.append(_child(cmd + (["--save", str(model_path)] if i == 0 else [])))
        plain.append(_child([*cmd, "--no-self-training"]))
    figures = [
        Figure(
            f"train: lists + {background:,} background, wall", "s", tuple(r["seconds"] for r in runs), 20.0
        ),
        Figure("train: the same without self-training", "s", tuple(r["seconds"] for r in plain)),
        Figure("train: peak memory (whole process)", "MB", tuple(r["peak_mb"] for r in runs), 1024.0),
    ]
    details = {k: runs[0][k] for k in ("entries", "background", "features", "positives")}
    for key in ("peak_mb_before_training", "peak_mb_worker_processes"):
        details[key] = [round(r[key], 1) for r in runs]
    return figures, details


def _child(cmd: list[str]) -> dict[str, Any]:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=_workload.ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"training child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bare_pipeline(model: Model) -> Callable[[Sequence[str]], list[Any]]:
    """scikit-learn transform + decision_function with the model's vocabulary, idf and weights."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from arxivwatch.model import TfidfFeatures

    features = model.features
    if not isinstance(features, TfidfFeatures):
        raise TypeError("the bare pipeline mirrors TF-IDF features only")
    terms = len(features.terms)  # the TF-IDF columns; any seed-phrase columns come after them
    vectorizer = TfidfVectorizer(
        vocabulary={term: i for i, term in enumerate(features.terms)},
        ngram_range=(1, 2),
        stop_words=sorted(features.stop_words),
        sublinear_tf=True,
        dtype=np.float64,
    )
    vectorizer.idf_ = features.idf
    classifiers = []
    for profile in model.profiles:
        scorer = model.scorers[profile.name]
        classifier = LogisticRegression()
        classifier.coef_ = scorer.coef[:terms].reshape(1, -1)
        classifier.intercept_ = np.array([scorer.intercept])
        classifier.classes_ = np.array([0.0, 1.0])
        classifiers.append(classifier)

    def run(texts: Sequence[str]) -> list[Any]:
        matrix = vectorizer.transform(texts)
        return [c.decision_function(matrix) for c in classifiers]

    return run


def agreement(model: Model, texts: Sequence[str]) -> float:
    """The largest difference between the bare pipeline's decisions and the same computed on
    arxivwatch's own TF-IDF columns (0 up to rounding when both analyse text alike)."""
    import numpy as np

    from arxivwatch.model import TfidfFeatures

    assert isinstance(model.features, TfidfFeatures)
    terms = len(model.features.terms)
    bare = np.column_stack(bare_pipeline(model)(texts))
    matrix = model.features.transform(texts)[:, :terms]
    ours = np.column_stack(
        [
            matrix @ model.scorers[p.name].coef[:terms] + model.scorers[p.name].intercept
            for p in model.profiles
        ]
    )
    return float(np.abs(bare - ours).max())


def scoring(model: Model, papers: Sequence[Paper], repeats: int) -> tuple[list[Figure], dict[str, Any]]:
    """Bare pipeline, Scorer.score (one batch) and score_stream (the CLI's path), per repeat."""
    from arxivwatch import score

    texts = [p.text for p in papers]
    bare = bare_pipeline(model)
    bare_s, batch_s, stream_s = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's notes about a preset vocabulary and stop words
        for _ in range(repeats):
            bare_s.append(timed(lambda: bare(texts)))
            batch_s.append(timed(lambda: _score_once(score.Scorer, model, papers)))
            stream_s.append(timed(lambda: list(score.score_stream(model, papers, batch_size=STREAM_BATCH))))
        drift = agreement(model, texts[:500])
    n = f"score {len(papers):,} x {len(model.profiles)}"
    figures = [
        Figure(f"{n}: bare sklearn transform+decision", "s", tuple(bare_s)),
        Figure(f"{n}: Scorer.score, one batch", "s", tuple(batch_s), 1.0),
        Figure(f"{n}: score_stream by {STREAM_BATCH} (CLI path)", "s", tuple(stream_s), 1.0),
        Figure("score: Scorer.score / bare, same repeat", "x", _ratios(batch_s, bare_s), 1.3),
        Figure("score: score_stream / bare, same repeat", "x", _ratios(stream_s, bare_s), 1.3),
    ]
    return figures, {"papers": len(papers), "max_decision_difference_vs_bare": drift}


def workers(model: Model, papers: Sequence[Paper], repeats: int) -> tuple[list[Figure], dict[str, Any]]:
    """Scorer.score in one process against two worker processes, with the machine's load:
    on 2 cores the second worker only pays when the other core is free."""
    import os

    from arxivwatch import score

    one, two, loads = [], [], []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        one.append(timed(lambda: _score_once(lambda m: score.Scorer(m, workers=1), model, papers)))
        two.append(timed(lambda: _score_once(lambda m: score.Scorer(m, workers=2), model, papers)))
    n = f"score {len(papers):,} x {len(model.profiles)}"
    figures = [
        Figure(f"{n}: one process", "s", tuple(one)),
        Figure(f"{n}: two worker processes", "s", tuple(two), 1.0),
        Figure("score: two workers / one process, same repeat", "x", _ratios(two, one)),
        Figure("score: load average (1 min) before each repeat", "load", tuple(loads)),
    ]
    return figures, {"cores": os.cpu_count(), "load_before_each_repeat": [round(x, 2) for x in loads]}


def model_load(path: Path, repeats: int) -> Figure:
    """Loading the saved model, as every scoring command does first."""
    from arxivwatch import model as model_io

    return Figure("model: load the saved file", "s", repeat(lambda: model_io.load(path), repeats))


def _score_once(scorer_type: Any, model: Model, papers: Sequence[Paper]) -> None:
    with scorer_type(model) as scorer:  # a fresh scorer, as one `arxivwatch poll` makes
        scorer.score(papers)


def _ratios(ours: Sequence[float], bare: Sequence[float]) -> tuple[float, ...]:
    return tuple(a / b for a, b in zip(ours, bare, strict=True))


def temp_model_path() -> tuple[tempfile.TemporaryDirectory[str], Path]:
    """A temporary folder and the model path inside it."""
    folder = tempfile.TemporaryDirectory(prefix="arxivwatch-bench-")
    return folder, Path(folder.name) / "model.npz"
