"""The poll job end to end: loopback arXiv -> client -> parser -> store, and what status reports."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from arxiv_server import (
    API_TESTING,
    EMPTY_FEED,
    ERROR_FEED,
    RESTRICTED_FEED,
    ApiPages,
    ArxivServer,
    Reply,
    recorded,
)
from arxivwatch.cli import main
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.errors import ArxivQueryError, ArxivUnavailable, UsageError
from arxivwatch.jobs import open_store, poll, status
from trained_model import install_model

NOW = datetime(2024, 11, 28, 5, 30, tzinfo=UTC)


@pytest.fixture
def cfg(loopback_config: Config) -> Config:
    return loopback_config


def feed_reply(name: str = RESTRICTED_FEED, etag: str | None = None) -> Reply:
    headers = {"Content-Type": "application/rss+xml"}
    if etag:
        headers["ETag"] = etag
    return Reply(200, recorded(name), headers)


def test_polling_the_same_feed_twice_stores_each_paper_once(
    cfg: Config, arxiv_server: ArxivServer, caplog: pytest.LogCaptureFixture
) -> None:
    """One request stores the day's papers; the same batch again (no ETag) adds nothing."""
    arxiv_server.script("rss", feed_reply())
    clock = FakeClock(NOW)
    with caplog.at_level(logging.WARNING):
        first = poll.poll(cfg, clock=clock)
    assert first.outcome == "announcement"
    assert first.requests == 1
    assert first.new == 274  # 273 new + 1 cross; the 133 replace items are updates
    assert "not scored" in caplog.text  # no model yet: says so, stores anyway
    with open_store(cfg, clock) as store:
        stored = store.count_papers()
    second = poll.poll(cfg, clock=clock)
    assert second.new == 0 and second.updated == 0
    with open_store(cfg, clock) as store:
        assert store.count_papers() == stored
    requests = arxiv_server.requests_to("rss")
    assert len(requests) == 2
    assert requests[0].path == "/rss/cs.CV+eess.IV+cs.LG"
    assert "lab@example.org" in (requests[0].header("User-Agent") or "")


def test_etag_makes_the_second_poll_a_304(cfg: Config, arxiv_server: ArxivServer) -> None:
    """The feed's ETag is remembered in the store and sent back; a 304 is 'not modified'."""
    arxiv_server.script("rss", feed_reply(etag='"abc"'))
    poll.poll(cfg, clock=FakeClock(NOW))
    again = poll.poll(cfg, clock=FakeClock(NOW))
    assert again.outcome == "not modified"
    assert again.requests == 1
    assert arxiv_server.requests_to("rss")[1].header("If-None-Match") == '"abc"'


def test_status_after_a_304_still_names_the_latest_announcement(
    cfg: Config, arxiv_server: ArxivServer
) -> None:
    """After an unchanged (304) poll, `status` still names the announcement stored (2024-11-28);
    its times read to the second (the JSON keeps the fraction)."""
    arxiv_server.script("rss", feed_reply(etag='"abc"'))
    clock = FakeClock(NOW + timedelta(microseconds=123456))
    poll.poll(cfg, clock=clock)
    poll.poll(cfg, clock=clock)
    report = status.collect(cfg, clock)
    assert report["last_poll"]["outcome"] == "not modified"
    assert report["latest_announcement"] == "2024-11-28"
    out = io.StringIO()
    status.status(cfg, clock=clock, out=out)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("last poll:"))
    assert line == (
        "last poll: 2024-11-28T05:30:03+00:00 not modified, 0 new, 1 request; "
        "latest announcement stored: 2024-11-28"
    ), line
    assert report["last_poll"]["at"].startswith("2024-11-28T05:30:03.123")  # after 3 s of pacing


def test_status_before_any_poll_says_how_to_poll(cfg: Config) -> None:
    """A store never polled is unhealthy, and the reason names the command that polls."""
    open_store(cfg, FakeClock(NOW)).close()  # the store exists (without one, status says that instead)
    report = status.collect(cfg, FakeClock(NOW))
    assert report["latest_announcement"] is None
    assert report["problem"].startswith("never polled")
    assert "`arxivwatch poll`" in report["problem"]


def test_empty_channel_is_no_announcement_and_healthy(cfg: Config, arxiv_server: ArxivServer) -> None:
    """A weekend's empty feed is recorded as 'no announcement', and status --check (with a model) is happy."""
    install_model(cfg.model_path)
    arxiv_server.script("rss", feed_reply(EMPTY_FEED))
    clock = FakeClock(NOW)
    result = poll.poll(cfg, clock=clock)
    assert result.outcome == "no announcement" and result.new == 0
    report = status.collect(cfg, clock)
    assert report["last_poll"]["outcome"] == "no announcement"
    assert report["healthy"] is True
    assert status.status(cfg, check=True, clock=clock, out=io.StringIO()) == 0


