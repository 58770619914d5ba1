"""What the jobs record: the digest ledger (pending, then sent, with deliveries), heartbeats, key/value."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from arxivwatch.errors import StoreError
from arxivwatch.store._db import Database


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


class LedgerTables(Database):
    """Store's methods for the digest ledger, job heartbeats and bookkeeping values."""

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
