"""The SQLite store: upserts with versions, polls in one transaction, the digest ledger, the lock."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from arxiv_server import RESTRICTED_FEED, recorded
from arxivwatch.arxiv.parse import parse_feed
from arxivwatch.clock import FakeClock
from arxivwatch.errors import AlreadyRunning, StoreError
from arxivwatch.models import Paper, Score
from arxivwatch.store import MIGRATIONS, PollRun, Store

DAY = date(2024, 11, 28)


def paper(pid: str, version: int = 1, kind: str = "new", **extra: object) -> Paper:
    return Paper(
        id=pid,
        title=f"Title {pid} v{version}",
        abstract="An abstract.",
        version=version,
        authors=("A. Author", "B. Author"),
        categories=("cs.CV", "cs.LG"),
        primary_category="cs.CV",
        announce_type=kind,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store(tmp_path / "deep" / "er" / "arxivwatch.db", clock=clock) as opened:
        yield opened


def run(outcome: str = "announcement") -> PollRun:
    return PollRun(at=datetime(2024, 11, 28, 5, 30, tzinfo=UTC), source="feed", outcome=outcome)


def test_opening_creates_folder_wal_and_schema(store: Store) -> None:
    """A new path gets its folders, WAL mode and the latest schema version."""
    assert store.path.exists()
    assert store.schema_version == len(MIGRATIONS)
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_keeps_data(tmp_path: Path) -> None:
    """Papers survive closing and reopening, and migrations do not run twice."""
    with Store(tmp_path / "a.db") as first:
        first.upsert_papers([paper("2411.00001")], announced=DAY)
    with Store(tmp_path / "a.db") as second:
        assert second.count_papers() == 1


def test_unopenable_database_names_the_path(tmp_path: Path) -> None:
    """A file that is not a database gives a StoreError naming its path."""
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"junk\.db"):
        Store(bad)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database from a newer arxivwatch (higher user_version) is refused, not damaged."""
    path = tmp_path / "new.db"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_upsert_new_then_same_then_new_version(store: Store) -> None:
    """Seen again with the same version changes nothing; a new version updates but is not new."""
    first = store.upsert_papers([paper("2411.00001"), paper("2411.00002", kind="cross")], announced=DAY)
    assert first.new == ("2411.00001", "2411.00002") and first.updated == ()
    again = store.upsert_papers([paper("2411.00001")], announced=DAY)
    assert (again.new, again.updated, again.unchanged) == ((), (), 1)
    later = date(2024, 12, 2)
    bumped = store.upsert_papers([paper("2411.00001", 2, "replace")], announced=later)
    assert (bumped.new, bumped.updated) == ((), ("2411.00001",))
    stored = store.get_paper("2411.00001")
    assert stored is not None
    assert (stored.version, stored.title) == (2, "Title 2411.00001 v2")
    assert (stored.announced, stored.announce_type) == (DAY, "new")  # the first announcement stays
    assert store.paper_versions("2411.00001") == [(1, DAY, "new"), (2, later, "replace")]


def test_replace_of_unknown_paper_is_updated_not_new(store: Store) -> None:
    """A replace item never seen before is stored with its type and counted as updated."""
    result = store.upsert_papers([paper("2411.00003", 3, "replace-cross")], announced=DAY)
    assert (result.new, result.updated) == ((), ("2411.00003",))
    assert store.count_papers() == 1
    assert store.papers_announced_between(DAY, DAY) == []


def test_paper_round_trips_every_field(store: Store) -> None:
    """Every Paper field comes back from the database as it went in."""
    original = paper(
        "2202.12139",
        submitted=datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC),
        updated=datetime(2022, 3, 1, 1, 2, 3, tzinfo=UTC),
        announced=DAY,
        abs_url="https://arxiv.org/abs/2202.12139",
        pdf_url="https://arxiv.org/pdf/2202.12139v1",
        comment="8 pages",
        journal_ref="J. Tests 1 (2022)",
        doi="10.1/x",
    )
    store.upsert_papers([original], announced=None)
    assert store.get_paper("2202.12139") == original
    assert store.get_paper("nope") is None


def test_api_papers_fall_back_to_submission_day(store: Store) -> None:
    """An export API paper (no announce date, no poll date) is filed under its submission day."""
    api = paper("2411.00009", kind="", submitted=datetime(2024, 11, 25, 18, 0, tzinfo=UTC))
    assert store.upsert_papers([api], announced=None).new == ("2411.00009",)
    assert [p.id for p in store.papers_announced_between(date(2024, 11, 25), date(2024, 11, 25))] == [
        "2411.00009"
    ]


def test_real_feed_polled_twice_stores_each_paper_once(store: Store) -> None:
    """Polling the recorded cs.CV+eess.IV+cs.LG feed twice stores each paper once; the repeat adds nothing."""
    feed = parse_feed(recorded(RESTRICTED_FEED))
    first = store.store_poll(feed.papers, run(), feed.announced)
    assert (len(first.new), len(first.updated)) == (274, 133)
    second = store.store_poll(feed.papers, run(), feed.announced)
    assert (second.new, second.updated, second.unchanged) == ((), (), 407)
    assert store.count_papers() == 407
    assert len(store.papers_announced_between(DAY, DAY)) == 274
    last = store.last_poll()
    assert last is not None and (last.new, last.updated, last.announced) == (0, 0, DAY)


