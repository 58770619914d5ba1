"""The digest job's second half: deliver a recorded (frozen) digest and mark it sent.

What is sent is exactly what the ledger holds for the digest (subject, text, HTML,
markdown, Slack payloads), whatever changed since it was recorded: the model, the
configuration, the templates. The digest is marked sent, and the papers it offered
become offered on its channel, in one transaction, only once the channel accepted it:

- file: the files are written (temp file, then rename), then the ledger commits. A crash
  in between rewrites the same files: exactly once as far as a reader can tell.
- email: sent when the server answered 250 to DATA. A crash (or a lost reply) between
  that 250 and the ledger's commit sends it again on the next run, with the same
  Message-ID: at least once.
- Slack: each accepted message is committed (`progress`) before the next is posted; a
  retry resumes at the first message not accepted. A crash between Slack's acceptance
  of one message and that commit posts that one message again: at least once, per message.
  A message Slack refuses as too long is split in two; the new split is recorded (`resplit`)
  before either part is posted, so progress counts messages of the list actually posted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from arxivwatch.config import secret
from arxivwatch.errors import DeliveryError
from arxivwatch.models import Digest, Message, Receipt

if TYPE_CHECKING:
    from arxivwatch.clock import Clock
    from arxivwatch.config import Config
    from arxivwatch.store import DigestRecord, Store

log = logging.getLogger("arxivwatch.digest")


@dataclass(frozen=True)
class DigestResult:
    """What one channel's digest run did; `line` is what `arxivwatch digest` prints for it."""

    key: str
    channel: str
    status: str  # "sent" | "already sent" | "skipped (empty)" | "dry run" | "printed" | "failed"
    # | "pending (not enabled)"
    papers: int
    detail: str = ""
    line: str = ""


@dataclass
class WaitBudget:
    """Seconds of Slack Retry-After one run may still wait, shared by all its digests."""

    seconds: float


def deliver(
    config: Config,
    store: Store,
    record: DigestRecord,
    clock: Clock,
    budget: WaitBudget | None = None,
    *,
    log_sent: bool = True,
) -> DigestResult:
    """Send the frozen content of a pending `record` on its channel and mark it sent.

    `budget` is the run's Slack wait budget (default: a fresh `[slack] max_wait`), spent in
    place. Logs one INFO line when sent, unless `log_sent` is False (`arxivwatch digest`
    prints the result's line itself). Raises DeliveryError (the digest stays pending, with
    its progress) when the channel did not accept it.
    """
    if record.message is None:
        raise DeliveryError(f"digest {record.key} has no frozen content", hint="this is a bug")
    message = Message.from_json(record.message)
    since = store.last_sent(record.channel)
    if record.channel == "email":
        receipt = _email(config, record, message)
        refused = [r for r in receipt.extra.get("refused", "").split(", ") if r]
        detail = receipt.detail + (f"; refused: {', '.join(refused)}" if refused else "")
        store.mark_sent(record.key, detail, refused)
    elif record.channel == "slack":
        receipt = _slack(config, store, record, message, clock, budget or WaitBudget(config.slack.max_wait))
        store.mark_sent(record.key, receipt.detail)
    elif record.channel == "file":
        from arxivwatch.deliver import file

        shell = Digest(record.period, record.start, record.end, record.channel)
        receipt = file.write(message, shell, config.digest_folder)
        store.mark_sent(record.key, receipt.detail)
    else:
        raise DeliveryError(f"unknown channel {record.channel!r}", hint="use email, slack, file or stdout")
    line = f"{record.channel}: {_what(record, receipt, sent_day(since))}"
    if log_sent:
        said = line.removeprefix(f"{record.channel}: ")  # "sent to file: wrote ...", the channel once
        log.info("digest %s sent to %s: %s (%s)", record.key, record.channel, said, receipt.detail)
    return DigestResult(record.key, record.channel, "sent", len(record.items), receipt.detail, line)


