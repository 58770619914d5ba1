"""A digest's cost follows what it shows: ranking over light candidates, whole rows for the shown.

The digest job offers every scored candidate and ranks those a score can qualify (at or above
the lowest threshold) by their ranking columns (id, version, categories, announcement date)
and those score values, then reads the whole rows and the reasons of the few papers it
shows, both in one snapshot of the store. Pinned here: the two-step selection equals the
one-step selection over whole papers, the job's SQL reads whole rows and reasons of the
shown papers only while it still offers every candidate, and the snapshot's reads agree.
"""

from __future__ import annotations

import json
import math
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
THRESHOLDS_APART = {**THRESHOLDS, "medical-imaging": 0.85}  # the lowest one is not everyone's


def light(p: Paper) -> Paper:
    """What the store's light read gives of a paper: the ranking columns, nothing else."""
    return Paper(p.id, "", version=p.version, categories=p.categories, announced=p.announced)


def _week(papers: list[Paper], scores: dict[str, dict[str, Score]], top_n: int | None) -> Digest:
    start, end = selector.period_bounds("week", TODAY)
    return selector.select(
        papers, scores, PROFILES, THRESHOLDS_APART, period="week", start=start, end=end,
        channel="email", sent={"1809.10486": 1}, flag_updated=True, top_n=top_n,
    )  # fmt: skip


@pytest.mark.parametrize("top_n", [None, 1])
def test_ranking_light_papers_then_completing_equals_ranking_whole_ones(top_n: int | None) -> None:
    """Selecting over light papers and reasonless scores at or above the lowest threshold, then
    completing, gives the very digest selected over whole papers and every score: late, updated,
    badges, categories, per-profile thresholds and cuts alike."""
    late = paper("2411.09999", "A late segmentation paper", announced=TODAY - timedelta(days=9))
    updated = replace(next(p for p in PAPERS if p.id == "1809.10486"), version=2)
    papers = [*(p for p in PAPERS if p.id != "1809.10486"), late, updated]
    scores = {**SCORES, late.id: {"segmentation": s(late.id, "segmentation", 0.97, "late reason")}}
    whole = _week(papers, scores, top_n)
    floor = selector.lowest_threshold(PROFILES, THRESHOLDS_APART)
    assert floor == 0.5
    values = {
        pid: {n: replace(sc, reasons=()) for n, sc in per.items() if sc.value >= floor}
        for pid, per in scores.items()
    }
    assert sum(map(len, values.values())) < sum(map(len, scores.values()))  # some left out
    ranked = _week([light(p) for p in papers], values, top_n)
    shown = {item.paper.id for item in ranked.items}
    completed = selector.complete(
        ranked, {p.id: p for p in papers if p.id in shown}, {i: scores[i] for i in shown}
    )
    assert completed == whole
    assert any(i.late for i in whole.items) and any(i.updated for i in whole.items)
    assert any(i.also for i in whole.items) and whole.scanned == len(papers)
    assert whole.count == (6 if top_n is None else 3)


def test_the_lowest_threshold_falls_back_as_select_does() -> None:
    """lowest_threshold takes a profile's own threshold, else 0.5, when the mapping lacks it;
    +inf for no profiles (no score counts)."""
    own = (replace(PROFILES[0], threshold=0.3), PROFILES[1])
    assert selector.lowest_threshold(own, {}) == 0.3
    assert selector.lowest_threshold(PROFILES, {"segmentation": 0.7}) == 0.5
    assert selector.lowest_threshold(PROFILES, {p.name: 0.8 for p in PROFILES}) == 0.8
    assert selector.lowest_threshold((), THRESHOLDS) == math.inf


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


def test_the_ranking_read_offers_every_scored_candidate_and_ranks_those_a_score_can_qualify(
    store: Store,
) -> None:
    """ranking_candidates gives the (id, version) of every candidate the model scored, in arrival
    order (updated ones after, with flag_updated), and the ranking columns (nothing else) of
    those with a score at or above the floor, with the versions offered before."""
    store.upsert_papers(make_papers(9, D), announced=None)
    store.add_pending_digest("day:2026-06-10:email", "day", D, D, "email", [], offered=[("2606.00002", 1)])
    store.mark_sent("day:2026-06-10:email", "ok")
    store.clock = FakeClock(MORNING + timedelta(days=1))
    store.upsert_papers(make_papers(2, D + timedelta(days=1), version=2, kind="replace"), announced=None)
    values = {"2606.00001": 0.9, "2606.00002": 0.7, "2606.00003": 0.2, "2606.00004": 0.5}
    store.save_scores("m", [Score(pid, "segmentation", v, ("why",)) for pid, v in values.items()])
    since = MORNING - timedelta(days=1)
    whole = {p.id: p for p in store.candidates("email", since)}
    assert list(whole) == [f"2606.{n:05d}" for n in (1, 3, 4, 5, 6, 7, 8, 9)]
    (updated, before) = store.updated_candidates("email", since)["2606.00002"]
    read = store.ranking_candidates("email", since, "m", 0.5)
    assert read.offered == [("2606.00001", 2), ("2606.00003", 1), ("2606.00004", 1)]
    assert read.papers == [light(whole["2606.00001"]), light(whole["2606.00004"])]
    assert read.papers[0].categories == ("eess.IV", "cs.CV") and read.offered_before == {}
    both = store.ranking_candidates("email", since, "m", 0.5, updated=True)
    assert both.offered == [*read.offered, ("2606.00002", 2)]
    assert both.papers == [*read.papers, light(updated)] and both.offered_before == {"2606.00002": before}
    assert before == 1
    strict = store.ranking_candidates("email", since, "m", 0.95, updated=True)
    assert (strict.offered, strict.papers) == (both.offered, [])
    assert store.ranking_candidates("email", since, "other", 0.0).offered == []


