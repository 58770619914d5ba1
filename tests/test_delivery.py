"""The delivery model end to end: what each channel was offered, frozen digests, resumable Slack.

Real parts on 127.0.0.1 (aiosmtpd, the Slack emulator, files), a model trained once for
the module on the bundled lists, hand-made on-topic papers stored through the store, and an
injected clock. `[digest] min_score = 0.0` makes every stored paper qualify, so the counts
below are the counts of papers stored.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from arxivwatch import config as config_io
from arxivwatch import model as model_io
from arxivwatch.clock import Clock, FakeClock, SystemClock
from arxivwatch.config import Config
from arxivwatch.errors import DeliveryError
from arxivwatch.jobs import digest, open_store, status
from arxivwatch.models import Paper
from arxivwatch.store import Store
from conftest import CliRunner
from slack_emulator import SlackEmulator, links
from smtp_server import SmtpServer

D = date(2026, 6, 10)
MORNING = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # the daily digest's hour
TOPICS = (
    "Semi-supervised semantic segmentation with consistency regularization and pseudo-labels",
    "U-Net segmentation of organs in CT scans for medical image analysis",
    "Instance segmentation masks from a promptable segmentation model",
)
ABS = re.compile(r"https://arxiv\.org/abs/(\d{4}\.\d{5})")


def make_papers(
    count: int, day: date, prefix: str = "2606", kind: str = "new", version: int = 1
) -> list[Paper]:
    """`count` on-topic papers announced on `day`, ids <prefix>.00001 upwards."""
    papers = []
    for n in range(1, count + 1):
        pid = f"{prefix}.{n:05d}"
        papers.append(
            Paper(
                id=pid,
                title=f"{TOPICS[n % 3]}, part {n}",
                abstract=f"We study {TOPICS[n % 3].lower()}. Experiments on benchmark {n} show gains.",
                version=version,
                authors=("A. Author", "B. Author"),
                categories=("cs.CV",),
                primary_category="cs.CV",
                announced=day,
                announce_type=kind,
                abs_url=f"https://arxiv.org/abs/{pid}",
                pdf_url=f"https://arxiv.org/pdf/{pid}",
            )
        )
    return papers


def store_papers(cfg: Config, clock: Clock, papers: list[Paper]) -> None:
    """Store `papers` as a poll would, at the clock's time."""
    with open_store(cfg, clock) as store:
        store.upsert_papers(papers, announced=None)


def mail_ids(mail: EmailMessage) -> list[str]:
    """The arXiv ids an email's text part lists, in order (one abs link each)."""
    body = mail.get_body(("plain",))
    assert body is not None
    return re.findall(r"abs: https://arxiv\.org/abs/(\S+)", body.get_content())


def slack_ids(messages: list[dict[str, object]]) -> list[str]:
    """The arXiv ids the accepted Slack messages link, in order (each paper links abs twice)."""
    found: list[str] = []
    for message in messages:
        for block in message["blocks"]:  # type: ignore[attr-defined]
            ids = [m for url, _ in links(block) for m in ABS.findall(url)]
            if ids:
                found.append(ids[0])
    return found


@pytest.fixture
def make_config(
    write_config: Callable[[str], Path],
    smtp: SmtpServer,
    slack: SlackEmulator,
    model_path: Path,
    tmp_path: Path,
) -> Callable[..., Config]:
    """A config with email, Slack and files on loopback, every paper qualifying (min_score 0)."""

    def make(extra: str = "", *, model: Path = model_path, top_n: int = 25, period: str = "day") -> Config:
        path = write_config(
            f'[training]\nmodel = "{model}"\n'
            f'[digest]\nperiod = "{period}"\nmin_score = 0.0\ntop_n = {top_n}\n'
            f'folder = "{tmp_path / "out"}"\n'
            + smtp.config_section("timeout = 10\n")
            + slack.config_section()
            + extra
        )
        return config_io.load(str(path), env={})

    return make


