"""The store: the only code that touches the database (SQLite, WAL mode).

What it keeps: papers (one row per arXiv id, the latest version, plus a version
history), scores of the current model only (older models' scores are deleted in the
transaction that makes a new one current), an arXiv metadata cache for training, poll runs, the
feed's conditional-GET state, the digest ledger (pending, then sent, each digest with
its frozen content and the papers it offered on its channel), job heartbeats and a
small key/value table.

Every write is one transaction (BEGIN IMMEDIATE ... COMMIT), so a crash never leaves
half a poll. The schema is versioned with PRAGMA user_version; MIGRATIONS[n] brings a
database from version n to n+1. `lock()` is an exclusive flock on `<db>.lock` for the
daemon, so two of them never share a database.

Layout: `_db` holds the connection, the schema and its migrations, transactions and
the daemon's lock; `papers` the tables a poll fills (papers, scores, metadata cache,
polls, feed state); `ledger` what the jobs record (digests, heartbeats, key/value);
`offers` what each channel was offered, and so what its next digest holds;
`retention` pruning old papers and VACUUM.
`Store` is those table groups in one class; no module outside this package imports
sqlite3.
"""

from __future__ import annotations

from arxivwatch.store._db import MIGRATIONS, schema_of
from arxivwatch.store.ledger import DigestRecord, LedgerTables
from arxivwatch.store.offers import OfferTables
from arxivwatch.store.papers import NEW_TYPES, PaperTables, PollRun, UpsertResult
from arxivwatch.store.retention import PruneResult, RetentionTables

__all__ = [
    "MIGRATIONS",
    "NEW_TYPES",
    "DigestRecord",
    "PollRun",
    "PruneResult",
    "Store",
    "UpsertResult",
    "schema_of",
]


class Store(PaperTables, LedgerTables, OfferTables, RetentionTables):
    """The database at `path`; use as a context manager. Safe to share between threads."""
