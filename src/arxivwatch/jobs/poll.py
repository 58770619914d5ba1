"""The poll job: fetch announcements (feed) or a date range (export API), store, then score.

Papers are stored before they are scored: a poll whose scoring fails has lost nothing,
and the next poll (or digest) scores what is still unscored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from arxivwatch.clock import Clock, SystemClock
from arxivwatch.errors import ArxivError, ArxivOffline, ModelError, UsageError
from arxivwatch.jobs import arxiv_client, load_model, open_store, today
from arxivwatch.models import Paper
from arxivwatch.progress import Progress

if TYPE_CHECKING:
    from arxivwatch.arxiv.client import ArxivClient
    from arxivwatch.config import Config
    from arxivwatch.store import Store

log = logging.getLogger("arxivwatch.poll")

OFFLINE_HINT = (
    "the network or arXiv is unreachable; check the network and poll again later "
    "(the daemon, `arxivwatch run`, catches up on missed announcements by itself)"
)


@dataclass(frozen=True)
class PollOutcome:
    outcome: str  # "announcement" | "no announcement" | "not modified" (stored as the poll's outcome)
    new: int
    updated: int
    scored: int
    requests: int
    date_range: str = ""  # "2026-09-01..2026-11-20" for an export-API range, "" for the feed

    @property
    def label(self) -> str:
        """What the poll fetched, for people: "range 2026-09-01..2026-11-20" or the feed's outcome."""
        return f"range {self.date_range}" if self.date_range else self.outcome


def poll(
    config: Config,
    *,
    since: date | None = None,
    until: date | None = None,
    clock: Clock | None = None,
) -> PollOutcome:
    """Fetch, store, score. A failure is recorded in the store, then raised.

    Raises UsageError, recording nothing, for a range that cannot be asked for: `until`
    without `since`, or `since` after `until` (default: today in the schedule's time zone).
    """
    from arxivwatch.store import PollRun

    clock = clock or SystemClock()
    _check_range(config, clock, since, until)
    source = "api" if since else "feed"
    with open_store(config, clock) as store:
        client: ArxivClient | None = None
        try:
            with arxiv_client(config, clock) as client:
                fetched = _fetch(config, store, client, clock, since=since, until=until)
            result = _store(store, clock, fetched, requests=client.requests)
        except ArxivError as e:
            if isinstance(e, ArxivOffline):
                e.hint = OFFLINE_HINT  # the client's hint is generic; this one fits a poll
            store.record_poll(
                PollRun(
                    at=clock.now(),
                    source=source,
                    outcome="failed",
                    reason=str(e),
                    new=0,
                    updated=0,
                    requests=client.requests if client is not None else 0,  # those made before it failed
                    announced=None,
                )
            )
            store.beat("poll", False, str(e))
            raise
        scored = _score(store, config)
        store.beat("poll", True, f"{result.label}: {result.new} new")
    outcome = replace(result, scored=scored)
    log.info(
        "poll: %s, %d new, %d updated, %d scored, %d request(s)",
        outcome.label,
        outcome.new,
        outcome.updated,
        outcome.scored,
        outcome.requests,
    )
    return outcome


def _check_range(config: Config, clock: Clock, since: date | None, until: date | None) -> None:
    """A typo in `poll --since/--until` is bad usage: refused before the store records a failed
    poll (which would turn `status --check` unhealthy until the next good one)."""
    if since is None:
        if until is not None:
            raise UsageError(
                "--until needs --since: without --since, poll fetches today's feed",
                hint="add --since DATE for a date range through the export API, or drop --until",
            )
        return
    end = until or today(config, clock)
    if since > end:
        raise UsageError(
            f"the date range {since} .. {end} is empty",
            hint="give a --since on or before --until (default: today)",
        )


