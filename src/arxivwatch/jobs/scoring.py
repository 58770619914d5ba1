"""Scoring stored papers: lazily, and only what a digest can still offer.

A digest offers the papers stored within [digest] horizon_days (jobs.digest), so after a
retrain the new model scores those (by last_seen, so new versions count; one day of
slack), plus the papers a pending digest of schema 1 still renders from (its items), in bounded
batches, never the whole history; the store keeps the current model's scores only.
Older papers are never offered again, so they are not scored (`arxivwatch score` scores
any paper on demand). Poll and digest call score_new; the demo and the digest job use
thresholds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import chain
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from arxivwatch.model import Model
    from arxivwatch.models import Paper, Score
    from arxivwatch.store import Store

log = logging.getLogger("arxivwatch.score")

READ_BATCH = 1_000  # papers read from the store at a time
SAVE_BATCH = 6_000  # scores (papers x profiles) written per transaction


def model_id(model: Model) -> str:
    """The id scores are stored under: the model's training time, ISO 8601 (sorts in time order)."""
    return model.trained_at.isoformat()


def thresholds(model: Model, min_score: float | None) -> dict[str, float]:
    """Each trained profile's threshold: the configured min_score when set, else the model's
    (the profile's own override, else the one cross-validation chose)."""
    return {p.name: model.threshold(p.name) if min_score is None else min_score for p in model.profiles}


def file_model_id(path: Path) -> str | None:
    """The id (`model_id`) of the model saved at `path`, read from its meta member alone;
    None when it cannot be read (the job's own load reports that)."""
    import json
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
        return datetime.fromisoformat(str(meta["trained_at"])).isoformat()
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, RecursionError):
        return None


def horizon_start(now: datetime, horizon_days: int) -> datetime:
    """The earliest storing time a digest made now can still offer, with a day of slack."""
    return now - timedelta(days=horizon_days + 1)


def score_new(store: Store, model: Model, since: datetime, *, model_file: Path | None = None) -> int:
    """Score what the model has not scored yet among the papers stored (or seen again)
    at or after `since` (a UTC instant: `horizon_start`, or the earliest instant a channel's
    digest can still offer from) and those pending schema-1 digests show; returns how many papers
    were scored.

    Makes the model current first, which deletes older models' scores; when the store's
    current model is newer than this one (a job that loaded the model before a retrain),
    nothing is scored, unless `model_file` (the configured model's path) holds this very
    model: then the file was replaced by an older model (a restored backup), which becomes
    current; otherwise its papers would never be scored again. Memory is bounded by
    READ_BATCH and SAVE_BATCH, whatever the history; the worker processes exit when it returns.
    """
    from arxivwatch.progress import Progress
    from arxivwatch.score import PIPELINE_BATCH, Scorer

    current = model_id(model)
    if not store.use_model(current, force=model_file is not None and file_model_id(model_file) == current):
        log.warning("not scoring: the store holds scores of a newer model than this one (%s)", current)
        return 0
    papers = _unscored(store, current, since)
    first = next(papers, None)
    pending = _pending_unscored(store, current)
    if first is None and not pending:
        return 0  # the usual digest: nothing new, no scorer to build
    count = 0
    scores: list[Score] = []
    # the version each score was computed on: a poll storing a newer one meanwhile wins
    versions: dict[str, int] = {}
    with Scorer(model) as scorer, Progress("scoring", None, unit="papers") as progress:
        for paper, per_profile in scorer.stream(chain([first] if first else [], papers), PIPELINE_BATCH):
            scores.extend(per_profile.values())
            versions[paper.id] = paper.version
            count += 1
            progress.advance()
            if len(scores) >= SAVE_BATCH:
                store.save_scores(current, scores, versions=versions)
                scores, versions = [], {}
        if pending:
            scores.extend(s for per in scorer.score(pending) for s in per.values())
            versions.update((p.id, p.version) for p in pending)
    store.save_scores(current, scores, versions=versions)
    return count + len(pending)


def _unscored(store: Store, current: str, since: datetime) -> Iterator[Paper]:
    """The horizon's unscored papers, read READ_BATCH at a time in (last_seen, id) order."""
    after: tuple[str, str] | None = None
    while True:
        batch, after = store.unscored(current, since, after=after, limit=READ_BATCH)
        if not batch:
            return
        yield from batch


def _pending_unscored(store: Store, current: str) -> list[Paper]:
    """The papers a pending digest of schema 1 shows that the model has not scored (left pending
    across a retrain, it is rendered from them once: jobs.digest._frozen); a handful at most.
    A digest with frozen content needs no score: it is sent as recorded, and the papers it
    claims (a day's or a week's candidates) are never ranked again."""
    ids = sorted({i for r in store.pending_digests() if r.message is None for i, _version in r.items})
    scored = store.scores_for(ids, current)
    return [p for p in map(store.get_paper, (i for i in ids if i not in scored)) if p is not None]
