"""status --check's former blind spots: a digest whose run died before its outcome, a pending
digest of a channel no run sends, and a path with no database yet (status creates nothing)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from arxivwatch import config as config_io
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.errors import DeliveryError
from arxivwatch.jobs import digest, health, open_store, status
from arxivwatch.models import Paper
from arxivwatch.store import PollRun
from conftest import CliRunner
from trained_model import install_model

MORNING = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # a Wednesday, after the 05:30 UTC poll
D = date(2026, 6, 10)
ONE_DAY = timedelta(days=1)


def check(cfg: Config, clock: FakeClock) -> tuple[int, str]:
    """status --check's exit code and its last line."""
    out = io.StringIO()
    code = status.status(cfg, check=True, clock=clock, out=out)
    return code, out.getvalue().strip().splitlines()[-1]


def polled(cfg: Config, clock: FakeClock, count: int = 3) -> None:
    """A model, `count` papers stored and a good poll at the clock's time: healthy but for digests."""
    install_model(cfg.model_path)
    papers = [
        Paper(
            id=f"2606.{n:05d}",
            title=f"Semantic segmentation of street scenes, part {n}",
            abstract=f"We study semantic segmentation. Experiments on benchmark {n} show gains.",
            authors=("A. Author",),
            categories=("cs.CV",),
            primary_category="cs.CV",
            announced=D,
        )
        for n in range(1, count + 1)
    ]
    with open_store(cfg, clock) as store:
        store.upsert_papers(papers, announced=None)
        store.record_poll(PollRun(at=clock.now(), source="feed", outcome="no announcement"))


# 1. a run that died between recording a digest and its outcome


def test_a_digest_recorded_and_never_sent_turns_unhealthy_after_the_send_bound(
    make_config: Callable[[str], Config],
) -> None:
    """A digest recorded, then no outcome and no heartbeat (its run died): healthy within the send
    bound (2 h), then --check exits 1 naming channel, period and what to do; a run resends it."""
    cfg = make_config('folder = "out"\n')
    clock = FakeClock(MORNING)
    polled(cfg, clock)
    with open_store(cfg, clock) as store:
        store.beat("digest", True, "file: sent")  # an earlier good run: its heartbeat is older
        clock.advance(60)
        store.add_pending_digest("day:2026-06-10:file", "day", D, D, "file", [("2606.00001", 1)])
    assert health.send_bound(cfg) == timedelta(hours=2)
    clock.advance(2 * 3600 - 60)
    assert check(cfg, clock) == (0, "healthy")
    clock.advance(120)
    assert check(cfg, clock) == (
        1,
        "unhealthy: the file digest for 2026-06-10 (day:2026-06-10:file) was recorded at "
        "2026-06-10 08:01 UTC and is neither sent nor failed after 2 h: its run was cut off; "
        "run `arxivwatch digest` or restart the daemon: it resends",
    )
    (result,) = digest.resend_pending(cfg, clock=clock)
    assert (result.key, result.status) == ("day:2026-06-10:file", "sent")
    assert check(cfg, clock) == (0, "healthy")


def test_the_send_bound_follows_a_run_allowed_longer_than_two_hours(
    make_config: Callable[[str], Config],
) -> None:
    """With [email] timeout and [slack] max_wait at their 1 h maximum, a run may take 2 h 1 min:
    a pending weekly digest is not flagged at 2 h 0 min 30 s, and is at 2 h 1 min 30 s."""
    cfg = make_config("[email]\ntimeout = 3600\n[slack]\nmax_wait = 3600\n")
    assert health.send_bound(cfg) == timedelta(seconds=3600 + 3600 + 60)
    clock = FakeClock(MORNING)
    polled(cfg, clock)
    start, end = date(2026, 6, 8), date(2026, 6, 14)
    with open_store(cfg, clock) as store:
        store.add_pending_digest("week:2026-06-08:file", "week", start, end, "file", [])
    assert check(cfg, later(clock, seconds=7230)) == (0, "healthy")
    code, line = check(cfg, later(clock, seconds=7290))
    assert code == 1
    assert line.startswith(
        "unhealthy: the file digest for the week 2026-06-08 to 2026-06-14 (week:2026-06-08:file) "
        "was recorded at 2026-06-10 08:00 UTC and is neither sent nor failed after 121 min"
    )


