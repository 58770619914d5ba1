"""The daemon behind `arxivwatch run`: the jobs on their cron schedule, one at a time.

- Schedule: APScheduler's BlockingScheduler with the [schedule] poll and digest crons (five
  crontab fields, or six with seconds first) in the configured time zone; their fire times
  come from `schedule.Cron` (each local day once across daylight-saving changes) through
  `cron_trigger.CronScheduleTrigger`, not from APScheduler's CronTrigger. One worker thread,
  `max_instances=1` and `coalesce=True`: jobs never overlap and a run missed while the
  machine slept happens once, late.
- Start-up catches up on what happened while it was down, in order: digests left pending
  are resent; a poll gap of days is backfilled through the export API (jobs.poll.catch_up);
  a poll whose time came since the last good one runs now; a digest whose time came since
  the last digest run (and after the daemon first ran on this store) is sent now. The
  digest ledger keeps a digest from going out twice.
- One daemon per store: the store's lock is held for the whole run; a second one fails
  with AlreadyRunning (exit 2, one line naming the holder's pid).
- SIGTERM and SIGINT: no new job starts; the job running ends at its next wait (the
  arXiv client's pacing and retries sleep on a clock that the stop interrupts) or when it
  finishes; after STOP_WAIT seconds the process leaves anyway. Either way nothing is
  half-written (every store write is one transaction; a digest is recorded pending before
  it is sent) and the exit code is 0.
- A job's failure is one log line and a heartbeat in the store; the daemon keeps running.
  `run(once=True)` does the start-up catch-up only (what is due now) and returns 1 when
  a job failed.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

from arxivwatch import schedule
from arxivwatch.clock import SystemClock
from arxivwatch.config import secret
from arxivwatch.errors import ArxivwatchError, ConfigError
from arxivwatch.jobs import open_store
from arxivwatch.schedule import Cron, cron

if TYPE_CHECKING:
    from apscheduler.schedulers.blocking import BlockingScheduler

    from arxivwatch.config import Config
    from arxivwatch.store import Store

__all__ = ["STOP_WAIT", "Interrupted", "Runner", "StoppableClock", "cron", "run", "triggers"]

log = logging.getLogger("arxivwatch.run")

STOP_WAIT = 7.0  # seconds a running job gets after SIGTERM; Docker waits 10 before SIGKILL
SINCE_KEY = "scheduler:since"  # when the daemon first ran on this store (ISO time)


class Interrupted(BaseException):
    """Raised inside a job's wait once a stop was asked for.

    A BaseException, like KeyboardInterrupt, so that no step mistakes it for a failure of
    its own: the job unwinds, its open transaction rolls back, nothing is recorded as failed.
    """


class StoppableClock(SystemClock):
    """The system clock, except that `sleep` ends with Interrupted as soon as `stop()` is called."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def sleep(self, seconds: float) -> None:
        if self._stop.wait(max(seconds, 0.0)):
            raise Interrupted


def triggers(config: Config) -> tuple[Cron, Cron]:
    """The poll and digest schedules; a ConfigError naming the key when one does not parse."""
    zone = ZoneInfo(config.schedule.timezone)
    made = []
    for key in ("poll", "digest"):
        expr = getattr(config.schedule, key)
        try:
            made.append(cron(expr, zone))
        except ValueError as e:
            raise ConfigError(
                f"{config.source}: [schedule] {key} = {expr!r} is not a valid cron expression ({e})",
                hint='use five fields (minute hour day month weekday, e.g. "0 8 * * mon") '
                "or six with seconds first",
            ) from e
    return made[0], made[1]


