"""arXiv's 30,000-result limit: a date range holding more is asked in halved windows, every paper once.

The loopback arXiv is the made-up one of arxiv_server.SubmittedWindow, which, like arXiv, claims
the true count of a window and serves nothing past its limit. Most tests lower that limit on both
sides (`result_limit` on the client, `limit` on the server) to keep pages few; one replays the
reported case at arXiv's real limit through the daemon's catch-up.
"""

from __future__ import annotations

import logging
import random
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from arxiv_server import (
    API_TESTING,
    ApiPages,
    ArxivServer,
    Reply,
    Request,
    Submission,
    SubmittedWindow,
    papers,
    recorded,
)
from arxivwatch.arxiv.client import API_RESULT_LIMIT, ArxivClient
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.errors import ArxivQueryError, ArxivUnavailable
from arxivwatch.jobs import open_store, poll

CATS = ["cs.CV", "eess.IV", "cs.LG"]
LIMIT = 25  # the lowered limit of the fast tests
QUERY = "(cat:cs.CV OR cat:eess.IV OR cat:cs.LG) AND submittedDate:[202611010000 TO 202611050000]"  # 1-4 Nov
NOV = {day: datetime(2026, 11, day, tzinfo=UTC) for day in range(1, 31)}  # NOV[1]: 1 November, 00:00 UTC


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 29, tzinfo=UTC))


@pytest.fixture
def client(arxiv_server: ArxivServer, clock: FakeClock) -> Iterator[ArxivClient]:
    with ArxivClient(
        api_url=arxiv_server.api_url,
        feed_url=arxiv_server.feed_url,
        contact="lab@example.org",
        clock=clock,
        budget=60.0,
        timeout=5.0,
        rng=random.Random(7),
        result_limit=LIMIT,
    ) as made:
        yield made


def four_days() -> list[Submission]:
    """60 papers: 20 on 1 November, 20 on the 2nd, 10 on the 3rd, 10 on the 4th."""
    hour = timedelta(hours=1)
    return [
        *papers(1, 20, NOV[1] + timedelta(minutes=7), hour),
        *papers(21, 20, NOV[2] + timedelta(minutes=30), hour),
        *papers(41, 10, NOV[3] + timedelta(hours=3), 2 * hour),
        *papers(51, 10, NOV[4], 2 * hour + timedelta(minutes=1)),
    ]