def later(clock: FakeClock, *, seconds: int) -> FakeClock:
    """A fresh clock `seconds` after `clock` (status run later, by another process)."""
    return FakeClock(clock.now() + timedelta(seconds=seconds))


# 2. a channel's pending digests that no run sent, or that no run can send


def block_digests_folder(cfg: Config) -> None:
    """A file where the `digests` folder belongs, so writing the file channel fails."""
    cfg.digest_folder.parent.mkdir(parents=True, exist_ok=True)
    cfg.digest_folder.write_text("not a folder\n")


def test_a_failed_file_digest_without_a_folder_is_flagged_and_retried_by_the_plain_digest_run(
    make_config: Callable[[str], Config],
) -> None:
    """`digest --channel file` fails with no [digest] folder set; a later good stdout run does not
    hide it from --check; the plain `digest` run (and the daemon) retries it and writes it."""
    cfg = make_config()
    assert digest.enabled_channels(cfg) == ["stdout"]
    clock = FakeClock(MORNING)
    polled(cfg, clock)
    block_digests_folder(cfg)
    with pytest.raises(DeliveryError):
        digest.digest(cfg, channels=["file"], clock=clock)
    clock.advance(60)
    digest.digest(cfg, channels=["stdout"], clock=clock, out=io.StringIO())
    assert check(cfg, clock) == (
        1,
        "unhealthy: the file digest day:2026-06-10:file is still pending since 2026-06-10 08:00 UTC "
        "(its delivery failed; `arxivwatch digest` retries it)",
    )
    report = io.StringIO()
    with pytest.raises(DeliveryError):  # the plain run retries it, and fails as any channel does
        digest.digest(cfg, clock=clock, out=io.StringIO(), report=report)
    assert report.getvalue().startswith("file: failed, left pending: ")
    out = io.StringIO()
    status.status(cfg, clock=clock, out=out)
    assert "file (not enabled; every digest run retries its pending digests): " in out.getvalue()
    cfg.digest_folder.unlink()
    report = io.StringIO()
    results = digest.digest(cfg, clock=clock, out=io.StringIO(), report=report)
    assert [(r.channel, r.key, r.status, r.papers) for r in results] == [
        ("stdout", "day:2026-06-10:stdout", "printed", 3),
        ("file", "day:2026-06-10:file", "sent", 3),
    ]
    assert report.getvalue() == f"file: wrote 3 papers to {cfg.digest_folder}\n"
    assert (cfg.digest_folder / "digest-day-2026-06-10.md").is_file()
    assert check(cfg, clock) == (0, "healthy")


def test_a_pending_digest_of_a_channel_turned_off_is_flagged_and_reported_by_the_digest_run(
    make_config: Callable[[str], Config],
) -> None:
    """An email digest pending while email is off: --check exits 1 at once naming it and the
    setting; the plain `digest` run says it waits (no failure), and sends no mail."""
    cfg = make_config()
    clock = FakeClock(MORNING)
    polled(cfg, clock)
    with open_store(cfg, clock) as store:
        store.add_pending_digest("day:2026-06-09:email", "day", D - ONE_DAY, D - ONE_DAY, "email", [])
    assert check(cfg, clock) == (
        1,
        "unhealthy: the email digest for 2026-06-09 (day:2026-06-09:email) is pending, but email is "
        "not enabled: set [email] enabled = true and the next `arxivwatch digest` sends it",
    )
    report = io.StringIO()
    results = digest.digest(cfg, clock=clock, out=io.StringIO(), report=report)
    assert [(r.channel, r.status) for r in results] == [
        ("stdout", "printed"),
        ("email", "pending (not enabled)"),
    ]
    assert report.getvalue() == (
        "email: not sent, email is not enabled, pending: day:2026-06-09:email"
        " (set [email] enabled = true to send them)\n"
    )
    assert digest.resend_pending(cfg, clock=clock) == []
    with open_store(cfg, clock) as store:
        assert [d.key for d in store.pending_digests()] == ["day:2026-06-09:email"]
        assert store.heartbeats()["digest"][1] is True  # waiting for a setting is no failed run
    assert check(cfg, clock)[0] == 1


