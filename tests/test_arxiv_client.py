"""The arXiv client against a real loopback server replaying recorded responses, on a fake clock."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date

import pytest

from arxiv_server import (
    API_ERROR_400,
    API_NO_RESULTS,
    API_TESTING,
    EMPTY_FEED,
    ERROR_FEED,
    HTML_PAGE,
    RESTRICTED_FEED,
    ApiPages,
    ArxivServer,
    Reply,
    recorded,
)
from arxivwatch import __version__
from arxivwatch.arxiv.client import PROJECT_URL, ArxivClient
from arxivwatch.clock import FakeClock
from arxivwatch.errors import ArxivError, ArxivQueryError, ArxivUnavailable

CATS = ["cs.CV", "eess.IV", "cs.LG"]
CONTACT = "watcher@example.org"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(arxiv_server: ArxivServer, clock: FakeClock) -> Iterator[ArxivClient]:
    with ArxivClient(
        api_url=arxiv_server.api_url,
        feed_url=arxiv_server.feed_url,
        contact=CONTACT,
        clock=clock,
        budget=60.0,
        timeout=5.0,
        rng=random.Random(7),
    ) as made:
        yield made


def feed_reply(name: str = RESTRICTED_FEED, etag: str = "") -> Reply:
    headers = {"Content-Type": "application/rss+xml"} | ({"ETag": etag} if etag else {})
    return Reply(200, recorded(name), headers)


def test_feed_one_request_for_all_categories(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """The feed is one GET of /rss/cs.CV+eess.IV+cs.LG with our User-Agent, parsed to its papers."""
    arxiv_server.script("rss", feed_reply())
    fetch = client.fetch_feed(CATS)
    assert fetch.result is not None
    assert Counter(p.announce_type for p in fetch.result.papers) == {
        "new": 273,
        "replace": 133,
        "cross": 1,
    }
    (request,) = arxiv_server.requests
    assert request.path == "/rss/cs.CV+eess.IV+cs.LG"
    agent = request.header("User-Agent") or ""
    assert agent.startswith(f"arxivwatch/{__version__} (+https://github.com/")
    assert f"mailto:{CONTACT}" in agent
    assert client.requests == 1


def test_conditional_get_gives_not_modified(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """The ETag of one fetch is sent back as If-None-Match and a 304 gives result None."""
    arxiv_server.script("rss", feed_reply(etag='"abc"'))
    first = client.fetch_feed(CATS)
    assert first.etag == '"abc"'
    second = client.fetch_feed(CATS, etag=first.etag, last_modified="Thu, 28 Nov 2024 05:00:00 GMT")
    assert second.result is None and second.etag == '"abc"'
    request = arxiv_server.requests[-1]
    assert request.header("If-None-Match") == '"abc"'
    assert request.header("If-Modified-Since") == "Thu, 28 Nov 2024 05:00:00 GMT"


def test_not_modified_is_one_request_and_no_extra_wait(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """A 304 is counted as one request, not as a redirect: no second count, no pacing wait after it."""
    arxiv_server.script("rss", feed_reply(etag='"abc"'))
    first = client.fetch_feed(CATS)
    before = clock.monotonic()
    second = client.fetch_feed(CATS, etag=first.etag)
    assert second.result is None
    assert client.requests == 2
    assert len(arxiv_server.requests) == 2
    assert clock.monotonic() - before == pytest.approx(3.0)  # the pacing before the 304 only


def test_503_with_retry_after_then_200(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """A 503 with Retry-After: 7 is waited out (on the fake clock) and the retry succeeds."""
    arxiv_server.script("rss", Reply(503, b"busy", {"Retry-After": "7"}), feed_reply())
    fetch = client.fetch_feed(CATS)
    assert fetch.result is not None and len(fetch.result.papers) == 407
    assert clock.sleeps[0] == 7.0
    assert client.requests == 2


def test_retry_after_as_http_date(arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock) -> None:
    """Retry-After given as an HTTP date is turned into seconds from the clock's now."""
    arxiv_server.script(
        "rss", Reply(429, b"Rate exceeded.", {"Retry-After": "Thu, 28 Nov 2024 05:30:20 GMT"}), feed_reply()
    )
    assert client.fetch_feed(CATS).result is not None
    assert clock.sleeps[0] == pytest.approx(20.0)