def test_late_papers_reach_the_next_digest_marked_late(
    make_config: Callable[..., Config], smtp: SmtpServer, tmp_path: Path
) -> None:
    """An empty daily digest is sent, then 20 papers of that day stored: the next one has all 20, late."""
    cfg = make_config()
    clock = FakeClock(MORNING)
    first = digest.digest(cfg, channels=["email", "file"], clock=clock)
    assert [(r.status, r.papers) for r in first] == [("sent", 0), ("sent", 0)]
    assert first[0].line == "email: sent an empty digest (nothing new in the horizon) to 1 recipient"
    clock.advance(3600)
    store_papers(cfg, clock, make_papers(20, D))
    clock.advance(23 * 3600)  # the next morning
    second = digest.digest(cfg, channels=["email", "file"], clock=clock)
    assert [(r.status, r.papers) for r in second] == [("sent", 20), ("sent", 20)]
    assert second[0].line == "email: sent 20 papers to 1 recipient"
    mail = smtp.messages[1]
    assert sorted(mail_ids(mail)) == [p.id for p in make_papers(20, D)]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert text.count("announced Jun 10, arrived late") == 20
    assert html.count("announced Jun 10, arrived late") == 20
    markdown = (tmp_path / "out" / "digest-day-2026-06-11.md").read_text()
    assert markdown.count("announced Jun 10, arrived late") == 20
    clock.advance(24 * 3600)
    third = digest.digest(cfg, channels=["email"], clock=clock)
    assert [(r.status, r.papers) for r in third] == [("sent", 0)]
    assert third[0].line == "email: sent an empty digest (nothing new since Jun 11) to 1 recipient"


def test_a_weekly_digest_rerun_the_same_day_says_already_sent(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """A second run for the same period sends nothing and names the week; papers stored meanwhile wait."""
    cfg = make_config(period="week")
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(3, D))
    (sent,) = digest.digest(cfg, channels=["email"], clock=clock)
    store_papers(cfg, clock, make_papers(2, D, prefix="2607"))
    (again,) = digest.digest(cfg, channels=["email"], clock=clock)
    assert (sent.papers, again.status, again.line) == (
        3,
        "already sent",
        "email: already sent for the week 2026-06-04 to 2026-06-10",
    )
    with open_store(cfg, clock) as store:
        assert store.waiting("email", MORNING - timedelta(days=14)) == 2
    assert len(smtp.messages) == 1


def test_pending_digest_is_replayed_as_recorded_after_top_n_changes(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """SMTP says 421 at DATA; top_n goes from 25 to 2; the retry still carries the 20 recorded papers."""
    cfg = make_config()
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(20, D))
    smtp.handler.data_replies.append("421 4.3.2 Service not available, try again later")
    with pytest.raises(DeliveryError, match=r"421.*stays pending"):
        digest.digest(cfg, channels=["email"], clock=clock)
    with open_store(cfg, clock) as store:
        (pending,) = store.pending_digests("email")
        assert (len(pending.items), pending.offered) == (20, 20)
    smaller = make_config(top_n=2)
    clock.advance(600)
    (result,) = digest.digest(smaller, channels=["email"], clock=clock)
    assert (result.status, result.papers) == ("sent", 20)
    (mail,) = smtp.messages
    assert sorted(mail_ids(mail)) == [p.id for p in make_papers(20, D)]
    with open_store(cfg, clock) as store:
        record = store.get_digest(pending.key)
        assert record is not None and record.status == "sent"
        assert store.offered_versions("email") == {p.id: 1 for p in make_papers(20, D)}
    clock.advance(86400)
    (later,) = digest.digest(smaller, channels=["email"], clock=clock)
    assert later.papers == 0 and len(smtp.messages) == 2


