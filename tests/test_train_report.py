"""Never silent about lists, honest about quality: `lists show` summaries, per-list recovery
warnings, like-for-like CV quality, enrichment counts, the floor warning and the negatives top-up."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from arxiv_server import ArxivServer, Reply
from arxivwatch import curated, lists, model
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.jobs import background as negatives
from arxivwatch.jobs import learn, open_store
from arxivwatch.models import Paper
from conftest import CliRunner
from test_train_job import IdLookup

NOW = datetime(2024, 11, 28, 5, 30, tzinfo=UTC)
DATA = Path(__file__).parent / "data"
PARTLY = "# Papers\n\n- [A Real Paper Title](https://arxiv.org/abs/2301.00001)\n\n[pdf](https://arxiv.org/abs/2301.00002)\n"


@pytest.fixture
def cfg(loopback_config: Config) -> Config:
    return loopback_config


def _listed_ids() -> set[str]:
    ids: set[str] = set()
    for path in lists.BUNDLED:
        ids.update(
            e.arxiv_id for e in curated.parse(path.read_text(encoding="utf-8"), str(path)) if e.arxiv_id
        )
    return ids


def test_lists_show_with_nothing_recognised_exits_2_naming_what_it_looked_for(
    tmp_path: Path, write_config: Callable[[str], Path], cli: CliRunner
) -> None:
    """A file with no paper entry: exit 2, one line that names the file and what was looked for."""
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nSome thoughts, no papers.\n", encoding="utf-8")
    result = cli("lists", "show", str(path), "--config", str(write_config("")))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "notes.md: no paper entries found" in line
    assert "looked for list items, table rows" in line and "arXiv:ID" in line
    assert result.stdout == ""


def test_lists_show_partly_recognised_exits_0_and_names_the_skipped_lines(
    tmp_path: Path, write_config: Callable[[str], Path], cli: CliRunner
) -> None:
    """Entries go to stdout; the summary on stderr counts what was skipped and, with -v, its line numbers."""
    path = tmp_path / "partly.md"
    path.write_text(PARTLY, encoding="utf-8")
    result = cli("lists", "show", str(path), "--config", str(write_config("")))
    assert result.returncode == 0, result.stderr
    [entry] = [json.loads(line) for line in result.stdout.splitlines()]
    assert entry["arxiv_id"] == "2301.00001" and entry["title"] == "A Real Paper Title"
    assert "1 entries: 1 with an arXiv id, 0 without (title only); 1 line mentions" in result.stderr
    assert "lines 5" not in result.stderr
    verbose = cli("lists", "show", "-v", str(path), "--config", str(write_config("")))
    assert verbose.returncode == 0
    assert "gave no entry: lines 5" in verbose.stderr


def test_train_warns_per_list_under_90_percent_recovery(
    cfg: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A list whose entries cover 1 of its 2 ids is named in a warning; the bundled ones are not."""
    partly = tmp_path / "partly.md"
    partly.write_text(PARTLY, encoding="utf-8")
    sources = [*(str(p) for p in lists.BUNDLED), str(partly)]
    learn.train(cfg, lists=sources, offline=True, clock=FakeClock(NOW), out=io.StringIO())
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [w for w in warnings if "partly.md" in w] == [
        f"{partly}: entries found for only 1 of the 2 arXiv ids it mentions (50%); "
        f"see `arxivwatch lists show -v {partly}` for the lines skipped"
    ]
    assert not any("dl-papers-and-resources" in w for w in warnings)


def test_offline_report_measures_titles_against_titles_and_counts_enrichment(
    cfg: Config, tmp_path: Path
) -> None:
    """Offline, CV is measured on titles (and says so), every profile clears the floor, 0 of M enriched."""
    out = io.StringIO()
    trained = learn.train(cfg, offline=True, clock=FakeClock(NOW), out=out)
    text = out.getvalue()
    assert "CV on" in text
    assert f"enriched 0 of {len(_listed_ids())} listed ids with arXiv metadata" in text
    for name, metrics in trained.metrics.items():
        assert metrics.measured_on == "titles", name
        assert metrics.average_precision is not None
        assert metrics.average_precision >= learn.QUALITY_FLOOR, (name, metrics)
    assert "is below" not in text


