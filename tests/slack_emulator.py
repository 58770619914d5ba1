"""A small Slack emulator on 127.0.0.1: chat.postMessage and an incoming webhook.

It checks what Slack checks: the bearer token (`not_authed`, `invalid_auth`), the
channel (`channel_not_found`), that `text` or `blocks` is present (`no_text`), and the
block limits (`invalid_blocks`: at most 50 blocks, section and context text at most
3,000 characters, header text at most 150, known block types, rich_text made of sections
of text and link elements with their required fields), and the size of all the blocks
of one message (`msg_blocks_too_long`, see MAX_BLOCKS_CHARS). It can be scripted to
answer an error the next N times (`ratelimited` as HTTP 429 with Retry-After), to hold
posts after N accepted messages (`hold`, `release`: a sender can be killed while it
waits), and it records every request and every accepted message, in order.

    with SlackEmulator(token="xoxb-test") as slack:
        slack.fail("ratelimited", times=1, retry_after=1)
        ...  # post to slack.api_url or slack.webhook_url
        assert len(slack.messages) == 1
"""

from __future__ import annotations

import html
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_MESSAGE_TEXT = 40000
# Slack refuses a message whose blocks together are too long with msg_blocks_too_long. The figure
# is not in Slack's block reference: slackapi/bolt-js issue #2509 (April 2025) measured refusals
# from about 13,200 characters of blocks (13,297 with markdown blocks only, fewer with dividers:
# the containers count), and bolt-js #2867 a refusal at 11,341 characters of text in rich_text,
# section, header and divider blocks. Slack does not say what it counts; the emulator counts the
# characters of the blocks as compact JSON (text and containers) and refuses past 13,200.
MAX_BLOCKS_CHARS = 13_200
BLOCK_TYPES = {"section", "header", "divider", "context", "actions", "image", "rich_text"}
RICH_TEXT_PARTS = {"rich_text_section", "rich_text_list", "rich_text_quote", "rich_text_preformatted"}
RICH_TEXT_STYLES = {"bold", "italic", "strike", "code", "underline", "highlight"}
WEBHOOK_PATH = "/services/T000/B000/secretwebhook"


@dataclass
class Failure:
    """A scripted error: let `after` requests through, then answer `error` `times` times."""

    error: str
    times: int
    retry_after: int = 1
    after: int = 0


@dataclass
class Request:
    """One request the emulator received, accepted or not."""

    path: str
    authorization: str
    payload: dict[str, Any]
    status: int
    answer: dict[str, Any] | str


@dataclass
class State:
    """What the emulator knows and has seen; shared with its handler threads."""

    token: str
    channels: set[str]
    failures: list[Failure] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    max_blocks_chars: int = MAX_BLOCKS_CHARS  # msg_blocks_too_long past this (`limit_blocks`)
    hold_after: int | None = None  # block posts once this many messages are accepted
    held: int = 0  # posts blocked so far
    holding: threading.Event = field(default_factory=threading.Event)  # set when a post is blocked
    released: threading.Event = field(default_factory=threading.Event)


def block_error(payload: dict[str, Any], max_chars: int = MAX_BLOCKS_CHARS) -> str | None:
    """Slack's verdict on the payload's text and blocks (msg_blocks_too_long past `max_chars`
    characters of blocks as compact JSON); None when acceptable."""
    blocks = payload.get("blocks")
    text = payload.get("text")
    if not blocks and not (isinstance(text, str) and text.strip()):
        return "no_text"
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        return "msg_too_long"
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    invalid = next((e for e in map(_one_block_error, blocks) if e), None)
    if invalid is None and len(json.dumps(blocks, ensure_ascii=False, separators=(",", ":"))) > max_chars:
        return "msg_blocks_too_long"
    return invalid


def _one_block_error(block: Any) -> str | None:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return "invalid_blocks"
    kind = block["type"]
    if kind == "header":
        text = block.get("text", {})
        ok = text.get("type") == "plain_text" and 0 < len(text.get("text", "")) <= MAX_HEADER
        return None if ok else "invalid_blocks"
    if kind == "section":
        texts = [block["text"]] if "text" in block else list(block.get("fields", []))
        return None if texts and all(_text_ok(t) for t in texts) else "invalid_blocks"
    if kind == "context":
        elements = block.get("elements", [])
        return None if 0 < len(elements) <= 10 and all(map(_text_ok, elements)) else "invalid_blocks"
    if kind == "rich_text":
        parts = block.get("elements")
        ok = isinstance(parts, list) and bool(parts) and all(map(_rich_part_ok, parts))
        return None if ok else "invalid_blocks"
    return None


