"""Pending digests under faults: a file digest that cannot be written blocks no other channel's
resend, and status's lines name the time zone of every time they give."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from arxivwatch import config as config_io
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.errors import DeliveryError
from arxivwatch.jobs import digest, open_store, status
from smtp_server import SmtpServer
from test_status_health import MORNING, ONE_DAY, D, block_digests_folder, polled


@pytest.fixture
def make_config(write_config: Callable[[str], Path]) -> Callable[[str], Config]:
    """A loaded config (storage in tmp_path, daily digests, every paper qualifying) plus `extra`."""

    def make(extra: str = "") -> Config:
        path = write_config('[digest]\nperiod = "day"\nmin_score = 0.0\n' + extra)
        return config_io.load(str(path), env={})

    return make


def test_start_up_resend_sends_the_email_digest_behind_a_file_digest_it_cannot_write(
    make_config: Callable[[str], Config], smtp: SmtpServer
) -> None:
    """A pending file digest whose folder is unwritable, older than a pending email digest: the
    daemon's start-up resend still mails the email one (once), then raises the file failure."""
    cfg = make_config(smtp.config_section())
    clock = FakeClock(MORNING)
    polled(cfg, clock)
    block_digests_folder(cfg)
    with open_store(cfg, clock) as store:
        store.add_pending_digest(
            "day:2026-06-09:file", "day", D - ONE_DAY, D - ONE_DAY, "file", [("2606.00001", 1)]
        )
        clock.advance(60)
        store.add_pending_digest(
            "day:2026-06-09:email", "day", D - ONE_DAY, D - ONE_DAY, "email", [("2606.00002", 1)]
        )
    with pytest.raises(DeliveryError, match="file: cannot write the digest"):
        digest.resend_pending(cfg, clock=clock)
    assert len(smtp.messages) == 1
    with open_store(cfg, clock) as store:
        assert [d.key for d in store.pending_digests()] == ["day:2026-06-09:file"]
    with pytest.raises(DeliveryError):
        digest.resend_pending(cfg, clock=clock)
    assert len(smtp.messages) == 1  # nothing twice


def test_an_overdue_poll_line_gives_the_due_time_in_utc_like_the_poll_time(
    make_config: Callable[[str], Config],
) -> None:
    """With the schedule in Europe/Berlin (summer, UTC+2), the overdue line gives both times in UTC
    and says so, so the two can be compared."""
    cfg = make_config('[schedule]\ntimezone = "Europe/Berlin"\npoll = "30 7 * * *"\n')
    clock = FakeClock(datetime(2026, 6, 9, 5, 40, tzinfo=UTC))  # 07:40 in Berlin
    polled(cfg, clock)
    clock.advance(timedelta(days=1).total_seconds() + 3 * 3600)  # 2026-06-10 08:40 UTC
    out = io.StringIO()
    assert status.status(cfg, check=True, clock=clock, out=out) == 1
    assert out.getvalue().splitlines()[-1] == (
        "unhealthy: the last poll (2026-06-09 05:40 UTC) is older than the poll due at 2026-06-10 05:30 UTC"
    )
