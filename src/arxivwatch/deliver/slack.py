"""Slack: chat.postMessage with a bot token, or an incoming webhook.

A digest may be several messages (Slack takes at most 50 blocks in one, and refuses blocks
too long together: see arxivwatch.slackblocks); they are posted in order, and
`on_accepted(count, ts)` is called after each one Slack accepted, before the next is
posted, so the caller can commit its progress. When Slack answers
`ratelimited` (HTTP 429) the same message is retried after the Retry-After it named,
waited on the given clock and logged at INFO; the waits of one call add up to at most
`max_wait` seconds, past which the call gives up (the caller resumes on its next run).
Any other refusal (invalid_auth, channel_not_found, ...) raises PartialDeliveryError (a
DeliveryError) saying how many messages were accepted before it, so a retry can resume
after them with `already_sent` and never post one twice. A message refused with
`msg_blocks_too_long` (Slack's undocumented size limit, lower than we assumed) is split
in two and its parts posted instead, so a recorded digest is not refused on every retry.
The token never appears in an error: hints name the variable that holds it (`token_env`,
`webhook_url_env`), never its value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from arxivwatch.clock import Clock, SystemClock
from arxivwatch.deliver import PartialDeliveryError
from arxivwatch.models import Message, Receipt

log = logging.getLogger("arxivwatch.slack")

DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 carries no usable Retry-After
UNREACHABLE = "unreachable: "  # an _Answer.error prefix: no answer from Slack at all
HINTS = {
    "invalid_auth": "check the bot token in {token}",
    "not_authed": "set the bot token in {token}",
    "token_revoked": "the bot token in {token} was revoked; create a new one",
    "account_inactive": "the bot token in {token} belongs to a deactivated app or user",
    "channel_not_found": "check slack.channel ({channel}), and invite the bot to that channel",
    "not_in_channel": "invite the bot to {channel} (slack.channel)",
    "is_archived": "{channel} (slack.channel) is archived; choose another channel",
    "missing_scope": "give the app the chat:write scope and reinstall it",
    "invalid_blocks": "the message broke Slack's block rules; please report this",
    "msg_blocks_too_long": "Slack found the message's blocks too long together (a limit it does not "
    "document, reported near 13,200 characters); arxivwatch splits a refused message down to single "
    "blocks, and Slack refused one block alone: please report this",
    "invalid_token": "check the webhook URL in {webhook}",
    "no_service": "the webhook in {webhook} was removed; create a new one and put its URL there",
}


@dataclass(frozen=True)
class _Answer:
    """What Slack said to one post: accepted (with a ts), rate limited, or refused."""

    ok: bool
    ts: str = ""
    error: str = ""
    retry_after: float | None = None
    over_budget: bool = False  # waiting retry_after would pass max_wait


def send(
    message: Message,
    *,
    digest_key: str,
    channel: str,
    token: str | None = None,
    webhook_url: str | None = None,
    api_url: str = "https://slack.com/api/",
    clock: Clock | None = None,
    max_retries: int = 5,
    already_sent: int = 0,
    timeout: int = 30,
    max_wait: float = 300.0,
    on_accepted: Callable[[int, str], None] | None = None,
    on_split: Callable[[tuple[dict[str, Any], ...]], None] | None = None,
    token_env: str = "SLACK_BOT_TOKEN",  # noqa: S107 (the name of a variable, not a secret)
    webhook_url_env: str = "",
) -> Receipt:
    """Post the Slack payloads of `message` after the first `already_sent`, in order.

    Uses the bot `token` with chat.postMessage to `channel`, or else `webhook_url`.
    `max_retries` bounds the rate-limit retries of each message, `max_wait` (seconds) the
    Retry-After waits of the whole call. `on_accepted(count, ts)` runs after each accepted
    message, with how many are accepted in all now. The Receipt's detail is the ts values
    of the messages posted now, comma-separated (webhooks return none). A message Slack refuses
    with msg_blocks_too_long is split in two (`halve`) and its parts posted in its place;
    `on_split(payloads)` then gets the whole new list, before any part is posted, so the caller
    can record it and `already_sent` keeps counting messages of that list. `token_env` and
    `webhook_url_env` are the names of the environment variables the secrets came from, for
    the hints (e.g. "check the bot token in $SLACK_BOT_TOKEN"); their values are never shown.
    """
    clock = clock or SystemClock()
    names = {
        "token": variable(token_env, "slack.token_env"),
        "webhook": variable(webhook_url_env, "slack.webhook_url_env"),
        "channel": channel or "the channel",
    }
    post = _poster(
        channel=channel, token=token, webhook_url=webhook_url, api_url=api_url, timeout=timeout, names=names
    )
    payloads = list(message.slack) or [{"text": message.slack_text or message.subject}]
    stamps: list[str] = []
    budget = [max_wait]  # seconds still allowed to wait, shared by every message
    index = already_sent
    while index < len(payloads):  # bounded: a split makes more messages of fewer blocks
        where = f"message {index + 1} of {len(payloads)}"
        answer = _post_with_retries(post, payloads[index], clock, max_retries, budget, where)
        halves = halve(payloads[index]) if answer.error == "msg_blocks_too_long" else None
        if halves is not None:
            log.warning("slack: %s refused with msg_blocks_too_long; posting it as two messages", where)
            payloads[index : index + 1] = halves
            if on_split is not None:
                on_split(tuple(payloads))  # committed before a part is posted: progress stays exact
            continue
        if not answer.ok:
            raise _refused(answer, index, len(payloads), stamps, already_sent, max_wait, names)
        stamps.append(answer.ts)
        if on_accepted is not None:
            on_accepted(index + 1, answer.ts)
        index += 1
    extra = {"messages": str(len(payloads) - already_sent), "channel": channel}
    return Receipt("slack", digest_key, clock.now(), detail=",".join(s for s in stamps if s), extra=extra)


Poster = Callable[[dict[str, Any]], _Answer]


def halve(payload: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`payload` as two payloads of its blocks, in order, cut nearest the middle where the block
    before the cut is not the digest's header, a divider or a profile's heading (which stay with
    what follows them) and the cut does not leave the closing divider and small print alone;
    None when it has fewer than two blocks (nothing left to split)."""
    blocks = list(payload.get("blocks") or [])
    if len(blocks) < 2:
        return None
    closing = len(blocks) - 2 if _closes(blocks) else None  # the digest's divider and small print
    cuts = [n for n in range(1, len(blocks)) if not _leads(blocks[n - 1]) and n != closing]
    cuts = cuts or list(range(1, len(blocks)))
    cut = min(cuts, key=lambda n: abs(2 * n - len(blocks)))
    return [{**payload, "blocks": blocks[:cut]}, {**payload, "blocks": blocks[cut:]}]