def catch_up(config: Config, *, clock: Clock | None = None) -> PollOutcome | None:
    """Backfill through the export API what the feed days missed since the last successful poll.

    Returns None when there is nothing to catch up (never polled, or the last good poll was on
    this Eastern feed day or the one before, so the feed follows on from it). The window overlaps
    the last good poll (`backfill_start`); papers it already stored are not stored again.
    """
    from arxivwatch.arxiv import announce

    clock = clock or SystemClock()
    with open_store(config, clock) as store:
        last = store.last_successful_poll()
    if last is None:
        return None
    now = clock.now()
    if (announce.feed_day(now) - announce.feed_day(last.at)) < timedelta(days=2):
        return None
    start = backfill_start(last.at)
    since, until = start.astimezone(UTC).date(), now.astimezone(UTC).date()
    log.info("catching up: %s .. %s (UTC) through the export API", since, until)
    return poll(config, since=since, until=until, clock=clock)


def backfill_start(last_good_poll: datetime) -> datetime:
    """Where a catch-up after the poll at `last_good_poll` must start (aware, 14:00 US Eastern).

    The cut-off of the latest announcement that poll can have seen, one announcement earlier
    again: a holiday (no announcement) or a stale feed (arXiv sometimes serves the previous
    batch) leaves that poll one announcement short. Starting earlier only costs requests for
    papers already stored.
    """
    from arxivwatch.arxiv import announce

    return announce.previous_cutoff(announce.covered_cutoff(last_good_poll))


@dataclass(frozen=True)
class _Fetched:
    """What one poll fetched, before it is stored."""

    papers: list[Paper]
    announced: date | None
    outcome: str
    source: str  # "feed" | "api"
    date_range: str  # "2026-09-01..2026-11-20" for the export API, "" for the feed
    feed_state: tuple[str, str | None, str | None] | None  # (key, etag, last_modified) to keep


def _fetch(
    config: Config, store: Store, client: ArxivClient, clock: Clock, *, since: date | None, until: date | None
) -> _Fetched:
    """Fetch the date range through the export API (`since` set) or else the feed."""
    categories = config.arxiv.categories
    if since is not None:
        end = until or today(config, clock)
        label = f"fetching {since} .. {end} from the export API"
        with Progress(label, None, unit="papers", clock=clock) as progress:
            found = client.search(categories, since, end, on_page=progress.advance)
        papers = [_with_announced(p) for p in found]
        outcome = "announcement" if papers else "no announcement"  # the kinds status, health, retention know
        return _Fetched(papers, None, outcome, "api", f"{since}..{end}", None)
    key = "+".join(categories)
    etag, modified = store.get_feed_state(key)
    fetch = client.fetch_feed(categories, etag=etag, last_modified=modified)
    if fetch.result is None:
        return _Fetched([], None, "not modified", "feed", "", None)
    papers = list(fetch.result.papers)
    announced = fetch.result.announced
    outcome = "announcement" if papers else "no announcement"
    if papers and announced and store.has_announcement(announced):
        # a feed rebuilt (new ETag) around a day already stored: nothing was announced
        outcome = "no announcement"
    return _Fetched(papers, announced, outcome, "feed", "", (key, fetch.etag, fetch.last_modified))


def _store(store: Store, clock: Clock, fetched: _Fetched, *, requests: int) -> PollOutcome:
    from arxivwatch.store import PollRun

    run = PollRun(
        at=clock.now(),
        source=fetched.source,
        outcome=fetched.outcome,
        reason="",
        new=0,
        updated=0,
        requests=requests,
        announced=fetched.announced,
    )
    stored = store.store_poll(fetched.papers, run, announced=fetched.announced)
    if fetched.feed_state is not None:
        store.set_feed_state(*fetched.feed_state)
    return PollOutcome(
        fetched.outcome, len(stored.new), len(stored.updated), 0, requests, date_range=fetched.date_range
    )


def _with_announced(paper: Paper) -> Paper:
    """Export API papers carry no announcement date; their first submission stands in for it."""
    if paper.announced or paper.submitted is None:
        return paper
    return replace(paper, announced=paper.submitted.date())


def _score(store: Store, config: Config) -> int:
    from arxivwatch.jobs.scoring import horizon_start, score_new

    try:
        model = load_model(config)
    except ModelError as e:
        log.warning("papers stored but not scored: %s", e)
        return 0
    since = horizon_start(store.clock.now(), config.digest.horizon_days)
    return score_new(store, model, since, model_file=config.model_path)
