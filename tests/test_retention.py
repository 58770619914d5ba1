"""Retention: [storage] keep_days, `arxivwatch prune`, the daemon's prune, and the index migration."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arxiv_server import EMPTY_FEED, ArxivServer, Reply, recorded
from arxivwatch import config as config_io
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.errors import ConfigError, StoreError
from arxivwatch.jobs import open_store, retention
from arxivwatch.models import Paper, Score
from arxivwatch.scheduler import Runner, StoppableClock
from arxivwatch.store import MIGRATIONS, Store
from arxivwatch.store.papers import PollRun
from conftest import CliRunner

NOW = datetime(2024, 11, 28, 6, 0, tzinfo=UTC)
DAY = NOW.date()


def stored(store: Store, ages: dict[str, int]) -> None:
    """Store one paper per id, stored (and announced) `age` days before NOW, in two versions,
    with a score; the store's clock is back at NOW afterwards."""
    for pid, age in ages.items():
        store.clock = FakeClock(NOW - timedelta(days=age))
        for version in (1, 2):
            store.upsert_papers(
                [Paper(id=pid, title=f"Paper {pid}", version=version, announce_type="new")],
                announced=DAY - timedelta(days=age),
            )
    store.clock = FakeClock(NOW)
    store.save_scores("m", [Score(pid, "segmentation", 0.5, ()) for pid in ages])


def year_of_polls(store: Store, lately: PollRun) -> None:
    """A feed poll a day for a year before NOW: announcements until 40 days ago, then `lately`
    (a failure, "not modified" ...) on each of the last 39 days."""
    from dataclasses import replace

    for age in range(365, 0, -1):
        at = NOW - timedelta(days=age)
        if age >= 40:
            store.record_poll(PollRun(at, "feed", "announcement", announced=at.date(), new=10))
        else:
            store.record_poll(replace(lately, at=at))