def test_a_named_channel_run_leaves_other_channels_pending_digests_alone(
    make_config: Callable[[str], Config],
) -> None:
    """`digest --channel stdout` sends no pending file digest and reports no other channel."""
    cfg = make_config()
    clock = FakeClock(MORNING)
    polled(cfg, clock)
    with open_store(cfg, clock) as store:
        store.add_pending_digest("day:2026-06-09:file", "day", D - ONE_DAY, D - ONE_DAY, "file", [])
    results = digest.digest(cfg, channels=["stdout"], clock=clock, out=io.StringIO())
    assert [r.channel for r in results] == ["stdout"]
    assert not cfg.digest_folder.exists()


# 3. no database yet


def tree(root: Path) -> list[str]:
    """Every path under `root`, relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_status_without_a_database_says_so_in_one_line_and_creates_nothing(
    make_config: Callable[[str], Config], tmp_path: Path
) -> None:
    """status on a path with no database prints one line and exits 0; --check exits 1; --json says
    exists false, unhealthy; no file or folder appears."""
    cfg = make_config()
    before = tree(tmp_path)
    clock = FakeClock(MORNING)
    line = f"no database at {cfg.db_path} yet: run `arxivwatch poll` (or start the daemon) first"
    out = io.StringIO()
    assert status.status(cfg, clock=clock, out=out) == 0
    assert out.getvalue() == line + "\n"
    out = io.StringIO()
    assert status.status(cfg, check=True, clock=clock, out=out) == 1
    assert out.getvalue() == line + "\n"
    out = io.StringIO()
    assert status.status(cfg, as_json=True, check=True, clock=clock, out=out) == 1
    report = json.loads(out.getvalue())
    assert (report["exists"], report["healthy"], report["problem"]) == (False, False, line)
    assert (report["papers_stored"], report["last_poll"], report["digests"]) == (0, None, [])
    assert tree(tmp_path) == before
    assert not cfg.db_path.parent.exists()


def test_status_check_without_a_database_as_a_real_process(
    cli: CliRunner, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    """`arxivwatch status --check` in a real process: exit 1, the one line on stdout, no traceback,
    nothing created; once a database exists the report is the usual one."""
    path = write_config()
    db = tmp_path / "data" / "arxivwatch.db"
    before = tree(tmp_path)
    done = cli("status", "--check", "--config", str(path))
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout == f"no database at {db} yet: run `arxivwatch poll` (or start the daemon) first\n"
    assert tree(tmp_path) == before
    plain = cli("status", "--config", str(path))
    assert plain.returncode == 0 and plain.stdout == done.stdout
    cfg = config_io.load(str(path), env={})
    open_store(cfg, FakeClock(MORNING)).close()
    again = cli("status", "--check", "--config", str(path))
    assert again.returncode == 1
    assert again.stdout.splitlines()[0] == f"database: {db} (0 papers)"
    assert again.stdout.splitlines()[-1].startswith("unhealthy: never polled")


def test_existing_reports_say_the_database_exists(make_config: Callable[[str], Config]) -> None:
    """A report of an existing database carries "exists": true beside its usual keys."""
    cfg = make_config()
    clock = FakeClock(MORNING)
    polled(cfg, clock)
    report = status.collect(cfg, clock)
    assert report["exists"] is True and report["papers_stored"] == 3
