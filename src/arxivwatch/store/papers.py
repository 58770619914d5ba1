"""The tables a poll fills: papers and their versions, scores, the metadata cache, polls, feed state."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

from arxivwatch.models import Paper, Score
from arxivwatch.store._db import Database

# Announce types that make a paper "new" for recommendation; "" is the export API's (unknown).
NEW_TYPES = ("new", "cross", "")
_PAPER_COLUMNS = tuple(f.name for f in fields(Paper))
_TUPLE_FIELDS = frozenset({"authors", "categories"})
_DATETIME_FIELDS = frozenset({"submitted", "updated"})
_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit
CURRENT_MODEL_KEY = "scores:model"  # kv: the model whose scores are kept


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


class PaperTables(Database):
    """Store's methods for papers, scores, the metadata cache, poll runs and feed state."""

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
        seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM papers").fetchone()[0])
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
                seq += 1  # the arrival order, which delivery follows
                _insert(db, "papers", {**row, "first_seen": now, "last_seen": now, "seq": seq})
                (new if paper.announce_type in NEW_TYPES else updated).append(paper.id)
            else:
                # A new version: the content changes, the first announcement stays.
                keep = {"id", "announced", "announce_type", "submitted"}
                changes = {k: v for k, v in row.items() if k not in keep} | {"last_seen": now}
                sets = ", ".join(f"{k} = ?" for k in changes)
                db.execute(f"UPDATE papers SET {sets} WHERE id = ?", (*changes.values(), paper.id))
                # its scores were the old text's: the next score_new scores the new one
                db.execute("DELETE FROM scores WHERE paper_id = ?", (paper.id,))
                updated.append(paper.id)
        return UpsertResult(tuple(new), tuple(updated), unchanged)

    def count_papers(self) -> int:
        """How many papers are stored."""
        return int(self._one("SELECT COUNT(*) FROM papers")[0])

    def get_paper(self, paper_id: str) -> Paper | None:
        """One stored paper by id (no version), or None."""
        rows = self._rows("SELECT * FROM papers WHERE id = ?", (paper_id,))
        return row_paper(rows[0]) if rows else None

    def get_papers(self, ids: Sequence[str]) -> dict[str, Paper]:
        """Stored papers by id (no version), whole; ids not stored are absent."""
        found: dict[str, Paper] = {}
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            for row in self._rows(f"SELECT * FROM papers WHERE id IN ({marks})", chunk):
                found[row["id"]] = row_paper(row)
        return found

    def papers_announced_between(self, start: date, end: date) -> list[Paper]:
        """New and cross-listed papers announced in [start, end], oldest first."""
        marks = ", ".join("?" for _ in NEW_TYPES)
        rows = self._rows(
            f"SELECT * FROM papers WHERE announced BETWEEN ? AND ? AND announce_type IN ({marks})"
            " ORDER BY announced, id",
            (start.isoformat(), end.isoformat(), *NEW_TYPES),
        )
        return [row_paper(row) for row in rows]

    def recent_papers(self, limit: int) -> list[Paper]:
        """The `limit` most recently announced papers (any type), newest first, those with no
        announcement date last: a backwards walk of the (announced, id) index, no sort."""
        rows = self._rows("SELECT * FROM papers ORDER BY announced DESC, id DESC LIMIT ?", (limit,))
        return [row_paper(row) for row in rows]

    def paper_versions(self, paper_id: str) -> list[tuple[int, date | None, str]]:
        """The version history of one paper: (version, announced, announce type), oldest first."""
        rows = self._rows(
            "SELECT version, announced, announce_type FROM paper_versions WHERE id = ? ORDER BY version",
            (paper_id,),
        )
        return [(int(r[0]), _date(r[1]), str(r[2])) for r in rows]

    # scores

    def save_scores(
        self, model_id: str, scores: Iterable[Score], *, versions: Mapping[str, int] | None = None
    ) -> bool:
        """Store scores of one model, replacing earlier ones for the same paper and profile.

        The model becomes the current one if it is not (see use_model); scores of a model
        older than the current one are not stored, and False says so. With `versions`
        (paper id -> the version whose text was scored), a score is stored only while that
        version is still the stored one: a poll that stored a newer version meanwhile (and
        dropped the old text's scores) leaves it unscored, for the next score_new.
        """
        now = self._now()
        rows = [(s.paper_id, model_id, s.profile, s.value, json.dumps(list(s.reasons)), now) for s in scores]
        with self._tx() as db:
            if not _make_current(db, model_id):
                return False
            if versions is None:
                db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?)", rows)
            else:
                db.executemany(
                    "INSERT OR REPLACE INTO scores SELECT ?, ?, ?, ?, ?, ?"
                    " WHERE EXISTS (SELECT 1 FROM papers WHERE id = ? AND version = ?)",
                    [(*row, row[0], versions[row[0]]) for row in rows],
                )
            return True

    def use_model(self, model_id: str, *, force: bool = False) -> bool:
        """Make `model_id` the current model, deleting every other model's scores in the same
        transaction; False (and nothing changed) when the current model is newer, unless `force`
        (the model file was replaced by an older one: a restored backup).

        Model ids sort in time order (ISO 8601 training times), so a job still holding an
        older model cannot push a newer one out.
        """
        with self._tx() as db:
            return _make_current(db, model_id, force=force)

    def current_model(self) -> str | None:
        """The id of the model whose scores the store keeps, or None before any was stored."""
        rows = self._rows("SELECT value FROM kv WHERE key = ?", (CURRENT_MODEL_KEY,))
        return str(rows[0][0]) if rows else None

    def scores_for(
        self, ids: Sequence[str], model_id: str, *, reasons: bool = True, at_least: float | None = None
    ) -> dict[str, dict[str, Score]]:
        """paper id -> profile -> Score, for the ids that have scores from this model.
        For ranking thousands of candidates: `reasons=False` gives values only (reasons empty,
        not decoded: a JSON list a score), `at_least` only the scores of that value or more."""
        found: dict[str, dict[str, Score]] = {}
        columns = "paper_id, profile, value" + (", reasons" if reasons else "")
        floor = "" if at_least is None else " AND value >= ?"
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            rows = self._rows(
                f"SELECT {columns} FROM scores WHERE model_id = ? AND paper_id IN ({marks}){floor}",
                (model_id, *chunk) + (() if at_least is None else (at_least,)),
            )
            for r in rows:
                why = tuple(json.loads(r[3])) if reasons else ()
                found.setdefault(r[0], {})[r[1]] = Score(r[0], r[1], float(r[2]), why)
        return found

    def unscored(
        self,
        model_id: str,
        since: datetime,
        *,
        after: tuple[str, str] | None = None,
        limit: int = 1_000,
    ) -> tuple[list[Paper], tuple[str, str] | None]:
        """At most `limit` papers stored or seen again at `since` or later (last_seen: what a
        digest may still offer, new versions included) that this model has not scored, in
        (last_seen, id) order, starting after the key `after`; and the key to pass as
        `after` for the next batch (None when this one is empty). An index range, whatever
        the size of the history.

        The papers carry what scoring reads (id, title, abstract, categories, announced) and
        their version (for save_scores), nothing else: decoding whole rows was a fifth of a re-scoring's time.
        """
        where, params = "p.last_seen >= ?", [since.isoformat()]
        if after is not None:  # the next batch: the key alone, so the index search starts there
            where, params = "(p.last_seen, p.id) > (?, ?)", list(after)
        rows = self._rows(
            "SELECT p.id, p.title, p.abstract, p.categories, p.announced, p.last_seen, p.version"
            " FROM papers p"
            f" WHERE {where} AND NOT EXISTS"
            " (SELECT 1 FROM scores s WHERE s.paper_id = p.id AND s.model_id = ?)"
            " ORDER BY p.last_seen, p.id LIMIT ?",
            (*params, model_id, limit),
        )
        papers = [
            Paper(r[0], r[1], r[2], int(r[6]), categories=tuple(json.loads(r[3])), announced=_date(r[4]))
            for r in rows
        ]
        return papers, (str(rows[-1][5]), str(rows[-1][0])) if rows else None

    # metadata cache

    def get_metadata(self, ids: Iterable[str]) -> dict[str, Paper]:
        """Cached arXiv metadata for these ids (those not cached are absent)."""
        found: dict[str, Paper] = {}
        for chunk in _chunks(list(ids)):
            marks = ", ".join("?" for _ in chunk)
            for r in self._rows(f"SELECT paper FROM metadata WHERE id IN ({marks})", chunk):
                paper = row_paper(json.loads(r[0]))
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

    def last_feed_announcement(self) -> tuple[date, datetime] | None:
        """(the latest announcement date a feed poll stored, when the feed was last polled without
        failing), or None before the first announcement."""
        rows = self._rows(
            "SELECT MAX(announced), MAX(at) FROM polls WHERE source = 'feed' AND outcome != 'failed'"
        )
        day = _date(rows[0][0]) if rows else None
        return (day, datetime.fromisoformat(rows[0][1])) if day else None

    def has_announcement(self, day: date) -> bool:
        """Whether a feed poll already stored the announcement of `day`."""
        rows = self._rows(
            "SELECT 1 FROM polls WHERE source = 'feed' AND outcome = 'announcement' AND announced = ?",
            (day.isoformat(),),
        )
        return bool(rows)

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


def _make_current(db: sqlite3.Connection, model_id: str, *, force: bool = False) -> bool:
    """Inside a transaction: make `model_id` current unless a newer one is (see use_model)."""
    row = db.execute("SELECT value FROM kv WHERE key = ?", (CURRENT_MODEL_KEY,)).fetchone()
    if row is not None and row[0] == model_id:
        return True
    if row is not None and row[0] > model_id and not force:
        return False
    db.execute("DELETE FROM scores WHERE model_id != ?", (model_id,))
    db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (CURRENT_MODEL_KEY, model_id))
    return True


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


def row_paper(row: sqlite3.Row | dict[str, Any]) -> Paper:
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


def light_paper(row: sqlite3.Row, decoded: dict[str, tuple[str, ...]]) -> Paper:
    """A Paper with only what ranking reads (id, version, categories, announced; the title and
    every other field empty), from a row holding those columns first, in that order.
    `decoded` caches categories by their JSON text across the rows of one read."""
    text = row[2]
    categories = decoded.get(text)
    if categories is None:
        categories = decoded[text] = tuple(json.loads(text))
    return Paper(row[0], "", version=int(row[1]), categories=categories, announced=_date(row[3]))


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


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