def _closes(blocks: list[dict[str, Any]]) -> bool:
    """Whether `blocks` end with the digest's closing divider and small print (a context block)."""
    return len(blocks) >= 3 and blocks[-2].get("type") == "divider" and blocks[-1].get("type") == "context"


def _leads(block: dict[str, Any]) -> bool:
    """Whether `block` heads what follows it: the header, a divider, or a profile heading (a
    rich_text starting with bold text, where a paper starts with its rank)."""
    if block.get("type") in ("header", "divider"):
        return True
    if block.get("type") != "rich_text":
        return False
    first = (block.get("elements") or [{}])[0].get("elements") or [{}]
    return first[0].get("type") == "text" and bool(first[0].get("style", {}).get("bold"))


def variable(name: str, key: str) -> str:
    """How a hint names the variable holding a secret: "$SLACK_BOT_TOKEN", or, when no name was
    given, "the variable named by slack.token_env" (`key`, the configuration key)."""
    return f"${name}" if name else f"the variable named by {key}"


def _poster(
    *,
    channel: str,
    token: str | None,
    webhook_url: str | None,
    api_url: str,
    timeout: int,
    names: Mapping[str, str],
) -> Poster:
    if token:
        return _web_api_poster(token, channel, api_url, timeout)
    if webhook_url:
        if not webhook_url.strip().lower().startswith(("https://", "http://")):
            # urllib would raise ValueError quoting the URL, which is a secret
            raise PartialDeliveryError(
                "slack: the webhook URL is not an http(s) URL",
                hint=f"set {names['webhook']} to the https://hooks.slack.com/... URL Slack gave you",
            )
        return _webhook_poster(webhook_url.strip(), timeout)
    raise PartialDeliveryError(
        "slack: no bot token and no webhook URL",
        hint=f"set the bot token in {names['token']} (or a webhook URL in slack.webhook_url_env)",
    )


