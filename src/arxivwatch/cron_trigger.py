"""The APScheduler trigger that fires a `schedule.Cron`: imported only when the daemon runs.

APScheduler 3.x's own CronTrigger computes fire times in the time zone with datetime
arithmetic that skips the day after a spring change and repeats an autumn fire to a caller
that steps past it; this trigger hands the computation to `schedule.Cron` (wall-clock
times on the local calendar, resolved with zoneinfo: see that module).
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.base import BaseTrigger

from arxivwatch.schedule import Cron


class CronScheduleTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler ships no types
    """Fires at each fire time of `cron`, in order, each once."""

    __slots__ = ("cron",)

    def __init__(self, cron: Cron) -> None:
        self.cron = cron

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The first fire time after the previous one (every missed one in turn, as APScheduler's
        CronTrigger does), or with none yet the first at or after `now`."""
        if previous_fire_time is None:
            return self.cron.at_or_after(now)
        return self.cron.next_after(previous_fire_time)

    def __str__(self) -> str:
        return f"cron[{self.cron.expr!r} in {self.cron.zone}]"

    def __repr__(self) -> str:
        return f"<CronScheduleTrigger {self.cron!r}>"