def test_failed_poll_is_recorded_and_fails_the_health_check(cfg: Config, arxiv_server: ArxivServer) -> None:
    """A 400 error feed raises one line naming the category, is recorded as failed, and --check exits 1."""
    arxiv_server.script("rss", Reply(400, recorded(ERROR_FEED), {"Content-Type": "application/rss+xml"}))
    clock = FakeClock(NOW)
    with pytest.raises(ArxivQueryError) as info:
        poll.poll(cfg, clock=clock)
    assert "astroph" in str(info.value)
    report = status.collect(cfg, clock)
    assert report["last_poll"]["outcome"] == "failed"
    assert "astroph" in report["last_poll"]["reason"]
    assert status.status(cfg, check=True, as_json=True, clock=clock, out=io.StringIO()) == 1


def test_failed_poll_records_the_requests_it_made(cfg: Config, arxiv_server: ArxivServer) -> None:
    """A poll that met three 503s and then an error feed is recorded with its 4 requests, not 0."""
    busy = Reply(503, headers={"Retry-After": "5"})
    error = Reply(400, recorded(ERROR_FEED), {"Content-Type": "application/rss+xml"})
    arxiv_server.script("rss", busy, busy, busy, error)
    clock = FakeClock(NOW)
    with pytest.raises(ArxivQueryError):
        poll.poll(cfg, clock=clock)
    assert len(arxiv_server.requests_to("rss")) == 4
    report = status.collect(cfg, clock)
    assert report["last_poll"]["outcome"] == "failed"
    assert report["last_poll"]["requests"] == 4
    out = io.StringIO()
    status.status(cfg, clock=clock, out=out)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("last poll:"))
    assert line.endswith(", 0 new, 4 requests"), line


def test_failed_range_poll_records_the_requests_it_made(cfg: Config, arxiv_server: ArxivServer) -> None:
    """An export-API range that kept answering 503 until the budget ran out records every request made."""
    busy = Reply(503, headers={"Retry-After": "100"})
    arxiv_server.script("api", *([busy] * 20))
    clock = FakeClock(NOW)
    with pytest.raises(ArxivUnavailable):
        poll.poll(cfg, since=date(2024, 11, 20), until=date(2024, 11, 27), clock=clock)
    made = len(arxiv_server.requests_to("api"))
    assert made > 1
    with open_store(cfg, clock) as store:
        last = store.last_poll()
    assert last is not None and last.outcome == "failed" and last.source == "api"
    assert last.requests == made


def test_status_check_flags_an_overdue_poll(cfg: Config, arxiv_server: ArxivServer) -> None:
    """A good poll four days ago is overdue for a daily schedule: --check exits 1, JSON says why."""
    arxiv_server.script("rss", feed_reply())
    poll.poll(cfg, clock=FakeClock(NOW))
    later = FakeClock(NOW + timedelta(days=4))
    sink = io.StringIO()
    assert status.status(cfg, as_json=True, check=True, clock=later, out=sink) == 1
    report = json.loads(sink.getvalue())
    assert report["healthy"] is False and "older than" in report["problem"]
    assert report["papers_stored"] == 407


def test_catch_up_fetches_the_gap_through_the_export_api_once(cfg: Config, arxiv_server: ArxivServer) -> None:
    """After days of downtime the gap is fetched by date range through the export API, once."""
    arxiv_server.script("rss", feed_reply())
    poll.poll(cfg, clock=FakeClock(NOW))
    arxiv_server.script("api", ApiPages(recorded(API_TESTING)))
    later = FakeClock(NOW + timedelta(days=5))
    result = poll.catch_up(cfg, clock=later)
    assert result is not None and result.new > 0
    api = arxiv_server.requests_to("api")
    assert len(api) == 1
    query = api[0].param("search_query")
    assert "cat:cs.CV" in query and "submittedDate:[20241126" in query  # Tuesday's cut-off, a margin back
    assert poll.catch_up(cfg, clock=later) is None  # caught up: nothing more to fetch
    assert len(arxiv_server.requests_to("api")) == 1


def test_range_poll_records_api_source(cfg: Config, arxiv_server: ArxivServer) -> None:
    """`poll --since` goes through the export API and is recorded with source 'api'."""
    arxiv_server.script("api", ApiPages(recorded(API_TESTING)))
    clock = FakeClock(NOW)
    poll.poll(cfg, since=date(2024, 11, 20), until=date(2024, 11, 27), clock=clock)
    report = status.collect(cfg, clock)
    assert report["last_poll"]["source"] == "api"
    assert report["last_poll"]["new_papers"] == report["papers_stored"] == 100


