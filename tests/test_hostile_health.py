"""Health under hostile conditions: no model, failed digests, a stuck feed, a feed without a channel."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from arxiv_server import RESTRICTED_FEED, ArxivServer, Reply, recorded
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.errors import ArxivError
from arxivwatch.jobs import open_store, poll, status
from trained_model import install_model

THURSDAY = datetime(2024, 11, 28, 5, 30, tzinfo=UTC)  # the recorded feed's announcement day


def feed(etag: str) -> Reply:
    return Reply(200, recorded(RESTRICTED_FEED), {"Content-Type": "application/rss+xml", "ETag": etag})


def check(cfg: Config, clock: FakeClock) -> tuple[int, str]:
    """status --check's exit code and its last line."""
    out = io.StringIO()
    code = status.status(cfg, check=True, clock=clock, out=out)
    return code, out.getvalue().strip().splitlines()[-1]


def test_no_loadable_model_is_unhealthy(loopback_config: Config, arxiv_server: ArxivServer) -> None:
    """A good poll but no model file: --check exits 1 saying no model can be loaded."""
    arxiv_server.script("rss", feed('"a"'))
    clock = FakeClock(THURSDAY)
    poll.poll(loopback_config, clock=clock)
    code, line = check(loopback_config, clock)
    assert code == 1 and line.startswith("unhealthy: no model can be loaded (no model at ")
    install_model(loopback_config.model_path)
    assert check(loopback_config, clock) == (0, "healthy")


def test_failed_digest_attempt_is_unhealthy(loopback_config: Config, arxiv_server: ArxivServer) -> None:
    """The digest heartbeat says the last attempt failed: --check exits 1 naming it; a good one heals it."""
    install_model(loopback_config.model_path)
    arxiv_server.script("rss", feed('"a"'))
    clock = FakeClock(THURSDAY)
    poll.poll(loopback_config, clock=clock)
    with open_store(loopback_config, clock) as store:
        store.beat("digest", False, "email: 550 mailbox unavailable")
    code, line = check(loopback_config, clock)
    assert code == 1
    assert (
        line == f"unhealthy: the last digest ({THURSDAY.isoformat()}) failed: email: 550 mailbox unavailable"
    )
    with open_store(loopback_config, clock) as store:
        store.beat("digest", True, "email: sent")
    assert check(loopback_config, clock) == (0, "healthy")


def test_feed_stuck_past_the_next_announcement_is_unhealthy(
    loopback_config: Config, arxiv_server: ArxivServer
) -> None:
    """Thursday's batch served again (new ETag) on Monday: 'no announcement', and --check exits 1."""
    install_model(loopback_config.model_path)
    arxiv_server.script("rss", feed('"thu"'), feed('"rebuilt"'))
    poll.poll(loopback_config, clock=FakeClock(THURSDAY))
    monday = FakeClock(datetime(2024, 12, 2, 10, 0, tzinfo=UTC))
    again = poll.poll(loopback_config, clock=monday)
    assert again.outcome == "no announcement" and again.new == 0
    code, line = check(loopback_config, monday)
    assert code == 1
    assert line == (
        "unhealthy: the feed still served the announcement of 2024-11-28 when polled on 2024-12-02; "
        "the next was due on 2024-11-29"
    )


@pytest.mark.parametrize(
    ("announced", "polled", "stale"),
    [
        (date(2024, 11, 28), datetime(2024, 11, 29, 12, 0, tzinfo=UTC), False),  # Friday: due today
        (date(2024, 11, 28), datetime(2024, 11, 30, 12, 0, tzinfo=UTC), True),  # Saturday: Friday's missed
        (date(2024, 11, 29), datetime(2024, 12, 1, 12, 0, tzinfo=UTC), False),  # the weekend
        (date(2024, 11, 29), datetime(2024, 12, 2, 12, 0, tzinfo=UTC), False),  # Monday: due today
        (date(2024, 11, 29), datetime(2024, 12, 3, 12, 0, tzinfo=UTC), True),  # Tuesday
        (date(2024, 11, 28), datetime(2024, 11, 30, 4, 0, tzinfo=UTC), False),  # still Friday in New York
    ],
)
def test_stale_feed_counts_arxiv_days_in_new_york(announced: date, polled: datetime, stale: bool) -> None:
    """A feed is stuck only when polled on an arXiv day after the next announcement was due."""
    assert (status.stale_feed(announced, polled) is not None) is stale


def test_rss_without_a_channel_is_a_failed_poll(loopback_config: Config, arxiv_server: ArxivServer) -> None:
    """An RSS document with no <channel> fails the poll (recorded as failed), so the day is caught up."""
    arxiv_server.script("rss", Reply(200, b'<?xml version="1.0"?><rss version="2.0"></rss>'))
    clock = FakeClock(THURSDAY)
    with pytest.raises(ArxivError, match="an RSS document without a <channel>"):
        poll.poll(loopback_config, clock=clock)
    with open_store(loopback_config, clock) as store:
        last = store.last_poll()
    assert last is not None and last.outcome == "failed"
    assert check(loopback_config, clock)[0] == 1


def test_polls_share_the_pace_through_the_store(loopback_config: Config, arxiv_server: ArxivServer) -> None:
    """A second poll with a fresh clock (a second process) waits 3 s after the first one's answer."""
    install_model(loopback_config.model_path)
    arxiv_server.script("rss", feed('"a"'))
    poll.poll(loopback_config, clock=FakeClock(THURSDAY))
    pace = loopback_config.db_path.with_name("arxivwatch.db.pace")
    assert abs(float(pace.read_text()) - THURSDAY.timestamp()) < 1.0
    second = FakeClock(THURSDAY)
    poll.poll(loopback_config, clock=second)
    assert second.sleeps and second.sleeps[0] == pytest.approx(3.0)


def test_status_lists_each_ledger_digest_once_and_every_channel_with_rows(loopback_config: Config) -> None:
    """With no channel enabled, status shows each channel that has digests in the ledger, and its
    latest, last sent and pending digests once each."""
    install_model(loopback_config.model_path)
    clock = FakeClock(THURSDAY)
    week = (date(2024, 11, 18), date(2024, 11, 24))
    later = (date(2024, 11, 25), date(2024, 12, 1))
    with open_store(loopback_config, clock) as store:
        store.add_pending_digest("week-2024-11-18-email", "week", *week, "email", [])
        store.mark_sent("week-2024-11-18-email", "sent")
        store.add_pending_digest("week-2024-11-25-email", "week", *later, "email", [])
        store.add_pending_digest("week-2024-11-18-slack", "week", *week, "slack", [])
        store.mark_sent("week-2024-11-18-slack", "sent")
    report = status.collect(loopback_config, clock)
    assert [(d["key"], d["status"]) for d in report["digests"]] == [
        ("week-2024-11-18-email", "sent"),
        ("week-2024-11-25-email", "pending"),
        ("week-2024-11-18-slack", "sent"),
    ]
    assert list(report["channels"]) == ["email", "slack"]
    assert report["channels"]["email"]["pending"] == ["week-2024-11-25-email"]
    assert report["channels"]["email"]["enabled"] is False
    out = io.StringIO()
    status.status(loopback_config, clock=clock, out=out)
    lines = out.getvalue().splitlines()
    assert any(
        line.startswith("email (not enabled): last digest week-2024-11-25-email pending") for line in lines
    )
    assert any(
        line.startswith("slack (not enabled): last digest week-2024-11-18-slack sent") for line in lines
    )
