"""The store: the only module that touches the database (SQLite, WAL mode).

What it keeps: papers (one row per arXiv id, the latest version, plus a version
history), scores per model, an arXiv metadata cache for training, poll runs, the
feed's conditional-GET state, the digest ledger (pending, then sent, with the paper
versions delivered per channel), job heartbeats and a small key/value table.

Every write is one transaction (BEGIN IMMEDIATE ... COMMIT), so a crash never leaves
half a poll. The schema is versioned with PRAGMA user_version; MIGRATIONS[n] brings a
database from version n to n+1. `lock()` is an exclusive flock on `<db>.lock` for the
daemon, so two of them never share a database.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from arxivwatch.clock import Clock, SystemClock
from arxivwatch.errors import AlreadyRunning, StoreError
from arxivwatch.models import Paper, Score

# Announce types that make a paper "new" for recommendation; "" is the export API's (unknown).
NEW_TYPES = ("new", "cross", "")
_PAPER_COLUMNS = tuple(f.name for f in fields(Paper))
_TUPLE_FIELDS = frozenset({"authors", "categories"})
_DATETIME_FIELDS = frozenset({"submitted", "updated"})
_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE papers (id TEXT PRIMARY KEY, version INTEGER NOT NULL, title TEXT NOT NULL,
        abstract TEXT NOT NULL, authors TEXT NOT NULL, categories TEXT NOT NULL,
        primary_category TEXT NOT NULL, submitted TEXT, updated TEXT, announced TEXT,
        announce_type TEXT NOT NULL, abs_url TEXT NOT NULL, pdf_url TEXT NOT NULL,
        comment TEXT NOT NULL, journal_ref TEXT NOT NULL, doi TEXT NOT NULL,
        first_seen TEXT NOT NULL, last_seen TEXT NOT NULL)""",
        "CREATE INDEX papers_by_announced ON papers (announced, announce_type)",
        """CREATE TABLE paper_versions (id TEXT NOT NULL, version INTEGER NOT NULL,
        announced TEXT, announce_type TEXT NOT NULL, seen_at TEXT NOT NULL,
        PRIMARY KEY (id, version))""",
        """CREATE TABLE scores (paper_id TEXT NOT NULL, model_id TEXT NOT NULL,
        profile TEXT NOT NULL, value REAL NOT NULL, reasons TEXT NOT NULL, scored_at TEXT NOT NULL,
        PRIMARY KEY (paper_id, model_id, profile))""",
        "CREATE INDEX scores_by_model ON scores (model_id, paper_id)",
        "CREATE TABLE metadata (id TEXT PRIMARY KEY, paper TEXT NOT NULL, fetched_at TEXT NOT NULL)",
        """CREATE TABLE polls (n INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
        source TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL, new INTEGER NOT NULL,
        updated INTEGER NOT NULL, requests INTEGER NOT NULL, announced TEXT)""",
        """CREATE TABLE feed_state (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,
        saved_at TEXT NOT NULL)""",
        """CREATE TABLE digests (key TEXT PRIMARY KEY, period TEXT NOT NULL, start TEXT NOT NULL,
        "end" TEXT NOT NULL, channel TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent')), items TEXT NOT NULL,
        created_at TEXT NOT NULL, sent_at TEXT, detail TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE deliveries (digest_key TEXT NOT NULL REFERENCES digests (key),
        channel TEXT NOT NULL, paper_id TEXT NOT NULL, version INTEGER NOT NULL,
        PRIMARY KEY (digest_key, paper_id))""",
        "CREATE INDEX deliveries_by_channel ON deliveries (channel, paper_id)",
        """CREATE TABLE heartbeats (job TEXT PRIMARY KEY, at TEXT NOT NULL, ok INTEGER NOT NULL,
        detail TEXT NOT NULL)""",
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
)


@dataclass(frozen=True)
class UpsertResult:
    """What storing a batch did: ids of new papers, ids updated (new versions), and the rest."""

    new: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: int = 0


@dataclass(frozen=True)
class PollRun:
    """One poll. source: "feed" | "api"; outcome: "announcement" | "no announcement" |
    "failed" | "not modified"."""

    at: datetime
    source: str
    outcome: str
    reason: str = ""
    new: int = 0
    updated: int = 0
    requests: int = 0
    announced: date | None = None


@dataclass(frozen=True)
class DigestRecord:
    """One row of the digest ledger; `items` are the (paper id, version) pairs it carries."""

    key: str
    period: str
    start: date
    end: date
    channel: str
    status: str
    items: tuple[tuple[str, int], ...]
    created_at: datetime
    sent_at: datetime | None = None
    detail: str = ""


