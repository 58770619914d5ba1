"""What is due: cron triggers, their last and next fire times, and whether a job was missed.

Pure functions over a trigger, the time now and what the store remembers, so the daemon's
start-up decisions (poll now? send the digest that fell due while it was down?) are tested
without waiting.

Cron expressions have crontab's five fields (minute hour day month weekday) or six, with
seconds first (for tests and for anyone who wants sub-minute schedules). Weekday numbers
mean what they mean in crontab (0 and 7 are Sunday, 1 is Monday): APScheduler 3.x's own
`from_crontab` reads 0 as Monday, a known historical mistake this module does not repeat.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# Look back over growing windows so a frequent cron needs few steps and a monthly one is found.
_WINDOWS = tuple(timedelta(seconds=s) for s in (60, 3600, 86400, 8 * 86400, 32 * 86400, 367 * 86400))


def trigger(expr: str, timezone: str | tzinfo) -> CronTrigger:
    """A CronTrigger from five crontab fields or six (seconds first); ValueError names the problem."""
    from apscheduler.triggers.cron import CronTrigger

    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    values = expr.split()
    if len(values) == 5:
        values = ["0", *values]
    if len(values) != 6:
        raise ValueError(f"wrong number of fields; got {len(values)}, expected 5 or 6")
    second, minute, hour, day, month, weekday = values
    return CronTrigger(
        second=second,
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=zone,
    )


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


def fires_between(cron: CronTrigger, start: datetime, end: datetime) -> Iterator[datetime]:
    """The trigger's fire times in [start, end], in order."""
    fire: datetime | None = cron.get_next_fire_time(None, start)
    while fire is not None and fire <= end:
        yield fire
        fire = cron.get_next_fire_time(fire, fire + timedelta(microseconds=1))


def previous_fire(cron: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (None when there is none within a year)."""
    first: datetime | None = cron.get_next_fire_time(None, now - _WINDOWS[-1])
    if first is None or first > now:
        return None  # one search rather than one per window for a cron that never fires
    for window in _WINDOWS:
        fires = list(fires_between(cron, now - window, now))
        if fires:
            return fires[-1]
    return None


def next_fire(cron: CronTrigger, now: datetime) -> datetime | None:
    """The first fire time after `now`."""
    fire: datetime | None = cron.get_next_fire_time(None, now + timedelta(microseconds=1))
    return fire


def poll_missed(cron: CronTrigger, last_success: datetime | None, now: datetime) -> bool:
    """A poll is due now when there never was a good one, or the schedule fired since the last."""
    if last_success is None:
        return True
    fired = previous_fire(cron, now)
    return fired is not None and fired > last_success


def digest_missed(
    cron: CronTrigger,
    *,
    last_run: datetime | None,
    last_ok: bool,
    since: datetime,
    now: datetime,
) -> bool:
    """A digest is due now when the schedule fired after the daemon first ran on this store
    (`since`) and no digest ran after that fire time, or the last run failed."""
    fired = previous_fire(cron, now)
    if fired is None or fired <= since:
        return False
    if last_run is None or last_run < fired:
        return True
    return not last_ok