def test_a_range_over_the_limit_is_halved_until_each_window_fits(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """60 papers over a limit of 25: 1-4 Nov, then 1-2 Nov, are halved; each paper once, oldest first."""
    made_up = SubmittedWindow(four_days(), limit=LIMIT)
    arxiv_server.script("api", made_up)
    pages: list[int] = []

    found = client.search(CATS, date(2026, 11, 1), date(2026, 11, 4), page_size=10, on_page=pages.append)

    assert [p.id for p in found] == [f"2611.{n:05d}" for n in range(1, 61)]
    assert made_up.asked == [
        ("submittedDate:[202611010000 TO 202611050000]", 0),  # 60: too many, halved
        ("submittedDate:[202611010000 TO 202611030000]", 0),  # 40: too many, halved
        ("submittedDate:[202611010000 TO 202611020000]", 0),  # 20: two pages
        ("submittedDate:[202611010000 TO 202611020000]", 10),
        ("submittedDate:[202611020000 TO 202611030000]", 0),  # halves share their middle minute
        ("submittedDate:[202611020000 TO 202611030000]", 10),
        ("submittedDate:[202611030000 TO 202611050000]", 0),  # 20: two pages
        ("submittedDate:[202611030000 TO 202611050000]", 10),
    ]
    assert client.requests == 8
    assert clock.sleeps == [3.0] * 7  # paced like every request
    assert pages == [10] * 6  # progress counts the papers kept, not the answers that were too many
    query = arxiv_server.requests_to("api")[2].param("search_query")
    assert query == "(cat:cs.CV OR cat:eess.IV OR cat:cs.LG) AND submittedDate:[202611010000 TO 202611020000]"


def test_a_range_within_the_limit_is_one_window(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """At the limit exactly (25 of 25) nothing is halved: one window, paged."""
    made_up = SubmittedWindow(four_days()[:LIMIT], limit=LIMIT)
    arxiv_server.script("api", made_up)
    found = client.search(CATS, date(2026, 11, 1), date(2026, 11, 4), page_size=10)
    assert len(found) == LIMIT
    assert [start for _, start in made_up.asked] == [0, 10, 20]
    assert {window for window, _ in made_up.asked} == {"submittedDate:[202611010000 TO 202611050000]"}


@pytest.mark.parametrize("exact_ends", [False, True])
def test_papers_of_the_minute_two_halves_share_come_once(
    arxiv_server: ArxivServer, client: ArxivClient, exact_ends: bool
) -> None:
    """Papers of 2 Nov 00:00, the minute both halves of 1-2 Nov ask for, come once, either reading."""
    edge = [
        *papers(1, 6, NOV[1] + timedelta(hours=10), timedelta(minutes=5)),  # 1 Nov 10:00-10:25
        *papers(7, 10, NOV[2], timedelta(seconds=5)),  # 2 Nov 00:00:00-00:00:45
        *papers(17, 10, NOV[2] + timedelta(minutes=1), timedelta(seconds=5)),  # 2 Nov 00:01:00-00:01:45
    ]
    made_up = SubmittedWindow(edge, limit=LIMIT, exact_ends=exact_ends)
    arxiv_server.script("api", made_up)
    found = client.search(CATS, date(2026, 11, 1), date(2026, 11, 2), page_size=20)
    assert [p.id for p in found] == [f"2611.{n:05d}" for n in range(1, 27)]
    assert made_up.asked == [
        ("submittedDate:[202611010000 TO 202611030000]", 0),  # 26: too many
        ("submittedDate:[202611010000 TO 202611020000]", 0),  # 16 (7 with exact ends)
        ("submittedDate:[202611020000 TO 202611030000]", 0),  # 20, some of them seen already
    ]


class RevisedMidway(SubmittedWindow):
    """The made-up arXiv, where paper 2611.00007 gets its version 2 after the second request."""

    def __call__(self, request: Request) -> Reply:
        reply = super().__call__(request)
        if len(self.asked) == 2:
            self.papers = [replace(p, version=2) if p.id == "2611.00007" else p for p in self.papers]
        return reply


def test_a_paper_met_twice_keeps_its_newest_version(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """A paper of the shared minute, revised between the two halves' requests, comes once as v2."""
    edge = [
        *papers(1, 6, NOV[1] + timedelta(hours=10), timedelta(minutes=5)),
        *papers(7, 10, NOV[2], timedelta(seconds=5)),
        *papers(17, 10, NOV[2] + timedelta(minutes=1), timedelta(seconds=5)),
    ]
    arxiv_server.script("api", RevisedMidway(edge, limit=LIMIT))
    found = client.search(CATS, date(2026, 11, 1), date(2026, 11, 2), page_size=20)
    versions = {p.id: p.version for p in found}
    assert len(found) == 26
    assert versions["2611.00007"] == 2
    assert {v for i, v in versions.items() if i != "2611.00007"} == {1}


def test_a_two_minute_window_over_the_limit_is_the_one_line_error(
    arxiv_server: ArxivServer, client: ArxivClient
) -> None:
    """26 papers in one minute cannot be split: halving stops at two minutes after 11 requests, one line."""
    arxiv_server.script("api", SubmittedWindow(papers(1, 26, NOV[1], timedelta(seconds=2)), limit=LIMIT))
    with pytest.raises(ArxivQueryError) as caught:
        client.search(CATS, date(2026, 11, 1), date(2026, 11, 1), page_size=10)
    message = str(caught.value)
    assert message == (
        "arXiv has 26 results for (cat:cs.CV OR cat:eess.IV OR cat:cs.LG) AND "
        "submittedDate:[202611010000 TO 202611010001], more than the 25 it will serve, "
        "in a window too short to split; "
        "ask for fewer categories, or try later if arXiv's count is wrong"
    )
    assert client.requests == 11  # windows from 00:00 to 24:00, 12:00, 06:00, 03:00, 01:30, 00:45, ... 00:01


def test_halving_stops_at_max_splits(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """A server that keeps claiming too many results is asked at most max_splits + 1 times."""
    arxiv_server.script("api", ApiPages(recorded(API_TESTING), total=LIMIT + 1))
    with pytest.raises(ArxivQueryError, match="still, after splitting the range 3 times; ask for a shorter"):
        client.search(CATS, date(2026, 11, 1), date(2026, 11, 4), max_splits=3)
    assert client.requests == 4


def test_a_too_large_answer_at_arxivs_own_limit_fails_the_poll_in_one_line(
    loopback_config: Config, arxiv_server: ArxivServer
) -> None:
    """`poll --since` at arXiv's own limit: a server claiming 30001 for every window fails in one line."""
    arxiv_server.script("api", ApiPages(recorded(API_TESTING), total=API_RESULT_LIMIT + 1))
    clock = FakeClock(datetime(2026, 11, 29, tzinfo=UTC))
    with pytest.raises(ArxivQueryError) as caught:
        poll.poll(loopback_config, since=date(2026, 11, 2), until=date(2026, 11, 2), clock=clock)
    assert "\n" not in str(caught.value)
    floor = "submittedDate:[202611020000 TO 202611020001], more than the 30000 it will serve"
    assert floor in str(caught.value)
    assert len(arxiv_server.requests_to("api")) == 11
    with open_store(loopback_config, clock) as store:
        last = store.last_poll()
        assert store.count_papers() == 0
    assert last is not None and last.outcome == "failed" and "30000" in last.reason


@pytest.mark.slow
def test_a_catch_up_of_more_than_30000_papers_stores_every_one(
    loopback_config: Config, arxiv_server: ArxivServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The reported case: 30,001 papers missed in 2.5 months are caught up in 17 requests, all stored."""
    last_good = datetime(2026, 9, 2, 5, 30, tzinfo=UTC)  # Wednesday 01:30 ET
    arxiv_server.script("api", SubmittedWindow([]))
    poll.poll(loopback_config, since=date(2026, 9, 1), until=date(2026, 9, 1), clock=FakeClock(last_good))
    now = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)
    # catch-up window: 31 Aug 00:00 .. 17 Nov 00:00 UTC, halved at 9 Oct 00:00
    older = papers(1, 15001, datetime(2026, 9, 3, tzinfo=UTC), timedelta(minutes=2))
    newer = papers(20001, 15000, datetime(2026, 10, 20, tzinfo=UTC), timedelta(minutes=2))
    made_up = SubmittedWindow([*older, *newer])
    arxiv_server.script("api", made_up)
    before = len(arxiv_server.requests_to("api"))

    with caplog.at_level(logging.DEBUG, logger="arxivwatch"):
        result = poll.catch_up(loopback_config, clock=FakeClock(now))

    assert result is not None and result.new == 30001
    assert len(arxiv_server.requests_to("api")) - before == 1 + 8 + 8  # too many; two halves of 8 pages
    assert made_up.asked[1:3] == [
        ("submittedDate:[202608310000 TO 202610090000]", 0),
        ("submittedDate:[202608310000 TO 202610090000]", 2000),
    ]
    with closing(sqlite3.connect(loopback_config.db_path)) as db:
        stored = [row[0] for row in db.execute("SELECT id FROM papers")]
    assert len(stored) == 30001
    assert set(stored) == {p.id for p in [*older, *newer]}
    messages = [r.getMessage() for r in caplog.records]
    halving = "arXiv: 30001 results for (cat:cs.CV OR cat:eess.IV OR cat:cs.LG) AND submittedDate:"
    assert f"{halving}[202608310000 TO 202611170000], more than 30000: asking each half" in messages
    progress = "fetching 2026-08-31 .. 2026-11-16 from the export API: 30001 papers, "
    assert any(m.startswith(progress) for m in messages), messages[-5:]


@pytest.mark.parametrize("exact_ends", [False, True])
def test_papers_of_the_last_days_2359_are_found(
    arxiv_server: ArxivServer, client: ArxivClient, exact_ends: bool
) -> None:
    """Papers of 23:59:01-23:59:59 on `until` are found whichever reading arXiv has of an end minute."""
    edge = [
        *papers(1, 3, NOV[1] + timedelta(hours=9), timedelta(hours=1)),  # 1 Nov 09:00-11:00
        *papers(4, 3, NOV[2] - timedelta(seconds=50), timedelta(seconds=20)),  # 1 Nov 23:59:10-23:59:50
        *papers(7, 3, NOV[2] + timedelta(minutes=1), timedelta(seconds=20)),  # 2 Nov 00:01: outside
    ]
    made_up = SubmittedWindow(edge, limit=LIMIT, exact_ends=exact_ends)
    arxiv_server.script("api", made_up)
    found = client.search(CATS, date(2026, 11, 1), date(2026, 11, 1))
    assert [p.id for p in found] == [f"2611.{n:05d}" for n in range(1, 7)]
    assert made_up.asked == [("submittedDate:[202611010000 TO 202611020000]", 0)]


class CountSaying:
    """The made-up arXiv, with opensearch:totalResults replaced by `say` (None: the element left out)."""

    def __init__(self, made_up: SubmittedWindow, say: str | None) -> None:
        self.made_up, self.say = made_up, say

    def __call__(self, request: Request) -> Reply:
        reply = self.made_up(request)
        element = rb"<opensearch:totalResults>\d+</opensearch:totalResults>"
        said = (
            b""
            if self.say is None
            else b"<opensearch:totalResults>%s</opensearch:totalResults>" % self.say.encode()
        )
        return Reply(reply.status, re.sub(element, said, reply.body), reply.headers)


@pytest.mark.parametrize("say", ["many", "", "-1", "-5000", "2.5e4", None])
def test_a_count_that_is_no_count_is_the_one_line_error_not_a_page_of_papers(
    arxiv_server: ArxivServer, client: ArxivClient, say: str | None
) -> None:
    """A totalResults absent, not a whole number or negative is one line, not a first page taken for all."""
    arxiv_server.script("api", CountSaying(SubmittedWindow(four_days()[:20], limit=LIMIT), say))
    with pytest.raises(ArxivUnavailable) as caught:
        client.search(CATS, date(2026, 11, 1), date(2026, 11, 4), page_size=10)
    assert str(caught.value) == (
        f"arXiv's answer for {QUERY} gave no count of its results (opensearch:totalResults), "
        "so its pages cannot be followed; the export API is unreliable at the moment; try again later"
    )
    assert client.requests == 1


class GrowingPast:
    """The made-up arXiv, claiming `LIMIT + 1` results on its `nth` answer only: papers added mid-way."""

    def __init__(self, made_up: SubmittedWindow, nth: int) -> None:
        self.made_up, self.nth, self.answers = made_up, nth, 0

    def __call__(self, request: Request) -> Reply:
        reply = self.made_up(request)
        self.answers += 1
        if self.answers != self.nth:
            return reply
        said = b"<opensearch:totalResults>%d</opensearch:totalResults>" % (LIMIT + 1)
        body = re.sub(rb"<opensearch:totalResults>\d+</opensearch:totalResults>", said, reply.body)
        return Reply(reply.status, body, reply.headers)


def test_progress_counts_each_paper_once_when_a_window_is_asked_again(
    arxiv_server: ArxivServer, client: ArxivClient
) -> None:
    """A window found too large at its second page is halved: progress counts its first page's papers once."""
    arxiv_server.script("api", GrowingPast(SubmittedWindow(four_days()[:20], limit=LIMIT), nth=2))
    pages: list[int] = []
    found = client.search(CATS, date(2026, 11, 1), date(2026, 11, 4), page_size=10, on_page=pages.append)
    assert [p.id for p in found] == [f"2611.{n:05d}" for n in range(1, 21)]
    assert sum(pages) == 20, pages
    assert client.requests == 5  # page 1; page 2 (too many); the older half's two pages; the newer half's one


@pytest.mark.parametrize("exact_ends", [False, True])
def test_progress_counts_papers_of_a_shared_minute_once(
    arxiv_server: ArxivServer, client: ArxivClient, exact_ends: bool
) -> None:
    """Papers of the minute two halves share come in both, and are counted once by the progress."""
    edge = [
        *papers(1, 6, NOV[1] + timedelta(hours=10), timedelta(minutes=5)),
        *papers(7, 10, NOV[2], timedelta(seconds=5)),  # 2 Nov 00:00:00-00:00:45: the shared minute
        *papers(17, 10, NOV[2] + timedelta(minutes=1), timedelta(seconds=5)),
    ]
    arxiv_server.script("api", SubmittedWindow(edge, limit=LIMIT, exact_ends=exact_ends))
    pages: list[int] = []
    found = client.search(CATS, date(2026, 11, 1), date(2026, 11, 2), page_size=20, on_page=pages.append)
    assert len(found) == 26
    assert sum(pages) == 26, pages


def test_a_window_over_the_limit_is_halved_at_once_even_if_its_page_is_empty(
    arxiv_server: ArxivServer, client: ArxivClient
) -> None:
    """An empty page claiming a huge count is halved, not retried as a glitch: 11 requests for one day."""
    arxiv_server.script("api", CountSaying(SubmittedWindow([], limit=LIMIT), "9" * 40))
    with pytest.raises(ArxivQueryError, match=r"^arXiv has 9{40} results .* in a window too short to split"):
        client.search(CATS, date(2026, 11, 1), date(2026, 11, 1), page_size=10)
    assert client.requests == 11  # one a window, 24 h down to 2 min, none spent on retries


class OnePerPage:
    """The made-up arXiv, serving one paper a page however many are asked for."""

    def __init__(self, made_up: SubmittedWindow) -> None:
        self.made_up = made_up

    def __call__(self, request: Request) -> Reply:
        reply = self.made_up(request)
        entries = re.findall(rb"  <entry>.*?</entry>\n", reply.body, re.DOTALL)
        body = reply.body
        for extra in entries[1:]:
            body = body.replace(extra, b"", 1)
        return Reply(reply.status, body, reply.headers)


def test_a_window_of_short_pages_is_bounded_and_the_one_line_error(
    arxiv_server: ArxivServer, client: ArxivClient
) -> None:
    """Pages of one paper when ten are asked end after 4 x ceil(25 / 10) = 12 requests, in one line."""
    arxiv_server.script("api", OnePerPage(SubmittedWindow(four_days()[:20], limit=LIMIT)))
    with pytest.raises(ArxivUnavailable) as caught:
        client.search(CATS, date(2026, 11, 1), date(2026, 11, 4), page_size=10)
    assert str(caught.value) == (
        f"arXiv sent 12 pages of 12 results for {QUERY}, which has 20, when 10 a page were asked for; "
        "the export API is unreliable at the moment; try again later"
    )
    assert client.requests == 12


def test_a_range_to_the_last_date_there_is_is_asked_not_a_crash(
    arxiv_server: ArxivServer, client: ArxivClient
) -> None:
    """`--until 9999-12-31` has no day after: the range ends at its 23:59, and the papers come."""
    made_up = SubmittedWindow(four_days()[:20], limit=LIMIT)
    arxiv_server.script("api", made_up)
    found = client.search(CATS, date(2026, 11, 1), date.max, page_size=10)
    assert [p.id for p in found] == [f"2611.{n:05d}" for n in range(1, 21)]
    assert made_up.asked[0] == ("submittedDate:[202611010000 TO 999912312359]", 0)


def test_a_year_before_1000_is_written_with_four_digits(
    arxiv_server: ArxivServer, client: ArxivClient
) -> None:
    """`--since 0999-01-01` asks `submittedDate:[099901010000 ...`: twelve digits, not a garbled eleven."""
    made_up = SubmittedWindow(four_days()[:20], limit=LIMIT)
    arxiv_server.script("api", made_up)
    found = client.search(CATS, date(999, 1, 1), date(2026, 11, 4), page_size=10)
    assert len(found) == 20
    assert made_up.asked[0] == ("submittedDate:[099901010000 TO 202611050000]", 0)
