"""Polling cost against a loopback arXiv (tests/arxiv_server.py replaying recorded responses).

- One day's poll: ArxivClient.fetch_feed for cs.CV, eess.IV and cs.LG, answered with the
  recorded real feed of those categories for 2024-11-28; then the same poll again with the
  validators it got (ETag), which the server answers 304.
- A 7-day catch-up through the export API (ArxivClient.search): the pages are built from the
  recorded real export API answer, its 100 entries repeated with fresh ids up to the size of
  the week. Two sizes: five announcement days like the recorded one (its new + cross items
  times 5), and an assumed busy week of 4,500 papers. The client paces requests 3 s apart
  on a FakeClock, so the pacing costs no real time; the simulated wait is what it slept.
"""

from __future__ import annotations

import re
import sys
from datetime import date
from typing import Any

import _workload
from _stats import Figure, timed

sys.path.insert(0, str(_workload.ROOT / "tests"))

from arxiv_server import API_TESTING, RESTRICTED_FEED, ApiPages, ArxivServer, Reply, recorded

CATEGORIES = ("cs.CV", "eess.IV", "cs.LG")
BUSY_WEEK = 4_500
WEEK = (date(2024, 11, 22), date(2024, 11, 28))
_ENTRY = re.compile(rb"  <entry>.*?</entry>\n", re.DOTALL)
_ID = re.compile(rb"<id>http://arxiv.org/abs/[^<]+</id>")


def _client(server: ArxivServer, clock: Any = None) -> Any:
    from arxivwatch.arxiv.client import ArxivClient

    return ArxivClient(
        api_url=server.api_url, feed_url=server.feed_url, contact="bench@example.org", clock=clock
    )


def week_document(size: int) -> bytes:
    """An export API answer of `size` entries: the recorded entries repeated with distinct ids."""
    data = bytes(recorded(API_TESTING))
    entries = [m.group(0) for m in _ENTRY.finditer(data)]
    first, last = _ENTRY.search(data), list(_ENTRY.finditer(data))[-1]
    assert first is not None
    body = []
    for n in range(size):
        fresh = b"<id>http://arxiv.org/abs/2411.%05dv1</id>" % (10000 + n)
        body.append(_ID.sub(fresh, entries[n % len(entries)], count=1))
    return data[: first.start()] + b"".join(body) + data[last.end() :]


def day_poll(repeats: int) -> tuple[list[Figure], dict[str, Any]]:
    """Requests and wall time of one announcement day's poll, and of the conditional repeat."""
    from arxivwatch.clock import FakeClock

    feed = recorded(RESTRICTED_FEED)
    seconds: list[float] = []
    requests: list[float] = []
    details: dict[str, Any] = {"repeat_requests": [], "repeat_not_modified": []}
    with ArxivServer() as server:
        headers = {"ETag": '"bench-2024-11-28"', "Content-Type": "application/rss+xml"}
        server.script("rss", Reply(200, feed, headers))
        for _ in range(repeats):
            # A FakeClock, so the 3 s pacing before the re-poll costs no real time.
            with _client(server, FakeClock()) as client:
                fetched: list[Any] = []
                seconds.append(timed(lambda: fetched.append(client.fetch_feed(CATEGORIES))))  # noqa: B023
                requests.append(float(client.requests))
                details["papers"] = len(fetched[0].result.papers) if fetched[0].result else 0
                again = client.fetch_feed(CATEGORIES, etag=fetched[0].etag)
                details["repeat_requests"].append(client.requests - int(requests[-1]))
                details["repeat_not_modified"].append(again.result is None)
        details["requests_the_server_saw"] = len(server.requests_to("rss"))
    papers = details["papers"]
    figures = [
        Figure(f"poll: one day, 3 categories ({papers} items), requests", "count", tuple(requests), 1.0),
        Figure("poll: one day, wall (request + parse)", "s", tuple(seconds)),
    ]
    new = sum(1 for p in _parse_feed(feed) if p in ("new", "cross"))
    details["new_or_cross_in_recorded_day"] = new
    return figures, details


def _parse_feed(feed: bytes) -> list[str]:
    from arxivwatch.arxiv.parse import parse_feed

    return [p.announce_type for p in parse_feed(feed).papers]


def catch_up(size: int, label: str, repeats: int) -> tuple[list[Figure], dict[str, Any]]:
    """Requests, simulated pacing wait and real wall time of a 7-day export API catch-up."""
    from arxivwatch.clock import FakeClock

    pages = ApiPages(week_document(size))
    details: dict[str, Any] = {"papers_in_window": size}
    requests: list[float] = []
    waits: list[float] = []
    with ArxivServer() as server:
        server.script("api", pages)

        def once() -> None:
            clock = FakeClock()
            with _client(server, clock) as client:
                found = client.search(CATEGORIES, *WEEK)
            requests.append(float(client.requests))
            waits.append(float(sum(clock.sleeps)))
            details.update(papers_found=len(found), sleeps=list(clock.sleeps))

        seconds = tuple(timed(once) for _ in range(repeats))
    figures = [
        Figure(f"catch-up: 7 days, {label}, requests", "count", tuple(requests)),
        Figure(f"catch-up: 7 days, {label}, simulated wait", "s", tuple(waits)),
        Figure(f"catch-up: 7 days, {label}, wall", "s", seconds),
    ]
    return figures, details


def polling(repeats: int) -> tuple[list[Figure], dict[str, Any]]:
    """Every polling figure, with the details of each scenario."""
    figures, day = day_poll(repeats)
    week = 5 * day["new_or_cross_in_recorded_day"]
    more, normal = catch_up(week, f"{week:,} papers", repeats)
    figures += more
    more, busy = catch_up(BUSY_WEEK, f"{BUSY_WEEK:,} papers", repeats)
    figures += more
    return figures, {"day": day, "catch_up_recorded_week": normal, "catch_up_busy_week": busy}