class Runner:
    """Runs the jobs, one at a time: each failure becomes one log line and a heartbeat."""

    def __init__(self, config: Config, clock: StoppableClock) -> None:
        self.config = config
        self.clock = clock
        self.poll_cron, self.digest_cron = triggers(config)
        self.failures = 0
        self.current = ""
        self.idle = threading.Event()
        self.idle.set()

    # the jobs

    def scheduled_poll(self) -> None:
        """The poll job: a backfill when polls were missed for days, else the feed; then
        retention's prune of papers older than [storage] keep_days."""
        self.step("poll", "poll", self._poll)
        from arxivwatch.jobs import retention

        if self.config.storage.keep_days:
            self.step("prune", "prune", lambda: retention.prune(self.config, clock=self.clock))

    def scheduled_digest(self) -> None:
        self.step("digest", "digest", self._digest)

    def start_up(self, since: datetime) -> None:
        """Do what was missed while no daemon ran (see the module docstring)."""
        from arxivwatch.jobs import digest

        failures = self.failures
        state = self._state()
        if state is None:
            return
        log.info(
            "start-up: last good poll %s, last digest run %s, %d digest(s) pending",
            _when(state.last_poll),
            _when(state.last_digest),
            state.pending,
        )
        if state.pending:
            self.step(
                "resend of pending digests",
                "digest",
                lambda: digest.resend_pending(self.config, clock=self.clock),
            )
        self.step("start-up poll", "poll", self._catch_up)
        if schedule.digest_missed(
            self.digest_cron,
            last_run=state.last_digest,
            last_ok=state.last_digest_ok,
            since=since,
            now=self.clock.now(),
        ):
            self.step("digest (missed)", "digest", self._digest)
        failed = self.failures - failures
        detail = "stopped" if self.clock.stopping else f"{failed} step(s) failed" if failed else "caught up"
        self._beat("start-up", not failed, detail)
        log.info("start-up done")

    def _catch_up(self) -> object:
        """Backfill a gap of days, else poll the feed if a poll was missed, else nothing."""
        from arxivwatch.jobs import poll

        caught_up = poll.catch_up(self.config, clock=self.clock)
        if caught_up is not None:
            return caught_up
        with open_store(self.config, self.clock) as store:
            last = store.last_successful_poll()
        now = self.clock.now()
        if schedule.poll_missed(self.poll_cron, last.at if last else None, now):
            missed = _when(schedule.previous_fire(self.poll_cron, now)) if last else "never polled"
            log.info("start-up: missed poll (%s); polling now", missed)
            return poll.poll(self.config, clock=self.clock)
        return None

    def _poll(self) -> object:
        from arxivwatch.jobs import poll

        return poll.catch_up(self.config, clock=self.clock) or poll.poll(self.config, clock=self.clock)

    def _digest(self) -> object:
        from arxivwatch.jobs import digest

        # the digest covers the period of the day it fell due, even when it runs late
        fired = schedule.previous_fire(self.digest_cron, self.clock.now())
        day = fired.astimezone(ZoneInfo(self.config.schedule.timezone)).date() if fired else None
        return digest.digest(self.config, clock=self.clock, day=day)

    # running one step

    def step(self, name: str, beat_as: str, job: Callable[[], object]) -> object | None:
        """Run one job unless stopping; its result, or None when it failed or was stopped."""
        if self.clock.stopping:
            log.info("%s not started: stopping", name)
            return None
        self.current = name
        self.idle.clear()
        try:
            log.debug("%s: starting", name)
            return job()
        except Interrupted:
            log.warning("%s stopped early by the stop request; nothing half-written", name)
        except ArxivwatchError as e:
            self._failed(name, beat_as, str(e))
        except Exception as e:
            # The daemon's outer boundary: whatever broke, it is one line and a heartbeat,
            # and the next scheduled run gets its chance.
            log.debug("%s", self.redact("".join(traceback.format_exception(e))))
            self._failed(name, beat_as, f"{type(e).__name__}: {e}")
        finally:
            self.idle.set()
        return None

    def _failed(self, name: str, beat_as: str, message: str) -> None:
        self.failures += 1
        message = self.redact(message)
        log.error("%s failed: %s", name, message)
        self._beat(beat_as, False, message)

    def _beat(self, job: str, ok: bool, detail: str) -> None:
        try:
            with open_store(self.config, self.clock) as store:
                store.beat(job, ok, detail)
        except ArxivwatchError as e:
            log.error("could not record the %s heartbeat: %s", job, self.redact(str(e)))

    def redact(self, text: str) -> str:
        """The text with every configured secret's value replaced by ***."""
        names = (
            self.config.email.password_env,
            self.config.slack.token_env,
            self.config.slack.webhook_url_env,
        )
        for name in names:
            value = secret(name)
            if value:
                text = text.replace(value, "***")
        return text

    def _state(self) -> _State | None:
        try:
            with open_store(self.config, self.clock) as store:
                last = store.last_successful_poll()
                beat = store.heartbeats().get("digest")
                return _State(
                    last_poll=last.at if last else None,
                    last_digest=beat[0] if beat else None,
                    last_digest_ok=beat[1] if beat else True,
                    pending=len(store.pending_digests()),
                )
        except ArxivwatchError as e:
            self._failed("start-up", "poll", str(e))
            return None