def rows(store: Store, table: str) -> int:
    with sqlite3.connect(store.path) as raw:
        return int(raw.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_prune_deletes_old_papers_with_their_scores_and_versions(tmp_path: Path) -> None:
    """Papers not seen since the cutoff go with their scores and version rows; newer ones stay."""
    with Store(tmp_path / "a.db", clock=FakeClock(NOW)) as store:
        stored(store, {"2401.00001": 400, "2401.00002": 366, "2411.00003": 365, "2411.00004": 1})
        result = store.prune_papers(NOW - timedelta(days=365))
        assert (result.deleted, result.kept) == (2, 0)
        assert store.get_paper("2401.00001") is None and store.get_paper("2401.00002") is None
        assert store.get_paper("2411.00003") is not None
        assert (rows(store, "papers"), rows(store, "scores"), rows(store, "paper_versions")) == (2, 2, 4)


def test_prune_never_touches_a_paper_a_pending_digest_holds(tmp_path: Path) -> None:
    """An old paper of a pending digest survives the prune; the digest can be resent exactly."""
    with Store(tmp_path / "b.db", clock=FakeClock(NOW)) as store:
        stored(store, {"2401.00001": 400, "2401.00002": 400})
        store.add_pending_digest("week:2023-10-23:email", "week", DAY, DAY, "email", [("2401.00001", 2)])
        result = store.prune_papers(NOW - timedelta(days=30), keep=store.pending_paper_ids())
        assert (result.deleted, result.kept) == (1, 1)
        assert store.get_paper("2401.00001") is not None


def test_prune_walks_many_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With tiny batches and kept papers inside them, every old paper is still visited once."""
    from arxivwatch.store import retention as store_retention

    monkeypatch.setattr(store_retention, "PRUNE_BATCH", 3)
    with Store(tmp_path / "c.db", clock=FakeClock(NOW)) as store:
        stored(store, {f"2401.{n:05d}": 100 + n % 4 for n in range(20)} | {"2411.00000": 2})
        keep = {"2401.00000", "2401.00005", "2401.00010"}
        assert store.prune_papers(NOW - timedelta(days=50), keep=keep) == store_retention.PruneResult(17, 3)
        assert rows(store, "papers") == 4


def test_a_paper_seen_again_is_kept_however_old_its_announcement(tmp_path: Path) -> None:
    """Retention goes by when a paper was last stored or seen: a new version of an old paper stays."""
    with Store(tmp_path / "d.db", clock=FakeClock(NOW - timedelta(days=400))) as store:
        store.upsert_papers([Paper(id="2301.00001", title="Old")], announced=DAY - timedelta(days=400))
        store.upsert_papers([Paper(id="2301.00002", title="Old too")], announced=DAY - timedelta(days=400))
        store.clock = FakeClock(NOW)
        store.upsert_papers([Paper(id="2301.00002", title="Old too, v2", version=2)], announced=DAY)
        assert store.prune_papers(NOW - timedelta(days=365)).deleted == 1
        assert store.get_paper("2301.00002") is not None and store.get_paper("2301.00001") is None


@pytest.fixture
def cfg(arxiv_server: ArxivServer, write_config: Callable[[str], Path]) -> Config:
    path = write_config(
        f'keep_days = 30\n[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
    )
    return config_io.load(str(path), env={})


def test_the_prune_job_cuts_at_keep_days_and_vacuums(cfg: Config) -> None:
    """keep_days = 30 deletes what was not seen for 30 days; --vacuum shrinks the file."""
    clock = FakeClock(NOW)
    with open_store(cfg, clock) as store:
        stored(store, {f"2301.{n:05d}": 31 + n % 300 for n in range(3000)} | {"2411.00001": 30})
    outcome = retention.prune(cfg, vacuum=True, clock=clock)
    assert (outcome.before, outcome.deleted, outcome.kept) == (NOW - timedelta(days=30), 3000, 0)
    assert outcome.size_after < outcome.size_before
    with open_store(cfg, clock) as store:
        assert [p.id for p in store.recent_papers(10)] == ["2411.00001"]


def with_store(path: Path) -> Path:
    """The configuration file at `path`, its (empty) database created."""
    with open_store(config_io.load(str(path), env={}), FakeClock(NOW)):
        pass
    return path


def test_arxivwatch_prune_creates_no_database(write_config: Callable[[str], Path], cli: CliRunner) -> None:
    """`arxivwatch prune` where no database exists says so in one line, exit 0, and creates none."""
    path = write_config("keep_days = 30\n")
    db = config_io.load(str(path), env={}).db_path
    result = cli("prune", "--vacuum", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Nothing pruned: no database at {db} yet (check [storage] path).\n"
    assert not db.exists()


def test_arxivwatch_prune_prints_what_it_did(write_config: Callable[[str], Path], cli: CliRunner) -> None:
    """`arxivwatch prune --vacuum` exits 0 with one line on the papers and one on the file size."""
    path = with_store(write_config("keep_days = 30\n"))
    result = cli("prune", "--vacuum", "--config", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Pruned 0 paper(s) not seen since ")
    assert lines[0].endswith(" (0 kept for pending digests).")
    assert lines[1].startswith("Database: ") and " MB -> " in lines[1]
    assert len(lines) == 2 and " INFO " not in result.stderr, result.stderr  # said once, not logged again


def test_arxivwatch_prune_without_vacuum_prints_the_size_once(
    write_config: Callable[[str], Path], cli: CliRunner
) -> None:
    """Without --vacuum the file cannot shrink: prune prints its size once, and no INFO line repeats it."""
    result = cli("prune", "--config", str(with_store(write_config("keep_days = 30\n"))))
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[1]
    assert re.fullmatch(r"Database: \d+\.\d MB \(--vacuum compacts it\)\.", line), line
    assert " INFO " not in result.stderr, result.stderr


def test_keep_days_zero_keeps_everything(write_config: Callable[[str], Path], cli: CliRunner) -> None:
    """keep_days = 0 turns pruning off, and prune says so."""
    result = cli("prune", "--config", str(with_store(write_config("keep_days = 0\n"))))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Nothing pruned: [storage] keep_days = 0 keeps every paper."


def test_keep_days_shorter_than_the_horizon_is_refused(write_config: Callable[[str], Path]) -> None:
    """Pruning papers a digest may still deliver is a configuration error naming both keys."""
    path = write_config("keep_days = 7\n[digest]\nhorizon_days = 14\n")
    with pytest.raises(
        ConfigError, match=r"\[storage\] keep_days \(7\) is shorter than \[digest\] horizon_days"
    ):
        config_io.load(str(path), env={})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("100000000", r"\[storage\] keep_days must be at most 36600 days, got 100000000"),
        ("99999999999999999999", r"\[storage\] keep_days must be at most 36600 days"),
        ("-5", r"\[storage\] keep_days must be at least 0 days, got -5"),
    ],
)
def test_keep_days_out_of_range_is_one_line_not_a_traceback(
    write_config: Callable[[str], Path], cli: CliRunner, value: str, message: str
) -> None:
    """A keep_days past any date (or negative) is refused with one line, exit 2, nothing pruned."""
    path = write_config(f"keep_days = {value}\n")
    with pytest.raises(ConfigError, match=message):
        config_io.load(str(path), env={})
    result = cli("prune", "--config", str(path))
    assert (result.returncode, "Traceback" in result.stderr) == (2, False), result.stderr


def test_the_daemon_prunes_after_its_poll(cfg: Config, arxiv_server: ArxivServer) -> None:
    """The scheduled poll is followed by a prune of the papers not seen for keep_days."""
    arxiv_server.script("rss", Reply(200, recorded(EMPTY_FEED), {"Content-Type": "application/rss+xml"}))
    now = datetime.now(UTC)
    with open_store(cfg, FakeClock(now - timedelta(days=90))) as store:
        store.upsert_papers([Paper(id="2001.00001", title="Old")], announced=None)
        store.clock = FakeClock(now - timedelta(days=2))
        store.upsert_papers([Paper(id="2001.00002", title="Recent")], announced=None)
    runner = Runner(cfg, StoppableClock())
    runner.scheduled_poll()
    assert runner.failures == 0
    with open_store(cfg, StoppableClock()) as store:
        assert [p.id for p in store.recent_papers(10)] == ["2001.00002"]


def test_a_store_of_the_first_schema_gets_the_new_indexes(tmp_path: Path) -> None:
    """Migrating from schema 1 replaces the (announced, announce_type) index with (announced, id)."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        for statement in MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 1")
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
    with sqlite3.connect(path) as raw:
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "papers_by_announced_id" in names and "papers_by_announced" not in names


