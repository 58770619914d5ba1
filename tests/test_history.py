"""Years of history: lazy scoring within the delivery horizon, one model's scores, indexed queries."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import trained_model
from arxivwatch import model
from arxivwatch.clock import FakeClock
from arxivwatch.jobs import scoring
from arxivwatch.models import Paper, Score
from arxivwatch.store import Store

DAY = date(2024, 11, 28)
NOW = datetime(2024, 11, 28, 6, 0, tzinfo=UTC)
HORIZON = 7  # days; scoring starts at NOW - 8 days (one day of slack)


@pytest.fixture(scope="module")
def trained() -> model.Model:
    return trained_model.trained()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "history.db", clock=FakeClock(NOW)) as opened:
        yield opened


def history(store: Store, days: int = 30, per_day: int = 4) -> dict[str, date]:
    """Store `per_day` papers on each of the `days` days up to DAY, announced that day (the
    store's clock set to it while storing); id -> day."""
    announced: dict[str, date] = {}
    for back in range(days):
        day = DAY - timedelta(days=back)
        store.clock = FakeClock(NOW - timedelta(days=back))
        papers = [
            Paper(
                id=f"24{back:02d}.{n:05d}",
                title=f"Semi-supervised medical image segmentation, variant {back}-{n}",
                abstract="A U-Net with consistency regularisation on unlabeled scans.",
                announce_type="new",
            )
            for n in range(per_day)
        ]
        store.upsert_papers(papers, announced=day)
        announced.update({p.id: day for p in papers})
    store.clock = FakeClock(NOW)
    return announced


def _score(store: Store, m: model.Model) -> int:
    """score_new over the test's horizon, as poll calls it."""
    return scoring.score_new(store, m, scoring.horizon_start(store.clock.now(), HORIZON))


def later(m: model.Model, hours: int) -> model.Model:
    """The same model under a later training time: a retrain, as far as the store can tell."""
    return replace(m, trained_at=m.trained_at + timedelta(hours=hours))


def score_rows(store: Store) -> list[tuple[str, int]]:
    """(model id, rows) of the scores table."""
    with sqlite3.connect(store.path) as raw:
        return list(raw.execute("SELECT model_id, COUNT(*) FROM scores GROUP BY model_id"))


# lazy scoring


def test_scoring_covers_the_delivery_horizon_not_the_history(store: Store, trained: model.Model) -> None:
    """After a retrain, only papers stored within the horizon (plus a day's slack) are scored."""
    announced = history(store)
    first = DAY - timedelta(days=HORIZON + 1)
    inside = {i for i, d in announced.items() if d >= first}
    assert _score(store, trained) == len(inside) == 4 * (HORIZON + 2)
    found = store.scores_for(sorted(announced), scoring.model_id(trained))
    assert set(found) == inside
    assert all(set(per) == {p.name for p in trained.profiles} for per in found.values())
    assert _score(store, trained) == 0  # nothing left to score


def test_a_retrain_keeps_only_the_new_models_scores(store: Store, trained: model.Model) -> None:
    """The new model's first scoring deletes every older model's scores; the table never holds two."""
    history(store)
    _score(store, trained)
    retrained = later(trained, 1)
    assert _score(store, retrained) == 4 * (HORIZON + 2)
    rows = 4 * (HORIZON + 2) * len(trained.profiles)
    assert score_rows(store) == [(scoring.model_id(retrained), rows)]
    assert store.current_model() == scoring.model_id(retrained)


def test_an_older_model_cannot_push_the_newer_one_out(store: Store, trained: model.Model) -> None:
    """A job still holding the model from before a retrain scores nothing and deletes nothing."""
    history(store, days=3)
    newer = later(trained, 2)
    _score(store, newer)
    assert _score(store, trained) == 0
    assert not store.save_scores(scoring.model_id(trained), [Score("2400.00000", "segmentation", 0.5, ())])
    assert score_rows(store) == [(scoring.model_id(newer), 3 * 4 * len(trained.profiles))]


def test_papers_of_a_pending_digest_are_scored_whatever_their_age(store: Store, trained: model.Model) -> None:
    """A digest left pending across a retrain still finds its papers scored by the new model."""
    history(store)
    old = "2425.00001"  # announced 25 days before DAY: outside the horizon
    store.add_pending_digest("week:2024-11-04:email", "week", DAY, DAY, "email", [(old, 1)])
    _score(store, trained)
    assert old in store.scores_for([old], scoring.model_id(trained))
    assert "2425.00002" not in store.scores_for(["2425.00002"], scoring.model_id(trained))


def test_a_frozen_pending_digest_needs_no_scores(store: Store, trained: model.Model) -> None:
    """A pending digest with frozen content (every digest recorded today) is sent as recorded: after
    a retrain its claimed papers are not scored again on top of the horizon's, nor outside it."""
    announced = history(store)
    claimed = sorted(announced)  # every stored paper: the horizon's and 84 older ones
    store.add_pending_digest(
        "week:2024-11-04:email", "week", DAY, DAY, "email", [(claimed[0], 1)],
        offered=[(i, 1) for i in claimed], entries="[]", message='{"subject": "frozen"}',
    )  # fmt: skip
    retrained = later(trained, 1)
    assert _score(store, retrained) == 4 * (HORIZON + 2)  # each horizon paper once
    found = store.scores_for(claimed, scoring.model_id(retrained))
    assert len(found) == 4 * (HORIZON + 2)


def test_scoring_reads_in_batches_and_misses_none(
    store: Store, trained: model.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny read and save batches still score every horizon paper exactly once."""
    monkeypatch.setattr(scoring, "READ_BATCH", 3)
    monkeypatch.setattr(scoring, "SAVE_BATCH", 7)
    announced = history(store, days=12, per_day=5)
    assert _score(store, trained) == 5 * (HORIZON + 2)
    assert len(store.scores_for(sorted(announced), scoring.model_id(trained))) == 5 * (HORIZON + 2)


def test_worker_processes_exit_after_scoring(store: Store, trained: model.Model) -> None:
    """A horizon large enough for the worker pool leaves no child process behind."""
    from arxivwatch.score import PARALLEL_FROM

    history(store, days=HORIZON + 2, per_day=PARALLEL_FROM // (HORIZON + 2) + 1)
    assert _score(store, trained) >= PARALLEL_FROM
    assert multiprocessing.active_children() == []


# indexed access


def plans(store: Store, call: Callable[[Store], object]) -> list[tuple[str, str]]:
    """(statement, its EXPLAIN QUERY PLAN details) for each statement `call` runs on the store."""
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    try:
        call(store)
    finally:
        store._db.set_trace_callback(None)
    with sqlite3.connect(store.path) as raw:
        found = []
        for sql in statements:
            if sql.lstrip().upper().startswith(("SELECT", "DELETE", "UPDATE")):
                rows = raw.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
                found.append((sql, " | ".join(str(r[3]) for r in rows)))
    return found


def _horizon_batch(s: Store) -> object:
    _papers, after = s.unscored("m", NOW - timedelta(days=8), limit=10)
    return s.unscored("m", NOW - timedelta(days=8), after=after)


def _candidates(s: Store) -> object:
    s.candidates("email", NOW - timedelta(days=14))
    return s.offered_versions("email")


HOT_QUERIES: dict[str, Callable[[Store], object]] = {
    "unscored papers in the horizon, by batch": _horizon_batch,
    "newest N for training": lambda s: s.recent_papers(20),
    "a period's papers": lambda s: s.papers_announced_between(DAY - timedelta(days=6), DAY),
    "scores of a digest's papers": lambda s: s.scores_for(["2401.00001", "2402.00002"], "m"),
    "a channel's sent versions": lambda s: s.sent_versions("email"),
    "pending digests": lambda s: s.pending_digests(),
    "a stored paper": lambda s: s.get_paper("2401.00001"),
    "retention's oldest papers": lambda s: s.prune_papers(NOW - timedelta(days=20)),
    "a channel's candidates": _candidates,
    "a channel's updated papers (flag_updated)": lambda s: s.updated_candidates(
        "email", NOW - timedelta(days=14)
    ),
    "papers pending digests hold": lambda s: s.pending_paper_ids(),
    "a digest's ranking read, updated papers too": lambda s: s.ranking_candidates(
        "email", NOW - timedelta(days=14), "m", 0.4, updated=True
    ),
    "score values that can count, of a digest's candidates": lambda s: s.scores_for(
        ["2401.00001", "2402.00002"], "m", reasons=False, at_least=0.4
    ),
    "whole rows of a digest's shown papers": lambda s: s.get_papers(["2401.00001", "2402.00002"]),
}


@pytest.mark.parametrize("name", HOT_QUERIES)
def test_every_recurring_query_uses_an_index(store: Store, name: str) -> None:
    """EXPLAIN QUERY PLAN of each recurring query shows an index search, never a scan or a sort."""
    history(store)
    store.save_scores("m", [Score("2401.00001", "segmentation", 0.5, ())])
    store.add_pending_digest("day:2024-11-27:email", "day", DAY, DAY, "email", [("2401.00001", 1)])
    store.mark_sent("day:2024-11-27:email", "ok")
    found = plans(store, HOT_QUERIES[name])
    assert found, "the query ran no statement"
    for sql, plan in found:
        for step in plan.split(" | "):
            # A walk of an index in order is bounded only when LIMIT stops it.
            bounded = re.search(r" LIMIT \d+\s*$", sql) is not None
            walk = step.startswith("SCAN") and "USING" in step and "INDEX" in step and bounded
            assert not step.startswith("SCAN") or walk, f"{sql}\n-> {plan}"
        assert "TEMP B-TREE" not in plan, f"{sql}\n-> {plan}"


def test_newest_papers_come_first_and_undated_ones_last(store: Store) -> None:
    """recent_papers keeps the order of the former COALESCE sort: newest first, no date last."""
    history(store, days=3, per_day=2)
    store.upsert_papers([Paper(id="0000.00001", title="Undated")], announced=None)
    ids = [p.id for p in store.recent_papers(10)]
    assert ids == [
        "2400.00001",
        "2400.00000",
        "2401.00001",
        "2401.00000",
        "2402.00001",
        "2402.00000",
        "0000.00001",
    ]


def test_a_new_version_is_scored_on_its_own_text(store: Store, trained: model.Model) -> None:
    """A paper scored off-topic whose new version is on-topic is scored again on the new text:
    its score is what the same text scores as a new paper, not the old version's."""
    from arxivwatch.score import Scorer

    off = Paper(id="2411.00001", title="A note on prime gaps", abstract="We bound gaps between primes.")
    store.upsert_papers([replace(off, announce_type="new")], announced=DAY)
    assert _score(store, trained) == 1
    current = scoring.model_id(trained)
    before = store.scores_for([off.id], current)[off.id]["segmentation"].value
    on = Paper(
        id=off.id,
        version=2,
        title="Semi-supervised medical image segmentation with a U-Net",
        abstract="Consistency regularisation on unlabeled scans for segmentation.",
        announce_type="replace",
    )
    store.clock = FakeClock(NOW + timedelta(hours=20))
    store.upsert_papers([on], announced=DAY + timedelta(days=1))
    assert _score(store, trained) == 1
    after = store.scores_for([off.id], current)[off.id]["segmentation"]
    with Scorer(trained) as scorer:
        (expected,) = scorer.score([on])
    assert after.value == pytest.approx(expected["segmentation"].value) and after.value > before
    assert after.reasons == expected["segmentation"].reasons


def test_a_new_version_stored_while_the_old_one_is_scored_keeps_no_old_score(
    store: Store, trained: model.Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll (another connection, as another process) storing version 2 after score_new's last
    read (version 1 scored, not saved yet): version 1's score is not saved for version 2, so the
    next score_new scores version 2's text."""
    off = Paper(id="2411.00002", title="A note on prime gaps", abstract="We bound gaps between primes.")
    store.upsert_papers([replace(off, announce_type="new")], announced=DAY)
    on = replace(off, version=2, title="Semi-supervised medical image segmentation", announce_type="replace")
    read = store.unscored

    def read_then_poll(*args: object, **kwargs: object) -> object:
        found = read(*args, **kwargs)  # type: ignore[arg-type]
        if not found[0] and store.get_paper(off.id).version == 1:  # type: ignore[union-attr]
            with Store(store.path, clock=FakeClock(NOW + timedelta(hours=1))) as poll:
                poll.upsert_papers([on], announced=DAY)
        return found

    monkeypatch.setattr(store, "unscored", read_then_poll)
    _score(store, trained)
    current = scoring.model_id(trained)
    assert store.scores_for([off.id], current) == {}  # version 1's score was not kept
    monkeypatch.undo()
    store.clock = FakeClock(NOW + timedelta(hours=2))
    assert _score(store, trained) == 1
    assert off.id in store.scores_for([off.id], current)