@dataclass(frozen=True)
class _State:
    """What start-up needs to know from the store."""

    last_poll: datetime | None
    last_digest: datetime | None
    last_digest_ok: bool
    pending: int


def run(config: Config, *, once: bool = False) -> int:
    """`arxivwatch run`: the daemon (exit 0 once stopped), or with `once` what is due now
    (exit 1 when a job failed). AlreadyRunning when another daemon holds the store."""
    clock = StoppableClock()
    runner = Runner(config, clock)
    with open_store(config, clock) as store, store.lock():
        since = _since(store, clock.now())
        if once:
            return _run_once(runner, since)
        return _serve(runner, since)


def _since(store: Store, now: datetime) -> datetime:
    """When the daemon first ran on this store; recorded now on the first run."""
    value = store.get_value(SINCE_KEY)
    if value:
        return datetime.fromisoformat(value)
    store.set_value(SINCE_KEY, now.isoformat())
    return now


def _run_once(runner: Runner, since: datetime) -> int:
    worker = threading.Thread(target=runner.start_up, args=(since,), name="arxivwatch-once", daemon=True)
    previous = _on_signals(lambda signum, frame: _stop(runner, signum))
    try:
        worker.start()
        # join in short slices so the main thread keeps taking signals
        while worker.is_alive() and not runner.clock.stopping:
            worker.join(0.2)
        if worker.is_alive():
            worker.join(STOP_WAIT)
            if worker.is_alive():
                _leave(runner)
    finally:
        _restore(previous)
    return 1 if runner.failures else 0


def _serve(runner: Runner, since: datetime) -> int:
    scheduler = _scheduler(runner, since)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        _stop(runner, signum)
        raise _Stop

    previous: dict[int, Any] = {}
    try:
        previous = _on_signals(on_signal)
        scheduler.start()
    except _Stop:
        pass
    finally:
        _on_signals(lambda signum, frame: _stop(runner, signum))
    try:
        from apscheduler.schedulers.base import STATE_STOPPED

        if scheduler.state != STATE_STOPPED:
            scheduler.shutdown(wait=False)
        if not runner.idle.wait(STOP_WAIT):
            _leave(runner)
        log.info("stopped")
    finally:
        _restore(previous)
    return 0


def _scheduler(runner: Runner, since: datetime) -> BlockingScheduler:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    from arxivwatch.cron_trigger import CronScheduleTrigger

    config = runner.config
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=ZoneInfo(config.schedule.timezone),
    )
    scheduler.add_job(runner.start_up, args=(since,), id="start-up", name="start-up")
    poll, digest = CronScheduleTrigger(runner.poll_cron), CronScheduleTrigger(runner.digest_cron)
    scheduler.add_job(runner.scheduled_poll, poll, id="poll", name="poll")
    scheduler.add_job(runner.scheduled_digest, digest, id="digest", name="digest")
    now = runner.clock.now()
    log.info(
        "daemon started (pid %d) on %s: poll %r, digest %r (%s); next poll %s, next digest %s",
        os.getpid(),
        config.db_path,
        config.schedule.poll,
        config.schedule.digest,
        config.schedule.timezone,
        _when(schedule.next_fire(runner.poll_cron, now)),
        _when(schedule.next_fire(runner.digest_cron, now)),
    )
    return scheduler


class _Stop(BaseException):
    """Unwinds BlockingScheduler.start() from the signal handler, as KeyboardInterrupt would."""


Handler = Callable[[int, FrameType | None], Any]


def _on_signals(handler: Handler) -> dict[int, Any]:
    """Install `handler` for SIGTERM and SIGINT; the handlers it replaced."""
    return {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _stop(runner: Runner, signum: int) -> None:
    if not runner.clock.stopping:
        log.info("%s received: stopping after the current job", signal.Signals(signum).name)
    runner.clock.stop()


def _leave(runner: Runner) -> NoReturn:
    """Exit now, leaving a job that did not end in time: its open transaction is rolled back
    by SQLite, and a digest it was sending stays pending for the next start."""
    log.warning(
        "%s still running %.0f s after the stop request; exiting without it "
        "(nothing half-written: an unsent digest stays pending)",
        runner.current,
        STOP_WAIT,
    )
    logging.shutdown()
    os._exit(0)


def _when(at: datetime | None) -> str:
    return at.isoformat() if at else "never"
