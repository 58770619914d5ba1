"""What each channel was offered: the papers a channel's next digest is made of.

A paper is *offered* on a channel once a digest that offered it was sent there; a digest
*claims* its papers when it is recorded (pending), so no other digest takes them, and the
claim becomes an offer in the transaction that marks the digest sent. A channel's
candidates are the stored papers of the new announce types (new, cross-list, export API)
that arrived (first stored) since a horizon and that no digest of the channel offered or
claimed, in arrival order; with `flag_updated`, also the papers whose stored version is
higher than the version offered.

A digest reads its candidates twice over (jobs.digest): first lightly, only what ranking
reads (`light=True`: id, version, categories, announcement date), then the whole rows of
the few papers it shows (`get_papers`), both inside one `snapshot()` so they agree.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import datetime

from arxivwatch.models import Paper
from arxivwatch.store._db import Database
from arxivwatch.store.papers import NEW_TYPES, light_paper, row_paper

_NEW = ", ".join(f"'{kind}'" for kind in NEW_TYPES)  # constants of ours, not user input
# What ranking reads of a paper (light_paper), and its place in arrival order (_arrival).
LIGHT_COLUMNS = "p.id, p.version, p.categories, p.announced, p.first_seen, p.seq"


def _candidates_sql(columns: str) -> str:
    return (
        f"SELECT {columns} FROM papers p WHERE p.first_seen >= ? AND p.announce_type IN ({_NEW})"
        " AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.channel = ? AND o.paper_id = p.id)"
        " ORDER BY p.first_seen, p.seq"
    )


def _updated_sql(columns: str) -> str:
    # Driven by the papers stored again since the horizon (an index range), each looked up in
    # the channel's offers: never the channel's whole offer history (one row per paper ever
    # offered). Few rows: sorted in arrival order by the caller, not by a temporary B-tree.
    return (
        f"SELECT * FROM (SELECT {columns}, (SELECT MAX(o.version) FROM offers o WHERE o.channel = ?"
        " AND o.paper_id = p.id) AS offered FROM papers p WHERE p.last_seen >= ?)"
        " WHERE version > offered"
    )


CANDIDATES_SQL = _candidates_sql("p.*")
UPDATED_SQL = _updated_sql("p.*")
LIGHT_CANDIDATES_SQL = _candidates_sql(LIGHT_COLUMNS)
LIGHT_UPDATED_SQL = _updated_sql(LIGHT_COLUMNS)


class OfferTables(Database):
    """Store's methods for the per-channel record of what was offered."""

    def candidates(self, channel: str, since: datetime, *, light: bool = False) -> list[Paper]:
        """Papers stored at or after `since` that no digest of `channel` offered or claimed,
        in arrival order (first stored, then the store's sequence). `light`: only what ranking
        reads (see light_paper), for a digest that shows a few of thousands."""
        rows = self._rows(LIGHT_CANDIDATES_SQL if light else CANDIDATES_SQL, (since.isoformat(), channel))
        return _papers(rows, light)

    def updated_candidates(
        self, channel: str, since: datetime, *, light: bool = False
    ) -> dict[str, tuple[Paper, int]]:
        """paper id -> (the stored paper, the highest version offered on `channel`), for papers
        stored again at or after `since` with a version higher than the one offered, in arrival
        order (first stored, then the store's sequence). `light` as for candidates."""
        sql = LIGHT_UPDATED_SQL if light else UPDATED_SQL
        rows = sorted(self._rows(sql, (channel, since.isoformat())), key=_arrival)
        papers = _papers(rows, light)
        return {paper.id: (paper, int(row["offered"])) for paper, row in zip(papers, rows, strict=True)}

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction for the block: every read in it sees the database as it was at
        the first (a poll or a retrain committing meanwhile is seen after the block). For reads
        only (a write inside raises); the store's other threads wait for the block to end."""
        with self._mutex, self._guard():
            self._db.execute("BEGIN DEFERRED")
            try:
                yield
            finally:
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # a read-only transaction: nothing to lose
                        self._db.execute("COMMIT")

    def waiting(self, channel: str, since: datetime) -> int:
        """How many papers wait for `channel`: not yet offered or claimed (stored since `since`),
        plus those claimed by its pending digests."""
        fresh = self._one(f"SELECT COUNT(*) FROM ({CANDIDATES_SQL})", (since.isoformat(), channel))[0]
        claimed = self._one(
            "SELECT COUNT(*) FROM offers o JOIN digests d ON d.key = o.digest_key"
            " WHERE o.channel = ? AND d.status = 'pending'",
            (channel,),
        )[0]
        return int(fresh) + int(claimed)

    def offered_versions(self, channel: str) -> dict[str, int]:
        """paper id -> highest version offered (by a sent digest) on `channel`."""
        rows = self._rows(
            "SELECT o.paper_id, MAX(o.version) FROM offers o JOIN digests d ON d.key = o.digest_key"
            " WHERE o.channel = ? AND d.status = 'sent' GROUP BY o.paper_id",
            (channel,),
        )
        return {str(r[0]): int(r[1]) for r in rows}


def _papers(rows: list[sqlite3.Row], light: bool) -> list[Paper]:
    """Rows as Papers: whole (row_paper), or light ones with categories decoded once per
    distinct value (a few dozen among thousands of candidates)."""
    if not light:
        return [row_paper(row) for row in rows]
    decoded: dict[str, tuple[str, ...]] = {}
    return [light_paper(row, decoded) for row in rows]


def _arrival(row: sqlite3.Row) -> tuple[str, int]:
    """A paper row's place in arrival order: first stored, then the store's sequence."""
    return str(row["first_seen"]), int(row["seq"] or 0)
