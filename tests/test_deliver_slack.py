"""Slack delivery against the Slack emulator on 127.0.0.1 (token and limits checked)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from arxivwatch import digest
from arxivwatch.clock import FakeClock
from arxivwatch.deliver import PartialDeliveryError, slack
from arxivwatch.errors import DeliveryError
from arxivwatch.models import Digest, Message, Profile, Receipt, Score
from arxivwatch.render import render
from digest_samples import TODAY, big_digest, maximal_digest, paper, sample_digest
from slack_emulator import MAX_BLOCKS_CHARS, SlackEmulator, links, mrkdwn_texts, shown_text

TOKEN = "xoxb-1234-test-token"
CHANNEL = "#digest"
KEY = "week:2024-11-22:slack"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator(token=TOKEN, channels=(CHANNEL,)) as server:
        yield server


@pytest.fixture(scope="module")
def message() -> Message:
    return render(sample_digest("slack"))


@pytest.fixture(scope="module")
def big_message() -> Message:
    return render(big_digest(30))  # two messages (Slack's size limit, not the 50 blocks)


def _send(message: Message, emulator: SlackEmulator, **kw: Any) -> Receipt:
    args: dict[str, Any] = {
        "digest_key": KEY,
        "channel": CHANNEL,
        "token": TOKEN,
        "api_url": emulator.api_url,
        "clock": FakeClock(),
        **kw,
    }
    return slack.send(message, **args)


def _without_ts(posted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in posted.items() if k not in ("ts", "channel")}


def test_posts_the_digest_with_the_bot_token(message: Message, emulator: SlackEmulator) -> None:
    """chat.postMessage gets the payload, the channel and the bearer token; ts is the receipt."""
    receipt = _send(message, emulator)
    (posted,) = emulator.messages
    assert posted["channel"] == CHANNEL
    assert _without_ts(posted) == message.slack[0]
    assert emulator.requests[0].authorization == f"Bearer {TOKEN}"
    assert receipt.detail == posted["ts"] and receipt.channel == "slack"


def test_big_digest_arrives_split_and_in_order(big_message: Message, emulator: SlackEmulator) -> None:
    """A digest too big for one message arrives as several accepted messages, in order."""
    receipt = _send(big_message, emulator)
    posted = emulator.messages
    assert len(posted) == len(big_message.slack) == 2
    assert [_without_ts(p) for p in posted] == list(big_message.slack)
    assert receipt.detail == ",".join(p["ts"] for p in posted)


def test_ratelimited_then_ok_is_delivered_once_after_the_wait(
    message: Message, emulator: SlackEmulator
) -> None:
    """A 429 with Retry-After is waited out on the clock, then the message goes once."""
    emulator.fail("ratelimited", times=1, retry_after=3)
    clock = FakeClock()
    _send(message, emulator, clock=clock)
    assert clock.sleeps == [3.0]
    assert len(emulator.messages) == 1
    assert [r.status for r in emulator.requests] == [429, 200]


def test_ratelimited_beyond_the_retries_fails(message: Message, emulator: SlackEmulator) -> None:
    """When Slack keeps answering ratelimited, the send fails after max_retries waits."""
    emulator.fail("ratelimited", times=10)
    clock = FakeClock()
    with pytest.raises(DeliveryError, match="ratelimited"):
        _send(message, emulator, clock=clock, max_retries=2)
    assert clock.sleeps == [1.0, 1.0] and emulator.messages == []


def test_invalid_auth_fails_with_one_line_without_the_token(
    message: Message, emulator: SlackEmulator
) -> None:
    """A wrong token fails naming invalid_auth and the variable the token came from, never the token."""
    with pytest.raises(DeliveryError) as caught:
        _send(message, emulator, token="xoxb-wrong-secret", token_env="LAB_SLACK_TOKEN")
    text = str(caught.value)
    assert text == "slack: refused with invalid_auth; check the bot token in $LAB_SLACK_TOKEN"
    assert "xoxb-wrong-secret" not in text and "\n" not in text
    assert emulator.messages == []


def test_channel_not_found_fails_naming_the_problem(message: Message, emulator: SlackEmulator) -> None:
    """An unknown channel fails naming channel_not_found, slack.channel and the channel it holds."""
    with pytest.raises(DeliveryError) as caught:
        _send(message, emulator, channel="#nowhere")
    assert str(caught.value) == (
        "slack: refused with channel_not_found; "
        "check slack.channel (#nowhere), and invite the bot to that channel"
    )


def test_failure_midway_reports_progress_and_resumes(big_message: Message, emulator: SlackEmulator) -> None:
    """After a failure on message 2, a retry with already_sent posts only message 2."""
    emulator.fail("invalid_auth", times=1, after=1)
    with pytest.raises(PartialDeliveryError) as caught:
        _send(big_message, emulator)
    assert caught.value.sent_count == 1
    assert "message 2 of 2; 1 accepted" in str(caught.value)
    _send(big_message, emulator, already_sent=caught.value.sent_count)
    assert [_without_ts(p) for p in emulator.messages] == list(big_message.slack)


def test_sent_count_counts_only_this_call(big_message: Message, emulator: SlackEmulator) -> None:
    """Resuming at message 2 and failing there reports zero new acceptances."""
    emulator.fail("channel_not_found", times=1)
    with pytest.raises(PartialDeliveryError) as caught:
        _send(big_message, emulator, already_sent=1)
    assert caught.value.sent_count == 0 and emulator.messages == []


def test_webhook_delivers_in_order(big_message: Message, emulator: SlackEmulator) -> None:
    """An incoming webhook takes the same payloads, in order, without a token."""
    _send(big_message, emulator, token=None, webhook_url=emulator.webhook_url)
    assert [_without_ts(p) for p in emulator.messages] == list(big_message.slack)
    assert all(r.authorization == "" for r in emulator.requests)


def test_webhook_ratelimited_then_ok(message: Message, emulator: SlackEmulator) -> None:
    """A webhook 429 is waited out and the message is sent once."""
    emulator.fail("ratelimited", times=1, retry_after=2)
    clock = FakeClock()
    _send(message, emulator, token=None, webhook_url=emulator.webhook_url, clock=clock)
    assert clock.sleeps == [2.0] and len(emulator.messages) == 1


def test_no_credentials_is_a_delivery_error(message: Message, emulator: SlackEmulator) -> None:
    """Without a token or a webhook URL nothing is posted and the error names the variable to set."""
    with pytest.raises(DeliveryError) as caught:
        _send(message, emulator, token=None, token_env="LAB_SLACK_TOKEN")
    assert str(caught.value) == (
        "slack: no bot token and no webhook URL; "
        "set the bot token in $LAB_SLACK_TOKEN (or a webhook URL in slack.webhook_url_env)"
    )
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        ("invalid_auth", "check the bot token in $LAB_SLACK_TOKEN"),
        ("not_authed", "set the bot token in $LAB_SLACK_TOKEN"),
        ("token_revoked", "the bot token in $LAB_SLACK_TOKEN was revoked; create a new one"),
        ("account_inactive", "the bot token in $LAB_SLACK_TOKEN belongs to a deactivated app or user"),
    ],
)
def test_token_refusals_name_the_configured_variable(
    error: str, hint: str, message: Message, emulator: SlackEmulator
) -> None:
    """Every refusal about the bot token names the variable the configuration names, not its key."""
    emulator.fail(error, times=1)
    with pytest.raises(DeliveryError) as caught:
        _send(message, emulator, token_env="LAB_SLACK_TOKEN")
    assert str(caught.value) == f"slack: refused with {error}; {hint}"
    assert TOKEN not in str(caught.value)


def test_webhook_refusal_names_the_configured_variable(message: Message, emulator: SlackEmulator) -> None:
    """A webhook refused as invalid_token names the variable holding the URL, never the URL."""
    emulator.fail("invalid_token", times=1)
    with pytest.raises(DeliveryError) as caught:
        _send(message, emulator, token=None, webhook_url=emulator.webhook_url, webhook_url_env="LAB_HOOK")
    assert str(caught.value) == "slack: refused with invalid_token; check the webhook URL in $LAB_HOOK"
    assert emulator.webhook_url not in str(caught.value)


def test_every_hint_names_variables_when_given() -> None:
    """Every Slack hint that speaks of a secret's variable names the variable itself once it is known."""
    names = {
        "token": slack.variable("LAB_SLACK_TOKEN", "slack.token_env"),
        "webhook": "$LAB_HOOK",
        "channel": "#digest",
    }
    for error, template in slack.HINTS.items():
        hint = template.format_map(names)
        assert "variable named by" not in hint and "{" not in hint, error
        if "bot token" in template:
            assert "$LAB_SLACK_TOKEN" in hint, error
        if "webhook" in template:  # "check the webhook URL", "the webhook ... was removed"
            assert "$LAB_HOOK" in hint, error
    assert slack.variable("", "slack.token_env") == "the variable named by slack.token_env"


