"""Retention: deleting papers not seen for the configured age, old poll records, and compacting the file."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from arxivwatch.store._db import Database

PRUNE_BATCH = 2_000  # papers deleted per transaction: the daemon's other work never waits long


@dataclass(frozen=True)
class PruneResult:
    """What one prune did: papers deleted, papers old enough but kept for a pending digest."""

    deleted: int
    kept: int


class RetentionTables(Database):
    """Store's methods for pruning old papers and vacuuming the database."""

    def prune_papers(self, before: datetime, *, keep: Collection[str] = ()) -> PruneResult:
        """Delete the papers last stored or seen before `before` (a paper a poll sees again,
        a new version, is kept), with their version history and scores, except the ids in
        `keep`. The record of what each channel was offered stays, so a new version of a
        pruned paper is still flagged updated (flag_updated), never offered as new.

        Batches of PRUNE_BATCH papers, one transaction each, walked in (last_seen, id)
        order from the oldest: an index range, never a scan of the history. The digests
        themselves (frozen content), the offers and the metadata cache are kept.
        """
        deleted = kept = 0
        after: tuple[str, str] | None = None
        while True:
            start = "last_seen < ?" if after is None else "(last_seen, id) > (?, ?) AND last_seen < ?"
            params = (before.isoformat(),) if after is None else (*after, before.isoformat())
            rows = self._rows(
                f"SELECT last_seen, id FROM papers WHERE {start} ORDER BY last_seen, id LIMIT ?",
                (*params, PRUNE_BATCH),
            )
            if not rows:
                return PruneResult(deleted, kept)
            after = (str(rows[-1][0]), str(rows[-1][1]))
            ids = [str(r[1]) for r in rows if r[1] not in keep]
            kept += len(rows) - len(ids)
            deleted += self._delete_papers(ids, before)

    def _delete_papers(self, ids: Sequence[str], before: datetime) -> int:
        """Delete those of `ids` still not seen since `before`: a poll in another process
        may have stored a new version of one since the batch was read."""
        if not ids:
            return 0
        with self._tx() as db:
            marks = ", ".join("?" for _ in ids)
            rows = db.execute(
                f"SELECT id FROM papers WHERE id IN ({marks}) AND last_seen < ?", (*ids, before.isoformat())
            ).fetchall()
            ids = [str(r[0]) for r in rows]
            if not ids:
                return 0
            marks = ", ".join("?" for _ in ids)
            db.execute(f"DELETE FROM scores WHERE paper_id IN ({marks})", ids)
            db.execute(f"DELETE FROM paper_versions WHERE id IN ({marks})", ids)
            # Their offers stay (a few dozen bytes a paper and channel): a new version
            # announced later is still "updated" with flag_updated, never lost or new again.
            return int(db.execute(f"DELETE FROM papers WHERE id IN ({marks})", ids).rowcount)

    def prune_polls(self, before: datetime) -> int:
        """Delete the records of polls made before `before`, except the four that `status`,
        the health check and the catch-up window read: the newest poll, the newest that did
        not fail, the newest feed poll that did not fail, and the good feed poll with the latest
        announcement date (a feed answering "not modified" records none: without that poll a
        stuck feed's last announcement is lost and the stale-feed check is silent), the one that
        stored it when there is one (a feed rebuilt around a stored day records "no announcement"
        with its date: without the storing poll `has_announcement` forgets the day). Returns how
        many were deleted. A daemon records a few polls a day; without this the table grows for ever."""
        with self._tx() as db:
            return int(
                db.execute(
                    "DELETE FROM polls WHERE at < ? AND n NOT IN (SELECT MAX(n) FROM polls"
                    " UNION SELECT MAX(n) FROM polls WHERE outcome != 'failed'"
                    " UNION SELECT MAX(n) FROM polls WHERE source = 'feed' AND outcome != 'failed'"
                    " UNION SELECT n FROM (SELECT n FROM polls WHERE source = 'feed' AND outcome != 'failed'"
                    " AND announced IS NOT NULL"
                    " ORDER BY announced DESC, outcome = 'announcement' DESC, n DESC LIMIT 1))",
                    (before.isoformat(),),
                ).rowcount
            )

    def vacuum(self) -> None:
        """Rewrite the database file without its free pages (VACUUM); needs about its size free.
        Raises StoreError when another process keeps the database busy or the disk fills."""
        with self._mutex, self._guard():
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size_bytes(self) -> int:
        """The database's pages in use and free (page_count x page_size), in bytes."""
        return int(self._one("PRAGMA page_count")[0]) * int(self._one("PRAGMA page_size")[0])