def test_poll_is_one_transaction(store: Store) -> None:
    """A poll whose papers cannot be stored leaves neither papers nor a run behind."""
    broken = replace(paper("2411.00002"), title=None)  # type: ignore[arg-type] (NOT NULL fails)
    with pytest.raises(sqlite3.IntegrityError):
        store.store_poll([paper("2411.00001"), broken], run(), DAY)
    assert store.count_papers() == 0
    assert store.last_poll() is None


def test_poll_runs_and_last_successful(store: Store) -> None:
    """last_poll is the latest run; last_successful_poll skips failures."""
    assert store.last_poll() is None and store.last_successful_poll() is None
    store.store_poll([], replace(run("no announcement"), announced=DAY), DAY)
    store.record_poll(replace(run("failed"), reason="arXiv did not answer"))
    last, good = store.last_poll(), store.last_successful_poll()
    assert last is not None and (last.outcome, last.reason) == ("failed", "arXiv did not answer")
    assert good is not None and (good.outcome, good.announced) == ("no announcement", DAY)


def test_feed_state(store: Store) -> None:
    """ETag and Last-Modified are kept per URL."""
    url = "https://rss.arxiv.org/rss/cs.CV"
    assert store.get_feed_state(url) == (None, None)
    store.set_feed_state(url, '"e1"', "Thu, 28 Nov 2024 05:00:00 GMT")
    store.set_feed_state(url, '"e2"', None)
    assert store.get_feed_state(url) == ('"e2"', None)


def test_scores_and_unscored(store: Store) -> None:
    """Scores are kept per model and profile; unscored lists papers the model has not scored."""
    store.upsert_papers([paper("2411.00001"), paper("2411.00002")], announced=DAY)
    store.save_scores("m1", [Score("2411.00001", "segmentation", 0.9, ("unet", "mask"))])
    store.save_scores("m1", [Score("2411.00001", "segmentation", 0.8, ("unet",))])
    found = store.scores_for(["2411.00001", "2411.00002"], "m1")
    assert found == {"2411.00001": {"segmentation": Score("2411.00001", "segmentation", 0.8, ("unet",))}}
    since = store.clock.now()
    assert [p.id for p in store.unscored("m1", since)[0]] == ["2411.00002"]
    assert store.unscored("m1", since + timedelta(seconds=1)) == ([], None)


def test_metadata_cache(store: Store) -> None:
    """Cached metadata comes back by id, and only for cached ids."""
    cached = paper("1505.04597", kind="", submitted=datetime(2015, 5, 18, tzinfo=UTC))
    store.put_metadata([cached])
    assert store.get_metadata(["1505.04597", "0000.0000"]) == {"1505.04597": cached}


def test_digest_ledger(store: Store, clock: FakeClock) -> None:
    """A digest is pending once, then sent; sent versions are tracked per channel."""
    items = [("2411.00001", 1), ("2411.00002", 2)]
    assert store.add_pending_digest("week:2024-11-25:email", "week", DAY, DAY, "email", items)
    assert not store.add_pending_digest("week:2024-11-25:email", "week", DAY, DAY, "email", [])
    assert [d.key for d in store.pending_digests("email")] == ["week:2024-11-25:email"]
    assert store.pending_digests("slack") == []
    clock.advance(60)
    store.mark_sent("week:2024-11-25:email", "Message-ID <x@y>")
    record = store.get_digest("week:2024-11-25:email")
    assert record is not None
    assert (record.status, record.detail, record.items) == ("sent", "Message-ID <x@y>", tuple(items))
    assert record.sent_at == clock.now()
    assert store.pending_digests() == []
    assert store.sent_versions("email") == {"2411.00001": 1, "2411.00002": 2}
    assert store.sent_versions("slack") == {}


def test_sent_versions_take_the_highest(store: Store) -> None:
    """A paper sent at v1 and later at v3 on one channel reports v3."""
    store.add_pending_digest("d1", "week", date(2024, 11, 18), date(2024, 11, 24), "slack", [("p", 1)])
    store.add_pending_digest("d2", "week", DAY, DAY, "slack", [("p", 3)])
    store.mark_sent("d2", "ts")
    store.mark_sent("d1", "ts")
    assert store.sent_versions("slack") == {"p": 3}


def test_last_digests_one_per_channel(store: Store) -> None:
    """last_digests gives the latest digest of each channel."""
    store.add_pending_digest("e-old", "week", date(2024, 11, 18), date(2024, 11, 24), "email", [])
    store.add_pending_digest("e-new", "week", date(2024, 11, 25), date(2024, 12, 1), "email", [])
    store.add_pending_digest("s-one", "day", DAY, DAY, "slack", [])
    assert [d.key for d in store.last_digests()] == ["e-new", "s-one"]


def test_mark_sent_unknown_key(store: Store) -> None:
    """Marking an unknown digest sent is an error, not a silent no-op."""
    with pytest.raises(StoreError):
        store.mark_sent("nope", "")


