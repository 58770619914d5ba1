"""The scheduler's logic in-process: cron triggers, what is due, and how one job is run."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from arxiv_server import RESTRICTED_FEED, ArxivServer, Reply, recorded
from arxivwatch import config as config_io
from arxivwatch import schedule, scheduler
from arxivwatch.config import Config, ScheduleConfig
from arxivwatch.errors import ArxivUnavailable, ConfigError
from arxivwatch.jobs import open_store
from arxivwatch.scheduler import Runner, StoppableClock

WED = datetime(2024, 11, 27, 12, 0, tzinfo=UTC)  # a Wednesday
MON = datetime(2024, 11, 25, 8, 0, tzinfo=UTC)  # the Monday before it


@pytest.fixture
def cfg(arxiv_server: ArxivServer, write_config: Callable[[str], Path]) -> Config:
    """A configuration whose arXiv is the loopback server and whose store is in tmp_path."""
    path = write_config(
        f'[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
    )
    return config_io.load(str(path), env={})


# cron triggers


def test_trigger_takes_five_crontab_fields_or_six_with_seconds_first() -> None:
    """Five fields fire on the minute; a sixth, leading field gives the second."""
    start = datetime(2024, 11, 28, 0, 0, tzinfo=UTC)
    five = schedule.cron("30 5 * * *", "UTC")
    six = schedule.cron("15 30 5 * * *", "UTC")
    assert five.at_or_after(start) == datetime(2024, 11, 28, 5, 30, tzinfo=UTC)
    assert six.at_or_after(start) == datetime(2024, 11, 28, 5, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize("expr", ["* * * *", "0 0 0 * * * *", ""])
def test_trigger_rejects_other_field_counts(expr: str) -> None:
    """Anything but five or six fields is a ValueError that says what is expected."""
    with pytest.raises(ValueError, match="expected 5 or 6"):
        schedule.cron(expr, "UTC")


def test_trigger_reads_the_schedule_time_zone() -> None:
    """08:00 in Europe/Berlin in winter is 07:00 UTC."""
    cron = schedule.cron("0 8 * * *", "Europe/Berlin")
    fire = cron.at_or_after(WED)
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2024, 11, 28, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "weekday"),
    [("1", 0), ("mon", 0), ("0", 6), ("7", 6), ("sun", 6), ("5", 4)],
)
def test_weekday_numbers_mean_what_they_mean_in_crontab(field: str, weekday: int) -> None:
    """1 is Monday and 0 or 7 Sunday, as in crontab (APScheduler 3's from_crontab reads 0 as Monday)."""
    fire = schedule.cron(f"0 8 * * {field}", "UTC").at_or_after(WED)
    assert fire is not None
    assert fire.weekday() == weekday


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("0,6", "sun,sat"),
        ("5-7", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("1/2", "mon,wed,fri"),
        ("SUN,Thu", "sun,thu"),
    ],
)
def test_crontab_weekday_fields_become_day_names(field: str, names: str) -> None:
    """Ranges, steps, lists and names expand to the days crontab would pick."""
    assert schedule.crontab_weekdays(field) == names


@pytest.mark.parametrize("field", ["5-1", "8", "funday", "*/0", "1-"])
def test_bad_weekday_fields_are_refused(field: str) -> None:
    """A backwards range, a number past 7, an unknown name or a zero step is a ValueError."""
    with pytest.raises(ValueError, match=r"weekday|step"):
        schedule.crontab_weekdays(field)


def test_a_bad_schedule_is_a_config_error_naming_the_key() -> None:
    """scheduler.triggers turns a cron that does not parse into one ConfigError line naming the key."""
    config = replace(Config(), schedule=ScheduleConfig(digest="0 25 * * mon"))
    with pytest.raises(ConfigError, match=r"\[schedule\] digest = '0 25 \* \* mon'"):
        scheduler.triggers(config)


# what is due