def _what(record: DigestRecord, receipt: Receipt, since: date | None) -> str:
    """ "sent 12 papers to 3 recipients", "sent an empty digest: nothing new since Jun 10", ..."""
    count = len(record.items)
    papers = "1 paper" if count == 1 else f"{count} papers"
    if count == 0:
        papers = f"an empty digest ({why_empty(record.offered, since)})"
    if record.channel == "email":
        accepted = [a for a in receipt.extra.get("accepted", "").split(", ") if a]
        refused = receipt.extra.get("refused", "")
        to = "1 recipient" if len(accepted) == 1 else f"{len(accepted)} recipients"
        return f"sent {papers} to {to}" + (f"; refused: {refused}" if refused else "")
    if record.channel == "slack":
        posted = receipt.extra.get("messages", "?")
        return f"sent {papers} ({posted} {'message' if posted == '1' else 'messages'} posted now)"
    return f"wrote {papers} to {receipt.extra.get('folder', '')}"


def sent_day(record: DigestRecord | None) -> date | None:
    """The day (UTC) `record` was sent, or None."""
    return record.sent_at.date() if record is not None and record.sent_at else None


def why_empty(offered: int, since: date | None) -> str:
    """Why a digest holds no paper: nothing arrived, or nothing scored above the thresholds."""
    when = f"since {since:%b} {since.day}" if since else "in the horizon"
    if offered == 0:
        return f"nothing new {when}"
    new = "1 new paper" if offered == 1 else f"{offered} new papers"
    return f"{new} {when}, none above the thresholds"


def _email(config: Config, record: DigestRecord, message: Message) -> Receipt:
    from arxivwatch.deliver import email

    cfg = config.email
    return email.send(
        message,
        digest_key=record.key,
        host=cfg.host,
        port=cfg.port,
        security=cfg.security,
        username=cfg.username,
        password=secret(cfg.password_env),
        sender=cfg.sender,
        recipients=cfg.recipients,
        timeout=cfg.timeout,
        password_env=cfg.password_env,
    )


def _slack(
    config: Config, store: Store, record: DigestRecord, message: Message, clock: Clock, budget: WaitBudget
) -> Receipt:
    """Post the messages not yet accepted, committing each acceptance before the next post;
    the time the posts took (their Retry-After waits) comes off `budget`."""
    from arxivwatch.deliver import slack

    cfg = config.slack
    token = secret(cfg.token_env)
    webhook = secret(cfg.webhook_url_env) if cfg.webhook_url_env else None
    if not token and not webhook:
        raise DeliveryError(
            f"no Slack credentials: ${cfg.token_env} is not set",
            hint=f"export the bot token as {cfg.token_env}, or set [slack] webhook_url_env",
        )
    if webhook and not _http_url(webhook):  # named by its variable: the URL is the secret
        raise DeliveryError(
            f"the Slack webhook URL in ${cfg.webhook_url_env} is not an http(s) URL",
            hint=f"set {cfg.webhook_url_env} to the URL Slack gave (https://hooks.slack.com/services/...)",
        )
    stamps = [s for s in record.detail.split(",") if s] if record.progress else []

    def accepted(count: int, ts: str) -> None:
        stamps.append(ts)
        store.record_progress(record.key, count, ",".join(s for s in stamps if s))

    def split(payloads: tuple[dict[str, Any], ...]) -> None:
        store.resplit(record.key, replace(message, slack=payloads).to_json())

    started = clock.now()
    try:
        receipt = slack.send(
            message,
            digest_key=record.key,
            channel=cfg.channel,
            token=token,
            webhook_url=webhook,
            api_url=cfg.api_url,
            clock=clock,
            already_sent=record.progress,
            max_wait=budget.seconds,
            on_accepted=accepted,
            on_split=split,
            token_env=cfg.token_env,
            webhook_url_env=cfg.webhook_url_env,
        )
    finally:
        budget.seconds = max(budget.seconds - (clock.now() - started).total_seconds(), 0.0)
    return Receipt(receipt.channel, receipt.digest_key, receipt.accepted_at, ",".join(stamps), receipt.extra)


def _http_url(url: str) -> bool:
    """Whether `url` parses as an http(s) URL with a host (urllib and slack-sdk raise on others)."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # an unclosed IPv6 bracket, a port out of range
        return False