@pytest.mark.parametrize("url", ["hooks.slack.com/services/T0/B0/SECRETPART", "ftp://x/SECRETPART", " "])
def test_malformed_webhook_url_is_one_line_without_the_url(
    url: str, message: Message, emulator: SlackEmulator
) -> None:
    """A webhook URL without http(s):// is a DeliveryError naming the variable's key, not a traceback."""
    with pytest.raises(DeliveryError, match=r"not an http\(s\) URL.*slack\.webhook_url_env") as caught:
        _send(message, emulator, token=None, webhook_url=url)
    assert "SECRETPART" not in str(caught.value) and "\n" not in str(caught.value)
    assert emulator.requests == []


def test_unreachable_slack_is_a_delivery_error(message: Message) -> None:
    """A Slack URL where nothing listens fails cleanly with one line saying Slack was not reached
    (not "refused", and no pointer to chat.postMessage's error list)."""
    with SlackEmulator() as gone:
        url = gone.api_url
    with pytest.raises(DeliveryError) as caught:
        slack.send(message, digest_key=KEY, channel=CHANNEL, token=TOKEN, api_url=url,
                   clock=FakeClock())  # fmt: skip
    assert str(caught.value).startswith("slack: could not reach Slack (")
    assert caught.value.hint.startswith("check the network, and slack.api_url or the webhook URL")
    assert "\n" not in str(caught.value) and "chat.postMessage" not in caught.value.hint


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
def test_emulator_refuses_what_slack_refuses(emulator: SlackEmulator) -> None:
    """The emulator rejects 51 blocks, a too-long header and rich text without text or with a
    non-http link, so the split and escaping tests mean something."""
    many = Message("s", "", "", "", slack=({"text": "t", "blocks": [{"type": "divider"}] * 51},))
    with pytest.raises(DeliveryError, match="invalid_blocks"):
        _send(many, emulator)
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    long_header = Message("s", "", "", "", slack=({"text": "t", "blocks": [header]},))
    with pytest.raises(DeliveryError, match="invalid_blocks"):
        _send(long_header, emulator)
    empty = Message("s", "", "", "", slack=({"text": ""},))
    with pytest.raises(DeliveryError, match="no_text"):
        _send(empty, emulator)
    for element in ({"type": "text", "text": ""}, {"type": "link", "url": "javascript:x", "text": "a"}):
        rich = {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [element]}]}
        with pytest.raises(DeliveryError, match="invalid_blocks"):
            _send(Message("s", "", "", "", slack=({"text": "t", "blocks": [rich]},)), emulator)
    assert emulator.messages == []


