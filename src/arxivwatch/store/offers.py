"""What each channel was offered: the papers a channel's next digest is made of.

A paper is *offered* on a channel once a digest that offered it was sent there; a digest
*claims* its papers when it is recorded (pending), so no other digest takes them, and the
claim becomes an offer in the transaction that marks the digest sent. A channel's
candidates are the stored papers of the new announce types (new, cross-list, export API)
that arrived (first stored) since a horizon and that no digest of the channel offered or
claimed, in arrival order; with `flag_updated`, also the papers whose stored version is
higher than the version offered.

A digest reads its candidates twice over (jobs.digest): first lightly (`ranking_candidates`:
the (id, version) of each, and what ranking reads of those a score can qualify), then the
whole rows of the few papers it shows (`get_papers`), both inside one `snapshot()` so they
agree.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from arxivwatch.models import Paper
from arxivwatch.store._db import Database
from arxivwatch.store.papers import NEW_TYPES, light_paper, row_paper

_NEW = ", ".join(f"'{kind}'" for kind in NEW_TYPES)  # constants of ours, not user input


def _candidates_sql(columns: str, where: str = "") -> str:
    return (
        f"SELECT {columns} FROM papers p WHERE p.first_seen >= ? AND p.announce_type IN ({_NEW})"
        f" AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.channel = ? AND o.paper_id = p.id){where}"
        " ORDER BY p.first_seen, p.seq"
    )


def _updated_sql(columns: str, where: str = "") -> str:
    # Driven by the papers stored again since the horizon (an index range), each looked up in
    # the channel's offers: never the channel's whole offer history (one row per paper ever
    # offered). Few rows: sorted in arrival order by the caller, not by a temporary B-tree.
    return (
        f"SELECT * FROM (SELECT {columns}, (SELECT MAX(o.version) FROM offers o WHERE o.channel = ?"
        f" AND o.paper_id = p.id) AS offered FROM papers p WHERE p.last_seen >= ?{where})"
        " WHERE version > offered"
    )


CANDIDATES_SQL = _candidates_sql("p.*")
UPDATED_SQL = _updated_sql("p.*")
# The ranking read: what ranking reads of a paper (light_paper, by position: id, version,
# categories, announced), its place in arrival order, and whether a score of the model counts
# (parameters: model id, lowest threshold); of the papers the model scored (parameter: its id).
# Each an index search per candidate: the scores' (model_id, paper_id).
_RANKING = (
    "p.id, p.version, p.categories, p.announced, p.first_seen, p.seq, EXISTS (SELECT 1 FROM scores s"
    " WHERE s.model_id = ? AND s.paper_id = p.id AND s.value >= ?) AS counts"
)
_SCORED = " AND EXISTS (SELECT 1 FROM scores s WHERE s.model_id = ? AND s.paper_id = p.id)"
_RANKING_SQL = _candidates_sql(_RANKING, _SCORED)
_RANKING_UPDATED_SQL = _updated_sql(_RANKING, _SCORED)


@dataclass(frozen=True)
class Ranking:
    """A digest's light read of a channel's candidates (OfferTables.ranking_candidates)."""

    offered: list[tuple[str, int]]  # (id, version) of every scored candidate, in arrival order
    papers: list[Paper]  # light papers of those with a score that counts, in the same order
    offered_before: dict[str, int]  # id -> the version offered before, for the updated ones


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

    def ranking_candidates(
        self, channel: str, since: datetime, model_id: str, at_least: float, *, updated: bool = False
    ) -> Ranking:
        """A digest's light read of `channel`'s candidates (those of `candidates`, and with
        `updated` those of `updated_candidates` after them) that the model `model_id` scored:
        the (id, version) of each, and as light papers (see light_paper) those among them
        with a score of at least `at_least`, the only ones ranking can show."""
        params = (model_id, at_least)
        rows = self._rows(_RANKING_SQL, (*params, since.isoformat(), channel, model_id))
        again: list[sqlite3.Row] = []
        if updated:
            again = self._rows(_RANKING_UPDATED_SQL, (*params, channel, since.isoformat(), model_id))
            again.sort(key=_arrival)
        decoded: dict[str, tuple[str, ...]] = {}
        return Ranking(
            offered=[(str(r[0]), int(r[1])) for r in (*rows, *again)],
            papers=[light_paper(r, decoded) for r in (*rows, *again) if r["counts"]],
            offered_before={str(r[0]): int(r["offered"]) for r in again},
        )

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

    def waiting(self, channel: str, since: datetime, *, updated: bool = False) -> int:
        """How many papers wait for `channel`: not yet offered or claimed (stored since `since`),
        with `updated` (flag_updated) those stored again since with a version higher than the
        one offered, plus those claimed by its pending digests."""
        fresh = self._one(f"SELECT COUNT(*) FROM ({CANDIDATES_SQL})", (since.isoformat(), channel))[0]
        if updated:
            again = self._one(f"SELECT COUNT(*) FROM ({UPDATED_SQL})", (channel, since.isoformat()))[0]
            fresh = int(fresh) + int(again)
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
