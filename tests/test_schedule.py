"""Schedules across daylight-saving changes: each daily cron once per local day, at the right instant.

The oracle is a table of the 2026 clock changes written out by hand (checked against the zone
data below), not the code under test: a wall-clock time that exists fires at its first
occurrence, one the spring change skips fires at the instant of the change.
"""

from __future__ import annotations

import io
import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

import pytest

from arxiv_server import RESTRICTED_FEED, ArxivServer, Reply, recorded
from arxivwatch import config as config_io
from arxivwatch import schedule, scheduler
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.cron_trigger import CronScheduleTrigger
from arxivwatch.errors import ScheduleError
from arxivwatch.jobs import open_store, poll, status
from arxivwatch.schedule import Cron
from arxivwatch.scheduler import Runner, StoppableClock
from trained_model import install_model

# (zone, season) -> (local date of the change, the instant it happens, the shift)
CHANGES = {
    ("America/New_York", "spring"): (date(2026, 3, 8), datetime(2026, 3, 8, 7, 0, tzinfo=UTC), 60),
    ("America/New_York", "autumn"): (date(2026, 11, 1), datetime(2026, 11, 1, 6, 0, tzinfo=UTC), 60),
    ("Europe/Berlin", "spring"): (date(2026, 3, 29), datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 60),
    ("Europe/Berlin", "autumn"): (date(2026, 10, 25), datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 60),
    ("Australia/Sydney", "spring"): (date(2026, 10, 4), datetime(2026, 10, 3, 16, 0, tzinfo=UTC), 60),
    ("Australia/Sydney", "autumn"): (date(2026, 4, 5), datetime(2026, 4, 4, 16, 0, tzinfo=UTC), 60),
    ("Australia/Lord_Howe", "spring"): (date(2026, 10, 4), datetime(2026, 10, 3, 15, 30, tzinfo=UTC), 30),
    ("Australia/Lord_Howe", "autumn"): (date(2026, 4, 5), datetime(2026, 4, 4, 15, 0, tzinfo=UTC), 30),
}
NY = ZoneInfo("America/New_York")


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block runs longer than `seconds`."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"still running after {seconds} s: an unbounded loop?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def expected_fire(zone: ZoneInfo, day: date, at: time, change: datetime) -> datetime:
    """Where a daily cron at `at` must fire on `day` (UTC): the first occurrence, or the end of a gap.

    In UTC because Python never finds a time in a repeated hour equal to one in another zone.
    """
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first of two occurrences
    exists = first.astimezone(zone).replace(tzinfo=None) == wall
    return first if exists else change


@pytest.mark.parametrize(("zone_name", "season"), sorted(CHANGES))
def test_the_change_table_matches_the_zone_data(zone_name: str, season: str) -> None:
    """The hand-written instants are the zone's real 2026 changes, by the shift written down."""
    day, change, minutes = CHANGES[(zone_name, season)]
    zone = ZoneInfo(zone_name)
    before = (change - timedelta(microseconds=1)).astimezone(zone).utcoffset()
    after = change.astimezone(zone).utcoffset()
    assert before is not None and after is not None
    assert (after - before) == timedelta(minutes=minutes if season == "spring" else -minutes)
    assert change.astimezone(zone).date() == day


@pytest.mark.parametrize("minute", [0, 15, 30, 45])
@pytest.mark.parametrize("hour", [0, 1, 2, 3])
@pytest.mark.parametrize(("zone_name", "season"), sorted(CHANGES))
def test_a_daily_cron_fires_once_per_local_day_across_the_change(
    zone_name: str, season: str, hour: int, minute: int
) -> None:
    """Over the week around a change, a daily cron fires once on each local day, at the right instant."""
    day, change, _ = CHANGES[(zone_name, season)]
    zone = ZoneInfo(zone_name)
    cron = schedule.cron(f"{minute} {hour} * * *", zone)
    days = [day + timedelta(days=n) for n in range(-3, 4)]
    start = datetime.combine(days[0], time(0), tzinfo=zone)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=zone) - timedelta(microseconds=1)
    with deadline(10):
        fires = list(schedule.fires_between(cron, start, end))
    assert [f.astimezone(zone).date() for f in fires] == days
    assert fires == [expected_fire(zone, d, time(hour, minute), change) for d in days]


@pytest.mark.parametrize(("zone_name", "season"), sorted(CHANGES))
def test_stepping_like_apscheduler_gives_each_day_once(zone_name: str, season: str) -> None:
    """The daemon's trigger, asked as APScheduler asks (the previous fire, now), fires once a day."""
    day, change, _ = CHANGES[(zone_name, season)]
    zone = ZoneInfo(zone_name)
    for hour in (0, 1, 2, 3):
        trigger = CronScheduleTrigger(schedule.cron(f"30 {hour} * * *", zone))
        now = datetime.combine(day - timedelta(days=2), time(12), tzinfo=zone)
        fire = trigger.get_next_fire_time(None, now)
        fires = []
        with deadline(10):
            for _ in range(5):
                assert fire is not None
                fires.append(fire)
                fire = trigger.get_next_fire_time(fire, fire)
        expected = [
            expected_fire(zone, day + timedelta(days=n), time(hour, 30), change) for n in range(-1, 4)
        ]
        assert fires == expected


