"""A digest's cost follows what it shows: ranking over light candidates, whole rows for the shown.

The digest job ranks every candidate by its ranking columns (id, version, categories,
announcement date) and score values, then reads the whole rows and the reasons of the few
papers it shows, both in one snapshot of the store. Pinned here: the two-step selection
equals the one-step selection over whole papers, the job's SQL reads whole rows and reasons
of the shown papers only while it still offers every candidate, and the snapshot's reads
agree with each other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from arxivwatch import config as config_io
from arxivwatch import digest as selector
from arxivwatch import model as model_io
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.jobs import digest, open_store, scoring
from arxivwatch.models import Digest, Paper, Score
from arxivwatch.store import Store
from digest_samples import PAPERS, PROFILES, SCORES, THRESHOLDS, TODAY, paper, s

D = date(2026, 6, 10)
MORNING = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
TOPICS = (
    "Semi-supervised semantic segmentation with consistency regularization and pseudo-labels",
    "U-Net segmentation of organs in CT scans for medical image analysis",
    "Instance segmentation masks from a promptable segmentation model",
)
ID = re.compile(r"'(\d{4}\.\d{5})'")


def light(p: Paper) -> Paper:
    """What the store's light read gives of a paper: the ranking columns, nothing else."""
    return Paper(p.id, "", version=p.version, categories=p.categories, announced=p.announced)


def _week(papers: list[Paper], scores: dict[str, dict[str, Score]], top_n: int | None) -> Digest:
    start, end = selector.period_bounds("week", TODAY)
    return selector.select(
        papers, scores, PROFILES, THRESHOLDS, period="week", start=start, end=end, channel="email",
        sent={"1809.10486": 1}, flag_updated=True, top_n=top_n,
    )  # fmt: skip


@pytest.mark.parametrize("top_n", [None, 1])
def test_ranking_light_papers_then_completing_equals_ranking_whole_ones(top_n: int | None) -> None:
    """Selecting over light papers and reasonless scores, then completing, gives the very digest
    selected over whole papers and scores: late, updated, badges, categories and cuts alike."""
    late = paper("2411.09999", "A late segmentation paper", announced=TODAY - timedelta(days=9))
    updated = replace(next(p for p in PAPERS if p.id == "1809.10486"), version=2)
    papers = [*(p for p in PAPERS if p.id != "1809.10486"), late, updated]
    scores = {**SCORES, late.id: {"segmentation": s(late.id, "segmentation", 0.97, "late reason")}}
    whole = _week(papers, scores, top_n)
    values = {pid: {n: replace(sc, reasons=()) for n, sc in per.items()} for pid, per in scores.items()}
    ranked = _week([light(p) for p in papers], values, top_n)
    shown = {item.paper.id for item in ranked.items}
    completed = selector.complete(
        ranked, {p.id: p for p in papers if p.id in shown}, {i: scores[i] for i in shown}
    )
    assert completed == whole
    assert any(i.late for i in whole.items) and any(i.updated for i in whole.items)
    assert any(i.also for i in whole.items) and whole.scanned == len(papers)
    assert whole.count == (6 if top_n is None else 3)


def test_completing_refuses_a_paper_stored_at_another_version() -> None:
    """A shown paper whose whole row has another version than the one ranked is a ValueError naming it."""
    start, end = selector.period_bounds("week", TODAY)
    ranked = selector.select(
        [light(p) for p in PAPERS], SCORES, PROFILES, THRESHOLDS,
        period="week", start=start, end=end, channel="email",
    )  # fmt: skip
    newer = {p.id: replace(p, version=p.version + 1) for p in PAPERS}
    with pytest.raises(ValueError, match=r"1505\.04597: version 2 stored, 1 selected"):
        selector.complete(ranked, newer, SCORES)


# the store's reads


def make_papers(count: int, day: date, *, version: int = 1, kind: str = "new") -> list[Paper]:
    """`count` on-topic papers announced on `day`, ids 2606.00001 upwards, categories varied."""
    return [
        Paper(
            id=f"2606.{n:05d}",
            title=f"{TOPICS[n % 3]}, part {n}",
            abstract=f"We study {TOPICS[n % 3].lower()}. Experiments on benchmark {n} show gains.",
            version=version,
            authors=("A. Author", "B. Author"),
            categories=(("cs.CV",), ("eess.IV", "cs.CV"), ("cs.LG",))[n % 3],
            primary_category="cs.CV",
            announced=day,
            announce_type=kind,
        )
        for n in range(1, count + 1)
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "light.db", clock=FakeClock(MORNING)) as opened:
        yield opened


def test_light_candidates_are_the_whole_ones_ranking_columns_in_the_same_order(store: Store) -> None:
    """candidates and updated_candidates with light=True give each paper's id, version, categories
    and announcement date (nothing else), in the same order and with the same offered versions."""
    store.upsert_papers(make_papers(9, D), announced=None)
    store.add_pending_digest("day:2026-06-10:email", "day", D, D, "email", [], offered=[("2606.00002", 1)])
    store.mark_sent("day:2026-06-10:email", "ok")
    store.clock = FakeClock(MORNING + timedelta(days=1))
    store.upsert_papers(make_papers(2, D + timedelta(days=1), version=2, kind="replace"), announced=None)
    since = MORNING - timedelta(days=1)
    whole = store.candidates("email", since)
    assert [p.id for p in whole] == [f"2606.{n:05d}" for n in (1, 3, 4, 5, 6, 7, 8, 9)]
    assert store.candidates("email", since, light=True) == [light(p) for p in whole]
    updated = store.updated_candidates("email", since)
    assert {k: (light(p), v) for k, (p, v) in updated.items()} == store.updated_candidates(
        "email", since, light=True
    ) == {"2606.00002": (light(updated["2606.00002"][0]), 1)}  # fmt: skip
    assert updated["2606.00002"][0].version == 2


