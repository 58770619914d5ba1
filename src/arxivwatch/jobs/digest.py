"""The digest job: offer each channel what it was not offered yet, through the ledger.

A channel's digest is made of its candidates (store.offers): every stored paper no digest
of the channel offered, that arrived within `[digest] horizon_days`, in arrival order.
The period (day or week) names the digest (`digest_key`: one per period, day and
channel), sets its heading and marks papers announced before it as late; it drops none.

The ledger's rule: a digest is recorded pending before its first send attempt, frozen:
its rendered message, its items (paper, version, profile, score, reasons) and the papers
it offers (claimed on its channel, so no later digest repeats them). Every retry (the next
`digest` run, the daemon's `resend_pending`) sends exactly that content (jobs.send), and
the digest is marked sent, its papers offered, in one transaction once the channel
accepted it. A channel's pending digests are retried before a new one is built for it.
A run that records or sends holds the store's senders' lock, so two processes (two `digest`
runs, or one and the daemon) never send the same pending digest twice.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import IO, TYPE_CHECKING

from arxivwatch.clock import Clock, SystemClock
from arxivwatch.errors import ArxivwatchError, ConfigError, DeliveryError
from arxivwatch.jobs import load_model, open_store, today
from arxivwatch.jobs.scoring import horizon_start, model_id, score_new, thresholds
from arxivwatch.jobs.send import DigestResult, WaitBudget, deliver, sent_day, why_empty
from arxivwatch.models import Digest, DigestItem, digest_key

if TYPE_CHECKING:
    from arxivwatch.config import Config
    from arxivwatch.model import Model
    from arxivwatch.store import DigestRecord, Store

log = logging.getLogger("arxivwatch.digest")

CHANNELS = ("email", "slack", "file", "stdout")
SEND_LOCK_MARGIN = 60.0  # seconds a run waits for another's sends beyond its longest reply and Retry-After
__all__ = [
    "CHANNELS",
    "DigestResult",
    "digest",
    "enabled_channels",
    "offers_since",
    "resend_pending",
    "retried_channels",
]


def enabled_channels(config: Config) -> list[str]:
    """The channels the configuration turns on; stdout when none is."""
    channels = [name for name in ("email", "slack") if getattr(config, name).enabled]
    if config.digest.folder:
        channels.append("file")
    return channels or ["stdout"]


def retried_channels(config: Config) -> list[str]:
    """The channels whose pending digests are sent by a run without --channel and by the
    daemon's start-up resend: the enabled ones, and file always, since it needs no setting
    (without `[digest] folder` it writes to the `digests` folder beside the database, as
    `--channel file` did when it recorded them). Email or Slack turned off keeps its pending
    digests until it is turned on again (`status --check` says so)."""
    channels = [c for c in enabled_channels(config) if c != "stdout"]
    return channels if "file" in channels else [*channels, "file"]


def check_channels(config: Config, channels: Sequence[str]) -> None:
    """Refuse (ConfigError, exit 2) a channel asked for by name that the configuration does not
    enable: email and Slack need `enabled = true` (a digest recorded for them now would wait,
    pending, and go out whenever they are turned on). stdout and file need nothing (file writes
    to `[digest] folder`, else the `digests` folder beside the database)."""
    for channel in channels:
        if channel in ("email", "slack") and not getattr(config, channel).enabled:
            variable = f"ARXIVWATCH_{channel.upper()}_ENABLED"
            where = config.source if config.source != "built-in defaults" else "./arxivwatch.toml"
            raise ConfigError(
                f"{channel} is not enabled: set [{channel}] enabled = true in {where}"
                f" (or {variable}=true), or choose another --channel",
                hint="nothing was recorded or sent",
            )


def digest(
    config: Config,
    *,
    period: str | None = None,
    channels: Sequence[str] | None = None,
    dry_run: bool = False,
    day: date | None = None,
    clock: Clock | None = None,
    out: IO[str] | None = None,
    report: IO[str] | None = None,
) -> list[DigestResult]:
    """Send each channel its pending digests, then its digest for `day`; one result each.

    Without `channels` (every enabled one), the pending digests of the other channels that
    have some are handled too: a file digest is sent (`retried_channels`), and a channel turned
    off gets one result saying its digests wait, status "pending (not enabled)".

    `day` names the digest (default: today in the schedule's time zone); the daemon
    passes the day the digest fell due. `out` takes the stdout channel's digest; each
    result's line is written to `report` as it happens (to stderr for the stdout channel).
    Raises the first delivery failure after trying every channel (the failed digests stay
    pending); a ConfigError, before anything is recorded, for a channel named in `channels`
    that is not enabled (`check_channels`; a dry run may preview any channel).
    """
    from arxivwatch import digest as selector

    clock = clock or SystemClock()
    out = out or sys.stdout
    period = period or config.digest.period
    start, end = selector.period_bounds(period, day or today(config, clock))
    if channels and not dry_run:
        check_channels(config, channels)
    model = load_model(config)
    results: list[DigestResult] = []
    failures: list[ArxivwatchError] = []
    budget = WaitBudget(config.slack.max_wait)  # one run's Slack waits, all digests together
    named = bool(channels)
    channels = channels or enabled_channels(config)
    with open_store(config, clock) as store, _sending(config, store, dry_run):
        since = _scoring_since(config, store, channels, clock.now())
        score_new(store, model, since, model_file=config.model_path)
        note = failed_poll_note(store)
        others = [] if named or dry_run else _others_pending(store, channels)
        for channel in [*channels, *others]:
            run = _Run(config, store, model, clock, period, start, end, budget, log_sent=report is None)
            try:
                done = run.channel(channel, dry_run, out) if channel in channels else run.leftover(channel)
            except DeliveryError as e:
                key = digest_key(period, start, channel)
                said = str(e).removeprefix(f"{channel}: ")  # errors often name their channel already
                done = [
                    DigestResult(
                        key, channel, "failed", 0, str(e), f"{channel}: failed, left pending: {said}"
                    )
                ]
                failures.append(e)
            if note:  # an empty digest after a failed poll: the operator learns why
                done = [replace(r, line=f"{r.line}; {note}") if r.papers == 0 else r for r in done]
            for result in done if report else ():
                print(result.line, file=sys.stderr if channel == "stdout" else report, flush=True)
            results.extend(done)
        if not dry_run:  # a preview is no digest attempt: it must not clear a failed one
            store.beat("digest", not failures, "; ".join(r.line for r in results))
    for failure in failures[1:]:  # the first becomes the command's error line
        log.error("%s (left pending for the next run)", failure)
    if failures:
        raise failures[0]
    return results


def failed_poll_note(store: Store) -> str:
    """ "the last poll failed at <UTC time>: see `arxivwatch status`" when it did, else ""."""
    last = store.last_poll()
    if last is None or last.outcome != "failed":
        return ""
    return f"the last poll failed at {last.at:%Y-%m-%d %H:%M} UTC: see `arxivwatch status`"


def resend_pending(config: Config, *, clock: Clock | None = None) -> list[DigestResult]:
    """Send the digests left pending by a crash or a refused send, exactly as recorded
    (the daemon calls this on start), on the channels the configuration enables and file
    (`retried_channels`): email or Slack turned off keeps its pending digests until it is
    turned on again. A failure stops its channel only (that channel's later digests stay
    pending, in order): the other channels' digests are still sent; the first failure is
    raised once every channel was tried. Once it has sent every pending digest of the enabled
    channels, the digest heartbeat says so: the failure that left them pending is over
    (`status --check` is healthy again without waiting for the next scheduled digest)."""
    clock = clock or SystemClock()
    results = []
    failures: list[DeliveryError] = []
    failed: set[str] = set()
    budget = WaitBudget(config.slack.max_wait)
    with open_store(config, clock) as store, _sending(config, store, dry_run=False):
        retried = retried_channels(config)
        for record in [r for r in store.pending_digests() if r.channel in retried]:
            if record.channel in failed:  # its channel failed: the rest keep their order
                continue
            try:
                results.append(deliver(config, store, _frozen(config, store, record), clock, budget))
            except DeliveryError as e:
                failed.add(record.channel)
                failures.append(e)
        if results and not any(r.channel in retried for r in store.pending_digests()):
            store.beat("digest", True, "; ".join(f"resent {r.line}" for r in results))
    for failure in failures[1:]:  # the first becomes the caller's error
        log.error("%s (left pending for the next run)", failure)
    if failures:
        raise failures[0]
    return results


def offers_since(store: Store, channel: str, now: datetime, horizon_days: int) -> datetime:
    """From when stored papers are candidates on `channel` (UTC instant).

    `horizon_days` back from `now`, so a new channel, or one paused for longer, does not get
    months of history; but never later than when the channel's last digest was recorded
    while that digest is pending or went out within the horizon: papers stored while a
    channel kept failing (for weeks) still reach it once it is back.
    """
    since = now - timedelta(days=horizon_days)
    last = store.latest_recorded(channel)
    if last is not None and (last.sent_at is None or last.sent_at >= since):
        since = min(since, last.created_at)
    return since


def _others_pending(store: Store, channels: Sequence[str]) -> list[str]:
    """The channels outside `channels` with pending digests in the ledger, in CHANNELS order."""
    pending = {record.channel for record in store.pending_digests()}
    return [c for c in CHANNELS if c in pending and c not in channels]


def _scoring_since(config: Config, store: Store, channels: Sequence[str], now: datetime) -> datetime:
    """From when papers must hold the current model's scores for these channels' digests:
    the earliest `offers_since` among them, with the horizon's day of slack (a channel that
    kept failing reaches back past the horizon, and its backlog needs scores after a retrain)."""
    horizon = config.digest.horizon_days
    earliest = min((offers_since(store, c, now, horizon) for c in channels), default=now)
    return min(earliest - timedelta(days=1), horizon_start(now, horizon))


def _sending(config: Config, store: Store, dry_run: bool) -> AbstractContextManager[None]:
    """The senders' lock for a run that records or sends (none for a dry run): a second process
    waits for the first to finish, then finds its digests sent, never sending one twice. The
    wait is bounded by the longest one send may take (an SMTP reply, Slack's Retry-After)."""
    if dry_run:
        return nullcontext()
    return store.sending(wait=config.email.timeout + config.slack.max_wait + SEND_LOCK_MARGIN)


class _Run:
    """One digest run's shared values, for one channel at a time."""

    def __init__(
        self,
        config: Config,
        store: Store,
        model: Model,
        clock: Clock,
        period: str,
        start: date,
        end: date,
        budget: WaitBudget,
        *,
        log_sent: bool = True,
    ) -> None:
        self.config, self.store, self.model, self.clock = config, store, model, clock
        self.period, self.start, self.end, self.budget = period, start, end, budget
        self.log_sent = log_sent  # False when the caller prints each result's line itself

    def _deliver(self, record: DigestRecord) -> DigestResult:
        return deliver(self.config, self.store, record, self.clock, self.budget, log_sent=self.log_sent)

    def _named(self) -> str:
        """The period as a reader names it: "2026-11-29", "the week 2026-11-23 to 2026-11-29"."""
        if self.start == self.end:
            return self.start.isoformat()
        return f"the {self.period} {self.start.isoformat()} to {self.end.isoformat()}"

    def channel(self, channel: str, dry_run: bool, out: IO[str]) -> list[DigestResult]:
        """Pending digests first, then this period's; a DeliveryError leaves the rest for later."""
        from arxivwatch import render

        key = digest_key(self.period, self.start, channel)
        if dry_run or channel == "stdout":
            built, _offered = self.build(channel)
            out.write(render.render(built, templates_dir=self.config.templates_dir).text + "\n")
            status = "dry run" if dry_run else "printed"
            return [
                DigestResult(
                    key, channel, status, built.count, line=f"{channel}: {status}, {built.count} papers"
                )
            ]
        results = [
            self._deliver(_frozen(self.config, self.store, r)) for r in self.store.pending_digests(channel)
        ]
        if any(r.key == key for r in results):
            return results
        record = self.store.get_digest(key)
        if record is not None:  # sent: pending ones were delivered above
            line = f"{channel}: already sent for {self._named()}"
            return [*results, DigestResult(key, channel, "already sent", len(record.items), line=line)]
        built, offered = self.build(channel)
        if built.count == 0 and not self.config.digest.send_empty:
            why = why_empty(len(offered), sent_day(self.store.last_sent(channel)))
            line = f"{channel}: nothing sent ({why}; send_empty = false)"
            return [*results, DigestResult(key, channel, "skipped (empty)", 0, line=line)]
        message = render.render(built, templates_dir=self.config.templates_dir)
        items = [(item.paper.id, item.paper.version) for item in built.items]
        entries = json.dumps([_entry(item) for item in built.items])
        recorded = self.store.add_pending_digest(
            key, self.period, self.start, self.end, channel, items,
            offered=offered, entries=entries, message=message.to_json(),
        )  # fmt: skip
        frozen = self.store.get_digest(key)
        if not recorded or frozen is None:  # another process recorded it meanwhile: it sends it
            line = f"{channel}: recorded by another run for {self._named()}"
            return [*results, DigestResult(key, channel, "already sent", 0, line=line)]
        return [*results, self._deliver(frozen)]

    def leftover(self, channel: str) -> list[DigestResult]:
        """The pending digests of a channel this run builds no digest for: sent when the run
        may send them (`retried_channels`: file), else one result naming them and what turns
        the channel on (logged as a warning unless the caller prints the lines)."""
        pending = self.store.pending_digests(channel)
        if not pending:
            return []
        if channel in retried_channels(self.config):
            return [self._deliver(_frozen(self.config, self.store, r)) for r in pending]
        keys = ", ".join(r.key for r in pending)
        line = (
            f"{channel}: not sent, {channel} is not enabled, pending: {keys}"
            f" (set [{channel}] enabled = true to send them)"
        )
        if self.log_sent:
            log.warning("%s", line)
        return [DigestResult(pending[0].key, channel, "pending (not enabled)", 0, line=line)]

    def build(self, channel: str) -> tuple[Digest, list[tuple[str, int]]]:
        """The channel's digest from its candidates, and the (id, version) of every paper it offers.

        Two reads in one snapshot of the store, so its cost follows the papers shown, not the
        candidates: every candidate's ranking columns and the score values that can count (no
        abstract, no reasons), then the whole rows and the reasons of the papers the selection shows.
        """
        from arxivwatch import digest as selector

        current = model_id(self.model)
        with self.store.snapshot():
            ranked, offered = self._ranked(channel, current)
            shown = [item.paper.id for item in ranked.items]
            papers = self.store.get_papers(shown)
            built = selector.complete(ranked, papers, self.store.scores_for(shown, current))
        return built, offered

    def _ranked(self, channel: str, current: str) -> tuple[Digest, list[tuple[str, int]]]:
        """The digest selected over the light read (the candidates a score of the model can
        qualify, with the scores that can: at or above the lowest threshold, no reasons), and
        the (id, version) of every paper it offers: every candidate the model scored (an
        unscored one waits for a score)."""
        from arxivwatch import digest as selector

        cfg = self.config.digest
        since = offers_since(self.store, channel, self.clock.now(), cfg.horizon_days)
        limits = thresholds(self.model, cfg.min_score)
        floor = selector.lowest_threshold(self.model.profiles, limits)
        read = self.store.ranking_candidates(channel, since, current, floor, updated=cfg.flag_updated)
        scores = self.store.scores_for([p.id for p in read.papers], current, reasons=False, at_least=floor)
        ranked = selector.select(
            read.papers, scores, self.model.profiles, limits,
            period=self.period, start=self.start, end=self.end, channel=channel,
            sent=read.offered_before, flag_updated=cfg.flag_updated, top_n=cfg.top_n,
        )  # fmt: skip
        # every offered paper was looked at, though only those a score can qualify were ranked
        return replace(ranked, scanned=len({pid for pid, _version in read.offered})), read.offered


def _entry(item: DigestItem) -> dict[str, object]:
    """A shown item as the ledger records it."""
    paper = item.paper
    return {"id": paper.id, "version": paper.version, "profile": item.profile, "score": item.score,
            "reasons": list(item.reasons), "late": item.late}  # fmt: skip


def _frozen(config: Config, store: Store, record: DigestRecord) -> DigestRecord:
    """`record` with frozen content; a digest recorded by schema 1 (items only) is rendered
    once from its items, all of them, scored by the current model (a retrain since left them
    unscored: they are scored now), and frozen before sending. Its items become the papers
    the frozen message shows, so none is marked delivered without being sent."""
    from arxivwatch import digest as selector
    from arxivwatch import render

    if record.message is not None:
        return record
    model = load_model(config)
    score_new(
        store,
        model,
        horizon_start(store.clock.now(), config.digest.horizon_days),
        model_file=config.model_path,
    )
    ids = [paper_id for paper_id, _version in record.items]
    papers = [p for p in (store.get_paper(i) for i in ids) if p is not None]
    profiles = [replace(p, top_n=None) for p in model.profiles]
    built = selector.select(
        papers, store.scores_for(ids, model_id(model)), profiles, {p.name: -math.inf for p in profiles},
        period=record.period, start=record.start, end=record.end, channel=record.channel,
    )  # fmt: skip
    message = render.render(built, templates_dir=config.templates_dir)
    items = [(item.paper.id, item.paper.version) for item in built.items]
    entries = json.dumps([_entry(item) for item in built.items])
    store.freeze(record.key, entries, message.to_json(), items)
    frozen = store.get_digest(record.key)
    assert frozen is not None
    return frozen