def _rich_part_ok(part: Any) -> bool:
    """A rich_text_section (or list, quote, preformatted) of valid text and link elements."""
    if not isinstance(part, dict) or part.get("type") not in RICH_TEXT_PARTS:
        return False
    elements = part.get("elements")
    return isinstance(elements, list) and bool(elements) and all(map(_rich_element_ok, elements))


def _rich_element_ok(element: Any) -> bool:
    if not isinstance(element, dict):
        return False
    style = element.get("style", {})
    if not isinstance(style, dict) or not set(style) <= RICH_TEXT_STYLES:
        return False
    if element.get("type") == "text":
        return isinstance(element.get("text"), str) and element["text"] != ""
    if element.get("type") == "link":
        url, text = element.get("url"), element.get("text", "")
        return isinstance(url, str) and url.startswith(("http://", "https://")) and isinstance(text, str)
    return element.get("type") in ("emoji", "user", "channel", "usergroup", "broadcast", "date")


def _text_ok(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("type") in ("mrkdwn", "plain_text")
        and 0 < len(obj.get("text", "")) <= MAX_TEXT
    )


def shown_text(block: dict[str, Any]) -> str:
    """The characters a reader sees in `block`: a rich_text block's element texts (a link's
    text, else its URL) as written; a text object's with `&amp;`, `&lt;`, `&gt;` decoded
    (mrkdwn's other formatting is left in: only our own sentences are mrkdwn)."""
    if block.get("type") == "rich_text":
        return "".join(
            str(e.get("text") or e.get("url", "")) for part in block["elements"] for e in part["elements"]
        )
    objects = [block["text"]] if "text" in block else list(block.get("elements", []))
    return "\n".join(html.unescape(str(o.get("text", ""))) for o in objects if isinstance(o, dict))


