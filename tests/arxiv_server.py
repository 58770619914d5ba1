"""A loopback arXiv: a real HTTP server on 127.0.0.1 replaying recorded arXiv responses.

Routes: `/rss/<cats>` (route "rss") and `/api/query` (route "api"). Each route plays a
script of replies in order, the last one repeating; a reply may also be a function of
the request (e.g. `ApiPages`, which serves pages of a recorded export API answer by
`start` and `max_results`, or `SubmittedWindow`, a made-up arXiv answering date-range queries
with its 30,000-result limit). A reply carrying an ETag answers 304 to a matching
If-None-Match. Every request is logged (path, query, headers, arrival time).

The fixtures `arxiv_server` and `arxiv_server_factory` reach every test module through
`pytest_plugins = ("arxiv_server",)` in tests/conftest.py; import only the helpers:

    from arxiv_server import ArxivServer, Reply, recorded

    def test_x(arxiv_server: ArxivServer) -> None:
        arxiv_server.script("rss", Reply(503, headers={"Retry-After": "5"}), Reply(200, body=...))
        client = ArxivClient(api_url=arxiv_server.api_url, feed_url=arxiv_server.feed_url, ...)

`arxiv_server_factory` gives a function that starts more servers, all closed after the test.
"""

from __future__ import annotations

import gzip
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

DATA = Path(__file__).parent / "data" / "arxiv"
# The rss feed of cs.CV+eess.IV+cs.LG for 2024-11-28, cut from the recorded all-archives feed
# (bench/make_sample_feed.py). It ships in the package as the demo's sample, so the tests read
# that file rather than keep a copy of it.
RESTRICTED_FEED = "sample-feed.xml.gz"
_BUNDLED = frozenset({RESTRICTED_FEED})  # names read from arxivwatch/data, not tests/data/arxiv
EMPTY_FEED = "rss_test_empty-channel_2024-11-28.xml"
ERROR_FEED = "rss_astroph_bad-archive-error_2024-11-28.xml"
API_TESTING = "export-api_query-all-testing_start0_max100_2026-04-12.xml.gz"
API_NO_RESULTS = "export-api_id_list-0000.0000_no-results_2026-04-12.xml"
API_ERROR_400 = "export-api_id_list-abc_http400-error_2026-04-12.recorded.json"
HTML_PAGE = b"<!DOCTYPE html><html><head><title>arXiv is down</title></head><body>Back soon</body></html>"


def recorded(name: str) -> bytes:
    """The bytes of a recorded response, gunzipped if it ends in .gz.

    Files are in tests/data/arxiv, except RESTRICTED_FEED, which is the package's bundled sample.
    """
    if name in _BUNDLED:
        data = (resources.files("arxivwatch") / "data" / name).read_bytes()
    else:
        data = (DATA / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `drop` closes the connection without answering; `delay` waits first;
    `drip` sends the body one byte every `drip` seconds (a server that never quite stops)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    drip: float = 0.0


@dataclass(frozen=True)
class Request:
    """One request as the server saw it; `at` is time.monotonic() on arrival."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float

    def param(self, name: str, default: str = "") -> str:
        """The first value of a query parameter."""
        return self.query.get(name, [default])[0]

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


Responder = Reply | Callable[[Request], Reply]

_ENTRY = re.compile(rb"  <entry>.*?</entry>\n", re.DOTALL)


class ApiPages:
    """Serves a recorded export API answer as pages, by the request's `start` and `max_results`.

    `total` is the opensearch:totalResults to claim (default: the entries there are);
    the header of the recorded file is kept, with the three opensearch numbers rewritten.
    """

    def __init__(self, data: bytes, *, total: int | None = None) -> None:
        entries = list(_ENTRY.finditer(data))
        self.head = data[: entries[0].start()] if entries else data
        self.tail = data[entries[-1].end() :] if entries else b""
        self.entries = [m.group(0) for m in entries]
        self.total = len(self.entries) if total is None else total

    def page(self, start: int, size: int) -> bytes:
        """The document for one page."""
        head = self.head
        for tag, value in (("totalResults", self.total), ("startIndex", start), ("itemsPerPage", size)):
            head = re.sub(
                rb"<opensearch:%s>\d+</opensearch:%s>" % (tag.encode(), tag.encode()),
                b"<opensearch:%s>%d</opensearch:%s>" % (tag.encode(), value, tag.encode()),
                head,
            )
        return head + b"".join(self.entries[start : start + size]) + self.tail

    def __call__(self, request: Request) -> Reply:
        start = int(request.param("start", "0"))
        size = int(request.param("max_results", "10"))
        return Reply(200, self.page(start, size), {"Content-Type": "application/atom+xml"})


_WINDOW = re.compile(r"submittedDate:\[(\d{12}) TO (\d{12})\]")


@dataclass(frozen=True)
class Submission:
    """One paper of the made-up arXiv: id, version, first submission (v1) and this version's time."""

    id: str
    submitted: datetime
    version: int = 1
    updated: datetime | None = None

    def entry(self) -> str:
        """The paper as an export API <entry>."""
        stamp = (self.updated or self.submitted).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            "  <entry>\n"
            f"    <id>http://arxiv.org/abs/{self.id}v{self.version}</id>\n"
            f"    <title>Made-up paper {self.id}</title>\n"
            f"    <updated>{stamp}</updated>\n"
            f'    <link href="https://arxiv.org/abs/{self.id}v{self.version}" rel="alternate"/>\n'
            "    <summary>Semi-supervised segmentation of made-up images.</summary>\n"
            '    <category term="cs.CV" scheme="http://arxiv.org/schemas/atom"/>\n'
            f"    <published>{self.submitted.strftime('%Y-%m-%dT%H:%M:%SZ')}</published>\n"
            '    <arxiv:primary_category term="cs.CV"/>\n'
            "    <author>\n      <name>A. Author</name>\n    </author>\n"
            "  </entry>\n"
        )