def test_endless_503_fails_within_budget(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """Endless 503s end in one ArxivUnavailable line once the next wait would pass the budget."""
    arxiv_server.script("rss", Reply(503, b"down"))
    started = clock.monotonic()
    with pytest.raises(ArxivUnavailable) as caught:
        client.fetch_feed(CATS)
    assert clock.monotonic() - started <= client.budget
    assert "\n" not in str(caught.value) and "HTTP 503" in str(caught.value)
    assert client.requests >= 3
    assert sorted(clock.sleeps[:3]) == clock.sleeps[:3]  # backoff grows


def test_dropped_connection_is_retried(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """A connection closed without an answer is retried like a 503."""
    arxiv_server.script("rss", Reply(drop=True), feed_reply())
    assert client.fetch_feed(CATS).result is not None
    assert len(arxiv_server.requests) == 2


def test_timeout_is_retried(arxiv_server: ArxivServer, clock: FakeClock) -> None:
    """A request that times out is retried and the next answer is used."""
    arxiv_server.script("rss", Reply(200, recorded(EMPTY_FEED), delay=0.5), feed_reply(EMPTY_FEED))
    with ArxivClient(
        api_url=arxiv_server.api_url,
        feed_url=arxiv_server.feed_url,
        contact=CONTACT,
        clock=clock,
        timeout=0.1,
    ) as quick:
        fetch = quick.fetch_feed(CATS)
        assert fetch.result is not None and fetch.result.papers == ()
        assert quick.requests == 2


def test_bad_category_error_feed(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """A 400 error feed fails at once with an ArxivQueryError naming the bad archive."""
    arxiv_server.script("rss", Reply(400, recorded(ERROR_FEED)))
    with pytest.raises(ArxivQueryError, match="astroph"):
        client.fetch_feed(["astroph"])
    assert client.requests == 1


def test_html_page_is_a_failure(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """An HTML page with status 200 where the feed was expected fails, it is not zero papers."""
    arxiv_server.script("rss", Reply(200, HTML_PAGE, {"Content-Type": "text/html"}))
    with pytest.raises(ArxivError, match="HTML"):
        client.fetch_feed(CATS)


def test_empty_channel_is_no_announcement(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """The empty channel comes back as a FeedResult with zero papers, not an error."""
    arxiv_server.script("rss", feed_reply(EMPTY_FEED))
    fetch = client.fetch_feed(CATS)
    assert fetch.result is not None
    assert fetch.result.papers == () and fetch.result.announced == date(2024, 11, 28)


def test_other_4xx_fails_at_once(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """A 404 is not retried: it names the status and the URL."""
    arxiv_server.script("rss", Reply(404, b"nope"))
    with pytest.raises(ArxivError, match="HTTP 404"):
        client.fetch_feed(CATS)
    assert client.requests == 1


def test_search_pages_are_paced_and_minimal(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """A 7-day catch-up of 100 results in pages of 40 takes 3 requests, each 3 s after the last."""
    arxiv_server.script("api", ApiPages(recorded(API_TESTING)))
    papers = client.search(CATS, date(2024, 11, 21), date(2024, 11, 27), page_size=40)
    assert len(papers) == 100
    requests = arxiv_server.requests_to("api")
    assert [r.param("start") for r in requests] == ["0", "40", "80"]
    assert clock.sleeps == [3.0, 3.0]
    first = requests[0]
    assert first.param("search_query") == (
        "(cat:cs.CV OR cat:eess.IV OR cat:cs.LG) AND submittedDate:[202411210000 TO 202411280000]"
    )
    assert (first.param("sortBy"), first.param("sortOrder"), first.param("max_results")) == (
        "submittedDate",
        "ascending",
        "40",
    )
    assert all(CONTACT in (r.header("User-Agent") or "") for r in requests)


def test_search_single_page_when_page_size_allows(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """With the default page size a 100-result range is a single request."""
    arxiv_server.script("api", ApiPages(recorded(API_TESTING)))
    assert len(client.search(CATS, date(2024, 11, 21), date(2024, 11, 27))) == 100
    assert client.requests == 1


def test_search_retries_an_empty_page(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """A page that comes back empty although results remain is asked for again."""
    pages = ApiPages(recorded(API_TESTING))
    empty = Reply(
        200, pages.page(0, 0).replace(b"<opensearch:totalResults>0<", b"<opensearch:totalResults>100<")
    )
    arxiv_server.script("api", pages, empty, pages)
    papers = client.search(CATS, date(2024, 11, 21), date(2024, 11, 27), page_size=50)
    assert len(papers) == 100
    assert [r.param("start") for r in arxiv_server.requests_to("api")] == ["0", "50", "50"]
    assert all(s >= 3.0 for s in clock.sleeps)


def test_search_endless_empty_pages_fail(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """Empty pages that never fill end in ArxivUnavailable rather than a short result."""
    pages = ApiPages(recorded(API_TESTING))
    empty = Reply(
        200, pages.page(0, 0).replace(b"<opensearch:totalResults>0<", b"<opensearch:totalResults>100<")
    )
    arxiv_server.script("api", pages, empty)
    with pytest.raises(ArxivUnavailable, match="empty pages"):
        client.search(CATS, date(2024, 11, 21), date(2024, 11, 27), page_size=50)


def test_lookup_batches_of_100(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """250 ids are looked up in 3 id_list calls of at most 100 ids."""
    arxiv_server.script("api", Reply(200, recorded(API_NO_RESULTS)))
    ids = [f"2411.{n:05d}" for n in range(250)]
    assert client.lookup(ids) == []
    sizes = [len(r.param("id_list").split(",")) for r in arxiv_server.requests_to("api")]
    assert sizes == [100, 100, 50]


def test_lookup_returns_papers(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """A lookup answer is parsed into Papers."""
    arxiv_server.script("api", Reply(200, recorded(API_TESTING)))
    papers = client.lookup(["2202.12139"])
    assert papers[0].id == "2202.12139"


def test_lookup_bad_id_names_arxiv_message(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """The recorded HTTP 400 error entry for id_list=abc becomes arXiv's message, without retries."""
    wrapped = json.loads(recorded(API_ERROR_400))
    arxiv_server.script("api", Reply(wrapped["status_code"], wrapped["body"].encode("latin-1")))
    with pytest.raises(ArxivQueryError, match="incorrect id format for abc"):
        client.lookup(["abc"])
    assert client.requests == 1


def test_error_entry_with_status_200(arxiv_server: ArxivServer, client: ArxivClient) -> None:
    """An error entry is an error whatever the status code."""
    body = json.loads(recorded(API_ERROR_400))["body"].encode("latin-1")
    arxiv_server.script("api", Reply(200, body))
    with pytest.raises(ArxivQueryError):
        client.lookup(["abc"])


def test_one_pacer_across_methods(arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock) -> None:
    """A feed fetch then a lookup are still spaced 3 s apart: one pacer for the whole client."""
    arxiv_server.script("rss", feed_reply(EMPTY_FEED))
    arxiv_server.script("api", Reply(200, recorded(API_NO_RESULTS)))
    client.fetch_feed(CATS)
    client.lookup(["0000.0000"])
    assert clock.sleeps == [3.0]


def test_server_factory_fixture_gives_independent_servers(
    arxiv_server_factory: Callable[[], ArxivServer],
) -> None:
    """The shared fixture factory starts separate loopback servers with separate scripts and logs."""
    first, second = arxiv_server_factory(), arxiv_server_factory()
    first.script("rss", feed_reply(EMPTY_FEED))
    second.script("rss", Reply(404, b"nope"))
    with ArxivClient(api_url=first.api_url, feed_url=first.feed_url, contact="", clock=FakeClock()) as one:
        assert one.fetch_feed(["test"]).result is not None
    assert first.url != second.url
    assert (len(first.requests), len(second.requests)) == (1, 0)
    assert first.requests[0].header("User-Agent") == f"arxivwatch/{__version__} (+{PROJECT_URL})"


def test_search_rejects_reversed_range(client: ArxivClient) -> None:
    """A range whose start is after its end fails before any request."""
    with pytest.raises(ArxivQueryError, match="empty"):
        client.search(CATS, date(2024, 11, 28), date(2024, 11, 21))
    assert client.requests == 0


def test_tls_failure_is_not_retried(arxiv_server: ArxivServer, clock: FakeClock) -> None:
    """A TLS failure (here: https to a plain-HTTP server) fails at once instead of being retried."""
    https = arxiv_server.url.replace("http://", "https://")
    with ArxivClient(api_url=f"{https}/api/query", feed_url=f"{https}/rss", contact="", clock=clock) as c:
        with pytest.raises(ArxivError, match="TLS failed"):
            c.fetch_feed(CATS)
        assert c.requests == 1 and clock.sleeps == []


def test_backoff_doubles_from_3_s_to_the_cap_with_up_to_half_jitter(
    arxiv_server: ArxivServer, clock: FakeClock
) -> None:
    """Without Retry-After the waits are 3, 6, 12, ... s capped at max_backoff, each plus 0-50% jitter."""
    arxiv_server.script("rss", Reply(503, b"down"))
    with ArxivClient(
        api_url=arxiv_server.api_url,
        feed_url=arxiv_server.feed_url,
        contact="",
        clock=clock,
        budget=400.0,
        max_backoff=20.0,
        rng=random.Random(1),
    ) as c:
        with pytest.raises(ArxivUnavailable):
            c.fetch_feed(CATS)
        assert c.requests == len(clock.sleeps) + 1  # the backoff covers the pacer's 3 s
    bases = [min(3.0 * 2**n, 20.0) for n in range(len(clock.sleeps))]
    assert bases[:4] == [3.0, 6.0, 12.0, 20.0]
    assert all(b <= s <= 1.5 * b for b, s in zip(bases, clock.sleeps, strict=True))
    assert len(set(clock.sleeps)) == len(clock.sleeps)  # jittered, not a fixed beat


def test_seeded_rng_gives_the_same_schedule(arxiv_server: ArxivServer) -> None:
    """Two clients with equally seeded rngs wait exactly alike: the jitter comes from `rng` only."""
    arxiv_server.script("rss", Reply(503, b"down"))
    schedules = []
    for _ in range(2):
        clock = FakeClock()
        with (
            ArxivClient(
                api_url=arxiv_server.api_url,
                feed_url=arxiv_server.feed_url,
                contact="",
                clock=clock,
                budget=100.0,
                rng=random.Random(42),
            ) as c,
            pytest.raises(ArxivUnavailable),
        ):
            c.fetch_feed(CATS)
        schedules.append(clock.sleeps)
    assert schedules[0] == schedules[1] and len(schedules[0]) >= 3


def test_retry_after_beyond_the_budget_fails_without_waiting(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """A Retry-After that would end past the budget fails at once: no sleep, one request."""
    arxiv_server.script("rss", Reply(429, b"slow down", {"Retry-After": "100"}))
    with pytest.raises(ArxivUnavailable) as caught:
        client.fetch_feed(CATS)
    assert clock.sleeps == [] and client.requests == 1
    assert str(caught.value).startswith(
        f"arXiv did not answer {arxiv_server.feed_url}/cs.CV+eess.IV+cs.LG: "
        "HTTP 429 Too Many Requests (gave up after 1 attempts in 0 s)"
    )


def test_give_up_line_counts_attempts_and_seconds(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """Exhaustion names the last failure, the attempts made and the seconds spent on the clock."""
    arxiv_server.script("rss", Reply(drop=True))
    with pytest.raises(ArxivUnavailable) as caught:
        client.fetch_feed(CATS)
    spent = round(sum(clock.sleeps))
    assert (
        f": RemoteProtocolError: Server disconnected without sending a response. "
        f"(gave up after {client.requests} attempts in {spent} s)"
    ) in str(caught.value)
    assert sum(clock.sleeps) <= client.budget < sum(clock.sleeps) + 3.0 * 2 ** len(clock.sleeps)


def test_garbled_retry_after_falls_back_to_backoff(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """A Retry-After that is neither seconds nor a date is ignored: the first backoff (3-4.5 s) applies."""
    arxiv_server.script("rss", Reply(503, b"busy", {"Retry-After": "soon"}), feed_reply(EMPTY_FEED))
    assert client.fetch_feed(CATS).result is not None
    (wait,) = clock.sleeps
    assert 3.0 <= wait <= 4.5


@pytest.mark.parametrize("value", ["\xb2", "\xb9\xb3", "1\xbd"])
def test_retry_after_with_non_ascii_digits_is_ignored(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock, value: str
) -> None:
    """A Retry-After of Latin-1 'digits' (superscript two) is garbled, not a ValueError: backoff applies."""
    arxiv_server.script("rss", Reply(503, b"busy", {"Retry-After": value}), feed_reply(EMPTY_FEED))
    assert client.fetch_feed(CATS).result is not None
    (wait,) = clock.sleeps
    assert 3.0 <= wait <= 4.5


def test_redirect_hops_are_paced_and_capped(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """Each redirect hop is a request to arXiv: two hops wait 3 s each; a redirect loop stops after 5 hops."""
    hop = Reply(302, b"", {"Location": "/rss/cs.CV"})
    arxiv_server.script("rss", hop, hop, feed_reply(EMPTY_FEED))
    assert client.fetch_feed(CATS).result is not None
    assert clock.sleeps == [3.0, 3.0] and client.requests == 3
    arxiv_server.script("rss", hop)
    with pytest.raises(ArxivError):
        client.fetch_feed(CATS)
    assert len(arxiv_server.requests_to("rss")) <= 3 + 1 + 5


def test_short_retry_after_is_topped_up_by_the_pacer(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """The pacer still runs before a retry: after Retry-After: 1 it waits 2 s more, 3 s after the answer."""
    arxiv_server.script("rss", Reply(503, b"busy", {"Retry-After": "1"}), feed_reply(EMPTY_FEED))
    assert client.fetch_feed(CATS).result is not None
    assert clock.sleeps == [1.0, 2.0] and client.requests == 2


def test_retry_after_date_in_the_past_means_now(
    arxiv_server: ArxivServer, client: ArxivClient, clock: FakeClock
) -> None:
    """A Retry-After date already past waits 0 s (then the pacer's 3 s), not a negative time."""
    arxiv_server.script(
        "rss", Reply(503, b"busy", {"Retry-After": "Thu, 28 Nov 2024 05:00:00 GMT"}), feed_reply(EMPTY_FEED)
    )
    assert client.fetch_feed(CATS).result is not None
    assert clock.sleeps == [0.0, 3.0]
