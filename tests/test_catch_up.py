"""The catch-up after downtime: its export API window overlaps the last good poll, so nothing falls between.

The loopback arXiv answers date-range queries from a made-up arXiv: papers with submission
times, served when `submittedDate:[...]` (to the minute, UTC) includes them, in pages.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from arxiv_server import ArxivServer, Submission, SubmittedWindow, papers
from arxivwatch.arxiv import announce
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.jobs import open_store, poll

ET = ZoneInfo("America/New_York")


@pytest.fixture
def cfg(loopback_config: Config) -> Config:
    return loopback_config


def stored_ids(cfg: Config, clock: FakeClock) -> set[str]:
    """The ids in the store, checked one by one against what the made-up arXiv holds."""
    with open_store(cfg, clock) as store:
        return {pid for pid in (f"2611.{n:05d}" for n in range(1, 200)) if store.get_paper(pid)}


def test_the_catch_up_overlaps_the_last_good_poll_and_loses_nothing(
    cfg: Config, arxiv_server: ArxivServer
) -> None:
    """Papers submitted between Tuesday's 14:00 ET cut-off and midnight UTC are caught up, none twice."""
    last_good = datetime(2026, 11, 18, 5, 30, tzinfo=UTC)  # Wednesday 00:30 ET
    seen = papers(1, 8, datetime(2026, 11, 16, 15, 0, tzinfo=ET), timedelta(hours=2, minutes=50))
    gap = papers(20, 5, datetime(2026, 11, 17, 14, 30, tzinfo=ET), timedelta(minutes=55))
    later = papers(40, 12, datetime(2026, 11, 18, 9, 0, tzinfo=ET), timedelta(hours=6))
    revised = Submission(seen[0].id, seen[0].submitted, version=2, updated=datetime(2026, 11, 19, tzinfo=UTC))
    assert seen[-1].submitted < datetime(2026, 11, 17, 14, 0, tzinfo=ET) < gap[0].submitted
    assert gap[-1].submitted < datetime(2026, 11, 18, 0, 0, tzinfo=UTC)  # before midnight UTC

    # the last good poll saw what had been announced by then: the papers before the cut-off
    arxiv_server.script("api", SubmittedWindow(seen))
    poll.poll(cfg, since=date(2026, 11, 16), until=date(2026, 11, 17), clock=FakeClock(last_good))
    assert stored_ids(cfg, FakeClock(last_good)) == {p.id for p in seen}

    # down until Monday; meanwhile the gap and later papers were announced, and one seen paper revised
    arxiv_server.script("api", SubmittedWindow([revised, *seen[1:], *gap, *later]))
    now = FakeClock(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    before = len(arxiv_server.requests_to("api"))
    result = poll.catch_up(cfg, clock=now)

    assert result is not None
    assert len(arxiv_server.requests_to("api")) - before == 1  # 25 results: one page
    query = arxiv_server.requests_to("api")[-1].param("search_query")
    assert "submittedDate:[202611160000 TO 202611240000]" in query
    assert (result.new, result.updated) == (5 + 12, 1)
    assert stored_ids(cfg, now) == {p.id for p in [*seen, *gap, *later]}
    with open_store(cfg, now) as store:
        assert store.count_papers() == 8 + 5 + 12
        revised_paper = store.get_paper(seen[0].id)
        assert revised_paper is not None and revised_paper.version == 2
    assert poll.catch_up(cfg, clock=now) is None  # caught up


def test_a_catch_up_after_a_monday_poll_reaches_back_past_the_weekend(
    cfg: Config, arxiv_server: ArxivServer
) -> None:
    """Monday's feed closed on Friday at 14:00 ET: Friday-afternoon and weekend submissions are caught up."""
    last_good = datetime(2026, 11, 16, 5, 30, tzinfo=UTC)  # Monday 00:30 ET
    seen = papers(1, 4, datetime(2026, 11, 12, 15, 0, tzinfo=ET), timedelta(hours=5))  # Thu-Fri morning
    weekend = papers(20, 6, datetime(2026, 11, 13, 14, 10, tzinfo=ET), timedelta(hours=11))  # Fri pm - Sun
    arxiv_server.script("api", SubmittedWindow(seen))
    poll.poll(cfg, since=date(2026, 11, 12), until=date(2026, 11, 15), clock=FakeClock(last_good))
    arxiv_server.script("api", SubmittedWindow([*seen, *weekend]))
    now = FakeClock(datetime(2026, 11, 19, 12, 0, tzinfo=UTC))  # Thursday: two feed days missed
    result = poll.catch_up(cfg, clock=now)
    assert result is not None and (result.new, result.updated) == (6, 0)
    assert stored_ids(cfg, now) == {p.id for p in [*seen, *weekend]}


@pytest.mark.parametrize(
    ("polled", "cutoff"),
    [
        (datetime(2026, 11, 16, 0, 30), datetime(2026, 11, 13, 14)),  # Mon: Sunday's announcement, Fri
        (datetime(2026, 11, 16, 23, 0), datetime(2026, 11, 13, 14)),  # Mon late: feed not rebuilt yet
        (datetime(2026, 11, 17, 0, 30), datetime(2026, 11, 16, 14)),  # Tue: Monday's
        (datetime(2026, 11, 18, 0, 30), datetime(2026, 11, 17, 14)),  # Wed: Tuesday's
        (datetime(2026, 11, 19, 0, 30), datetime(2026, 11, 18, 14)),  # Thu: Wednesday's
        (datetime(2026, 11, 20, 0, 30), datetime(2026, 11, 19, 14)),  # Fri: Thursday's
        (datetime(2026, 11, 21, 12, 0), datetime(2026, 11, 19, 14)),  # Sat: still Thursday's
        (datetime(2026, 11, 22, 21, 0), datetime(2026, 11, 19, 14)),  # Sun evening: still Thursday's
    ],
)
def test_the_cutoff_a_poll_has_seen_follows_the_announcement_calendar(
    polled: datetime, cutoff: datetime
) -> None:
    """A poll at each Eastern weekday has seen the announcements up to this 14:00 ET cut-off (ARXIV.md)."""
    assert announce.covered_cutoff(polled.replace(tzinfo=ET)) == cutoff.replace(tzinfo=ET)


@pytest.mark.parametrize(
    ("last", "now", "catches_up"),
    [
        (datetime(2026, 11, 17, 4, 0), datetime(2026, 11, 18, 6, 0), True),  # Mon 23:00 ET -> Wed 01:00 ET
        (datetime(2026, 11, 18, 5, 30), datetime(2026, 11, 19, 5, 30), False),  # one feed day later
        (datetime(2026, 11, 18, 5, 30), datetime(2026, 11, 18, 23, 0), False),  # same feed day
    ],
)
def test_a_catch_up_runs_when_a_feed_day_was_skipped(
    cfg: Config, arxiv_server: ArxivServer, last: datetime, now: datetime, catches_up: bool
) -> None:
    """Feed days are Eastern dates: a skipped one means a catch-up, even when UTC dates are a day apart."""
    arxiv_server.script("api", SubmittedWindow([]))
    last_utc = last.replace(tzinfo=UTC)
    poll.poll(cfg, since=date(2026, 11, 10), until=date(2026, 11, 16), clock=FakeClock(last_utc))
    result = poll.catch_up(cfg, clock=FakeClock(now.replace(tzinfo=UTC)))
    assert (result is not None) is catches_up
    if catches_up:
        query = arxiv_server.requests_to("api")[-1].param("search_query")
        start = poll.backfill_start(last_utc)
        assert start == datetime(2026, 11, 12, 14, tzinfo=ET)  # Monday's feed closed Fri; one more back
        assert f"submittedDate:[{start:%Y%m%d}0000 TO" in query