def test_heartbeats_and_values(store: Store, clock: FakeClock) -> None:
    """Heartbeats keep the last run per job; values are plain key/value."""
    store.beat("poll", True, "407 papers")
    clock.advance(10)
    store.beat("poll", False, "arXiv down")
    assert store.heartbeats() == {"poll": (clock.now(), False, "arXiv down")}
    assert store.get_value("k") is None
    store.set_value("k", "v")
    assert store.get_value("k") == "v"


def test_lock_is_exclusive_and_names_the_pid(store: Store, tmp_path: Path) -> None:
    """A second holder of the lock gets AlreadyRunning with the first holder's pid."""
    with store.lock(), Store(store.path) as other:
        with pytest.raises(AlreadyRunning) as caught, other.lock():
            pass
        assert f"(pid {__import__('os').getpid()})" in str(caught.value)
        assert str(store.path) in str(caught.value)
    with Store(store.path) as other, other.lock():  # released: can be taken again
        pass


def test_lock_across_processes(store: Store) -> None:
    """Another process cannot take the lock while we hold it."""
    code = (
        "import sys; from pathlib import Path; from arxivwatch.store import Store\n"
        "from arxivwatch.errors import AlreadyRunning\n"
        "try:\n    Store(Path(sys.argv[1])).lock().__enter__()\n"
        "except AlreadyRunning as e:\n    print(e); sys.exit(3)\n"
    )
    with store.lock():
        done = subprocess.run(
            [sys.executable, "-c", code, str(store.path)], capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 3
    assert "already running" in done.stdout


def test_pending_candidates_query_uses_the_arrival_and_offers_indexes(store: Store) -> None:
    """EXPLAIN QUERY PLAN: candidates are a range of papers_by_arrival, each looked up in offers' key."""
    from arxivwatch.store.offers import CANDIDATES_SQL

    store.upsert_papers([paper("2411.00001"), paper("2411.00002")], announced=DAY)
    with sqlite3.connect(store.path) as raw:
        plan = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + CANDIDATES_SQL, ("2024", "email"))]
    assert plan[0] == "SEARCH p USING INDEX papers_by_arrival (first_seen>?)"
    assert any("USING COVERING INDEX sqlite_autoindex_offers_1 (channel=? AND paper_id=?)" in p for p in plan)
    assert not any(p.startswith("SCAN") or "TEMP B-TREE" in p for p in plan)


def _schema_1(path: Path) -> None:
    """A database as schema 1 left it: three papers, a sent email digest, a half-sent Slack one."""
    with sqlite3.connect(path) as raw:
        for statement in MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 1")
        seen = "2024-11-29T05:30:00+00:00"
        for pid, announced in (
            ("2411.00003", "2024-11-29"),
            ("2411.00001", "2024-11-25"),
            ("2411.00002", "2024-11-28"),
        ):
            raw.execute(
                "INSERT INTO papers VALUES (?, 1, 't', 'a', '[]', '[\"cs.CV\"]', 'cs.CV', NULL, NULL, ?,"
                " 'new', '', '', '', '', '', ?, ?)",
                (pid, announced, seen, seen),
            )
        raw.execute(
            "INSERT INTO digests VALUES ('week:2024-11-22:email', 'week', '2024-11-22', '2024-11-28',"
            " 'email', 'sent', '[[\"2411.00001\", 1]]', ?, ?, 'mid')",
            (seen, seen),
        )
        raw.execute("INSERT INTO deliveries VALUES ('week:2024-11-22:email', 'email', '2411.00001', 1)")
        raw.execute(
            "INSERT INTO digests VALUES ('day:2024-11-29:slack', 'day', '2024-11-29', '2024-11-29', 'slack',"
            " 'pending', '[[\"2411.00003\", 1]]', ?, NULL, '')",
            (seen,),
        )
        raw.execute("INSERT INTO kv VALUES ('slack-progress:day:2024-11-29:slack', '1')")


def test_a_schema_1_store_upgrades_to_the_delivery_model(tmp_path: Path) -> None:
    """Migration 2 keeps arrival order, counts old digests' periods as offered, and keeps Slack progress."""
    path = tmp_path / "old.db"
    _schema_1(path)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    with Store(path, clock=FakeClock()) as store:
        assert store.schema_version == len(MIGRATIONS) >= 2
        assert store.offered_versions("email") == {"2411.00001": 1, "2411.00002": 1}
        assert [p.id for p in store.candidates("email", epoch)] == ["2411.00003"]
        assert [p.id for p in store.candidates("slack", epoch)] == ["2411.00001", "2411.00002"]
        (pending,) = store.pending_digests("slack")
        assert (pending.progress, pending.offered, pending.message) == (1, 1, None)
        store.upsert_papers([paper("2411.00004")], announced=DAY)
    with sqlite3.connect(path) as raw:
        seqs = dict(raw.execute("SELECT id, seq FROM papers"))
    assert seqs == {"2411.00003": 1, "2411.00001": 2, "2411.00002": 3, "2411.00004": 4}