def test_score_values_without_reasons_and_whole_papers_by_id(store: Store) -> None:
    """scores_for(reasons=False) gives the values with empty reasons, at_least only those of that
    value or more (inclusive); get_papers gives whole rows of the ids stored, leaving out the others."""
    papers = make_papers(3, D)
    store.upsert_papers(papers, announced=None)
    store.save_scores("m", [Score("2606.00001", "segmentation", 0.75, ("u-net", "organs"))])
    store.save_scores("m", [Score("2606.00001", "medical-imaging", 0.25, ("ct",))])
    assert store.scores_for(["2606.00001", "2606.00002"], "m", reasons=False, at_least=0.75) == {
        "2606.00001": {"segmentation": Score("2606.00001", "segmentation", 0.75, ())}
    }
    assert len(store.scores_for(["2606.00001"], "m", reasons=False)["2606.00001"]) == 2
    assert store.scores_for(["2606.00001"], "m")["2606.00001"]["segmentation"].reasons == ("u-net", "organs")
    found = store.get_papers(["2606.00003", "2606.00001", "0000.00000"])
    assert found == {p.id: p for p in papers if p.id in ("2606.00001", "2606.00003")}


def test_a_snapshot_sees_the_store_as_it_was_at_its_first_read(store: Store, tmp_path: Path) -> None:
    """A new version committed by another process during a snapshot is seen after it, not inside:
    the light read and the whole rows of one digest agree."""
    store.upsert_papers(make_papers(2, D), announced=None)
    with store.snapshot():
        (first, _second) = store.candidates("email", MORNING - timedelta(days=1))
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
    """Of 40 scored candidates, half below min_score, with top_n 2: the digest offers and counts
    all 40, shows the two best of each profile among the qualifying half, reads the whole rows
    and decodes the reasons of those only, and records each with its stored reasons."""
    settings = f'[training]\nmodel = "{model_path}"\n[digest]\nperiod = "day"\ntop_n = 2\n'
    cfg = config_io.load(str(write_config(settings)), env={})
    clock = FakeClock(MORNING)
    ids = [p.id for p in make_papers(40, D)]
    with open_store(cfg, clock) as store:
        store.upsert_papers(make_papers(40, D), announced=None)
        scoring.score_new(store, model_io.load(model_path), MORNING - timedelta(days=1))
        stored = store.scores_for(ids, store.current_model() or "")
    best = sorted(max(s.value for s in per.values()) for per in stored.values())
    min_score = (best[19] + best[20]) / 2  # the better half qualifies
    assert best[19] < min_score < best[20]
    path = write_config(settings + f'min_score = {min_score!r}\nfolder = "{tmp_path / "out"}"\n')
    cfg = config_io.load(str(path), env={})
    traced.clear()
    (result,) = digest.digest(cfg, channels=["file"], clock=clock)
    with open_store(cfg, clock) as store:
        record = store.get_digest(result.key)
    assert record is not None and record.offered == 40 and record.message is not None
    assert "picked for you from 40 announced on arXiv" in json.loads(record.message)["text"]
    shown = {pid for pid, _version in record.items}
    order = [profile.name for profile in model_io.load(model_path).profiles]
    qualifying = {pid: per for pid, per in stored.items() if max(s.value for s in per.values()) >= min_score}
    assert shown == top_two_a_profile(qualifying, order) and result.papers == len(shown) >= 2
    entries = json.loads(record.entries)
    assert all(e["reasons"] == list(stored[e["id"]][e["profile"]].reasons) for e in entries)
    assert any(e["reasons"] for e in entries)
    whole_rows = [sql for sql in traced if re.match(r"SELECT (p\.)?\* FROM papers", sql)]
    reasons = [sql for sql in traced if re.match(r"SELECT [^;]*reasons FROM scores", sql)]
    values = [sql for sql in traced if re.match(r"SELECT paper_id, profile, value FROM scores", sql)]
    assert whole_rows and reasons and values
    assert {pid for sql in whole_rows for pid in ID.findall(sql)} == shown
    assert {pid for sql in reasons for pid in ID.findall(sql)} == shown
    assert {pid for sql in values for pid in ID.findall(sql)} == set(qualifying)
    assert all(ID.search(sql) for sql in whole_rows)  # no whole-row read of the candidates at large


def top_two_a_profile(scores: dict[str, dict[str, Score]], order: list[str]) -> set[str]:
    """The ids a top_n 2 digest shows: each paper under its best profile (ties: the first in
    `order`, the model's), the two best of each profile (ties by id)."""
    best: dict[str, list[tuple[float, str]]] = {}
    for pid, per in scores.items():
        name = max(per, key=lambda n: (per[n].value, -order.index(n)))
        best.setdefault(name, []).append((-per[name].value, pid))
    return {pid for ranked in best.values() for _value, pid in sorted(ranked)[:2]}