def test_online_training_that_enriched_nothing_warns(cfg: Config, arxiv_server: ArxivServer) -> None:
    """Online, an arXiv that answers every id lookup with no entry gets one warning line saying the
    profiles learnt from titles alone and what to check; offline, the same count gets none."""
    lookup = IdLookup()
    head = re.sub(rb"<opensearch:totalResults>\d+", b"<opensearch:totalResults>0", lookup.head)
    # Every id lookup answered without an <entry>: arXiv knows none of the ids.
    arxiv_server.script(
        "api", lambda _request: Reply(200, head + lookup.tail, {"Content-Type": "application/atom+xml"})
    )
    out = io.StringIO()
    learn.train(cfg, clock=FakeClock(NOW), out=out)
    count = len(_listed_ids())
    warning = (
        f"warning: arXiv gave metadata for none of the {count} listed ids, so every profile learnt "
        "from titles alone; check [arxiv] api_url and the network, then train again"
    )
    assert f"enriched 0 of {count} listed ids" in out.getvalue()
    assert warning in out.getvalue().replace("\n", " ")
    offline = io.StringIO()
    learn.train(cfg, offline=True, clock=FakeClock(NOW), out=offline)
    assert "gave metadata for none" not in offline.getvalue()


def test_enriched_report_measures_abstracts(cfg: Config, arxiv_server: ArxivServer) -> None:
    """With every listed id enriched, quality is measured on abstracts and the report says N of N."""
    arxiv_server.script("api", IdLookup())
    out = io.StringIO()
    trained = learn.train(cfg, clock=FakeClock(NOW), out=out)
    count = len(_listed_ids())
    assert f"enriched {count} of {count} listed ids" in out.getvalue()
    assert all(m.measured_on.startswith("abstracts (") for m in trained.metrics.values())


def test_a_profile_below_the_floor_gets_a_warning_naming_the_fix(cfg: Config) -> None:
    """A profile under the quality floor is named with its AP, why it is weak and what to run or add."""
    learn.train(cfg, offline=True, clock=FakeClock(NOW), out=io.StringIO())
    trained = model.load(cfg.model_path)
    weak = replace(trained.metrics["medical-imaging"], average_precision=0.21, measured_on="titles")
    few = replace(trained.metrics["segmentation"], average_precision=0.3, positives=12)
    low = replace(trained, metrics={**trained.metrics, "medical-imaging": weak, "segmentation": few})
    out = io.StringIO()
    learn.print_metrics(low, out, enriched=(0, 229))
    lines = out.getvalue().splitlines()
    assert (
        "warning: medical-imaging: cross-validated average precision 0.21 is below 0.5 on titles alone; "
        "run `arxivwatch train` online so listed ids get their abstracts"
    ) in lines
    assert (
        "warning: segmentation: cross-validated average precision 0.30 is below 0.5 with only 12 "
        "positives; add papers of this topic to the lists"
    ) in lines
    assert not any(line.startswith("warning: semi-supervised") for line in lines)


def _store_papers(cfg: Config, count: int) -> None:
    rows = (DATA / "learning" / "background.jsonl").read_text(encoding="utf-8").splitlines()[:count]
    papers = [
        Paper(id=o["id"], title=o["title"], abstract=o.get("abstract") or "", categories=("cs.CV",))
        for o in map(json.loads, rows)
    ]
    with open_store(cfg, FakeClock(NOW)) as store:
        store.upsert_papers(papers, announced=NOW.date())


def test_bundled_papers_top_up_the_negatives_to_the_background_size(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 100 stored papers, bundled papers of the configured categories fill the background up
    to its size, so a small store trains on as many negatives as a large one; a store that holds
    the whole background size trains on its own papers alone."""
    _store_papers(cfg, 100)
    monkeypatch.setattr(negatives, "BACKGROUND_LIMIT", 600)
    topped = learn.train(cfg, offline=True, clock=FakeClock(NOW), out=io.StringIO())
    seeded = 600 - min(m.negatives for m in topped.metrics.values())
    assert all(500 < m.negatives <= 600 for m in topped.metrics.values()), (topped.metrics, seeded)
    monkeypatch.setattr(negatives, "BACKGROUND_LIMIT", 100)
    alone = learn.train(cfg, offline=True, clock=FakeClock(NOW), out=io.StringIO())
    assert all(90 < m.negatives <= 100 for m in alone.metrics.values()), alone.metrics
