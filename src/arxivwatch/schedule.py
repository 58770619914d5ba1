"""Cron schedules in an IANA time zone, right across daylight-saving changes, and what is due.

Pure functions and values over a cron expression, the time now and what the store remembers,
so the daemon's start-up decisions (poll now? send the digest that fell due while it was down?)
and `status` are tested with an injected clock, without waiting.

Cron expressions have crontab's five fields (minute hour day month weekday) or six, with
seconds first (for tests and for anyone who wants sub-minute schedules). Weekday numbers
mean what they mean in crontab (0 and 7 are Sunday, 1 is Monday): APScheduler 3.x's own
`from_crontab` reads 0 as Monday, a known historical mistake this module does not repeat.

Daylight saving. A cron names wall-clock times; `Cron` finds the matching wall-clock times
on the local calendar (APScheduler's CronTrigger evaluated in UTC, where no clock jumps) and
only then turns each into an instant with zoneinfo:
- a time that happens twice (autumn) fires once, at its first occurrence (fold=0);
- a time that does not happen (spring) fires at the first instant after the gap, once, however
  many of the skipped times the cron names (02:30 in New York on the spring day fires at 03:00).
So a daily cron fires exactly once on every local day. Wall-clock times map to instants in
order, which makes every search here a single step or a bisection with a fixed number of
steps: no loop runs unbounded, and one that would pass its cap raises ScheduleError.
APScheduler's own CronTrigger (3.x) skips the day after a spring change for crons before it
and gives the same autumn fire back forever to a caller that steps past it by a microsecond.

Fire times come back with a fixed UTC offset (`2026-03-09T00:30:00-04:00`): the local wall
clock for people, and an exact instant in every comparison (two datetimes that share a
ZoneInfo compare by wall clock alone, the other classic source of DST bugs).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arxivwatch.errors import ScheduleError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

__all__ = [
    "DAYS",
    "LOOKBACK",
    "Cron",
    "cron",
    "crontab_weekdays",
    "digest_missed",
    "fires_between",
    "next_fire",
    "poll_missed",
    "previous_fire",
]

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
LOOKBACK = timedelta(days=367)  # how far back a previous fire is looked for
FIRES_CAP = 100_000  # fires one fires_between call may yield before it refuses
_TICK = timedelta(microseconds=1)
_STEPS = 100  # bisection steps: 2**100 microseconds is far more than any range searched


class Cron:
    """A cron expression in a time zone: its fire times as instants.

    `expr` has five crontab fields, or six with seconds first; `zone` is a tzinfo or an IANA
    name. ValueError names the problem when the expression or the zone name does not parse.
    """

    def __init__(self, expr: str, zone: str | tzinfo) -> None:
        self.expr = expr
        try:
            self.zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"{zone!r} is not a known time zone") from e
        self._wall = _wall_trigger(expr)

    def __repr__(self) -> str:
        return f"Cron({self.expr!r}, {str(self.zone)!r})"

    def at_or_after(self, start: datetime) -> datetime | None:
        """The first fire time at or after `start` (aware), or None when there is none."""
        fire = self._utc_at_or_after(start.astimezone(UTC))
        return self._local(fire) if fire else None

    def next_after(self, instant: datetime) -> datetime | None:
        """The first fire time strictly after `instant` (aware), or None."""
        fire = self._utc_at_or_after(instant.astimezone(UTC) + _TICK)
        return self._local(fire) if fire else None

    def previous(self, now: datetime, lookback: timedelta = LOOKBACK) -> datetime | None:
        """The latest fire time at or before `now`, or None when there is none within `lookback`.

        A bisection over [now - lookback, now]: about 45 steps for a year, whatever the cron.
        """
        end = now.astimezone(UTC)
        low = self._utc_at_or_after(end - lookback)
        if low is None or low > end:
            return None
        high = end + _TICK  # invariant: `low` fires, and nothing fires in [high, end]
        for _ in range(_STEPS):
            if high - low <= _TICK:
                return self._local(low)
            middle = low + (high - low) // 2
            fire = self._utc_at_or_after(middle)
            if fire is not None and fire < high:
                low = fire
            else:
                high = middle
        raise ScheduleError(
            f"no previous fire time of {self!r} found before {now.isoformat()} within {_STEPS} steps",
            hint="this is a bug in arxivwatch's schedule code; please report it with the cron and zone",
        )

    def _utc_at_or_after(self, start: datetime) -> datetime | None:
        """The first fire instant (UTC) at or after `start` (UTC)."""
        lowest = self._lowest_wall(start)
        try:
            wall = self._wall.get_next_fire_time(None, lowest.replace(tzinfo=UTC))
        except (OverflowError, ValueError):
            return None  # past year 9999
        return None if wall is None else self._instant(wall.replace(tzinfo=None))

    def _lowest_wall(self, start: datetime) -> datetime:
        """The earliest wall-clock time whose instant is at or after `start` (UTC).

        Wall times map to instants in order, so this bounds the wall-clock search from below.
        """
        before = start - _TICK
        local = before.astimezone(self.zone)
        wall = local.replace(tzinfo=None, fold=0)
        early, late = self._offsets(wall)
        if local.fold == 1 and early > late:
            # `start` is in the second pass of a repeated hour, whose wall times all fired in
            # the first pass: the search starts at the wall time where the repeat ends.
            second_pass = self._transition(before - (early - late), before)
            return second_pass.replace(tzinfo=None) + early
        return wall + _TICK

    def _instant(self, wall: datetime) -> datetime:
        """The instant (UTC) a wall-clock time fires: the first of two; after a gap, its end."""
        early, late = self._offsets(wall)
        if early >= late:  # an ordinary time, or a repeated one (its first occurrence)
            return (wall - early).replace(tzinfo=UTC)
        # in a gap: the instant the clock jumped, the first after every skipped time
        return self._transition((wall - late).replace(tzinfo=UTC), (wall - early).replace(tzinfo=UTC))

    def _offsets(self, wall: datetime) -> tuple[timedelta, timedelta]:
        """The UTC offsets of a wall-clock time read with fold=0 and with fold=1.

        Equal for an ordinary time; first > second in a repeat; first < second in a gap.
        """
        return _offset(wall.replace(tzinfo=self.zone, fold=0)), _offset(
            wall.replace(tzinfo=self.zone, fold=1)
        )

    def _transition(self, low: datetime, high: datetime) -> datetime:
        """The first instant in (low, high] whose UTC offset is that of `high` (UTC datetimes)."""
        target = _offset(high.astimezone(self.zone))
        for _ in range(_STEPS):
            if high - low <= _TICK:
                return high
            middle = low + (high - low) // 2
            if _offset(middle.astimezone(self.zone)) == target:
                high = middle
            else:
                low = middle
        raise ScheduleError(
            f"no offset change found in {self.zone} between {low.isoformat()} and {high.isoformat()}",
            hint="this is a bug in arxivwatch's schedule code; please report it with the cron and zone",
        )

    def _local(self, instant: datetime) -> datetime:
        """The instant on the local wall clock, with a fixed offset (exact in comparisons)."""
        local = instant.astimezone(self.zone)
        return local.replace(tzinfo=timezone(_offset(local)))


def cron(expr: str, zone: str | tzinfo) -> Cron:
    """A Cron from five crontab fields or six (seconds first); ValueError names the problem."""
    return Cron(expr, zone)


def _wall_trigger(expr: str) -> CronTrigger:
    """APScheduler's CronTrigger for the expression on a clock that never jumps (UTC)."""
    from apscheduler.triggers.cron import CronTrigger

    values = expr.split()
    if len(values) == 5:
        values = ["0", *values]
    if len(values) != 6:
        raise ValueError(f"wrong number of fields; got {len(values)}, expected 5 or 6")
    second, minute, hour, day, month, weekday = values
    trigger: CronTrigger = CronTrigger(
        second=second,
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=UTC,
    )
    return trigger