class SubmittedWindow:
    """A made-up arXiv answering export API queries with the papers submitted inside the query's
    `submittedDate:[lo TO hi]` window (both ends included, to the minute, UTC), oldest first.

    Like arXiv (user manual §3.1.1.2), opensearch:totalResults is the true count, and no result
    at or past `limit` (30000) is served: a window holding more claims more than it will give.
    Every answered window is logged in `asked` as (window, start). arXiv documents its filter to
    the minute; with `exact_ends` the made-up arXiv takes the other reading, comparing each
    paper's time, seconds included, with the instants `lo`:00 and `hi`:00.
    """

    def __init__(self, papers: list[Submission], *, limit: int = 30000, exact_ends: bool = False) -> None:
        self.papers = sorted(papers, key=lambda p: p.submitted)
        self.limit = limit
        self.exact_ends = exact_ends
        self.asked: list[tuple[str, int]] = []

    def __call__(self, request: Request) -> Reply:
        found = _WINDOW.search(request.param("search_query"))
        assert found, request.param("search_query")
        low, high = (datetime.strptime(v, "%Y%m%d%H%M").replace(tzinfo=UTC) for v in found.groups())
        hits = [p for p in self.papers if low <= self._time(p) <= high]
        start = int(request.param("start", "0"))
        size = int(request.param("max_results", "10"))
        self.asked.append((found.group(0), start))
        served = hits[start : min(start + size, self.limit)]
        body = (
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
            "  <id>https://arxiv.org/api/made-up</id>\n"
            "  <title>arXiv Query: made up</title>\n"
            "  <updated>2026-11-23T00:00:00Z</updated>\n"
            f"  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>\n"
            f"  <opensearch:totalResults>{len(hits)}</opensearch:totalResults>\n"
            f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n"
            + "".join(p.entry() for p in served)
            + "</feed>\n"
        )
        return Reply(200, body.encode(), {"Content-Type": "application/atom+xml"})

    def _time(self, paper: Submission) -> datetime:
        return paper.submitted if self.exact_ends else paper.submitted.replace(second=0)


def papers(first: int, count: int, start: datetime, step: timedelta) -> list[Submission]:
    """`count` papers with ids from 2611.{first} on, submitted from `start` every `step`."""
    return [Submission(f"2611.{first + n:05d}", (start + n * step).astimezone(UTC)) for n in range(count)]


class ArxivServer:
    """The server: `feed_url` and `api_url` to give the client, `script()` to set answers."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._scripts: dict[str, list[Responder]] = {}
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self.feed_url = f"{self.url}/rss"
        self.api_url = f"{self.url}/api/query"

    def script(self, route: str, *replies: Responder) -> None:
        """Answer the next requests on `route` ("rss" or "api") with these, the last repeating."""
        with self._lock:
            self._scripts[route] = list(replies)

    def requests_to(self, route: str) -> list[Request]:
        """The logged requests for one route, in arrival order."""
        return [r for r in self.requests if _route(r.path) == route]

    def close(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ArxivServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            script = self._scripts.get(_route(request.path), [])
            if not script:
                return Reply(404, b"no reply scripted for this route")
            responder = script.pop(0) if len(script) > 1 else script[0]
        reply = responder(request) if callable(responder) else responder
        etag = {k.lower(): v for k, v in reply.headers.items()}.get("etag")
        if etag and request.header("If-None-Match") == etag:
            return Reply(304, b"", {"ETag": etag}, reply.delay)
        return reply


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (timeout tests) are expected, not worth a traceback."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def _route(path: str) -> str:
    if path.startswith("/rss/"):
        return "rss"
    if path == "/api/query":
        return "api"
    return path


def _handler_for(server: ArxivServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            request = Request(
                method="GET",
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=dict(self.headers.items()),
                at=time.monotonic(),
            )
            reply = server._answer(request)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if not reply.drip:
                self.wfile.write(reply.body)
                return
            for i in range(len(reply.body)):
                self.wfile.write(reply.body[i : i + 1])
                self.wfile.flush()
                time.sleep(reply.drip)

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    return Handler


@pytest.fixture
def arxiv_server_factory() -> Iterator[Callable[[], ArxivServer]]:
    """A function that starts loopback arXiv servers; all are closed after the test."""
    started: list[ArxivServer] = []

    def start() -> ArxivServer:
        server = ArxivServer()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def arxiv_server(arxiv_server_factory: Callable[[], ArxivServer]) -> ArxivServer:
    """One loopback arXiv server, closed after the test."""
    return arxiv_server_factory()