def _sections_of_length(total: int) -> list[dict[str, Any]]:
    """Section blocks, each valid alone, whose blocks come to `total` characters as compact JSON."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}} for _ in range(5)]
    short = total - len(json.dumps(blocks, separators=(",", ":")))
    blocks[-1]["text"]["text"] = "x" * (2900 + short)
    return blocks


def test_blocks_too_long_together_are_posted_split_in_two_in_order(emulator: SlackEmulator) -> None:
    """Blocks valid one by one but over MAX_BLOCKS_CHARS together are refused with msg_blocks_too_long
    (at the figure itself they pass); the sender then posts them as two messages, each block once."""
    at_limit = Message(
        "s", "", "", "", slack=({"text": "t", "blocks": _sections_of_length(MAX_BLOCKS_CHARS)},)
    )
    _send(at_limit, emulator)
    blocks = _sections_of_length(MAX_BLOCKS_CHARS + 1)
    over = Message("s", "", "", "", slack=({"text": "t", "blocks": blocks},))
    receipt = _send(over, emulator)
    refusals = [r.answer for r in emulator.requests if isinstance(r.answer, dict) and not r.answer["ok"]]
    assert [a["error"] for a in refusals] == ["msg_blocks_too_long"]
    assert [len(m["blocks"]) for m in emulator.messages] == [5, 2, 3]
    assert [b for m in emulator.messages[1:] for b in m["blocks"]] == blocks
    assert receipt.extra["messages"] == "2" and receipt.detail.count(",") == 1


def test_one_block_too_long_alone_is_refused_with_the_hint(emulator: SlackEmulator) -> None:
    """A single block Slack refuses as too long cannot be split further: one error whose hint says so."""
    block = {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": []}]}
    block["elements"][0]["elements"] = [{"type": "text", "text": "x" * 2000} for _ in range(7)]
    with pytest.raises(PartialDeliveryError) as caught:
        _send(Message("s", "", "", "", slack=({"text": "t", "blocks": [block]},)), emulator)
    assert caught.value.args[0] == "slack: refused with msg_blocks_too_long"
    assert caught.value.hint.startswith("Slack found the message's blocks too long together")
    assert "refused one block alone" in caught.value.hint
    assert emulator.messages == []


@pytest.mark.parametrize("letter", ["x", "\U0001d538"])
def test_a_digest_of_maximal_texts_arrives_in_several_messages_every_paper_once(
    emulator: SlackEmulator, letter: str
) -> None:
    """50 papers whose titles, authors, badges and reasons are all at their caps (ASCII, or astral
    characters of 4 bytes) arrive in several accepted messages, every paper once and in order."""
    built = maximal_digest(50, letter)
    receipt = _send(render(built), emulator)
    posted = emulator.messages
    assert len(posted) > 1 and receipt.extra["messages"] == str(len(posted))
    blocks = [b for m in posted for b in m["blocks"]]
    abs_links = [url for b in blocks for url, text in links(b) if text == "abs"]
    assert abs_links == [item.paper.abs_url for section in built.sections for item in section.items]
    ranks = [shown_text(b).split(".")[0] for b in blocks if "\nabs · pdf" in shown_text(b)]
    assert ranks == [str(i) for section in built.sections for i in range(1, len(section.items) + 1)]


def test_no_retries_means_one_post_and_no_wait(message: Message, emulator: SlackEmulator) -> None:
    """With max_retries=0 a ratelimited answer fails at once, without waiting on the clock."""
    emulator.fail("ratelimited", times=1, retry_after=3)
    clock = FakeClock()
    with pytest.raises(PartialDeliveryError, match="ratelimited") as caught:
        _send(message, emulator, clock=clock, max_retries=0)
    assert clock.sleeps == [] and len(emulator.requests) == 1
    assert "the next run will resume" in caught.value.hint


def test_webhook_ratelimited_beyond_the_retries_fails(message: Message, emulator: SlackEmulator) -> None:
    """A webhook that keeps answering 429 is waited out max_retries times, each per its Retry-After."""
    emulator.fail("ratelimited", times=10, retry_after=4)
    clock = FakeClock()
    with pytest.raises(PartialDeliveryError, match="ratelimited"):
        _send(message, emulator, token=None, webhook_url=emulator.webhook_url, clock=clock, max_retries=3)
    assert clock.sleeps == [4.0, 4.0, 4.0] and emulator.messages == []
    assert len(emulator.requests) == 4


def test_each_message_gets_its_own_retries(big_message: Message, emulator: SlackEmulator) -> None:
    """Rate limits on the second message are retried afresh: the first's retries do not count against it."""
    emulator.fail("ratelimited", times=2, retry_after=1)
    emulator.fail("ratelimited", times=2, retry_after=5, after=1)
    clock = FakeClock()
    _send(big_message, emulator, clock=clock, max_retries=2)
    assert clock.sleeps == [1.0, 1.0, 5.0, 5.0] and len(emulator.messages) == 2