def _offset(moment: datetime) -> timedelta:
    """The UTC offset of an aware datetime; ValueError for a naive one."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"{moment.isoformat()} has no time zone")
    return offset


def crontab_weekdays(field: str) -> str:
    """A crontab weekday field (numbers 0-7, names, ranges, steps, lists) as APScheduler day names.

    `*` stays `*`; everything else becomes an explicit list such as `mon,wed,fri`.
    """
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad step in weekday field {field!r}")
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            first, last = span.split("-", 1)
            low, high = _day(first, field), _day(last, field)
        else:
            low = _day(span, field)
            high = 6 if step else low  # crontab reads "1/2" as "1-6/2"
        if low > high:
            raise ValueError(f"weekday range {span!r} runs backwards in {field!r}")
        days.update(day % 7 for day in range(low, high + 1, step or 1))
    return ",".join(DAYS[day] for day in sorted(days))


def _day(token: str, field: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token[:3] in DAYS and len(token) == 3:
        return DAYS.index(token)
    raise ValueError(f"{token!r} is not a weekday (0-7 or sun..sat) in {field!r}")


def fires_between(schedule: Cron, start: datetime, end: datetime, cap: int = FIRES_CAP) -> Iterator[datetime]:
    """The fire times in [start, end], in order; ScheduleError past `cap` of them."""
    fire = schedule.at_or_after(start)
    for _ in range(cap):
        if fire is None or fire > end:
            return
        yield fire
        fire = schedule.next_after(fire)
    if fire is not None and fire <= end:
        raise ScheduleError(
            f"{schedule!r} fires more than {cap} times between {start.isoformat()} and {end.isoformat()}",
            hint="ask for a shorter range",
        )


def previous_fire(schedule: Cron, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (None when there is none within a year)."""
    return schedule.previous(now)


def next_fire(schedule: Cron, now: datetime) -> datetime | None:
    """The first fire time after `now`."""
    return schedule.next_after(now)


def poll_missed(schedule: Cron, last_success: datetime | None, now: datetime) -> bool:
    """A poll is due now when there never was a good one, or the schedule fired since the last."""
    if last_success is None:
        return True
    fired = previous_fire(schedule, now)
    return fired is not None and fired > last_success


def digest_missed(
    schedule: Cron,
    *,
    last_run: datetime | None,
    last_ok: bool,
    since: datetime,
    now: datetime,
) -> bool:
    """A digest is due now when the schedule fired after the daemon first ran on this store
    (`since`) and no digest ran after that fire time, or the last run failed."""
    fired = previous_fire(schedule, now)
    if fired is None or fired <= since:
        return False
    if last_run is None or last_run < fired:
        return True
    return not last_ok
