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
    """One row of the digest ledger.

    `items` are the (paper id, version) pairs it shows; `entries` the same items as recorded
    (JSON text: paper id, version, profile, score, reasons, late); `message` the frozen
    rendered Message (JSON text; None for a digest recorded by schema 1, before content was
    frozen); `offered` how many papers it offers (shown or not); `progress` how many of its
    Slack messages were accepted; `refused` the recipients a mail server refused.
    """

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
    entries: str = "[]"
    message: str | None = None
    progress: int = 0
    refused: tuple[str, ...] = ()
    offered: int = 0


_SELECT = "SELECT d.*, (SELECT COUNT(*) FROM offers o WHERE o.digest_key = d.key) AS offered FROM digests d"


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
        *,
        offered: Sequence[tuple[str, int]] | None = None,
        entries: str = "[]",
        message: str | None = None,
    ) -> bool:
        """Record a digest as pending before sending it, frozen: its shown `items`, its
        `entries` and rendered `message` (JSON text), and the papers it offers (`offered`,
        default the items), claimed for its channel in the same transaction.

        False (and nothing written) when the key exists already.
        """
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO digests (key, period, start, \"end\", channel, status, items,"
                " created_at, entries, message) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                (key, period, start.isoformat(), end.isoformat(), channel,
                 json.dumps([list(i) for i in items]), self._now(), entries, message),
            )  # fmt: skip
            if cursor.rowcount != 1:
                return False
            db.executemany(
                "INSERT OR IGNORE INTO offers VALUES (?, ?, ?, ?)",
                [(channel, pid, version, key) for pid, version in (items if offered is None else offered)],
            )
            return True

    def get_digest(self, key: str) -> DigestRecord | None:
        """One ledger row by key."""
        rows = self._rows(_SELECT + " WHERE d.key = ?", (key,))
        return _row_digest(rows[0]) if rows else None

    def freeze(self, key: str, entries: str, message: str, items: Sequence[tuple[str, int]]) -> None:
        """Store the content of a digest recorded without it (schema 1), before it is sent:
        its `entries` and `message` (JSON text) and the (paper id, version) `items` they show."""
        with self._tx() as db:
            db.execute(
                "UPDATE digests SET entries = ?, message = ?, items = ? WHERE key = ? AND message IS NULL",
                (entries, message, json.dumps([list(i) for i in items]), key),
            )

    def resplit(self, key: str, message: str) -> None:
        """Replace a pending digest's frozen `message` (JSON text) by the same content in more
        Slack messages (a refused message split further); its progress is left as it is."""
        with self._tx() as db:
            db.execute("UPDATE digests SET message = ? WHERE key = ? AND status = 'pending'", (message, key))

    def record_progress(self, key: str, progress: int, detail: str) -> None:
        """Commit that the first `progress` messages of a digest were accepted (Slack)."""
        with self._tx() as db:
            db.execute("UPDATE digests SET progress = ?, detail = ? WHERE key = ?", (progress, detail, key))

    def mark_sent(self, key: str, detail: str, refused: Sequence[str] = ()) -> None:
        """Mark a pending digest sent (the channel accepted it): its claimed papers become
        offered and its items delivered, in the same transaction. `refused` names the
        recipients the channel refused while accepting the rest."""
        with self._tx() as db:
            row = db.execute(_SELECT + " WHERE d.key = ?", (key,)).fetchone()
            if row is None:
                raise StoreError(f"no digest {key!r} in the ledger", hint="this is a bug")
            db.execute(
                "UPDATE digests SET status = 'sent', sent_at = ?, detail = ?, refused = ? WHERE key = ?",
                (self._now(), detail, ", ".join(refused), key),
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
            f"{_SELECT} WHERE status = 'pending' {where} ORDER BY start, created_at",
            params,
        )
        return [_row_digest(row) for row in rows]

    def pending_paper_ids(self) -> set[str]:
        """The ids of every paper a pending digest shows or claims (retention keeps them, and
        scoring scores them: a schema-1 digest is rendered from its items)."""
        claimed = self._rows(
            "SELECT o.paper_id FROM digests d JOIN offers o ON o.digest_key = d.key"
            " WHERE d.status = 'pending'"
        )
        shown = {paper_id for record in self.pending_digests() for paper_id, _version in record.items}
        return shown | {str(r[0]) for r in claimed}

    def sent_versions(self, channel: str) -> dict[str, int]:
        """paper id -> highest version sent on this channel."""
        rows = self._rows(
            "SELECT paper_id, MAX(version) FROM deliveries WHERE channel = ? GROUP BY paper_id",
            (channel,),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def last_sent(self, channel: str) -> DigestRecord | None:
        """The digest most recently accepted by `channel`, or None."""
        rows = self._rows(
            _SELECT + " WHERE d.channel = ? AND d.status = 'sent' ORDER BY d.sent_at DESC LIMIT 1",
            (channel,),
        )
        return _row_digest(rows[0]) if rows else None

    def latest_recorded(self, channel: str) -> DigestRecord | None:
        """The digest of `channel` recorded last (pending or sent), or None."""
        rows = self._rows(
            _SELECT + " WHERE d.channel = ? ORDER BY d.created_at DESC LIMIT 1",
            (channel,),
        )
        return _row_digest(rows[0]) if rows else None

    def last_digests(self) -> list[DigestRecord]:
        """The latest digest of each channel (by period start, then creation)."""
        rows = self._rows(
            _SELECT + " WHERE d.key = (SELECT key FROM digests e WHERE"
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
        entries=row["entries"],
        message=row["message"],
        progress=int(row["progress"]),
        refused=tuple(r for r in str(row["refused"]).split(", ") if r),
        offered=int(row["offered"]),
    )
