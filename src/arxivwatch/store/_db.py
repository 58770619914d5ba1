"""The connection: opening, the schema and its migrations, transactions, the daemon's and senders' locks.

Every SQLite failure (locked past the busy timeout, a damaged file, a full disk, a
read-only file) leaves here as one StoreError naming the file and what to do; the
transaction it happened in is rolled back first, and a failing ROLLBACK (SQLite may
already have rolled back itself) never hides the real cause. A newer schema, or a folder
where the database file belongs, is a StoreMisplaced (exit 2: restarting cannot help).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from arxivwatch.clock import Clock, SystemClock
from arxivwatch.errors import AlreadyRunning, ArxivwatchError, StoreError, StoreMisplaced
from arxivwatch.paths import file_in_the_way, not_a_folder

BUSY_TIMEOUT = 10.0  # seconds to wait for another writer before giving up

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
    (
        # 2: delivery by what each channel was offered. `seq` is the arrival order (rowid
        # order before, as the rows were inserted); `offers` holds every paper a digest
        # offered on its channel, claimed when the digest is recorded and offered once the
        # digest is sent; a digest keeps its frozen content (message, entries) and its
        # progress (Slack messages accepted) and refused recipients.
        "ALTER TABLE papers ADD COLUMN seq INTEGER",
        "UPDATE papers SET seq = rowid",
        "CREATE INDEX papers_by_arrival ON papers (first_seen, seq)",
        "ALTER TABLE digests ADD COLUMN entries TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE digests ADD COLUMN message TEXT",
        "ALTER TABLE digests ADD COLUMN progress INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE digests ADD COLUMN refused TEXT NOT NULL DEFAULT ''",
        """CREATE TABLE offers (channel TEXT NOT NULL, paper_id TEXT NOT NULL,
        version INTEGER NOT NULL, digest_key TEXT NOT NULL REFERENCES digests (key),
        PRIMARY KEY (channel, paper_id, version))""",
        "CREATE INDEX offers_by_digest ON offers (digest_key)",
        # Schema 1 chose by announcement date: what a recorded digest's period held when it
        # was recorded counts as offered by it (sent) or claimed by it (pending), and so do
        # the items it carried. A paper of its period stored after it (late) was never looked
        # at: it stays a candidate, for the next digest.
        """INSERT OR IGNORE INTO offers SELECT d.channel, p.id, p.version, d.key
        FROM digests d JOIN papers p ON p.announced BETWEEN d.start AND d."end"
        AND p.announce_type IN ('new', 'cross', '')
        AND julianday(p.first_seen) <= julianday(d.created_at)""",
        """INSERT OR IGNORE INTO offers SELECT d.channel, json_extract(j.value, '$[0]'),
        json_extract(j.value, '$[1]'), d.key FROM digests d, json_each(d.items) j""",
        # schema 1 kept a pending Slack digest's progress in kv
        """UPDATE digests SET progress = (SELECT CAST(value AS INTEGER) FROM kv
        WHERE kv.key = 'slack-progress:' || digests.key) WHERE status = 'pending'
        AND EXISTS (SELECT 1 FROM kv WHERE kv.key = 'slack-progress:' || digests.key)""",
    ),
    # 3: years of history: every recurring query an index range, not a scan (tests/test_history.py).
    (
        # (announced, id): the newest N for training and a period's papers in index order, no
        # sort; (last_seen, id): the horizon's unscored papers and retention's oldest.
        "DROP INDEX IF EXISTS papers_by_announced",
        "CREATE INDEX IF NOT EXISTS papers_by_announced_id ON papers (announced, id)",
        "CREATE INDEX IF NOT EXISTS papers_by_last_seen ON papers (last_seen, id)",
        "CREATE INDEX IF NOT EXISTS offers_by_paper ON offers (paper_id)",
        # a channel's sent versions without reading the table
        "DROP INDEX IF EXISTS deliveries_by_channel",
        "CREATE INDEX IF NOT EXISTS deliveries_by_channel_version ON deliveries (channel, paper_id, version)",
        "CREATE INDEX IF NOT EXISTS digests_by_status ON digests (status, start, created_at)",
        "CREATE INDEX IF NOT EXISTS digests_by_channel ON digests (channel, start, created_at)",
    ),
)


def schema_of(path: Path) -> int | None:
    """The schema version (PRAGMA user_version) of the existing database file at `path`, read
    without creating, migrating or writing anything (0 for an empty file); None when SQLite
    cannot read it (opening it as a Store then says why, in its one line)."""
    try:
        uri = f"{Path(path).resolve().as_uri()}?mode=rw"  # rw: never creates the file
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)) as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])
    except (sqlite3.Error, OSError, ValueError):
        return None


class Database:
    """The open database at `path`, migrated to the latest schema; the base of Store's table groups."""

    def __init__(self, path: Path, *, clock: Clock | None = None, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.clock: Clock = clock or SystemClock()
        self.busy_timeout = busy_timeout
        self._mutex = threading.RLock()
        if self.path.is_dir():
            raise StoreMisplaced(
                f"the database path {self.path} is a folder",
                hint="move the folder away, or set [storage] path to a file",
            )
        blocker = file_in_the_way(self.path, folder=False)
        if blocker is not None:
            raise StoreMisplaced(
                not_a_folder("the database path", self.path, blocker),
                hint=f"move or rename the file {blocker}, or set [storage] path to a path in a folder",
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder of the database {self.path}: {exc.strerror}",
                hint="check [storage] path in your configuration",
            ) from exc
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc
        try:
            with self._guard():
                self._db.row_factory = sqlite3.Row
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("PRAGMA foreign_keys=ON")
                self._migrate()
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> Self:
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
            raise StoreMisplaced(
                f"the database {self.path} has schema {current}, newer than this arxivwatch knows "
                f"({len(MIGRATIONS)})",
                hint="upgrade arxivwatch, or point [storage] path at another file",
            )
        for version in range(current, len(MIGRATIONS)):
            with self._tx() as db:
                for statement in MIGRATIONS[version]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        with self._mutex, self._guard():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # keep the real cause, not ROLLBACK's
                        self._db.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._mutex, self._guard():
            return list(self._db.execute(sql, params))

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn a SQLite failure inside the block into one StoreError naming the file.

        Constraint and API misuse errors are bugs of ours, not the storage's: they stay as raised.
        """
        try:
            yield
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: sqlite3.Error) -> StoreError:
        """The one line for a SQLite failure: the file, SQLite's words, and what to do."""
        text = str(exc)
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered:
            hint = (
                f"another process kept it busy for more than {self.busy_timeout:g} s; "
                "try again when it has finished"
            )
        elif "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
            hint = "the file is damaged: restore it from a backup, or move it away to start a new store"
        elif "full" in lowered:
            hint = "free space on its disk and run the command again; nothing was half-written"
        elif "readonly" in lowered or "read-only" in lowered:
            hint = "make the file, its -wal and -shm files and its folder writable for this user"
        else:
            hint = "check [storage] path in your configuration"
        return StoreError(f"the database {self.path} failed: {text}", hint=hint)

    def _one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row:
        rows = self._rows(sql, params)
        return rows[0]

    def _now(self) -> str:
        return self.clock.now().isoformat()

    # the daemon's lock and the senders' lock

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on `<db>.lock` (with our pid in it) for as long as the block runs;
        AlreadyRunning (exit 2) naming the holder's pid when another process has it."""

        def busy(holder: str) -> ArxivwatchError:
            return AlreadyRunning(
                f"arxivwatch is already running on {self.path} (pid {holder})",
                hint="stop the other process first, or use another [storage] path",
            )

        with self._flock(".lock", 0.0, busy):
            yield

    @contextlib.contextmanager
    def sending(self, wait: float) -> Iterator[None]:
        """Hold an exclusive lock on `<db>.send.lock` while digests are recorded and sent, so two
        processes (two `digest` runs, or one and the daemon) never send the same digest twice.

        Waits up to `wait` seconds (real time: the holder is another process) for a holder to
        finish, then raises StoreError naming its pid. The store's clock is asked between
        tries (`sleep(0)`), so the daemon's stop request ends the wait (Interrupted) at once.
        """

        def busy(holder: str) -> ArxivwatchError:
            return StoreError(  # exit 1: transient, unlike AlreadyRunning's 2
                f"another arxivwatch (pid {holder}) has been sending digests on {self.path}"
                f" for over {wait:g} s",
                hint="let it finish (its digests are not sent twice), then run digest again",
            )

        with self._flock(".send.lock", wait, busy):
            yield

    @contextlib.contextmanager
    def _flock(self, suffix: str, wait: float, busy: Callable[[str], ArxivwatchError]) -> Iterator[None]:
        """Hold an exclusive flock on `<db><suffix>` with our pid in it, trying for up to `wait`
        seconds (0: once); past that, raise busy(holder's pid). The file is closed and the lock
        released whatever happens."""
        lock_path = self.path.with_name(self.path.name + suffix)
        fd = _open_lock_file(lock_path)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                        raise busy(holder) from None
                    time.sleep(0.1)
                    self.clock.sleep(0)  # a stoppable clock raises here once a stop was asked for
            try:
                _write_pid(fd, lock_path)
                yield
            finally:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _open_lock_file(lock_path: Path) -> int:
    """A lock file beside the database, opened (created) for reading and writing; StoreError
    naming it when that fails (a read-only folder, a folder in its place)."""
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"cannot open the lock file {lock_path}: {exc.strerror}",
            hint="make the folder of [storage] path writable (and remove anything else by that name)",
        ) from exc


def _write_pid(fd: int, lock_path: Path) -> None:
    """Our pid into a held lock file, for the next process's message; StoreError when the
    disk refuses it."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:
        raise StoreError(
            f"cannot write to the lock file {lock_path}: {exc.strerror}",
            hint="free space on its disk, or make it writable",
        ) from exc