def test_a_new_version_of_a_pruned_offered_paper_is_still_flagged_updated(tmp_path: Path) -> None:
    """A paper sent 400 days ago, pruned, then replaced by v3: flag_updated still finds it (offered v2)."""
    with Store(tmp_path / "u.db", clock=FakeClock(NOW)) as store:
        stored(store, {"2310.00001": 400})
        store.clock = FakeClock(NOW - timedelta(days=400))
        key = "day:2023-10-25:email"
        store.add_pending_digest(key, "day", DAY, DAY, "email", [("2310.00001", 2)])
        store.mark_sent(key, "sent")
        store.clock = FakeClock(NOW)
        assert store.prune_papers(NOW - timedelta(days=365)).deleted == 1
        v3 = Paper(id="2310.00001", title="v3", version=3, announce_type="replace")
        store.upsert_papers([v3], announced=DAY)
        updated = store.updated_candidates("email", NOW - timedelta(days=14))
        assert {pid: offered for pid, (_paper, offered) in updated.items()} == {"2310.00001": 2}


def test_a_new_version_stored_by_another_process_during_a_prune_is_kept(tmp_path: Path) -> None:
    """A poll (another connection) stores v3 of an old paper after the batch was read: it survives."""
    with (
        Store(tmp_path / "r.db", clock=FakeClock(NOW)) as store,
        Store(store.path, clock=FakeClock(NOW)) as poll,
    ):
        stored(store, {"2310.00001": 400, "2310.00002": 400})
        delete = store._delete_papers

        def poll_between_read_and_delete(*args: Any) -> int:
            v3 = Paper(id="2310.00001", title="v3", version=3, announce_type="replace")
            poll.upsert_papers([v3], announced=DAY)
            return delete(*args)

        store._delete_papers = poll_between_read_and_delete  # type: ignore[method-assign]
        assert store.prune_papers(NOW - timedelta(days=365)).deleted == 1
        kept = store.get_paper("2310.00001")
        assert kept is not None and kept.version == 3
        assert store.get_paper("2310.00002") is None