HOSTILE_TITLE = "Fast *and* _robust_ ~x~ <http://evil|click> & `code`"
HOSTILE_AUTHORS = ("> Ann *B*", "C_D ~E~ <@U123> <!channel>")
HOSTILE_PROFILE = "*Seg* _ment_ <!here> & `x` | y"
HOSTILE_OTHER = "> Other ~profile~"


def _hostile_digest() -> Digest:
    """One paper whose title, authors, reasons and profile titles are all mrkdwn markup."""
    profiles = (Profile("seg", HOSTILE_PROFILE), Profile("other", HOSTILE_OTHER))
    hostile = paper("2411.55555", HOSTILE_TITLE, authors=HOSTILE_AUTHORS, categories=("cs.CV",))
    reasons = ("*bold*", "_it_", "like: > `a|b` <b>")
    scores = {
        hostile.id: {"seg": Score(hostile.id, "seg", 0.9, reasons), "other": Score(hostile.id, "other", 0.6)}
    }
    return digest.select(
        [hostile], scores, profiles, {}, period="day", start=TODAY, end=TODAY, channel="slack"
    )


def test_markup_in_untrusted_text_is_posted_as_literal_text(emulator: SlackEmulator) -> None:
    """A title, authors, reasons and profile titles full of mrkdwn reach Slack as the literal text, styled
    only by the blocks (bold title link, bold profile heading), in no mrkdwn object."""
    _send(render(_hostile_digest()), emulator)
    (posted,) = emulator.messages
    blocks = posted["blocks"]
    heading, item = (b for b in blocks if b["type"] == "rich_text")
    assert heading["elements"][0]["elements"][0] == {
        "type": "text",
        "text": HOSTILE_PROFILE,
        "style": {"bold": True},
    }
    assert shown_text(heading) == f"{HOSTILE_PROFILE} (1 paper)"
    title = item["elements"][0]["elements"][1]
    assert title == {
        "type": "link",
        "url": "https://arxiv.org/abs/2411.55555",
        "text": HOSTILE_TITLE,
        "style": {"bold": True},
    }
    assert shown_text(item).splitlines() == [
        f"1. {HOSTILE_TITLE}  0.90",
        "> Ann *B*, C_D ~E~ <@U123> <!channel> · cs.CV",
        f"also matches: {HOSTILE_OTHER} 0.60",
        "why: *bold*, _it_; like: > `a|b` <b>",
        "abs · pdf",
    ]
    assert {url for b in blocks for url, _ in links(b)} == {
        "https://arxiv.org/abs/2411.55555",
        "https://arxiv.org/pdf/2411.55555v1",
    }
    mrkdwn = " ".join(mrkdwn_texts(posted))
    assert not any(word in mrkdwn for word in ("robust", "evil", "Ann", "U123", "channel", "here", "Other"))