def test_previous_fire_is_the_latest_at_or_before_now() -> None:
    """Weekly, monthly and every-second crons all find their last fire time."""
    weekly = schedule.cron("0 8 * * mon", "UTC")
    assert schedule.previous_fire(weekly, WED) == MON
    assert schedule.previous_fire(weekly, MON) == MON
    monthly = schedule.cron("0 0 1 * *", "UTC")
    assert schedule.previous_fire(monthly, WED) == datetime(2024, 11, 1, tzinfo=UTC)
    every_second = schedule.cron("* * * * * *", "UTC")
    assert schedule.previous_fire(every_second, WED + timedelta(microseconds=500)) == WED
    assert schedule.next_fire(weekly, MON) == MON + timedelta(days=7)


def test_previous_fire_is_none_for_a_date_that_never_comes() -> None:
    """A cron for 30 February has no previous fire, so nothing is ever 'missed'."""
    never = schedule.cron("0 0 30 2 *", "UTC")
    assert schedule.previous_fire(never, WED) is None
    assert not schedule.digest_missed(never, last_run=None, last_ok=True, since=MON, now=WED)


def test_a_poll_is_missed_when_never_done_or_the_schedule_fired_since() -> None:
    """Never polled, or polled before the last fire time: due; polled after it: not schedule."""
    daily = schedule.cron("30 5 * * *", "UTC")
    fired = datetime(2024, 11, 27, 5, 30, tzinfo=UTC)
    assert schedule.poll_missed(daily, None, WED)
    assert schedule.poll_missed(daily, fired - timedelta(days=1), WED)
    assert not schedule.poll_missed(daily, fired + timedelta(minutes=1), WED)


def test_a_digest_is_missed_only_after_the_daemon_first_ran() -> None:
    """A fire before the daemon first ran is not owed; after it, owed until a good run follows it."""
    weekly = schedule.cron("0 8 * * mon", "UTC")
    before, after = MON - timedelta(days=1), MON + timedelta(hours=1)
    assert not schedule.digest_missed(weekly, last_run=None, last_ok=True, since=after, now=WED)
    assert schedule.digest_missed(weekly, last_run=None, last_ok=True, since=before, now=WED)
    assert schedule.digest_missed(weekly, last_run=before, last_ok=True, since=before, now=WED)
    assert not schedule.digest_missed(weekly, last_run=after, last_ok=True, since=before, now=WED)
    assert schedule.digest_missed(weekly, last_run=after, last_ok=False, since=before, now=WED)


# running one job


def test_a_failing_job_is_one_error_line_and_a_failed_heartbeat(
    cfg: Config, caplog: pytest.LogCaptureFixture
) -> None:
    """An ArxivwatchError is logged once, counted, and beaten into the store; the runner goes on."""

    def job() -> None:
        raise ArxivUnavailable("arXiv stayed down", hint="try later")

    runner = Runner(cfg, StoppableClock())
    with caplog.at_level(logging.INFO, logger="arxivwatch"):
        assert runner.step("poll", "poll", job) is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["poll failed: arXiv stayed down; try later"]
    assert runner.failures == 1
    assert runner.idle.is_set()
    with open_store(cfg, StoppableClock()) as store:
        _at, ok, detail = store.heartbeats()["poll"]
    assert (ok, detail) == (False, "arXiv stayed down; try later")
    assert runner.step("digest", "digest", lambda: 42) == 42  # the next job runs as usual


def test_an_unexpected_error_is_caught_and_no_secret_reaches_the_log(
    cfg: Config, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any exception is one line naming its type; configured secrets are masked in logs and heartbeats."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret-token")

    def job() -> None:
        raise RuntimeError("POST failed with token xoxb-very-secret-token")

    runner = Runner(cfg, StoppableClock())
    with caplog.at_level(logging.DEBUG, logger="arxivwatch"):
        runner.step("digest", "digest", job)
    assert "xoxb-very-secret-token" not in caplog.text
    assert "digest failed: RuntimeError: POST failed with token ***" in caplog.text
    with open_store(cfg, StoppableClock()) as store:
        assert "***" in store.heartbeats()["digest"][2]
        assert "xoxb" not in store.heartbeats()["digest"][2]


def test_a_stop_ends_a_waiting_job_at_once_without_counting_a_failure(cfg: Config) -> None:
    """A job sleeping on the runner's clock ends within moments of stop(), not as a failure."""
    clock = StoppableClock()
    runner = Runner(cfg, clock)
    threading.Timer(0.2, clock.stop).start()
    began = time.monotonic()
    assert runner.step("poll", "poll", lambda: clock.sleep(30)) is None
    assert time.monotonic() - began < 5
    assert runner.failures == 0
    with open_store(cfg, clock) as store:
        assert store.heartbeats() == {}


