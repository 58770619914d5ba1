"""The digest job: select, render, and deliver once per (period, channel), through the ledger.

The ledger's rule: a digest is recorded pending (with the exact papers it holds) before it
is sent, and marked sent only once the channel accepted it. A crash or a refused send leaves
it pending; the next run sends that same digest again. A digest marked sent is never sent
again, and a paper sent on a channel is not selected for that channel again.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, TYPE_CHECKING

from arxivwatch.clock import Clock, SystemClock
from arxivwatch.config import secret
from arxivwatch.errors import ArxivwatchError, DeliveryError
from arxivwatch.jobs import load_model, open_store, today
from arxivwatch.jobs.learn import model_id, score_new, thresholds
from arxivwatch.models import Digest, Message, Receipt, digest_key

if TYPE_CHECKING:
    from arxivwatch.config import Config
    from arxivwatch.model import Model
    from arxivwatch.store import DigestRecord, Store

log = logging.getLogger("arxivwatch.digest")

CHANNELS = ("email", "slack", "file", "stdout")


@dataclass(frozen=True)
class DigestResult:
    key: str
    channel: str
    status: str  # "sent" | "already sent" | "skipped (empty)" | "dry run" | "failed"
    papers: int
    detail: str = ""


def enabled_channels(config: Config) -> list[str]:
    """The channels the configuration turns on; stdout when none is."""
    channels = [name for name in ("email", "slack") if getattr(config, name).enabled]
    if config.digest.folder:
        channels.append("file")
    return channels or ["stdout"]


def digest(
    config: Config,
    *,
    period: str | None = None,
    channels: Sequence[str] | None = None,
    dry_run: bool = False,
    day: date | None = None,
    clock: Clock | None = None,
    out: IO[str] | None = None,
) -> list[DigestResult]:
    """Send the due digest to each channel; raise the first delivery failure after trying all.

    `day` is the day the digest is for (default: today in the schedule's time zone); the
    daemon passes the day the digest fell due, so a late digest covers its own period.
    """
    from arxivwatch import digest as selector

    clock = clock or SystemClock()
    out = out or sys.stdout
    period = period or config.digest.period
    start, end = selector.period_bounds(period, day or today(config, clock))
    model = load_model(config)
    results: list[DigestResult] = []
    failures: list[ArxivwatchError] = []
    with open_store(config, clock) as store:
        score_new(store, model)
        for channel in channels or enabled_channels(config):
            try:
                results.append(_one(config, store, model, channel, period, start, end, dry_run, clock, out))
            except DeliveryError as e:
                results.append(DigestResult(digest_key(period, start, channel), channel, "failed", 0, str(e)))
                failures.append(e)
        store.beat("digest", not failures, "; ".join(f"{r.channel}: {r.status}" for r in results))
    for failure in failures[1:]:  # the first becomes the command's error line
        log.error("%s (left pending for the next run)", failure)
    if failures:
        raise failures[0]
    return results


def resend_pending(config: Config, *, clock: Clock | None = None) -> list[DigestResult]:
    """Send the digests left pending by a crash or a refused send (the daemon calls this on start)."""
    clock = clock or SystemClock()
    results = []
    model = load_model(config)
    with open_store(config, clock) as store:
        for record in store.pending_digests():
            results.append(
                _one(
                    config,
                    store,
                    model,
                    record.channel,
                    record.period,
                    record.start,
                    record.end,
                    False,
                    clock,
                    sys.stdout,
                )
            )
    return results


def _one(
    config: Config,
    store: Store,
    model: Model,
    channel: str,
    period: str,
    start: date,
    end: date,
    dry_run: bool,
    clock: Clock,
    out: IO[str],
) -> DigestResult:
    from arxivwatch import render

    key = digest_key(period, start, channel)
    record = store.get_digest(key) if channel != "stdout" else None
    if record is not None and record.status == "sent" and not dry_run:
        return DigestResult(key, channel, "already sent", len(record.items))
    built = _build(config, store, model, channel, period, start, end, pending=record)
    if built.count == 0 and not config.digest.send_empty and record is None:
        return DigestResult(key, channel, "skipped (empty)", 0)
    message = render.render(built, templates_dir=config.templates_dir, send_empty=True)
    if dry_run or channel == "stdout":
        out.write(message.text + "\n")
        return DigestResult(key, channel, "dry run" if dry_run else "printed", built.count)
    if record is None:
        items = [(item.paper.id, item.paper.version) for item in built.items]
        store.add_pending_digest(key, period, start, end, channel, items)
    receipt = _deliver(config, store, channel, key, message, built, clock)
    store.mark_sent(key, receipt.detail)
    log.info("digest %s sent to %s: %d papers (%s)", key, channel, built.count, receipt.detail)
    return DigestResult(key, channel, "sent", built.count, receipt.detail)


def _build(
    config: Config,
    store: Store,
    model: Model,
    channel: str,
    period: str,
    start: date,
    end: date,
    *,
    pending: DigestRecord | None,
) -> Digest:
    """Select the digest; for a pending one, exactly the papers it was recorded with."""
    from arxivwatch import digest as selector

    if pending is not None:
        ids = {paper_id for paper_id, _version in pending.items}
        papers = [p for p in (store.get_paper(i) for i in sorted(ids)) if p is not None]
        sent: dict[str, int] = {}
    else:
        papers = store.papers_announced_between(start, end)
        sent = store.sent_versions(channel)
    limits = thresholds(model, config.digest.min_score)
    scores = store.scores_for([p.id for p in papers], model_id(model))
    return selector.select(
        papers,
        scores,
        model.profiles,
        limits,
        period=period,
        start=start,
        end=end,
        channel=channel,
        sent=sent,
        flag_updated=config.digest.flag_updated,
        top_n=config.digest.top_n,
    )


def _deliver(
    config: Config,
    store: Store,
    channel: str,
    key: str,
    message: Message,
    built: Digest,
    clock: Clock,
) -> Receipt:
    if channel == "email":
        from arxivwatch.deliver import email

        cfg = config.email
        return email.send(
            message,
            digest_key=key,
            host=cfg.host,
            port=cfg.port,
            security=cfg.security,
            username=cfg.username,
            password=secret(cfg.password_env),
            sender=cfg.sender,
            recipients=cfg.recipients,
        )
    if channel == "slack":
        return _deliver_slack(config, store, key, message, clock)
    if channel == "file":
        from arxivwatch.deliver import file

        return file.write(message, built, config.digest_folder)
    raise DeliveryError(f"unknown channel {channel!r}", hint=f"use one of {', '.join(CHANNELS)}")


def _deliver_slack(config: Config, store: Store, key: str, message: Message, clock: Clock) -> Receipt:
    """Slack takes a digest as several messages: remember how many were accepted, so a
    retry after a failure midway sends only the rest."""
    from arxivwatch.deliver import slack

    cfg = config.slack
    progress_key = f"slack-progress:{key}"
    done = int(store.get_value(progress_key) or 0)
    token = secret(cfg.token_env)
    webhook = secret(cfg.webhook_url_env) if cfg.webhook_url_env else None
    if not token and not webhook:
        raise DeliveryError(
            f"no Slack credentials: ${cfg.token_env} is not set",
            hint=f"export the bot token as {cfg.token_env}, or set [slack] webhook_url_env",
        )
    try:
        return slack.send(
            message,
            digest_key=key,
            channel=cfg.channel,
            token=token,
            webhook_url=webhook,
            api_url=cfg.api_url,
            clock=clock,
            already_sent=done,
        )
    except DeliveryError as e:
        store.set_value(progress_key, str(done + getattr(e, "sent_count", 0)))
        raise