@pytest.mark.parametrize("title", ["   ", "\u200b\u202e\t", "Segmentation " * 400])
def test_a_blank_or_huge_profile_title_still_posts_and_reads_right(
    emulator: SlackEmulator, title: str
) -> None:
    """A profile title blank once cleaned reads as the profile's name in its heading and badges, and a
    huge one is cut, so Slack accepts the message and no block passes 3,000 characters."""
    profiles = (Profile("seg", title), Profile("other", title))
    hostile = paper("2411.55555", "A title", categories=("cs.CV",))
    scores = {hostile.id: {"seg": Score(hostile.id, "seg", 0.9), "other": Score(hostile.id, "other", 0.6)}}
    d = digest.select([hostile], scores, profiles, {}, period="day", start=TODAY, end=TODAY, channel="slack")
    _send(render(d), emulator)
    (posted,) = emulator.messages
    heading, item = (b for b in posted["blocks"] if b["type"] == "rich_text")
    assert all(len(shown_text(b)) <= 3000 for b in posted["blocks"])
    badges = next(line for line in shown_text(item).splitlines() if line.startswith("also matches: "))
    if title.strip("\u200b\u202e\t "):
        shown = shown_text(heading)
        assert shown.startswith("Segmentation Segmentation") and shown.endswith("… (1 paper)")
        assert badges.startswith("also matches: Segmentation Segmentation")
    else:
        assert shown_text(heading) == "seg (1 paper)"
        assert badges == "also matches: other 0.60"


def test_a_halved_message_keeps_headings_and_dividers_with_the_paper_after_them() -> None:
    """slack.halve cuts a rendered message between papers only: no part ends with the header, a divider
    or a profile heading, and the parts hold the same blocks in order."""
    for payload in render(big_digest(30)).slack:
        parts = slack.halve(dict(payload))
        assert parts is not None and len(parts) == 2
        assert [b for p in parts for b in p["blocks"]] == payload["blocks"]
        for part in parts[:1]:  # the second part ends where the message did
            last = part["blocks"][-1]
            assert last["type"] == "rich_text", last
            first = last["elements"][0]["elements"][0]
            assert not first.get("style", {}).get("bold"), "a profile heading ends a part"
    blocks = render(big_digest(30)).slack[0]["blocks"]
    heading, first_paper, divider = blocks[3], blocks[4], blocks[2]
    parts = slack.halve({"text": "t", "blocks": [first_paper, divider, heading, first_paper]})
    assert parts is not None and [len(p["blocks"]) for p in parts] == [1, 3]
    assert slack.halve({"text": "t", "blocks": [{"type": "divider"}]}) is None


def test_a_halved_last_message_keeps_the_closing_small_print_with_a_paper() -> None:
    """slack.halve never leaves the digest's closing divider and small print as a part of their
    own: the cut before them is skipped, so each part still holds a paper."""
    blocks = render(big_digest(3)).slack[0]["blocks"]
    paper_a, paper_b, closing = blocks[-4], blocks[-3], blocks[-2:]
    assert closing[0]["type"] == "divider" and closing[1]["type"] == "context"
    parts = slack.halve({"text": "t", "blocks": [paper_a, paper_b, *closing]})
    assert parts is not None and [p["blocks"] for p in parts] == [[paper_a], [paper_b, *closing]]