def test_no_job_starts_once_a_stop_was_asked_for(cfg: Config) -> None:
    """After stop(), a queued job is skipped rather than started."""
    clock = StoppableClock()
    runner = Runner(cfg, clock)
    clock.stop()
    ran: list[bool] = []
    assert runner.step("digest", "digest", lambda: ran.append(True)) is None
    assert ran == []


# run --once, in-process


def test_run_once_polls_when_never_polled_then_finds_nothing_due(
    cfg: Config, arxiv_server: ArxivServer
) -> None:
    """The first --once polls the feed (exit 0); a second one right after has nothing to do."""
    arxiv_server.script("rss", Reply(200, recorded(RESTRICTED_FEED)))
    assert scheduler.run(cfg, once=True) == 0
    assert len(arxiv_server.requests_to("rss")) == 1
    assert scheduler.run(cfg, once=True) == 0
    assert len(arxiv_server.requests_to("rss")) == 1
    assert arxiv_server.requests_to("api") == []
    with open_store(cfg, StoppableClock()) as store:
        last = store.last_poll()
        assert last is not None
        assert last.outcome == "announcement"
        assert store.get_value(scheduler.SINCE_KEY) is not None


# deployment files

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_in_the_env_example_is_a_real_key_and_loads() -> None:
    """deploy/arxivwatch.env.example, all its settings uncommented, is a valid configuration."""
    env: dict[str, str] = {}
    for line in (ROOT / "deploy" / "arxivwatch.env.example").read_text().splitlines():
        line = line.lstrip("#")
        name, sep, value = line.partition("=")
        if sep and name.isupper() and " " not in name and name != config_io.ENV_FILE:
            env[name] = value
    settings = {n for n in env if n.startswith("ARXIVWATCH_") and n != "ARXIVWATCH_SMTP_PASSWORD"}
    known = {
        f"ARXIVWATCH_{section.upper()}_{key.upper()}"
        for section, cls in config_io.SECTIONS.items()
        for key in cls.__dataclass_fields__
    }
    assert settings and settings <= known, settings - known
    config = config_io.load(None, env=env)
    assert config.schedule.timezone == "Europe/Berlin"
    assert config.email.recipients == ("alice@example.org", "bob@example.org")
    assert {"SLACK_BOT_TOKEN", "ARXIVWATCH_SMTP_PASSWORD"} <= env.keys()


def test_the_image_runs_the_daemon_unprivileged_with_data_in_a_volume_and_a_health_check() -> None:
    """The Dockerfile's contract: non-root, /data store, status --check health, `run` by default."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install --no-cache-dir --prefix=/install ." in dockerfile
    assert "ARXIVWATCH_STORAGE_PATH=/data/arxivwatch.db" in dockerfile
    assert 'VOLUME ["/data"]' in dockerfile
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, re.MULTILINE)
    assert 'CMD ["arxivwatch", "status", "--check"]' in dockerfile
    assert dockerfile.rstrip().endswith('ENTRYPOINT ["arxivwatch"]\nCMD ["run"]')
    compose = (ROOT / "compose.yaml").read_text()
    assert "arxivwatch-data:/data" in compose
    assert "env_file: arxivwatch.env" in compose


def test_the_systemd_unit_restarts_on_failure_with_secrets_from_an_environment_file() -> None:
    """deploy/arxivwatch.service: Restart=on-failure, no restart on exit 2, an EnvironmentFile."""
    unit = (ROOT / "deploy" / "arxivwatch.service").read_text()
    for line in (
        "Restart=on-failure",
        "RestartPreventExitStatus=2",
        "EnvironmentFile=/etc/arxivwatch/arxivwatch.env",
        "ExecStart=/opt/arxivwatch/bin/arxivwatch run",
    ):
        assert f"\n{line}\n" in unit
    assert not re.search(r"^Environment=\S*(TOKEN|PASSWORD|WEBHOOK)", unit, re.MULTILINE)
