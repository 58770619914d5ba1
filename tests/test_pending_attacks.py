"""Pending digests under faults: a file digest that cannot be written blocks no other channel's
resend, and status's lines name the time zone of every time they give."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from arxivwatch import config as config_io
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.errors import DeliveryError
from arxivwatch.jobs import digest, open_store, status
from arxivwatch.store import MIGRATIONS
from conftest import CliRunner
from smtp_server import SmtpServer
from test_status_health import MORNING, ONE_DAY, D, block_digests_folder, polled


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


def old_store(path: Path) -> None:
    """A database of schema 1 (the first migration only), as an older arxivwatch left it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("PRAGMA journal_mode=WAL")  # as every arxivwatch leaves its database
        for statement in MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 1")


def files(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_status_on_an_older_schema_says_so_in_one_line_and_upgrades_nothing(
    cli: CliRunner, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    """status on a database of an older schema prints one line naming the schemas and the fix
    (exit 0, --check exit 1, --json unhealthy with the usual keys) and leaves every file as it
    was: an older daemon still running on it keeps working."""
    path = write_config()
    db = tmp_path / "data" / "arxivwatch.db"
    old_store(db)
    before = files(tmp_path)
    line = (
        f"the database {db} has schema 1, older than this arxivwatch's ({len(MIGRATIONS)}): run "
        "`arxivwatch poll` (or restart the daemon) to upgrade it"
    )
    plain = cli("status", "--config", str(path))
    assert (plain.returncode, plain.stdout, plain.stderr) == (0, line + "\n", "")
    check = cli("status", "--check", "--config", str(path))
    assert (check.returncode, check.stdout, check.stderr) == (1, line + "\n", "")
    as_json = cli("status", "--json", "--check", "--config", str(path))
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert files(tmp_path) == before
    cfg = config_io.load(str(path), env={})
    clock = FakeClock(MORNING)
    open_store(cfg, clock).close()  # upgraded by a command that writes: the usual report's keys
    assert report.keys() == status.collect(cfg, clock).keys()
    assert (report["exists"], report["healthy"], report["problem"]) == (True, False, line)


def test_status_leaves_an_older_schema_file_byte_for_byte(
    make_config: Callable[[str], Config], tmp_path: Path
) -> None:
    """After status, --check and --json on a schema-1 database, every file under the folder is
    byte for byte what it was, and its schema is still 1."""
    cfg = make_config()
    old_store(cfg.db_path)
    before = files(tmp_path)
    clock = FakeClock(MORNING)
    for as_json, check in [(False, False), (False, True), (True, True)]:
        status.status(cfg, as_json=as_json, check=check, clock=clock, out=io.StringIO())
    assert files(tmp_path) == before
    with contextlib.closing(sqlite3.connect(cfg.db_path)) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1


def test_status_on_an_empty_file_says_no_database_and_writes_no_schema_into_it(
    make_config: Callable[[str], Config],
) -> None:
    """An empty file at the database path (touched, or a failed copy) holds no database: status
    says so in the no-database line, --check exits 1, and the file stays empty."""
    cfg = make_config()
    cfg.db_path.parent.mkdir(parents=True)
    cfg.db_path.touch()
    out = io.StringIO()
    assert status.status(cfg, check=True, clock=FakeClock(MORNING), out=out) == 1
    assert out.getvalue() == (
        f"no database at {cfg.db_path} yet: run `arxivwatch poll` (or start the daemon) first\n"
    )
    assert cfg.db_path.stat().st_size == 0
