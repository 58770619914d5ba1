"""What each channel was offered: the papers a channel's next digest is made of.

A paper is *offered* on a channel once a digest that offered it was sent there; a digest
*claims* its papers when it is recorded (pending), so no other digest takes them, and the
claim becomes an offer in the transaction that marks the digest sent. A channel's
candidates are the stored papers of the new announce types (new, cross-list, export API)
that arrived (first stored) since a horizon and that no digest of the channel offered or
claimed, in arrival order; with `flag_updated`, also the papers whose stored version is
higher than the version offered.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from arxivwatch.models import Paper
from arxivwatch.store._db import Database
from arxivwatch.store.papers import NEW_TYPES, row_paper

_NEW = ", ".join(f"'{kind}'" for kind in NEW_TYPES)  # constants of ours, not user input
CANDIDATES_SQL = (
    "SELECT p.* FROM papers p WHERE p.first_seen >= ? AND p.announce_type IN (" + _NEW + ")"
    " AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.channel = ? AND o.paper_id = p.id)"
    " ORDER BY p.first_seen, p.seq"
)
# Driven by the papers stored again since the horizon (an index range), each looked up in
# the channel's offers: never the channel's whole offer history (one row per paper ever
# offered). Few rows: sorted in arrival order by the caller, not by a temporary B-tree.
UPDATED_SQL = (
    "SELECT * FROM (SELECT p.*, (SELECT MAX(o.version) FROM offers o WHERE o.channel = ?"
    " AND o.paper_id = p.id) AS offered FROM papers p WHERE p.last_seen >= ?)"
    " WHERE version > offered"
)


class OfferTables(Database):
    """Store's methods for the per-channel record of what was offered."""

    def candidates(self, channel: str, since: datetime) -> list[Paper]:
        """Papers stored at or after `since` that no digest of `channel` offered or claimed,
        in arrival order (first stored, then the store's sequence)."""
        rows = self._rows(CANDIDATES_SQL, (since.isoformat(), channel))
        return [row_paper(row) for row in rows]

    def updated_candidates(self, channel: str, since: datetime) -> dict[str, tuple[Paper, int]]:
        """paper id -> (the stored paper, the highest version offered on `channel`), for papers
        stored again at or after `since` with a version higher than the one offered, in arrival
        order (first stored, then the store's sequence)."""
        rows = sorted(self._rows(UPDATED_SQL, (channel, since.isoformat())), key=_arrival)
        return {row["id"]: (row_paper(row), int(row["offered"])) for row in rows}

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


def _arrival(row: sqlite3.Row) -> tuple[str, int]:
    """A paper row's place in arrival order: first stored, then the store's sequence."""
    return str(row["first_seen"]), int(row["seq"] or 0)
