"""Self-training on the background: confident topic papers become pseudo-positives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arxivwatch import train

TOPIC = ["liver", "tumour", "hepatic", "lesion", "scan", "contrast", "radiologist", "volume"]
OTHER = ["language", "reasoning", "token", "prompt", "agent", "benchmark", "dialogue", "retrieval",
         "graph", "robot", "policy", "reward", "speech", "audio", "translation", "query"]  # fmt: skip


def _texts(words: list[str], count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=12)) for _ in range(count)]


@pytest.fixture(scope="module")
def split() -> tuple[Any, Any, Any, int]:
    """Feature rows of 30 topic positives, 400 off-topic negatives and 6 hidden topic papers."""
    positives = _texts(TOPIC, 30, 1)
    negatives = _texts(OTHER, 400, 2)
    hidden = _texts(TOPIC, 6, 3)  # topic papers in the background, given as negatives
    _, matrix = train.fit_features(positives + negatives + hidden)
    return matrix[:30], matrix[30:], matrix[30:430], len(hidden)


def test_hidden_topic_papers_become_pseudo_positives(split: tuple[Any, Any, Any, int]) -> None:
    """The background's topic papers, and only they, move from the negatives to the pseudo-positives."""
    positives, background, off_topic, hidden = split
    pseudo, left = train._self_trained(positives, None, background)
    assert pseudo is not None
    assert pseudo.shape[0] == hidden
    # What is left is exactly the off-topic block (the hidden papers were the last rows).
    assert left.tolist() == [True] * off_topic.shape[0] + [False] * hidden


def test_self_training_is_capped_by_share(
    split: tuple[Any, Any, Any, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most PSEUDO_SHARE of the background becomes pseudo-positive, the most confident first."""
    positives, background, _, _ = split
    monkeypatch.setattr(train, "PSEUDO_SHARE", 2 / background.shape[0])
    pseudo, left = train._self_trained(positives, None, background)
    assert pseudo is not None and pseudo.shape[0] == 2
    assert int(left.sum()) == background.shape[0] - 2


def test_pseudo_positives_stay_out_of_the_metrics(split: tuple[Any, Any, Any, int]) -> None:
    """Metrics count curated positives and the negatives left, never the pseudo-positives."""
    positives, background, _, hidden = split
    pseudo, left = train._self_trained(positives, None, background)
    _, metrics = train.fit_profile(positives, background[left], np.arange(positives.shape[0]), pseudo=pseudo)
    assert (metrics.positives, metrics.negatives) == (positives.shape[0], background.shape[0] - hidden)
