"""Where features meet: delivery, the daemon's start-up, health checks, retention and scoring together.

Each test pins a defect found by running the features against one another on loopback servers.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from arxivwatch import config as config_io
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.errors import DeliveryError
from arxivwatch.jobs import digest, learn, open_store, status
from arxivwatch.models import Paper
from arxivwatch.scheduler import Interrupted, StoppableClock
from arxivwatch.store import PollRun, Store
from smtp_server import SmtpServer

D = date(2026, 6, 10)
MORNING = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


def mail_ids(mail: EmailMessage) -> list[str]:
    """The arXiv ids an email's text part lists, in order."""
    body = mail.get_body(("plain",))
    assert body is not None
    return re.findall(r"abs: https://arxiv\.org/abs/(\S+)", body.get_content())


def papers(count: int, day: date = D, prefix: str = "2606") -> list[Paper]:
    """`count` on-topic new papers announced on `day`."""
    return [
        Paper(
            id=f"{prefix}.{n:05d}",
            title=f"U-Net segmentation of organs in CT scans, part {n}",
            abstract=f"We study semi-supervised medical image segmentation. Benchmark {n} shows gains.",
            categories=("cs.CV",),
            primary_category="cs.CV",
            announced=day,
            announce_type="new",
            abs_url=f"https://arxiv.org/abs/{prefix}.{n:05d}",
            pdf_url=f"https://arxiv.org/pdf/{prefix}.{n:05d}",
        )
        for n in range(1, count + 1)
    ]


def email_refused(cfg: Config, smtp: SmtpServer, clock: FakeClock, channels: list[str] | None = None) -> None:
    """Four papers stored and polled at `clock`, the mail server stopped, a digest that fails:
    the email digest is left pending and the digest heartbeat failed."""
    with open_store(cfg, clock) as store:
        store.upsert_papers(papers(4), announced=None)
        store.record_poll(PollRun(at=clock.now(), source="feed", outcome="no announcement"))
    smtp.stop()
    with pytest.raises(DeliveryError):
        digest.digest(cfg, channels=channels, clock=clock)


@pytest.fixture
def make_config(
    write_config: Callable[[str], Path], smtp: SmtpServer, model_path: Path
) -> Callable[..., Config]:
    """A config mailing daily digests to the loopback SMTP server, every paper qualifying."""

    def make(extra: str = "", *, model: Path = model_path) -> Config:
        path = write_config(
            f'[training]\nmodel = "{model}"\n'
            '[digest]\nperiod = "day"\nmin_score = 0.0\n' + smtp.config_section("timeout = 10\n") + extra
        )
        return config_io.load(str(path), env={})

    return make


def test_a_resend_that_clears_every_pending_digest_makes_the_health_check_healthy_again(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """A start-up resend that sends the failed digest clears the digest problem of status --check."""
    cfg = make_config()
    clock = FakeClock(MORNING)
    email_refused(cfg, smtp, clock)
    assert status.collect(cfg, clock)["problem"].startswith("the last digest")
    smtp.start()
    (result,) = digest.resend_pending(cfg, clock=clock)
    assert (result.status, result.papers) == ("sent", 4)
    report = status.collect(cfg, clock)
    assert report["heartbeats"]["digest"]["ok"] is True
    assert report["problem"] is None


def test_a_good_digest_on_another_channel_does_not_hide_a_pending_email_digest(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """Mail down: the email digest stays pending; a later `digest --channel file` that works makes
    the digest heartbeat good, yet status --check still names the pending email digest, until a
    run delivers it."""
    cfg = make_config()
    email_refused(cfg, smtp, FakeClock(MORNING), channels=["email"])
    later = FakeClock(datetime(2026, 6, 10, 9, 0, tzinfo=UTC))
    (written,) = digest.digest(cfg, channels=["file"], clock=later)
    assert written.status == "sent"
    report = status.collect(cfg, later)
    assert report["heartbeats"]["digest"]["ok"] is True
    key = digest.digest_key("day", D, "email")
    assert report["problem"] == (
        f"the email digest {key} is still pending since 2026-06-10 08:00 UTC "
        "(its delivery failed; `arxivwatch digest` retries it)"
    )
    smtp.start()
    digest.digest(cfg, channels=["email"], clock=later)
    assert status.collect(cfg, later)["problem"] is None


def test_a_model_file_restored_from_an_older_backup_scores_and_offers_new_papers(
    make_config: Callable[..., Config], smtp: SmtpServer, model_path: Path, tmp_path: Path
) -> None:
    """A model file rolled back to an older backup scores new papers, which its next digest offers."""
    mine = tmp_path / "model.npz"
    mine.write_bytes(model_path.read_bytes())
    cfg = make_config(model=mine)
    backup = mine.read_bytes()
    clock = FakeClock(MORNING)
    with open_store(cfg, clock) as store:
        store.upsert_papers(papers(4), announced=None)
    with (tmp_path / "metrics.txt").open("w") as out:
        learn.train(cfg, offline=True, out=out)  # a newer model scores the store
    (first,) = digest.digest(cfg, clock=clock)
    assert first.papers == 4
    mine.write_bytes(backup)  # the operator rolls the model back
    clock.advance(86_400)
    with open_store(cfg, clock) as store:
        store.upsert_papers(papers(3, date(2026, 6, 11), prefix="2607"), announced=None)
    (second,) = digest.digest(cfg, clock=clock)
    assert (second.status, second.papers) == ("sent", 3)
    assert sorted(mail_ids(smtp.messages[1])) == ["2607.00001", "2607.00002", "2607.00003"]


def test_the_daemons_stop_request_ends_its_wait_for_the_senders_lock(tmp_path: Path) -> None:
    """The daemon waiting for another process's senders' lock stops at once on SIGTERM, not after 7 s."""
    clock = StoppableClock()
    with Store(tmp_path / "arxivwatch.db", clock=clock) as store:
        holder = os.open(tmp_path / "arxivwatch.db.send.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(holder, fcntl.LOCK_EX)  # another sender (its own open file: flock conflicts)
        outcome: list[str] = []

        def wait_for_lock() -> None:
            try:
                with store.sending(wait=60):
                    outcome.append("acquired")
            except Interrupted:
                outcome.append("interrupted")

        waiter = threading.Thread(target=wait_for_lock)
        waiter.start()
        time.sleep(0.3)
        began = time.monotonic()
        clock.stop()
        waiter.join(5)
        took = time.monotonic() - began
        os.close(holder)
    assert (outcome, took < 1.0) == (["interrupted"], True)