def links(block: dict[str, Any]) -> list[tuple[str, str]]:
    """(url, shown text) of each link in `block`: rich_text link elements, mrkdwn `<url|text>`."""
    if block.get("type") == "rich_text":
        return [
            (str(e["url"]), str(e.get("text") or e["url"]))
            for part in block["elements"]
            for e in part["elements"]
            if e.get("type") == "link"
        ]
    objects = [block["text"]] if "text" in block else list(block.get("elements", []))
    texts = [str(o.get("text", "")) for o in objects if isinstance(o, dict)]
    return [(url, text or url) for t in texts for url, text in re.findall(r"<([^|>]+)\|?([^>]*)>", t)]


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn text object of an accepted message, as posted."""
    found: list[str] = []
    for block in message.get("blocks", []):
        objects = [block["text"]] if "text" in block else list(block.get("elements", []))
        found += [o["text"] for o in objects if isinstance(o, dict) and o.get("type") == "mrkdwn"]
    return found


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        payload = _decode(raw, self.headers.get("Content-Type", ""))
        state = self.server.state
        if self._held(state):
            self._reply(503, {"ok": False, "error": "held"}, {})
            return
        with state.lock:
            if self.path == "/api/chat.postMessage":
                status, answer, headers = self._post_message(state, payload)
            elif self.path == WEBHOOK_PATH:
                status, answer, headers = self._webhook(state, payload)
            else:
                status, answer, headers = 404, "no_service", {}
            auth = self.headers.get("Authorization", "")
            state.requests.append(Request(self.path, auth, payload, status, answer))
        self._reply(status, answer, headers)

    def _held(self, state: State) -> bool:
        """Block a post made while `hold_after` messages are accepted until released (at most
        30 s); the held post is then answered 503 and not accepted."""
        with state.lock:
            hold = state.hold_after is not None and len(state.messages) >= state.hold_after
            if hold:
                state.held += 1
        if hold:
            state.holding.set()
            state.released.wait(timeout=30)
        return hold

    def _post_message(
        self, state: State, payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        auth = self.headers.get("Authorization", "")
        error = _scripted(state)
        if error is not None:
            return _api_error(error)
        if not auth.startswith("Bearer "):
            return 200, {"ok": False, "error": "not_authed"}, {}
        if auth.removeprefix("Bearer ") != state.token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if payload.get("channel") not in state.channels:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        problem = block_error(payload, state.max_blocks_chars)
        if problem:
            return 200, {"ok": False, "error": problem}, {}
        ts = _accept(state, payload)
        return 200, {"ok": True, "channel": payload["channel"], "ts": ts}, {}

    def _webhook(self, state: State, payload: dict[str, Any]) -> tuple[int, str, dict[str, str]]:
        error = _scripted(state)
        if error is not None:
            _status, _body, headers = _api_error(error)
            return (429 if error.error == "ratelimited" else 400), error.error, headers
        problem = block_error(payload, state.max_blocks_chars)
        if problem:
            return 400, problem, {}
        _accept(state, payload)
        return 200, "ok", {}

    def _reply(self, status: int, answer: dict[str, Any] | str, headers: dict[str, str]) -> None:
        is_json = isinstance(answer, dict)
        body = (json.dumps(answer) if is_json else str(answer)).encode()
        self.send_response(status)
        content_type = "application/json; charset=utf-8" if is_json else "text/plain"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `requests` instead of stderr."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        try:
            data = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return {"_invalid": raw.decode("utf-8", "replace")}
        return data if isinstance(data, dict) else {"_invalid": data}
    from urllib.parse import parse_qsl

    form: dict[str, Any] = dict(parse_qsl(raw.decode("utf-8", "replace")))
    if isinstance(form.get("blocks"), str):
        form["blocks"] = json.loads(form["blocks"])
    return form


def _scripted(state: State) -> Failure | None:
    if state.failures and state.failures[0].times > 0:
        failure = state.failures[0]
        if failure.after > 0:
            failure.after -= 1
            return None
        failure.times -= 1
        if failure.times == 0:
            state.failures.pop(0)
        return failure
    return None


def _api_error(failure: Failure) -> tuple[int, dict[str, Any], dict[str, str]]:
    if failure.error == "ratelimited":
        headers = {"Retry-After": str(failure.retry_after)}
        return 429, {"ok": False, "error": "ratelimited"}, headers
    return 200, {"ok": False, "error": failure.error}, {}


def _accept(state: State, payload: dict[str, Any]) -> str:
    ts = f"{1732780800 + len(state.messages)}.{len(state.messages) + 1:06d}"
    state.messages.append({**payload, "ts": ts})
    return ts


class SlackEmulator:
    """The emulator as a context manager; `api_url` and `webhook_url` point at it."""

    def __init__(
        self,
        token: str = "xoxb-test-token",  # noqa: S107 - a fake token the emulator checks
        channels: tuple[str, ...] = ("#digest",),
    ) -> None:
        self.state = State(token=token, channels=set(channels))
        self._server = _Server(self.state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def config_section(self) -> str:
        """The [slack] section of a configuration that posts to this emulator's #digest."""
        return f'[slack]\nenabled = true\nchannel = "#digest"\napi_url = "{self.api_url}"\n'

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    def limit_blocks(self, chars: int) -> None:
        """Refuse with msg_blocks_too_long past `chars` characters of blocks (Slack's limit dropping)."""
        with self.state.lock:
            self.state.max_blocks_chars = chars

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Accepted messages, in the order they arrived (each with its `ts`)."""
        with self.state.lock:
            return list(self.state.messages)

    @property
    def requests(self) -> list[Request]:
        with self.state.lock:
            return list(self.state.requests)

    def fail(self, error: str, *, times: int = 1, retry_after: int = 1, after: int = 0) -> None:
        """Answer `error` to `times` requests, after letting `after` through (queued in order)."""
        with self.state.lock:
            self.state.failures.append(Failure(error, times, retry_after, after))

    def hold(self, after: int) -> None:
        """Block every post made once `after` messages are accepted (until `release`)."""
        with self.state.lock:
            self.state.hold_after = after
            self.state.released.clear()
            self.state.holding.clear()

    def release(self) -> None:
        """Stop holding: blocked posts are answered 503 (not accepted), later ones served."""
        with self.state.lock:
            self.state.hold_after = None
        self.state.released.set()

    def start(self) -> SlackEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