def test_vacuum_while_another_process_writes_is_one_store_error(tmp_path: Path) -> None:
    """VACUUM blocked by another connection's write: a StoreError naming the file, not raw SQLite."""
    with Store(tmp_path / "v.db", clock=FakeClock(NOW), busy_timeout=0.2) as store:
        stored(store, {"2310.00001": 1})
        with sqlite3.connect(store.path, isolation_level=None) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO kv VALUES ('held', 'by another process')")
            with pytest.raises(StoreError, match=r"v\.db failed: database is locked"):
                store.vacuum()
            other.execute("ROLLBACK")


def test_the_prune_job_deletes_old_poll_records_but_the_three_that_are_read(cfg: Config) -> None:
    """A year of daily polls, keep_days 30, the feed failing for the last 39 days and an API
    catch-up two hours ago: the last 30 days' records stay and, of the older ones, only the newest
    good feed poll (where the catch-up window starts); status and the catch-up window read the
    same as before the prune."""

    with open_store(cfg, FakeClock(NOW)) as store:
        year_of_polls(store, PollRun(NOW, "feed", "failed", reason="unreachable"))
        store.record_poll(PollRun(NOW - timedelta(hours=2), "api", "announcement", new=5))
        before = (store.last_poll(), store.last_successful_poll(), store.last_feed_announcement())
        assert before[2] is not None and before[2][0] == (NOW - timedelta(days=40)).date()
    retention.prune(cfg, clock=FakeClock(NOW))
    with open_store(cfg, FakeClock(NOW)) as store:
        assert rows(store, "polls") == 1 + 30 + 1  # the day-40 feed poll, days 30..1, the API poll
        assert (store.last_poll(), store.last_successful_poll(), store.last_feed_announcement()) == before


def test_a_prune_keeps_the_feed_poll_that_dates_a_stuck_feed(cfg: Config) -> None:
    """The feed answering "not modified" for 39 days after its last announcement (a stuck feed):
    after a prune with keep_days 30, status still reads that announcement's date and still
    reports the stale feed, instead of finding no announcement and calling the daemon healthy."""
    from arxivwatch.jobs import status

    with open_store(cfg, FakeClock(NOW)) as store:
        year_of_polls(store, PollRun(NOW, "feed", "not modified"))
        store.record_poll(PollRun(NOW - timedelta(hours=1), "feed", "not modified"))
        before = store.last_feed_announcement()
    assert before is not None and before[0] == (NOW - timedelta(days=40)).date()
    problem = status.collect(cfg, FakeClock(NOW))["problem"]
    assert problem is not None and "feed" in problem
    retention.prune(cfg, clock=FakeClock(NOW))
    with open_store(cfg, FakeClock(NOW)) as store:
        assert store.last_feed_announcement() == before
    assert status.collect(cfg, FakeClock(NOW))["problem"] == problem


def test_a_prune_keeps_the_poll_that_stored_the_stuck_feeds_announcement(cfg: Config) -> None:
    """The feed rebuilt (new ETag) around its last announcement for 39 days, each poll recorded
    "no announcement" with that date: after a prune with keep_days 30, the poll still knows the
    day was stored (has_announcement), so the next rebuild is not taken for a new announcement."""
    from arxivwatch.store.papers import PollRun

    day = (NOW - timedelta(days=40)).date()
    with open_store(cfg, FakeClock(NOW)) as store:
        store.record_poll(PollRun(NOW - timedelta(days=40), "feed", "announcement", announced=day, new=10))
        for age in range(39, 0, -1):
            store.record_poll(PollRun(NOW - timedelta(days=age), "feed", "no announcement", announced=day))
        assert store.has_announcement(day)
        before = store.last_feed_announcement()
    retention.prune(cfg, clock=FakeClock(NOW))
    with open_store(cfg, FakeClock(NOW)) as store:
        assert store.has_announcement(day)
        assert store.last_feed_announcement() == before