@pytest.mark.parametrize(("zone_name", "season"), sorted(CHANGES))
@pytest.mark.parametrize("expr", ["0 8 * * mon", "30 2 * * sun"])
def test_a_weekly_cron_fires_once_a_week_across_the_change(zone_name: str, season: str, expr: str) -> None:
    """The weekly digest cron (and one at 02:30 on the Sunday of a change) fires once in each week."""
    day, change, _ = CHANGES[(zone_name, season)]
    zone = ZoneInfo(zone_name)
    cron = schedule.cron(expr, zone)
    minute, hour, _, _, weekday = expr.split()
    start = datetime.combine(day - timedelta(days=14), time(0), tzinfo=zone)
    fires = list(schedule.fires_between(cron, start, start + timedelta(days=28)))
    wanted = 0 if weekday == "mon" else 6
    days = [start.date() + timedelta(days=n) for n in range(28)]
    days = [d for d in days if d.weekday() == wanted]
    assert fires == [expected_fire(zone, d, time(int(hour), int(minute)), change) for d in days]


def test_the_spring_day_is_not_skipped_by_a_cron_before_the_change() -> None:
    """At 01:00 on New York's spring day a daily 00:30 cron fires next on 03-09, not 03-10 (issue 10)."""
    cron = schedule.cron("30 0 * * *", NY)
    now = datetime(2026, 3, 8, 1, 0, tzinfo=NY)
    assert cron.next_after(now) == datetime(2026, 3, 9, 0, 30, tzinfo=NY)
    assert cron.previous(now) == datetime(2026, 3, 8, 0, 30, tzinfo=NY)


def test_the_autumn_repeat_fires_once_and_searches_end() -> None:
    """Poll at 01:30 in New York's autumn night: fired at the first 01:30 only; every search ends."""
    cron = schedule.cron("30 1 * * *", NY)
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second_pass = datetime(2026, 11, 1, 6, 40, tzinfo=UTC)  # 01:40 EST, the clock's second 01:40
    with deadline(10):
        assert cron.next_after(first) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
        assert cron.next_after(first - timedelta(minutes=1)) == first
        assert cron.at_or_after(second_pass) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
        assert cron.previous(second_pass) == first
        assert schedule.poll_missed(cron, first + timedelta(minutes=1), second_pass) is False
        assert schedule.poll_missed(cron, first + timedelta(minutes=1), second_pass + timedelta(days=1))


@pytest.fixture
def ny_config(arxiv_server: ArxivServer, write_config: Callable[[str], Path]) -> Config:
    """The loopback arXiv, polling at 01:30 New York time."""
    path = write_config(
        f'[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
        '[schedule]\ntimezone = "America/New_York"\npoll = "30 1 * * *"\ndigest = "30 0 * * *"\n'
    )
    return config_io.load(str(path), env={})


@pytest.mark.parametrize(
    "later",
    [timedelta(minutes=5), timedelta(minutes=65), timedelta(hours=3), timedelta(hours=24)],
    ids=["first-pass", "second-pass", "after", "next-day-before-grace"],
)
def test_status_check_returns_after_a_poll_in_the_autumn_repeat(
    ny_config: Config, arxiv_server: ArxivServer, later: timedelta
) -> None:
    """After a good poll at the first 01:31 of the autumn night, `status --check` answers at once: healthy
    (with a model, and the feed re-dated to that Friday's announcement, so it is not stale)."""
    install_model(ny_config.model_path)
    friday = recorded(RESTRICTED_FEED).replace(
        b"Thu, 28 Nov 2024 00:00:00 -0500", b"Fri, 30 Oct 2026 00:00:00 -0400"
    )
    arxiv_server.script("rss", Reply(200, friday))
    polled = datetime(2026, 11, 1, 5, 31, tzinfo=UTC)  # 01:31 EDT
    poll.poll(ny_config, clock=FakeClock(polled))
    with deadline(10):
        code = status.status(ny_config, check=True, clock=FakeClock(polled + later), out=io.StringIO())
        report = status.collect(ny_config, FakeClock(polled + later))
    assert code == 0
    assert report["next_runs"]["poll"] == "2026-11-02T01:30:00-05:00"


def test_status_check_flags_the_poll_missed_after_the_autumn_night(
    ny_config: Config, arxiv_server: ArxivServer
) -> None:
    """A day and three hours after that poll, the next 01:30 (EST) has passed its grace: unhealthy."""
    arxiv_server.script("rss", Reply(200, recorded(RESTRICTED_FEED)))
    polled = datetime(2026, 11, 1, 5, 31, tzinfo=UTC)
    poll.poll(ny_config, clock=FakeClock(polled))
    sink = io.StringIO()
    with deadline(10):
        code = status.status(ny_config, check=True, clock=FakeClock(polled + timedelta(hours=28)), out=sink)
    assert code == 1
    assert "poll due at 2026-11-02 06:30 UTC" in sink.getvalue()  # 01:30 EST