def test_pending_digest_is_replayed_as_recorded_after_a_retrain(
    make_config: Callable[..., Config], smtp: SmtpServer, model_path: Path, tmp_path: Path
) -> None:
    """A retrain between attempts (new model id, thresholds 0.999) changes nothing in the recorded digest."""
    lenient = model_io.load(model_path)
    mine = tmp_path / "model.npz"
    model_io.save(replace(lenient, profiles=tuple(replace(p, threshold=0.0) for p in lenient.profiles)), mine)
    cfg = make_config(model=mine)
    cfg = replace(cfg, digest=replace(cfg.digest, min_score=None))  # thresholds from the model
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(20, D))
    smtp.stop()
    with pytest.raises(DeliveryError):
        digest.digest(cfg, channels=["email"], clock=clock)
    with open_store(cfg, clock) as store:
        (pending,) = store.pending_digests("email")
    frozen = json.loads(pending.message or "{}")
    strict = model_io.load(mine)
    retrained = replace(
        strict,
        trained_at=strict.trained_at + timedelta(days=1),
        profiles=tuple(replace(p, threshold=0.999) for p in strict.profiles),
    )
    model_io.save(retrained, mine)
    smtp.start()
    (result,) = digest.digest(cfg, channels=["email"], clock=clock)
    assert (result.status, result.papers) == ("sent", 20)
    (mail,) = smtp.messages
    assert mail["Subject"] == frozen["subject"] == "arxivwatch: 20 papers, 10 Jun 2026"
    sent_text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert sent_text.replace("\r\n", "\n") == frozen["text"]
    clock.advance(86400)
    (later,) = digest.digest(cfg, channels=["email"], clock=clock)
    assert (later.papers, later.line) == (
        0,
        "email: sent an empty digest (nothing new since Jun 10) to 1 recipient",
    )


def test_papers_below_top_n_count_as_offered_and_never_come_back(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """With top_n 2 a digest shows 2 papers a profile but offers all 20; the next one holds none of them."""
    cfg = make_config(top_n=2)
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(20, D))
    (first,) = digest.digest(cfg, channels=["email"], clock=clock)
    with open_store(cfg, clock) as store:
        record = store.get_digest(first.key)
        assert record is not None and record.offered == 20
        profiles = {entry["profile"] for entry in json.loads(record.entries)}
        assert len(record.items) == 2 * len(profiles) < 20
    clock.advance(86400)
    (second,) = digest.digest(cfg, channels=["email"], clock=clock)
    assert second.papers == 0
    assert second.line == "email: sent an empty digest (nothing new since Jun 10) to 1 recipient"


