"""The status job: what the store, the model and the schedule say, for people and for health checks."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from arxivwatch.clock import Clock, SystemClock
from arxivwatch.errors import ModelError
from arxivwatch.jobs import load_model, open_store
from arxivwatch.jobs.health import (
    GRACE,
    check_problem,
    cron,
    digest_problem,
    model_problem,
    no_database,
    older_schema,
    pending_problem,
    stale_feed,
)

if TYPE_CHECKING:
    from arxivwatch.config import Config
    from arxivwatch.store import DigestRecord, Store

__all__ = ["GRACE", "check_problem", "collect", "stale_feed", "status"]


def collect(config: Config, clock: Clock | None = None) -> dict[str, Any]:
    """Everything `status` shows, as plain JSON-ready values; "exists" says whether the
    database file does (a path without one, or with an empty file, is reported, unhealthy, and
    nothing is created). A database of an older schema is reported unhealthy, unread
    ("papers_stored" null) and unchanged: only a command that writes upgrades it."""
    from arxivwatch.store import MIGRATIONS, schema_of

    clock = clock or SystemClock()
    now = clock.now()
    path = config.db_path
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return _without_database(config, now, exists=False, problem=no_database(path))
    schema = schema_of(path) if path.is_file() else None
    if schema is not None and schema < len(MIGRATIONS):
        behind = older_schema(path, schema, len(MIGRATIONS))
        return _without_database(config, now, exists=True, problem=behind)
    with open_store(config, clock) as store:
        last = store.last_poll()
        pending = store.pending_digests()
        latest = store.last_digests()
        report: dict[str, Any] = {
            "database": str(config.db_path),
            "exists": True,
            "papers_stored": store.count_papers(),
            "last_poll": None
            if last is None
            else {
                "at": last.at.isoformat(),
                "source": last.source,
                "outcome": last.outcome,
                "reason": last.reason,
                "new_papers": last.new,
                "updated_papers": last.updated,
                "requests": last.requests,
                "announced": last.announced.isoformat() if last.announced else None,
            },
            "digests": [
                {
                    "key": d.key,
                    "channel": d.channel,
                    "status": d.status,
                    "papers": len(d.items),
                    "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                }
                for d in _digests(store, latest, pending)
            ],
            "channels": _channels(config, store, now, latest, pending),
            "heartbeats": {
                job: {"at": at.isoformat(), "ok": ok, "detail": detail}
                for job, (at, ok, detail) in store.heartbeats().items()
            },
        }
        announcement = store.last_feed_announcement()
    # the newest announcement a feed poll stored: a later poll answered 304 names none itself
    report["latest_announcement"] = announcement[0].isoformat() if announcement else None
    report["model"] = _model(config)
    report["next_runs"] = _next_runs(config, now)
    problem = (
        check_problem(
            config, last_at=last.at if last else None, outcome=last.outcome if last else None, now=now
        )
        or model_problem(report["model"])
        or digest_problem(report["heartbeats"])
        or pending_problem(config, pending, report["heartbeats"], now)
        or (stale_feed(*announcement) if announcement else None)
    )
    report["healthy"] = problem is None
    report["problem"] = problem
    return report


def _without_database(config: Config, now: datetime, *, exists: bool, problem: str) -> dict[str, Any]:
    """The report for a path with no database yet (`exists` False: nothing stored) or one status
    may not read (an older schema: papers unknown): every key, unhealthy, `problem` saying why."""
    return {
        "database": str(config.db_path),
        "exists": exists,
        "papers_stored": 0 if not exists else None,
        "last_poll": None,
        "digests": [],
        "channels": {},
        "heartbeats": {},
        "latest_announcement": None,
        "model": _model(config),
        "next_runs": _next_runs(config, now),
        "healthy": False,
        "problem": problem,
    }


def status(
    config: Config,
    *,
    as_json: bool = False,
    check: bool = False,
    clock: Clock | None = None,
    out: IO[str] | None = None,
) -> int:
    """Print the status (one line when there is no database yet: nothing is created); with
    check, return 1 when unhealthy: no database or never polled, the last poll failed or is
    overdue, no model loads, the last digest failed, a digest is pending with no run on its way
    to send it (`health.pending_problem`), or the feed is stuck on an old announcement."""
    out = out or sys.stdout
    report = collect(config, clock)
    if as_json:
        out.write(json.dumps(report, indent=2) + "\n")
    else:
        _print(report, out)
    return 1 if check and report["problem"] else 0


def _digests(
    store: Store, latest: Sequence[DigestRecord], pending: Sequence[DigestRecord]
) -> list[DigestRecord]:
    """The ledger's digests of interest, each once: per channel its latest (`latest`) and its
    last sent one, and every pending one; by channel, then period start."""
    chosen: dict[str, DigestRecord] = {}
    sent = [store.last_sent(d.channel) for d in latest]
    for record in [*latest, *(d for d in sent if d is not None), *pending]:
        chosen.setdefault(record.key, record)
    return sorted(chosen.values(), key=lambda d: (d.channel, d.start, d.created_at))


def _channels(
    config: Config,
    store: Store,
    now: datetime,
    latest: Sequence[DigestRecord],
    pending: Sequence[DigestRecord],
) -> dict[str, Any]:
    """Per channel that is enabled (stdout aside) or has digests in the ledger (`latest`, each
    channel's last): the last digest, its pending ones, how many papers wait, the recipients refused."""
    from arxivwatch.jobs.digest import CHANNELS, enabled_channels, offers_since

    enabled = enabled_channels(config)
    wanted = set(enabled) - {"stdout"} | {d.channel for d in latest}
    report: dict[str, Any] = {}
    for channel in [c for c in CHANNELS if c in wanted]:
        since = offers_since(store, channel, now, config.digest.horizon_days)
        last = next((d for d in latest if d.channel == channel), None)
        report[channel] = {
            "enabled": channel in enabled,
            "last_digest": None
            if last is None
            else {
                "key": last.key,
                "status": last.status,
                "papers": len(last.items),
                "offered": last.offered,
                "created_at": last.created_at.isoformat(),
                "sent_at": last.sent_at.isoformat() if last.sent_at else None,
            },
            "pending": [d.key for d in pending if d.channel == channel],
            "waiting": store.waiting(channel, since, updated=config.digest.flag_updated),
            "refused": list(last.refused) if last else [],
        }
    return report


def _model(config: Config) -> dict[str, Any]:
    from arxivwatch.model import describe

    try:
        model = load_model(config)
    except ModelError as e:
        return {"path": str(config.model_path), "error": str(e)}
    return {"path": str(config.model_path), **describe(model)}


def _next_runs(config: Config, now: datetime) -> dict[str, str]:
    """The next poll's and digest's times (ISO), `now` for a job with none."""
    return {job: (_next(config, job, now) or now).isoformat() for job in ("poll", "digest")}


def _next(config: Config, job: str, now: datetime) -> datetime | None:
    return cron(config, job).next_after(now)


def _seconds(stamp: str) -> str:
    """An ISO timestamp of the report, to the second for people (the JSON keeps it whole)."""
    try:
        return datetime.fromisoformat(stamp).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return str(stamp)


def _requests(count: int) -> str:
    return "1 request" if count == 1 else f"{count} requests"


def _print(report: dict[str, Any], out: IO[str]) -> None:
    if not report["exists"] or report["papers_stored"] is None:  # nothing read: the one line why
        out.write(f"{report['problem']}\n")
        return
    last = report["last_poll"]
    lines = [f"database: {report['database']} ({report['papers_stored']} papers)"]
    if last:
        reason = f" ({last['reason']})" if last["reason"] else ""
        day = f" of {last['announced']}" if last["announced"] else ""
        latest = report["latest_announcement"]
        stored = f"; latest announcement stored: {latest}" if latest and not day else ""
        new = f"{last['new_papers']} new, {_requests(last['requests'])}"
        what = last["outcome"]
        if last["source"] == "api" and what != "failed":  # stored as announcement/no announcement
            what = "range through the export API"
        lines.append(f"last poll: {_seconds(last['at'])} {what}{day}{reason}, {new}{stored}")
    else:
        lines.append("last poll: never")
    model = report["model"]
    if "error" in model:
        lines.append(f"model: none usable ({model['error']})")
    else:
        lines.append(f"model: trained {_seconds(model['trained_at'])}")
        for name, m in model["profiles"].items():
            lines.append(
                f"  {name}: AP {m['average_precision']}, P@10 {m['precision_at_10']}, "
                f"threshold {m['threshold']} ({m['positives']} positives)"
            )
    for channel, c in report["channels"].items():
        last = c["last_digest"]
        said = "no digest yet" if last is None else f"last digest {last['key']} {last['status']}"
        if last and last["sent_at"]:
            said += f" at {_seconds(last['sent_at'])}"
        if last:
            said += f" ({last['papers']} papers shown, {last['offered']} offered)"
        pending = f", pending: {', '.join(c['pending'])}" if c["pending"] else ""
        refused = f", refused recipients: {', '.join(c['refused'])}" if c["refused"] else ""
        off = "" if c["enabled"] else " (not enabled)"
        if not c["enabled"] and channel == "file" and c["pending"]:
            off = " (not enabled; every digest run retries its pending digests)"
        lines.append(f"{channel}{off}: {said}; {c['waiting']} papers waiting{pending}{refused}")
    for job, at in report["next_runs"].items():
        lines.append(f"next {job}: {at}")
    lines.append("healthy" if report["healthy"] else f"unhealthy: {report['problem']}")
    out.write("\n".join(lines) + "\n")