def test_status_shows_the_next_poll_on_the_spring_day(ny_config: Config, arxiv_server: ArxivServer) -> None:
    """At 01:00 on the spring day, status shows the next daily 00:30 digest on 03-09 (not 03-10)."""
    now = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST
    with open_store(ny_config, FakeClock(now)):
        pass
    report = status.collect(ny_config, FakeClock(now))
    assert report["next_runs"]["digest"] == "2026-03-09T00:30:00-04:00"
    assert report["next_runs"]["poll"] == "2026-03-08T01:30:00-05:00"


def test_fire_times_carry_a_fixed_offset_and_compare_exactly() -> None:
    """An hourly cron on the autumn night: the repeated 01:30 fires once; fire times order as instants."""
    cron = schedule.cron("30 * * * *", NY)
    start = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    fires = list(schedule.fires_between(cron, start, start + timedelta(hours=5)))
    assert [f.isoformat() for f in fires] == [
        "2026-11-01T00:30:00-04:00",
        "2026-11-01T01:30:00-04:00",  # the repeated 01:30 fires once, the first time
        "2026-11-01T02:30:00-05:00",
        "2026-11-01T03:30:00-05:00",
    ]
    assert fires == sorted(fires)


def test_a_search_past_its_cap_is_a_clear_error() -> None:
    """fires_between refuses to yield more than its cap, naming the cron and the range."""
    every_second = schedule.cron("* * * * * *", "UTC")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ScheduleError, match=r"fires more than 100 times between .*ask for a shorter range"):
        list(schedule.fires_between(every_second, start, start + timedelta(hours=1), cap=100))
    hundred = schedule.fires_between(every_second, start, start + timedelta(seconds=99), cap=100)
    assert len(list(hundred)) == 100


def test_a_cron_that_never_fires_has_no_previous_or_next() -> None:
    """30 February: no fire time either way, found in bounded time."""
    never = schedule.cron("0 0 30 2 *", "Europe/Berlin")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with deadline(10):
        assert never.previous(now) is None
        assert never.next_after(now) is None


def test_previous_finds_the_last_fire_of_a_sparse_or_dense_cron_in_few_steps() -> None:
    """Yearly, every-second and a day of every-minute fires: the bisection finds the latest one."""
    now = datetime(2026, 6, 15, 12, 0, 0, 500, tzinfo=UTC)
    assert Cron("0 0 1 1 *", "UTC").previous(now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert Cron("* * * * * *", "UTC").previous(now) == datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)
    assert Cron("* * 5 * *", "UTC").previous(now) == datetime(2026, 6, 5, 23, 59, tzinfo=UTC)
    assert Cron("0 12 * * *", "UTC").previous(now - timedelta(microseconds=501)) == datetime(
        2026, 6, 14, 12, 0, tzinfo=UTC
    )


class _FixedClock(StoppableClock):
    """The daemon's clock, stopped at one instant."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at


def test_the_daemon_start_up_in_the_autumn_repeat_returns_and_polls_nothing(
    ny_config: Config, arxiv_server: ArxivServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Started at the second 01:40 after a poll at the first 01:31: start-up ends and polls nothing."""
    arxiv_server.script("rss", Reply(200, recorded(RESTRICTED_FEED)))
    polled = datetime(2026, 11, 1, 5, 31, tzinfo=UTC)
    poll.poll(ny_config, clock=FakeClock(polled))
    runner = Runner(ny_config, _FixedClock(datetime(2026, 11, 1, 6, 40, tzinfo=UTC)))
    with deadline(10), caplog.at_level(logging.INFO):
        runner.start_up(since=polled)
        daemon = scheduler._scheduler(runner, polled)
    assert runner.failures == 0
    assert len(arxiv_server.requests_to("rss")) == 1  # only the poll at 01:31
    assert "next poll 2026-11-02T01:30:00-05:00" in caplog.text
    jobs = {job.id: job.trigger for job in daemon.get_jobs()}
    assert isinstance(jobs["poll"], CronScheduleTrigger)
    assert str(jobs["poll"]) == "cron['30 1 * * *' in America/New_York]"


@pytest.mark.parametrize(("expr", "zone"), [("0 8 * * *", "Mars/Olympus_Mons"), ("0 8 * *", "UTC")])
def test_a_bad_cron_or_zone_is_a_value_error_naming_it(expr: str, zone: str) -> None:
    """An unknown zone name or a wrong field count is one ValueError that says which."""
    with pytest.raises(ValueError, match=r"Mars/Olympus_Mons' is not a known time zone|expected 5 or 6"):
        schedule.cron(expr, zone)