def test_flag_updated_offers_a_new_version_again_only_when_set(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """A replacement (v2) of an offered paper comes back marked updated with flag_updated, and not without."""
    clock = FakeClock(MORNING)
    plain = make_config()
    store_papers(plain, clock, make_papers(3, D))
    digest.digest(plain, channels=["email"], clock=clock)
    clock.advance(86400)
    store_papers(plain, clock, make_papers(1, D + timedelta(days=1), kind="replace", version=2))
    (without,) = digest.digest(plain, channels=["email"], clock=clock)
    assert without.papers == 0
    clock.advance(86400)
    flagged = make_config("", top_n=25)
    flagged = replace(flagged, digest=replace(flagged.digest, flag_updated=True))
    (with_flag,) = digest.digest(flagged, channels=["email"], clock=clock)
    assert with_flag.papers == 1
    text = smtp.messages[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "[updated]" in text and mail_ids(smtp.messages[-1]) == ["2606.00001"]
    with open_store(plain, clock) as store:
        assert store.offered_versions("email")["2606.00001"] == 2


def test_slack_past_max_wait_stays_pending_and_resumes_at_the_next_message(
    make_config: Callable[..., Config], slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A Retry-After over [slack] max_wait on message 2 leaves it pending; the next run posts only it."""
    cfg = make_config("max_wait = 60\n", top_n=20)
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(20, D))
    slack.fail("ratelimited", times=1, retry_after=7, after=0)
    slack.fail("ratelimited", times=1, retry_after=1000, after=1)
    caplog.set_level(logging.INFO, logger="arxivwatch.slack")
    with pytest.raises(
        DeliveryError, match=r"rate limited past \[slack\] max_wait \(60 s\) \(message 2 of 2"
    ) as info:
        digest.digest(cfg, channels=["slack"], clock=clock)
    assert "max_wait" in info.value.hint and "pending" in info.value.hint
    assert clock.sleeps == [7]
    assert any("message 1 of 2 ratelimited; retrying in 7 s" in r.getMessage() for r in caplog.records)
    assert len(slack.messages) == 1
    with open_store(cfg, clock) as store:
        (pending,) = store.pending_digests("slack")
        assert pending.progress == 1 and pending.detail == slack.messages[0]["ts"]
    (result,) = digest.digest(cfg, channels=["slack"], clock=clock)
    assert (result.status, result.papers) == ("sent", 20)
    ids = slack_ids(slack.messages)
    assert len(slack.messages) == 2
    assert sorted(ids) == [p.id for p in make_papers(20, D)], "every paper posted exactly once"


def test_resend_pending_delivers_the_frozen_digest_without_a_model(
    make_config: Callable[..., Config], smtp: SmtpServer, model_path: Path, tmp_path: Path
) -> None:
    """The daemon's resend_pending sends the recorded digest even after the model file is gone."""
    mine = tmp_path / "model.npz"
    mine.write_bytes(model_path.read_bytes())
    cfg = make_config(model=mine)
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(5, D))
    smtp.stop()
    with pytest.raises(DeliveryError):
        digest.digest(cfg, channels=["email"], clock=clock)
    mine.unlink()
    smtp.start()
    (result,) = digest.resend_pending(cfg, clock=clock)
    assert (result.status, result.papers) == ("sent", 5)
    assert len(mail_ids(smtp.messages[0])) == 5


def test_partially_refused_recipients_are_named_in_the_line_ledger_and_status(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """One of two recipients answered 550: the digest counts as sent; the refused one is named everywhere."""
    cfg = make_config()
    cfg = replace(cfg, email=replace(cfg.email, recipients=("lab@example.org", "gone@example.org")))
    smtp.handler.refuse = frozenset({"gone@example.org"})
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(4, D))
    (result,) = digest.digest(cfg, channels=["email"], clock=clock)
    assert result.line == "email: sent 4 papers to 1 recipient; refused: gone@example.org"
    (received,) = smtp.received
    assert received.rcpt_tos == ["lab@example.org"]
    with open_store(cfg, clock) as store:
        record = store.get_digest(result.key)
        assert record is not None and (record.status, record.refused) == ("sent", ("gone@example.org",))
        assert record.detail.endswith("@arxivwatch>; refused: gone@example.org")
    report = status.collect(cfg, clock)
    assert report["channels"]["email"]["refused"] == ["gone@example.org"]
    assert report["channels"]["email"]["last_digest"]["papers"] == 4


def test_status_shows_per_channel_last_digest_and_papers_waiting(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """status counts the papers waiting per channel: unoffered ones plus those held by a pending digest."""
    cfg = make_config()
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(7, D))
    smtp.stop()
    with pytest.raises(DeliveryError):
        digest.digest(cfg, channels=["email"], clock=clock)
    store_papers(cfg, clock, make_papers(3, D, prefix="2607"))
    report = status.collect(cfg, clock)
    email, slack = report["channels"]["email"], report["channels"]["slack"]
    assert (email["waiting"], email["pending"], email["last_digest"]["status"]) == (
        10,
        ["day:2026-06-10:email"],
        "pending",
    )
    assert (slack["waiting"], slack["last_digest"]) == (10, None)
    import io

    out = io.StringIO()
    status.status(cfg, clock=clock, out=out)
    assert (
        "email: last digest day:2026-06-10:email pending (7 papers shown, 7 offered); 10 papers waiting"
        in out.getvalue()
    )


def test_the_horizon_keeps_old_papers_out(make_config: Callable[..., Config], smtp: SmtpServer) -> None:
    """Papers stored more than horizon_days ago are not offered to a channel that never saw them."""
    cfg = make_config()
    cfg = replace(cfg, digest=replace(cfg.digest, horizon_days=3))
    clock = FakeClock(MORNING - timedelta(days=4))
    store_papers(cfg, clock, make_papers(5, D - timedelta(days=4)))
    clock = FakeClock(MORNING - timedelta(days=2))
    store_papers(cfg, clock, make_papers(2, D - timedelta(days=2), prefix="2607"))
    (result,) = digest.digest(cfg, channels=["email"], clock=FakeClock(MORNING))
    assert result.papers == 2
    assert sorted(mail_ids(smtp.messages[0])) == ["2607.00001", "2607.00002"]


def test_store_candidates_follow_arrival_order(tmp_path: Path) -> None:
    """A channel's candidates come in the order they were stored, not by id or announcement."""
    clock = FakeClock(MORNING)
    with Store(tmp_path / "a.db", clock=clock) as store:
        store.upsert_papers(make_papers(2, D, prefix="2609"), announced=None)
        clock.advance(60)
        store.upsert_papers(make_papers(2, D - timedelta(days=3), prefix="2601"), announced=None)
        ids = [p.id for p in store.candidates("email", MORNING - timedelta(days=1))]
    assert ids == ["2609.00001", "2609.00002", "2601.00001", "2601.00002"]


def test_421_at_quit_marks_the_digest_sent_and_it_is_not_resent(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """The server took the digest (250 to DATA) and then answered QUIT 421: sent once, never again."""
    cfg = make_config()
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(6, D))
    smtp.handler.quit_reply = "421 4.4.2 Closing connection"
    (first,) = digest.digest(cfg, channels=["email"], clock=clock)
    (again,) = digest.digest(cfg, channels=["email"], clock=clock)
    assert (first.status, first.papers, again.status) == ("sent", 6, "already sent")
    assert len(smtp.messages) == 1
    with open_store(cfg, clock) as store:
        assert store.pending_digests() == []


def _spawn_digest(cfg: Config) -> subprocess.Popen[str]:
    """`arxivwatch digest --channel slack` as a real process (the Slack token from the environment)."""
    return subprocess.Popen(
        [sys.executable, "-m", "arxivwatch", "digest", "--channel", "slack", "--config", cfg.source],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: Callable[[], bool], seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _rerun_and_check_every_paper_once(cfg: Config, slack: SlackEmulator, cli: CliRunner) -> None:
    result = cli("digest", "--channel", "slack", "--config", cfg.source)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["slack: sent 20 papers (1 message posted now)"]
    assert len(slack.messages) == 2
    assert sorted(slack_ids(slack.messages)) == [p.id for p in make_papers(20, D)], "each paper once"


@pytest.mark.slow
def test_sigkill_midway_through_a_slack_send_then_rerun_posts_each_paper_once(
    make_config: Callable[..., Config], slack: SlackEmulator, cli: CliRunner
) -> None:
    """A digest process SIGKILLed while Slack holds its second message: the rerun posts only that one."""
    cfg = make_config(top_n=20)
    store_papers(cfg, SystemClock(), make_papers(20, D))
    slack.hold(after=1)
    proc = _spawn_digest(cfg)
    try:
        assert slack.state.holding.wait(timeout=120), proc.stderr
    finally:
        proc.kill()
        proc.wait(timeout=30)
        slack.release()
    assert proc.returncode == -signal.SIGKILL
    assert len(slack.messages) == 1
    with open_store(cfg, SystemClock()) as store:
        (pending,) = store.pending_digests("slack")
        assert pending.progress == 1, "message 1 was committed before message 2 was posted"
    _rerun_and_check_every_paper_once(cfg, slack, cli)


@pytest.mark.slow
def test_sigterm_during_a_retry_after_wait_then_rerun_posts_each_paper_once(
    make_config: Callable[..., Config], slack: SlackEmulator, cli: CliRunner
) -> None:
    """A digest process SIGTERMed while it waits out a Retry-After: the rerun resumes at message 2."""
    cfg = make_config(top_n=20)
    store_papers(cfg, SystemClock(), make_papers(20, D))
    slack.fail("ratelimited", times=1, retry_after=120, after=1)
    proc = _spawn_digest(cfg)
    try:
        _wait_for(lambda: len(slack.requests) >= 2 or proc.poll() is not None)
        time.sleep(0.3)  # into the wait
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    assert [r.status for r in slack.requests] == [200, 429]
    _rerun_and_check_every_paper_once(cfg, slack, cli)


def test_status_counts_new_versions_waiting_with_flag_updated(make_config: Callable[..., Config]) -> None:
    """With flag_updated, new versions of papers a sent digest offered are waiting too: status counts
    them (the next digest offers them), and without flag_updated it does not."""
    cfg = make_config()
    cfg = replace(cfg, digest=replace(cfg.digest, flag_updated=True))
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(5, D))
    (sent,) = digest.digest(cfg, channels=["email"], clock=clock)
    assert (sent.status, sent.papers) == ("sent", 5)
    clock.advance(3600)
    store_papers(cfg, clock, make_papers(2, D, kind="replace", version=2))
    assert status.collect(cfg, clock)["channels"]["email"]["waiting"] == 2
    plain = replace(cfg, digest=replace(cfg.digest, flag_updated=False))
    assert status.collect(plain, clock)["channels"]["email"]["waiting"] == 0
    clock.advance(24 * 3600)
    (again,) = digest.digest(cfg, channels=["email"], clock=clock)
    assert again.papers == 2


def _frozen_blocks(cfg: Config, clock: Clock) -> list[dict[str, object]]:
    """The blocks of the pending Slack digest's frozen message, in order, across its messages."""
    from arxivwatch.models import Message

    with open_store(cfg, clock) as store:
        (pending,) = store.pending_digests("slack")
        assert pending.message is not None
        return [b for p in Message.from_json(pending.message).slack for b in p["blocks"]]  # type: ignore[attr-defined]


def _a_pending_slack_digest(
    make_config: Callable[..., Config], slack: SlackEmulator
) -> tuple[Config, FakeClock, list[dict[str, object]]]:
    """(config, clock, its frozen blocks): a 20-paper Slack digest recorded, then left pending by
    one failed post."""
    cfg = make_config(top_n=20)
    clock = FakeClock(MORNING)
    store_papers(cfg, clock, make_papers(20, D))
    slack.fail("internal_error", times=1)
    with pytest.raises(DeliveryError):
        digest.digest(cfg, channels=["slack"], clock=clock)
    return cfg, clock, _frozen_blocks(cfg, clock)


def test_a_frozen_slack_digest_refused_as_too_long_is_split_further_and_every_paper_arrives_once(
    make_config: Callable[..., Config], slack: SlackEmulator
) -> None:
    """When Slack refuses a recorded digest's message with msg_blocks_too_long (its limit dropped), the
    sender splits it further instead of failing on every retry: all blocks arrive once, in order."""
    cfg, clock, frozen = _a_pending_slack_digest(make_config, slack)
    slack.limit_blocks(4000)
    (result,) = digest.digest(cfg, channels=["slack"], clock=clock)
    assert (result.status, result.papers) == ("sent", 20)
    assert len(slack.messages) > 2
    assert [b for m in slack.messages for b in m["blocks"]] == frozen
    ids = slack_ids(slack.messages)
    assert sorted(ids) == [p.id for p in make_papers(20, D)] and len(set(ids)) == 20


def test_a_refused_split_part_leaves_exact_progress_and_the_rerun_posts_each_block_once(
    make_config: Callable[..., Config], slack: SlackEmulator
) -> None:
    """A failure after some parts of a further-split message were accepted keeps the digest pending with
    its progress exact; the next run posts only what was not accepted, every block once and in order."""
    cfg, clock, frozen = _a_pending_slack_digest(make_config, slack)
    slack.limit_blocks(4000)
    slack.fail("internal_error", times=1, after=len(slack.requests) + 3)  # too long, part 1, part 2, fail
    with pytest.raises(DeliveryError, match="internal_error"):
        digest.digest(cfg, channels=["slack"], clock=clock)
    assert len(slack.messages) == 2
    with open_store(cfg, clock) as store:
        (pending,) = store.pending_digests("slack")
        assert pending.progress == 2
        assert pending.detail == ",".join(m["ts"] for m in slack.messages)
    assert _frozen_blocks(cfg, clock) == frozen, "the same blocks, only split further"
    (result,) = digest.digest(cfg, channels=["slack"], clock=clock)
    assert (result.status, result.papers) == ("sent", 20)
    assert [b for m in slack.messages for b in m["blocks"]] == frozen
    with open_store(cfg, clock) as store:
        sent = store.get_digest(result.key)
        assert sent is not None and sent.detail == ",".join(m["ts"] for m in slack.messages)
