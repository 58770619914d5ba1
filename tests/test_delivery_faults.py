"""Delivery under faults an operator meets: concurrent runs, upgrades, clock moves.

Real processes and loopback servers (aiosmtpd, the Slack emulator) as in test_delivery,
whose fixtures (a model trained once per module, a config on loopback) are reused here.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from arxivwatch import config as config_io
from arxivwatch import model as model_io
from arxivwatch.clock import FakeClock, SystemClock
from arxivwatch.config import Config
from arxivwatch.errors import DeliveryError
from arxivwatch.jobs import digest, open_store, retention, status
from arxivwatch.models import Paper
from arxivwatch.store import MIGRATIONS
from slack_emulator import SlackEmulator
from smtp_server import SmtpServer
from test_delivery import (
    MORNING,
    D,
    mail_ids,
    make_config,
    make_papers,
    store_papers,
)

__all__ = ["make_config"]  # a fixture used by name (model_path, smtp and slack: conftest)


def backlog_while_mail_is_refused(cfg: Config, smtp: SmtpServer, clock: FakeClock) -> None:
    """3 papers stored on the first day, whose email digest the server refuses (20 more refusals
    queued), then 5 more stored the next day: the clock ends on that day."""
    store_papers(cfg, clock, make_papers(3, D))
    smtp.handler.data_replies = ["451 4.3.0 try later"] * 21
    with pytest.raises(DeliveryError):
        digest.digest(cfg, channels=["email"], clock=clock)
    clock.advance(24 * 3600)
    store_papers(cfg, clock, make_papers(5, D, prefix="2607"))


def test_two_digest_processes_at_once_send_the_digest_once(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """Two `digest` runs started a second apart while the server is slow to answer DATA: one message."""
    cfg = make_config()
    store_papers(cfg, SystemClock(), make_papers(5, D))
    smtp.handler.data_delay = 2.0
    command = [sys.executable, "-m", "arxivwatch", "digest", "--channel", "email", "--config", cfg.source]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the first is waiting for the 250 to DATA
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [proc.communicate(timeout=120) for proc in (first, second)]
    assert [proc.returncode for proc in (first, second)] == [0, 0], outputs
    assert outputs[0][0] == "email: sent 5 papers to 1 recipient\n"
    assert outputs[1][0].startswith("email: already sent for "), outputs[1]
    assert len(smtp.messages) == 1
    with open_store(cfg, SystemClock()) as store:
        assert store.pending_digests() == []


def _schema_1(cfg: Config, papers: list[Paper], seen: str, digest_row: tuple[str, str, str | None]) -> None:
    """A store as schema 1 left it: `papers` of day D first stored at `seen`, scored by an
    older model, and the email digest of D (status, created_at, sent_at) with items `papers`
    when pending, none when sent."""
    status_, created, sent = digest_row
    cfg.db_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(cfg.db_path) as raw:
        for statement in MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 1")
        for p in papers:
            raw.execute(
                "INSERT INTO papers (id, version, title, abstract, authors, categories, primary_category,"
                " announced, announce_type, abs_url, pdf_url, comment, journal_ref, doi, first_seen,"
                " last_seen) VALUES (?, 1, ?, ?, ?, ?, 'cs.CV', ?, 'new', ?, ?, '', '', '', ?, ?)",
                (p.id, p.title, p.abstract, json.dumps(p.authors), json.dumps(p.categories),
                 D.isoformat(), p.abs_url, p.pdf_url, seen, seen),
            )  # fmt: skip
            raw.execute(
                "INSERT INTO scores VALUES (?, '2026-01-01T00:00:00+00:00', 'segmentation', 0.9, '[]', ?)",
                (p.id, seen),
            )
        items = json.dumps([[p.id, 1] for p in papers] if status_ == "pending" else [])
        raw.execute(
            "INSERT INTO digests VALUES ('day:2026-06-10:email', 'day', '2026-06-10', '2026-06-10',"
            " 'email', ?, ?, ?, ?, '')",
            (status_, items, created, sent),
        )


def test_a_schema_1_pending_digest_after_a_retrain_carries_every_recorded_paper(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """Upgrade, then the start-up resend with a model trained since: all 5 papers sent, none only marked."""
    cfg = make_config()
    seen = "2026-06-10T05:30:00+00:00"
    _schema_1(cfg, make_papers(5, D), seen, ("pending", seen, None))
    clock = FakeClock(MORNING)
    (result,) = digest.resend_pending(cfg, clock=clock)
    assert (result.status, result.papers) == ("sent", 5)
    (mail,) = smtp.messages
    assert sorted(mail_ids(mail)) == [p.id for p in make_papers(5, D)]
    with open_store(cfg, clock) as store:
        assert store.pending_digests() == []
        assert sorted(store.sent_versions("email")) == [p.id for p in make_papers(5, D)]


@pytest.mark.parametrize("retrain_on_day", [None, 17])
def test_papers_stored_while_a_channel_was_failing_for_weeks_are_not_lost(
    make_config: Callable[..., Config],
    smtp: SmtpServer,
    model_path: Path,
    tmp_path: Path,
    retrain_on_day: int | None,
) -> None:
    """Mail refused for 20 days, papers stored on day 2: once the server is back, both digests carry
    all 8, also when a retrain (which drops every old score) came in between: the backlog past the
    horizon is scored again."""
    mine = tmp_path / "model.npz"
    model_io.save(model_io.load(model_path), mine)
    cfg = make_config(model=mine)
    clock = FakeClock(MORNING)
    backlog_while_mail_is_refused(cfg, smtp, clock)
    for day in range(20):  # every daily run retries the pending digest, refused again
        if day == retrain_on_day:
            old = model_io.load(mine)
            model_io.save(replace(old, trained_at=old.trained_at + timedelta(days=1)), mine)
        with pytest.raises(DeliveryError):
            digest.digest(cfg, channels=["email"], clock=clock)
        clock.advance(24 * 3600)
    assert status.collect(cfg, clock)["channels"]["email"]["waiting"] == 8
    smtp.handler.data_replies.clear()
    results = digest.digest(cfg, channels=["email"], clock=clock)
    assert [(r.status, r.papers) for r in results] == [("sent", 3), ("sent", 5)]
    assert sorted(i for mail in smtp.messages for i in mail_ids(mail)) == sorted(
        p.id for p in make_papers(3, D) + make_papers(5, D, prefix="2607")
    )


def test_late_papers_of_a_schema_1_store_reach_the_first_digest_after_the_upgrade(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """Schema 1 sent D's digest empty at 08:00, stored D's 20 papers at 09:00: all 20 go out once upgraded."""
    cfg = make_config()
    sent_at = "2026-06-10T08:00:00+00:00"
    _schema_1(cfg, make_papers(20, D), "2026-06-10T09:00:00+00:00", ("sent", sent_at, sent_at))
    clock = FakeClock(MORNING + timedelta(days=1))
    (result,) = digest.digest(cfg, channels=["email"], clock=clock)
    assert (result.status, result.papers) == ("sent", 20)
    assert sorted(mail_ids(smtp.messages[0])) == [p.id for p in make_papers(20, D)]


def test_slack_max_wait_bounds_the_waits_of_a_whole_run(
    make_config: Callable[..., Config], slack: SlackEmulator
) -> None:
    """A run resuming a pending digest (waiting 200 s) and then sending the next has 100 s left, not 300."""
    cfg = make_config("max_wait = 300\n", top_n=20)
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(20, D))
    slack.fail("ratelimited", times=1, retry_after=1000, after=1)  # message 2 of 2: past max_wait
    with pytest.raises(DeliveryError, match="max_wait"):
        digest.digest(cfg, channels=["slack"], clock=clock)
    clock.advance(24 * 3600)
    store_papers(cfg, clock, make_papers(3, D, prefix="2607"))
    slack.fail("ratelimited", times=1, retry_after=200)  # the resumed message 2, then accepted
    slack.fail("ratelimited", times=1, retry_after=200, after=1)  # the next digest's only message
    clock.sleeps.clear()
    with pytest.raises(DeliveryError, match=r"rate limited past \[slack\] max_wait \(100 s\)"):
        digest.digest(cfg, channels=["slack"], clock=clock)
    assert clock.sleeps == [200]
    assert len(slack.messages) == 2
    with open_store(cfg, clock) as store:
        assert [d.key for d in store.pending_digests("slack")] == ["day:2026-06-11:slack"]


def test_the_start_up_resend_leaves_a_turned_off_channel_alone(
    make_config: Callable[..., Config], slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack refused, then turned off (token gone): the start-up resend posts nothing there, fails nothing."""
    cfg = make_config()
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(4, D))
    slack.fail("invalid_auth", times=1)
    with pytest.raises(DeliveryError, match="invalid_auth"):
        digest.digest(cfg, channels=["slack"], clock=clock)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    text = Path(cfg.source).read_text(encoding="utf-8")
    Path(cfg.source).write_text(text.replace("[slack]\nenabled = true", "[slack]\nenabled = false"))
    off = config_io.load(cfg.source, env={})
    assert not off.slack.enabled
    assert digest.resend_pending(off, clock=clock) == []
    assert slack.messages == [] and len(slack.requests) == 1
    with open_store(cfg, clock) as store:
        assert [d.key for d in store.pending_digests()] == ["day:2026-06-10:slack"]


def test_prune_keeps_what_a_channel_failing_for_longer_than_keep_days_was_not_offered(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """Mail refused for 20 days with keep_days 14, pruned daily: the 5 papers of day 2 still go out."""
    base = make_config()
    cfg = replace(base, storage=replace(base.storage, keep_days=base.digest.horizon_days))
    clock = FakeClock(MORNING)
    backlog_while_mail_is_refused(cfg, smtp, clock)
    for _day in range(20):
        with pytest.raises(DeliveryError):
            digest.digest(cfg, channels=["email"], clock=clock)
        retention.prune(cfg, clock=clock)  # the daemon prunes after every poll
        clock.advance(24 * 3600)
    smtp.handler.data_replies.clear()
    results = digest.digest(cfg, channels=["email"], clock=clock)
    assert [(r.status, r.papers) for r in results] == [("sent", 3), ("sent", 5)]
    assert sorted(i for mail in smtp.messages for i in mail_ids(mail)) == sorted(
        p.id for p in make_papers(3, D) + make_papers(5, D, prefix="2607")
    )
