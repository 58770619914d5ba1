"""The checks of `status --check`: each says, in one line naming what to do, why arxivwatch
looks unhealthy, or returns None.

They read values only (the last poll, the model's description, heartbeats, the ledger's
pending digests, the time now), so each is tested with an injected clock. The digest
checks cover the ledger's three ways of leaving a digest unsent: a delivery that failed
(a later digest run ended without sending it), a run that died between recording the
digest and sending it (no outcome at all: pending for longer than `send_bound`), and a
channel turned off with digests pending (nothing will send them until it is back on).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from arxivwatch.config import Config
    from arxivwatch.schedule import Cron
    from arxivwatch.store import DigestRecord

GRACE = timedelta(hours=2)  # a poll may run this late (retries, catch-up) before it counts as overdue
ARXIV_ZONE = ZoneInfo("America/New_York")  # the feed's dates are arXiv's business days there


def no_database(path: Path) -> str:
    """What `status` says when `path` holds no database yet (status never creates one)."""
    return f"no database at {path} yet: run `arxivwatch poll` (or start the daemon) first"


def older_schema(path: Path, schema: int, latest: int) -> str:
    """What `status` says when the database at `path` has an older `schema` than this
    arxivwatch's `latest`: status reads it only once upgraded, and never upgrades it (an older
    daemon may still be running on it)."""
    return (
        f"the database {path} has schema {schema}, older than this arxivwatch's ({latest}): "
        "run `arxivwatch poll` (or restart the daemon) to upgrade it"
    )


def check_problem(
    config: Config, *, last_at: datetime | None, outcome: str | None, now: datetime
) -> str | None:
    """Why the poller looks unhealthy (never polled, the last poll failed, or it is older than
    the poll due GRACE ago), or None."""
    if last_at is None:
        return "never polled (run `arxivwatch poll`, or start the daemon, `arxivwatch run`)"
    if outcome == "failed":
        return "the last poll failed"
    due = previous_run(config, "poll", now - GRACE)
    if due is not None and last_at < due:
        return (
            f"the last poll ({last_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC) is older than the poll due at "
            f"{due.astimezone(UTC):%Y-%m-%d %H:%M} UTC"  # the schedule's zone may differ: both in UTC
        )
    return None


def model_problem(model: dict[str, Any]) -> str | None:
    """No model loads (`model` is status's model report, with "error" when none): every digest would fail."""
    return f"no model can be loaded ({model['error']})" if "error" in model else None


def digest_problem(heartbeats: dict[str, dict[str, Any]]) -> str | None:
    """The last digest attempt failed (its heartbeat, {"at": ISO time, "ok", "detail"}, says so)."""
    beat = heartbeats.get("digest")
    if beat is None or beat["ok"]:
        return None
    return f"the last digest ({beat['at']}) failed: {beat['detail']}"


def send_bound(config: Config) -> timedelta:
    """The longest a sane digest run takes between recording a digest and its outcome (sent, or
    left pending by a failure the digest heartbeat records): GRACE (2 h), or longer when a
    run's own bounds say so (one `[email] timeout`, `[slack] max_wait` and the senders' lock
    margin together). A digest pending longer, with no run ended since, was cut off."""
    from arxivwatch.jobs.digest import SEND_LOCK_MARGIN

    wait = config.email.timeout + config.slack.max_wait + SEND_LOCK_MARGIN
    return max(GRACE, timedelta(seconds=wait))


def pending_problem(
    config: Config,
    pending: Sequence[DigestRecord],
    heartbeats: dict[str, dict[str, Any]],
    now: datetime,
) -> str | None:
    """Why a digest of the ledger's `pending` ones (oldest first) is not on its way, or None:

    - its channel is one no run sends (email or Slack turned off): it waits until turned on;
    - a digest run ended after it was recorded and did not send it: its delivery failed;
    - it was recorded longer than `send_bound` ago and no run ended since: the run that
      recorded it died before an outcome (a crash, a kill, the machine going down).
    """
    from arxivwatch.jobs.digest import retried_channels

    retried = retried_channels(config)
    held = [d for d in pending if d.channel not in retried]
    if held:
        first = min(held, key=lambda d: d.created_at)
        return (
            f"the {first.channel} digest {_period(first)} ({first.key}) is pending, but {first.channel} "
            f"is not enabled: set [{first.channel}] enabled = true and the next `arxivwatch digest` sends it"
        )
    beat = heartbeats.get("digest")
    ended = datetime.fromisoformat(beat["at"]) if beat else None
    failed = [d for d in pending if ended is not None and d.created_at < ended]
    if failed:
        first = min(failed, key=lambda d: d.created_at)
        return (
            f"the {first.channel} digest {first.key} is still pending since "
            f"{first.created_at:%Y-%m-%d %H:%M} UTC (its delivery failed; `arxivwatch digest` retries it)"
        )
    bound = send_bound(config)
    cut = [d for d in pending if now - d.created_at > bound]
    if not cut:
        return None
    first = min(cut, key=lambda d: d.created_at)
    return (
        f"the {first.channel} digest {_period(first)} ({first.key}) was recorded at "
        f"{first.created_at:%Y-%m-%d %H:%M} UTC and is neither sent nor failed after {_span(bound)}: "
        "its run was cut off; run `arxivwatch digest` or restart the daemon: it resends"
    )


def stale_feed(announced: date, polled_at: datetime) -> str | None:
    """The feed still served the announcement of `announced` when polled on a later arXiv day
    than the next one expected (arXiv announces Monday to Friday, US Eastern dates).

    A holiday without an announcement can flag one day falsely; a stuck feed is flagged
    from the first poll after the day it should have moved on.
    """
    expected = announced + timedelta(days=1)
    while expected.weekday() >= 5:
        expected += timedelta(days=1)
    polled_on = polled_at.astimezone(ARXIV_ZONE).date()
    if polled_on <= expected:
        return None
    return (
        f"the feed still served the announcement of {announced} when polled on {polled_on}; "
        f"the next was due on {expected}"
    )


def cron(config: Config, job: str) -> Cron:
    """The schedule of `job` ("poll" or "digest") in the configured time zone."""
    from arxivwatch.schedule import cron as parse

    return parse(getattr(config.schedule, job), config.schedule.timezone)


def previous_run(config: Config, job: str, before: datetime) -> datetime | None:
    """The latest fire time of `job` at or before `before`."""
    return cron(config, job).previous(before)


def _period(record: DigestRecord) -> str:
    """ "for 2026-06-10", "for the week 2026-06-08 to 2026-06-14": the period as a reader names it."""
    if record.start == record.end:
        return f"for {record.start.isoformat()}"
    return f"for the {record.period} {record.start.isoformat()} to {record.end.isoformat()}"


def _span(span: timedelta) -> str:
    """ "2 h", "17 min": a bound as people read it (minutes rounded up)."""
    minutes = -(-int(span.total_seconds()) // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