def _post_with_retries(
    post: Poster, payload: dict[str, Any], clock: Clock, max_retries: int, budget: list[float], where: str
) -> _Answer:
    """Post once, and again after each `ratelimited`, at most `max_retries` more times and
    while the waits fit in `budget[0]` seconds (spent in place)."""
    # Hand-written: tenacity's Retrying (sleep on the clock, stop_after_attempt, retry_if_result) said
    # the same in twice the lines; posts never raise, so there is no exception plumbing to save.
    answer = post(payload)
    for _ in range(max_retries):
        if answer.retry_after is None:
            return answer
        if answer.retry_after > budget[0]:
            return _Answer(False, error=answer.error, retry_after=answer.retry_after, over_budget=True)
        log.info("slack: %s %s; retrying in %g s", where, answer.error, answer.retry_after)
        budget[0] -= answer.retry_after
        clock.sleep(answer.retry_after)
        answer = post(payload)
    return answer


def _refused(
    answer: _Answer,
    index: int,
    total: int,
    stamps: list[str],
    already_sent: int,
    max_wait: float,
    names: Mapping[str, str],
) -> PartialDeliveryError:
    """The error for a refused message `index`; sent_count counts this call's acceptances."""
    error = answer.error or "unknown_error"
    if answer.over_budget:
        hint = (
            f"Slack asked to wait {answer.retry_after:g} s more, past [slack] max_wait ({max_wait:g} s "
            "a run); the digest stays pending and the next run resumes"
        )
    elif answer.retry_after is not None:
        hint = "Slack kept answering ratelimited; the next run will resume"
    elif error.startswith(UNREACHABLE):
        hint = (
            "check the network, and slack.api_url or the webhook URL; the digest stays pending "
            "and the next run resumes"
        )
    else:
        hint = HINTS.get(error, "see https://api.slack.com/methods/chat.postMessage#errors").format_map(names)
    progress = f" (message {index + 1} of {total}; {index} accepted)" if total > 1 else ""
    if answer.over_budget:
        said = f"rate limited past [slack] max_wait ({max_wait:g} s)"
    elif error.startswith(UNREACHABLE):
        said = f"could not reach Slack ({error[len(UNREACHABLE) :]})"
    else:
        said = f"refused with {error}"
    return PartialDeliveryError(
        f"slack: {said}{progress}",
        hint=hint,
        sent_count=index - already_sent,
        detail=",".join(stamps),
    )


def _web_api_poster(token: str, channel: str, api_url: str, timeout: int) -> Poster:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    # No SDK retry handlers: a retried connection error could post a message twice,
    # and rate limits are handled here, on the injected clock.
    client = WebClient(token=token, base_url=api_url, timeout=timeout, retry_handlers=[])

    def post(payload: dict[str, Any]) -> _Answer:
        try:
            response = client.chat_postMessage(channel=channel, **payload)
        except SlackApiError as e:
            status = e.response.status_code
            body = e.response.data if isinstance(e.response.data, dict) else {}
            error = str(body.get("error", f"http_{status}"))
            if status == 429 or error == "ratelimited":
                return _Answer(False, error="ratelimited", retry_after=_retry_after(e.response.headers))
            return _Answer(False, error=error)
        except (SlackClientError, OSError) as e:
            return _Answer(False, error=f"{UNREACHABLE}{_first_line(e)}")
        return _Answer(True, ts=str(response.get("ts", "")))

    return post


def _webhook_poster(url: str, timeout: int) -> Poster:
    from slack_sdk.webhook import WebhookClient

    client = WebhookClient(url, timeout=timeout, retry_handlers=[])

    def post(payload: dict[str, Any]) -> _Answer:
        try:
            response = client.send_dict(payload)
        except OSError as e:
            return _Answer(False, error=f"{UNREACHABLE}{_first_line(e)}")
        if response.status_code == 429:
            return _Answer(False, error="ratelimited", retry_after=_retry_after(response.headers))
        if response.status_code != 200:
            return _Answer(False, error=(response.body or f"http_{response.status_code}").strip()[:100])
        return _Answer(True)

    return post


def _retry_after(headers: Mapping[str, Any] | None) -> float:
    """Seconds from a Retry-After header (any case); DEFAULT_RETRY_AFTER if absent or odd."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return DEFAULT_RETRY_AFTER
    return DEFAULT_RETRY_AFTER


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.splitlines()[0].split())[:200]