class Store:
    """The database at `path`; use as a context manager. Safe to share between threads."""

    def __init__(self, path: Path, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.clock: Clock = clock or SystemClock()
        self._mutex = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the database {self.path}: {exc}",
                hint="check [storage] path in your configuration",
            ) from exc

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        with self._mutex:
            self._db.close()

    @property
    def schema_version(self) -> int:
        """The database's PRAGMA user_version."""
        return int(self._one("PRAGMA user_version")[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise StoreError(
                f"the database {self.path} has schema {current}, newer than this arxivwatch knows",
                hint="upgrade arxivwatch",
            )
        for version in range(current, len(MIGRATIONS)):
            with self._tx() as db:
                for statement in MIGRATIONS[version]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._mutex:
            return list(self._db.execute(sql, params))

    def _one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row:
        rows = self._rows(sql, params)
        return rows[0]

    def _now(self) -> str:
        return self.clock.now().isoformat()

    # papers

    def upsert_papers(self, papers: Iterable[Paper], *, announced: date | None) -> UpsertResult:
        """Store papers; `announced` fills in for papers that carry no announcement date."""
        with self._tx() as db:
            return self._upsert(db, papers, announced)

    def _upsert(
        self, db: sqlite3.Connection, papers: Iterable[Paper], announced: date | None
    ) -> UpsertResult:
        new: list[str] = []
        updated: list[str] = []
        unchanged = 0
        now = self._now()
        for paper in papers:
            stored = db.execute("SELECT version FROM papers WHERE id = ?", (paper.id,)).fetchone()
            if stored is not None and paper.version <= stored["version"]:
                unchanged += 1
                continue
            row = _paper_row(replace(paper, announced=_announced(paper, announced)))
            db.execute(
                "INSERT OR IGNORE INTO paper_versions VALUES (?, ?, ?, ?, ?)",
                (paper.id, paper.version, row["announced"], paper.announce_type, now),
            )
            if stored is None:
                _insert(db, "papers", {**row, "first_seen": now, "last_seen": now})
                (new if paper.announce_type in NEW_TYPES else updated).append(paper.id)
            else:
                # A new version: the content changes, the first announcement stays.
                keep = {"id", "announced", "announce_type", "submitted"}
                changes = {k: v for k, v in row.items() if k not in keep} | {"last_seen": now}
                sets = ", ".join(f"{k} = ?" for k in changes)
                db.execute(f"UPDATE papers SET {sets} WHERE id = ?", (*changes.values(), paper.id))
                updated.append(paper.id)
        return UpsertResult(tuple(new), tuple(updated), unchanged)

    def count_papers(self) -> int:
        """How many papers are stored."""
        return int(self._one("SELECT COUNT(*) FROM papers")[0])

    def get_paper(self, paper_id: str) -> Paper | None:
        """One stored paper by id (no version), or None."""
        rows = self._rows("SELECT * FROM papers WHERE id = ?", (paper_id,))
        return _row_paper(rows[0]) if rows else None

    def papers_announced_between(self, start: date, end: date) -> list[Paper]:
        """New and cross-listed papers announced in [start, end], oldest first."""
        marks = ", ".join("?" for _ in NEW_TYPES)
        rows = self._rows(
            f"SELECT * FROM papers WHERE announced BETWEEN ? AND ? AND announce_type IN ({marks})"
            " ORDER BY announced, id",
            (start.isoformat(), end.isoformat(), *NEW_TYPES),
        )
        return [_row_paper(row) for row in rows]

    def recent_papers(self, limit: int) -> list[Paper]:
        """The `limit` most recently announced papers (any type), newest first."""
        rows = self._rows(
            "SELECT * FROM papers ORDER BY COALESCE(announced, '') DESC, id DESC LIMIT ?", (limit,)
        )
        return [_row_paper(row) for row in rows]

    def paper_versions(self, paper_id: str) -> list[tuple[int, date | None, str]]:
        """The version history of one paper: (version, announced, announce type), oldest first."""
        rows = self._rows(
            "SELECT version, announced, announce_type FROM paper_versions WHERE id = ? ORDER BY version",
            (paper_id,),
        )
        return [(int(r[0]), _date(r[1]), str(r[2])) for r in rows]

    # scores

    def save_scores(self, model_id: str, scores: Iterable[Score]) -> None:
        """Store scores for one model, replacing earlier ones for the same paper and profile."""
        now = self._now()
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (s.paper_id, model_id, s.profile, s.value, json.dumps(list(s.reasons)), now)
                    for s in scores
                ],
            )

    def scores_for(self, ids: Sequence[str], model_id: str) -> dict[str, dict[str, Score]]:
        """paper id -> profile -> Score, for the ids that have scores from this model."""
        found: dict[str, dict[str, Score]] = {}
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            rows = self._rows(
                "SELECT paper_id, profile, value, reasons FROM scores"
                f" WHERE model_id = ? AND paper_id IN ({marks})",
                (model_id, *chunk),
            )
            for r in rows:
                score = Score(r[0], r[1], float(r[2]), tuple(json.loads(r[3])))
                found.setdefault(score.paper_id, {})[score.profile] = score
        return found

    def unscored(self, model_id: str) -> list[Paper]:
        """Stored papers that have no score from this model."""
        rows = self._rows(
            "SELECT * FROM papers p WHERE NOT EXISTS"
            " (SELECT 1 FROM scores s WHERE s.paper_id = p.id AND s.model_id = ?) ORDER BY p.id",
            (model_id,),
        )
        return [_row_paper(row) for row in rows]

    # metadata cache

    def get_metadata(self, ids: Iterable[str]) -> dict[str, Paper]:
        """Cached arXiv metadata for these ids (those not cached are absent)."""
        found: dict[str, Paper] = {}
        for chunk in _chunks(list(ids)):
            marks = ", ".join("?" for _ in chunk)
            for r in self._rows(f"SELECT paper FROM metadata WHERE id IN ({marks})", chunk):
                paper = _row_paper(json.loads(r[0]))
                found[paper.id] = paper
        return found

    def put_metadata(self, papers: Iterable[Paper]) -> None:
        """Cache arXiv metadata by id, replacing what was there."""
        now = self._now()
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO metadata VALUES (?, ?, ?)",
                [(p.id, json.dumps(_paper_row(p)), now) for p in papers],
            )

    # polls and feed state

    def record_poll(self, run: PollRun) -> None:
        """Record one poll run (a failed one, typically; store_poll records successful ones)."""
        with self._tx() as db:
            _insert_poll(db, run)

    def store_poll(self, papers: Iterable[Paper], run: PollRun, announced: date | None) -> UpsertResult:
        """Store a poll's papers and its run in one transaction.

        The run is recorded with the counts of the result, and with `announced` when it has none.
        """
        with self._tx() as db:
            result = self._upsert(db, papers, announced)
            counted = replace(run, new=len(result.new), updated=len(result.updated))
            _insert_poll(db, replace(counted, announced=run.announced or announced))
            return result

    def last_poll(self) -> PollRun | None:
        """The latest poll run, whatever its outcome."""
        rows = self._rows("SELECT * FROM polls ORDER BY n DESC LIMIT 1")
        return _row_poll(rows[0]) if rows else None

    def last_successful_poll(self) -> PollRun | None:
        """The latest poll run that did not fail."""
        rows = self._rows("SELECT * FROM polls WHERE outcome != 'failed' ORDER BY n DESC LIMIT 1")
        return _row_poll(rows[0]) if rows else None

    def get_feed_state(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) saved for a feed URL, for the next conditional GET."""
        rows = self._rows("SELECT etag, last_modified FROM feed_state WHERE url = ?", (url,))
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def set_feed_state(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """Save the validators of the last feed answer."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO feed_state VALUES (?, ?, ?, ?)",
                (url, etag, last_modified, self._now()),
            )

    # digest ledger

    def add_pending_digest(
        self,
        key: str,
        period: str,
        start: date,
        end: date,
        channel: str,
        items: Sequence[tuple[str, int]],
    ) -> bool:
        """Record a digest as pending before sending it; False when the key exists already."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO digests VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, NULL, '')",
                (key, period, start.isoformat(), end.isoformat(), channel,
                 json.dumps([list(i) for i in items]), self._now()),
            )  # fmt: skip
            return cursor.rowcount == 1

    def get_digest(self, key: str) -> DigestRecord | None:
        """One ledger row by key."""
        rows = self._rows("SELECT * FROM digests WHERE key = ?", (key,))
        return _row_digest(rows[0]) if rows else None

    def mark_sent(self, key: str, detail: str) -> None:
        """Mark a pending digest sent (the channel accepted it) and record the versions delivered."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM digests WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise StoreError(f"no digest {key!r} in the ledger", hint="this is a bug")
            db.execute(
                "UPDATE digests SET status = 'sent', sent_at = ?, detail = ? WHERE key = ?",
                (self._now(), detail, key),
            )
            record = _row_digest(row)
            db.executemany(
                "INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?)",
                [(key, record.channel, pid, version) for pid, version in record.items],
            )

    def pending_digests(self, channel: str | None = None) -> list[DigestRecord]:
        """Digests recorded but not (yet) accepted by their channel, oldest first."""
        where, params = ("AND channel = ?", (channel,)) if channel else ("", ())
        rows = self._rows(
            f"SELECT * FROM digests WHERE status = 'pending' {where} ORDER BY start, created_at",
            params,
        )
        return [_row_digest(row) for row in rows]

    def sent_versions(self, channel: str) -> dict[str, int]:
        """paper id -> highest version sent on this channel."""
        rows = self._rows(
            "SELECT paper_id, MAX(version) FROM deliveries WHERE channel = ? GROUP BY paper_id",
            (channel,),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def last_digests(self) -> list[DigestRecord]:
        """The latest digest of each channel (by period start, then creation)."""
        rows = self._rows(
            "SELECT * FROM digests d WHERE key = (SELECT key FROM digests e WHERE"
            " e.channel = d.channel ORDER BY start DESC, created_at DESC LIMIT 1) ORDER BY channel"
        )
        return [_row_digest(row) for row in rows]

    # heartbeats, key/value

    def beat(self, job: str, ok: bool, detail: str) -> None:
        """Record that a job ran, how it went and a short detail."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO heartbeats VALUES (?, ?, ?, ?)",
                (job, self._now(), int(ok), detail),
            )

    def heartbeats(self) -> dict[str, tuple[datetime, bool, str]]:
        """job -> (when it last ran, ok, detail)."""
        rows = self._rows("SELECT job, at, ok, detail FROM heartbeats ORDER BY job")
        return {r[0]: (datetime.fromisoformat(r[1]), bool(r[2]), str(r[3])) for r in rows}

    def get_value(self, key: str) -> str | None:
        """A bookkeeping value, or None."""
        rows = self._rows("SELECT value FROM kv WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_value(self, key: str, value: str) -> None:
        """Set a bookkeeping value."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))

    # the daemon's lock

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on `<db>.lock` (with our pid in it) for as long as the block runs."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"arxivwatch is already running on {self.path} (pid {holder})",
                hint="stop the other process first, or use another [storage] path",
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _announced(paper: Paper, fallback: date | None) -> date | None:
    """The paper's own announcement date, else the poll's, else (export API) its submission day."""
    if paper.announced or fallback:
        return paper.announced or fallback
    return paper.submitted.date() if paper.submitted else None


def _paper_row(paper: Paper) -> dict[str, Any]:
    """A Paper as column values: tuples as JSON lists, dates as ISO strings."""
    row: dict[str, Any] = {}
    for name in _PAPER_COLUMNS:
        value = getattr(paper, name)
        if name in _TUPLE_FIELDS:
            value = json.dumps(list(value))
        elif isinstance(value, date):  # datetime is a date too
            value = value.isoformat()
        row[name] = value
    return row


def _row_paper(row: sqlite3.Row | dict[str, Any]) -> Paper:
    """The inverse of _paper_row; extra columns (first_seen, ...) are ignored."""
    values: dict[str, Any] = {}
    for name in _PAPER_COLUMNS:
        value = row[name]
        if name in _TUPLE_FIELDS:
            value = tuple(json.loads(value))
        elif name in _DATETIME_FIELDS:
            value = datetime.fromisoformat(value) if value else None
        elif name == "announced":
            value = _date(value)
        values[name] = value
    return Paper(**values)


def _insert(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))


def _insert_poll(db: sqlite3.Connection, run: PollRun) -> None:
    db.execute(
        "INSERT INTO polls (at, source, outcome, reason, new, updated, requests, announced)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (run.at.isoformat(), run.source, run.outcome, run.reason, run.new, run.updated,
         run.requests, run.announced.isoformat() if run.announced else None),
    )  # fmt: skip


def _row_poll(row: sqlite3.Row) -> PollRun:
    return PollRun(
        at=datetime.fromisoformat(row["at"]),
        source=row["source"],
        outcome=row["outcome"],
        reason=row["reason"],
        new=row["new"],
        updated=row["updated"],
        requests=row["requests"],
        announced=_date(row["announced"]),
    )


def _row_digest(row: sqlite3.Row) -> DigestRecord:
    return DigestRecord(
        key=row["key"],
        period=row["period"],
        start=date.fromisoformat(row["start"]),
        end=date.fromisoformat(row["end"]),
        channel=row["channel"],
        status=row["status"],
        items=tuple((str(i), int(v)) for i, v in json.loads(row["items"])),
        created_at=datetime.fromisoformat(row["created_at"]),
        sent_at=datetime.fromisoformat(row["sent_at"]) if row["sent_at"] else None,
        detail=row["detail"],
    )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