def test_a_range_poll_is_called_a_range_in_the_log_and_status(
    cfg: Config, arxiv_server: ArxivServer, caplog: pytest.LogCaptureFixture
) -> None:
    """`poll --since/--until` logs "poll: range SINCE..UNTIL" and status says "range through the export
    API", while the stored outcome stays "announcement" (the kind status, health and retention read)."""
    arxiv_server.script("api", ApiPages(recorded(API_TESTING)))
    clock = FakeClock(NOW)
    with caplog.at_level(logging.INFO, logger="arxivwatch.poll"):
        result = poll.poll(cfg, since=date(2024, 11, 20), until=date(2024, 11, 27), clock=clock)
    said = [
        r.getMessage() for r in caplog.records if r.name == "arxivwatch.poll" and r.levelno == logging.INFO
    ]
    assert said == ["poll: range 2024-11-20..2024-11-27, 100 new, 0 updated, 0 scored, 1 request(s)"]
    assert result.outcome == "announcement" and result.label == "range 2024-11-20..2024-11-27"
    report = status.collect(cfg, clock)
    assert report["last_poll"]["outcome"] == "announcement" and report["last_poll"]["source"] == "api"
    assert report["heartbeats"]["poll"]["detail"] == "range 2024-11-20..2024-11-27: 100 new"
    out = io.StringIO()
    status.status(cfg, clock=clock, out=out)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("last poll:"))
    assert line.endswith(" range through the export API, 100 new, 1 request"), line
    assert "announcement" not in line, line


def test_status_text_names_the_announcement_date_of_the_last_poll(
    cfg: Config, arxiv_server: ArxivServer
) -> None:
    """`status` prints which announcement the last poll fetched (the feed of 2024-11-28)."""
    arxiv_server.script("rss", feed_reply())
    clock = FakeClock(NOW)
    poll.poll(cfg, clock=clock)
    out = io.StringIO()
    status.status(cfg, clock=clock, out=out)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("last poll:"))
    assert line.endswith(" announcement of 2024-11-28, 274 new, 1 request"), line
    assert line.count("announcement") == 1, line


def test_catch_up_is_not_a_silent_wait(
    cfg: Config, arxiv_server: ArxivServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A catch-up through the export API logs that it started and, when done, what it fetched."""
    arxiv_server.script("api", ApiPages(recorded(API_TESTING)))
    with caplog.at_level(logging.DEBUG, logger="arxivwatch.progress"):
        poll.poll(cfg, since=date(2024, 11, 20), until=date(2024, 11, 27), clock=FakeClock(NOW))
    messages = [r.getMessage() for r in caplog.records if r.name == "arxivwatch.progress"]
    assert messages[0] == "fetching 2024-11-20 .. 2024-11-27 from the export API: started"
    assert messages[-1] == "fetching 2024-11-20 .. 2024-11-27 from the export API: 100 papers, 0 s"


@pytest.mark.parametrize(
    ("since", "until", "words"),
    [
        (date(2024, 11, 27), date(2024, 11, 20), "the date range 2024-11-27 .. 2024-11-20 is empty"),
        (date(2024, 11, 29), None, "the date range 2024-11-29 .. 2024-11-28 is empty"),  # after today
        (None, date(2024, 11, 20), "--until needs --since"),
    ],
)
def test_a_range_that_cannot_be_asked_for_is_bad_usage_and_records_nothing(
    cfg: Config, arxiv_server: ArxivServer, since: date | None, until: date | None, words: str
) -> None:
    """Swapped dates, a future --since or --until alone: UsageError (exit 2), no request, no failed poll."""
    clock = FakeClock(NOW)
    with pytest.raises(UsageError) as info:
        poll.poll(cfg, since=since, until=until, clock=clock)
    assert info.value.exit_code == 2
    assert str(info.value).startswith(words)
    assert arxiv_server.requests == []
    report = status.collect(cfg, clock)
    assert report["last_poll"] is None


def test_swapped_dates_on_the_command_line_exit_2(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`poll --since` after `--until` exits 2 with one line saying to fix the range."""
    path = write_config('[arxiv]\ncontact = "lab@example.org"\n')
    code = main(["poll", "--since", "2024-11-27", "--until", "2024-11-20", "--config", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "Error: the date range 2024-11-27 .. 2024-11-20 is empty; "
        "give a --since on or before --until (default: today)"
    ]