def test_score_values_without_reasons_and_whole_papers_by_id(store: Store) -> None:
    """scores_for(reasons=False) gives the values with empty reasons; get_papers gives whole rows
    of the ids stored, leaving out the others."""
    papers = make_papers(3, D)
    store.upsert_papers(papers, announced=None)
    store.save_scores("m", [Score("2606.00001", "segmentation", 0.75, ("u-net", "organs"))])
    assert store.scores_for(["2606.00001", "2606.00002"], "m", reasons=False) == {
        "2606.00001": {"segmentation": Score("2606.00001", "segmentation", 0.75, ())}
    }
    assert store.scores_for(["2606.00001"], "m")["2606.00001"]["segmentation"].reasons == ("u-net", "organs")
    found = store.get_papers(["2606.00003", "2606.00001", "0000.00000"])
    assert found == {p.id: p for p in papers if p.id in ("2606.00001", "2606.00003")}


def test_a_snapshot_sees_the_store_as_it_was_at_its_first_read(store: Store, tmp_path: Path) -> None:
    """A new version committed by another process during a snapshot is seen after it, not inside:
    the light read and the whole rows of one digest agree."""
    store.upsert_papers(make_papers(2, D), announced=None)
    with store.snapshot():
        (first, _second) = store.candidates("email", MORNING - timedelta(days=1), light=True)
        with Store(tmp_path / "light.db", clock=FakeClock(MORNING)) as other:
            other.upsert_papers(make_papers(1, D, version=3, kind="replace"), announced=None)
        assert store.get_papers([first.id])[first.id].version == first.version == 1
    assert store.get_papers([first.id])[first.id].version == 3


# the digest job's reads


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement the digest job's store runs (bound values written in), in order."""
    statements: list[str] = []

    def opened(config: Config, clock: FakeClock) -> Store:
        store = open_store(config, clock)
        store._db.set_trace_callback(statements.append)
        return store

    monkeypatch.setattr(digest, "open_store", opened)
    return statements


def test_a_digest_reads_whole_rows_and_reasons_of_only_the_papers_it_shows(
    write_config: Callable[[str], Path], model_path: Path, tmp_path: Path, traced: list[str]
) -> None:
    """Of 40 candidates with top_n 2, the digest offers all 40 but reads the whole rows and decodes
    the reasons of the 6 it shows, and records each with the reasons its score was stored with."""
    path = write_config(
        f'[training]\nmodel = "{model_path}"\n[digest]\nperiod = "day"\nmin_score = 0.0\ntop_n = 2\n'
        f'folder = "{tmp_path / "out"}"\n'
    )
    cfg = config_io.load(str(path), env={})
    clock = FakeClock(MORNING)
    with open_store(cfg, clock) as store:
        store.upsert_papers(make_papers(40, D), announced=None)
        scoring.score_new(store, model_io.load(model_path), MORNING - timedelta(days=1))
    traced.clear()
    (result,) = digest.digest(cfg, channels=["file"], clock=clock)
    with open_store(cfg, clock) as store:
        record = store.get_digest(result.key)
        stored = store.scores_for([p.id for p in make_papers(40, D)], store.current_model() or "")
    assert record is not None and record.offered == 40
    shown = {pid for pid, _version in record.items}
    order = [profile.name for profile in model_io.load(model_path).profiles]
    assert shown == top_two_a_profile(stored, order) and result.papers == len(shown) < 40
    entries = json.loads(record.entries)
    assert all(e["reasons"] == list(stored[e["id"]][e["profile"]].reasons) for e in entries)
    assert any(e["reasons"] for e in entries)
    whole_rows = [sql for sql in traced if re.match(r"SELECT (p\.)?\* FROM papers", sql)]
    reasons = [sql for sql in traced if re.match(r"SELECT [^;]*reasons FROM scores", sql)]
    assert whole_rows and reasons
    assert {pid for sql in whole_rows for pid in ID.findall(sql)} == shown
    assert {pid for sql in reasons for pid in ID.findall(sql)} == shown
    assert all(ID.search(sql) for sql in whole_rows)  # no whole-row read of the candidates at large


def top_two_a_profile(scores: dict[str, dict[str, Score]], order: list[str]) -> set[str]:
    """The ids a top_n 2 digest shows: each paper under its best profile (ties: the first in
    `order`, the model's), the two best of each profile (ties by id)."""
    best: dict[str, list[tuple[float, str]]] = {}
    for pid, per in scores.items():
        name = max(per, key=lambda n: (per[n].value, -order.index(n)))
        best.setdefault(name, []).append((-per[name].value, pid))
    return {pid for ranked in best.values() for _value, pid in sorted(ranked)[:2]}
