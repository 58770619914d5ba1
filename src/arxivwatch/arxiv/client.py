"""The only code that talks to arXiv: the announcement feed and the export API, with manners.

Manners, as arXiv's terms of use ask:
- at most one request every `min_interval` seconds (3 s), counted between the end of
  one answer and the start of the next request, across every method of one client and,
  through `pace_file` (see pacer.py), across every process using one store;
- one connection at a time (a synchronous client with a single-connection pool), and a
  redirect's next hop paced like a new request (at most MAX_REDIRECTS hops);
- a User-Agent naming arxivwatch, its version and the operator's contact address;
- conditional GET for the feed (If-None-Match / If-Modified-Since), so an unchanged
  feed costs a 304 and no parsing.

Retries: connection errors, timeouts, 429 and 5xx are retried with exponential
backoff (3, 6, 12, ... s, capped at `max_backoff`) and jitter, honouring Retry-After
(seconds or an HTTP date); each retry is logged at INFO with its reason and delay. Each
request has `budget` seconds, counted on the client's Clock, for all its attempts; when the
next wait would cross it the request fails with ArxivUnavailable and one line.
Everything else (a 4xx, an HTML page where XML was expected) fails at once.

Bounds against a hostile or broken server:
- the body is read as a stream and inflated here (gzip only is asked for), at most
  `max_body_bytes` after decompression, so a gzip bomb costs at most that much memory;
- one attempt ends when what remains of `budget` has passed in wall-clock time, however
  slowly the bytes drip, headers included (deadline.py); each connect and read also
  times out after `timeout` seconds, or what remains of the budget if that is less;
- an unreachable network (DNS failure, connection refused, no route, a connect unanswered
  for CONNECT_TIMEOUT seconds) is retried for at
  most `UNREACHABLE_BUDGET` seconds, then fails with ArxivOffline; the command that
  asked adds the hint that fits it (poll: try later; train: `--offline`).
"""

from __future__ import annotations

import errno
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType

import httpx

from arxivwatch import __version__
from arxivwatch.arxiv import proxies
from arxivwatch.arxiv.body import MAX_BODY_BYTES, Body, late, read_body
from arxivwatch.arxiv.deadline import DeadlineBackend
from arxivwatch.arxiv.pacer import Pacer
from arxivwatch.arxiv.parse import ApiPage, FeedResult, parse_api, parse_feed
from arxivwatch.arxiv.search import API_RESULT_LIMIT, MAX_PAGE, MAX_SPLITS, RangeSearch, Window
from arxivwatch.clock import Clock, SystemClock
from arxivwatch.errors import ArxivError, ArxivOffline, ArxivQueryError, ArxivUnavailable
from arxivwatch.models import Paper

log = logging.getLogger("arxivwatch.arxiv")

PROJECT_URL = "https://github.com/arxivwatch/arxivwatch"
LOOKUP_BATCH = 100  # ids per id_list call
MAX_REDIRECTS = 5  # hops followed for one request, each paced
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
UNREACHABLE_BUDGET = 20.0  # seconds of retrying a network that cannot reach arXiv at all
CONNECT_TIMEOUT = 10.0  # seconds for a connect to be answered (the kernel resends a lost SYN within it)
_UNREACHABLE_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH})


@dataclass(frozen=True)
class FeedFetch:
    """A feed request's outcome: the parsed feed (None on 304) and the validators to send next time."""

    result: FeedResult | None
    etag: str | None
    last_modified: str | None
    url: str = ""


def user_agent(contact: str) -> str:
    """`arxivwatch/0.1.0 (+https://github.com/...; mailto:someone@example.org)`."""
    mailto = f"; mailto:{contact}" if contact else ""
    return f"arxivwatch/{__version__} (+{PROJECT_URL}{mailto})"


class ArxivClient:
    """A polite arXiv client; use it as a context manager so its connection is closed."""

    def __init__(
        self,
        *,
        api_url: str,
        feed_url: str,
        contact: str,
        clock: Clock | None = None,
        min_interval: float = 3.0,
        budget: float = 300.0,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        max_backoff: float = 120.0,
        empty_page_retries: int = 3,
        rng: random.Random | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        pace_file: Path | None = None,
        result_limit: int = API_RESULT_LIMIT,
    ) -> None:
        self.api_url = api_url
        self.feed_url = feed_url.rstrip("/")
        self.clock: Clock = clock or SystemClock()
        self.budget = budget
        self.max_backoff = max_backoff
        self.empty_page_retries = empty_page_retries
        self.max_body_bytes = max_body_bytes
        self.timeout = timeout
        self.requests = 0
        self.result_limit = result_limit  # arXiv's cap on one query's results; only tests lower it
        self._pacer = Pacer(self.clock, min_interval, shared=pace_file, max_wait=budget)
        self._rng = rng or random.Random()
        self._deadline = DeadlineBackend()
        self._http = self._client(contact, timeout, transport)
        if transport is None:  # every socket wait of an attempt ends at its deadline, headers included
            _use_backend(self._http, self._deadline)

    def _client(self, contact: str, timeout: float, transport: httpx.BaseTransport | None) -> httpx.Client:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return proxies.http_client(
            # gzip only: the body is inflated here, chunk by chunk, under max_body_bytes
            headers={"User-Agent": user_agent(contact), "Accept-Encoding": "gzip"},
            timeout=timeout,
            limits=limits,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            event_hooks={"response": [self._pace_redirect]},
            transport=transport,  # None: httpx's own, with the proxies of HTTP(S)_PROXY / NO_PROXY
        )

    def _pace_redirect(self, response: httpx.Response) -> None:
        """A redirect's next hop is one more request to arXiv: counted and paced like any other.

        Only a 3xx with a Location is one: httpx's `is_redirect` is true for every 3xx, so a 304
        (the feed unchanged) would count twice and wait out one more pacing interval.
        """
        if response.has_redirect_location:
            self._pacer.done()
            self.requests += 1
            self._pacer.wait()

    def __enter__(self) -> ArxivClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def feed_url_for(self, categories: Sequence[str]) -> str:
        """The one feed URL for all categories: `<feed_url>/cs.CV+eess.IV`."""
        if not categories:
            raise ArxivQueryError("no arXiv categories to ask for", hint="set [arxiv] categories")
        return f"{self.feed_url}/{'+'.join(categories)}"

    def fetch_feed(
        self,
        categories: Sequence[str],
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FeedFetch:
        """Fetch today's announcement feed in one request; `result` is None when unchanged (304)."""
        url = self.feed_url_for(categories)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        response = self._get(url, headers=headers)
        new_etag = response.headers.get("ETag") or etag
        new_modified = response.headers.get("Last-Modified") or last_modified
        if response.status_code == 304:
            return FeedFetch(None, new_etag, new_modified, url)
        if response.status_code == 400:
            # rss.arxiv.org explains a bad category in an error feed; parse_feed raises it.
            parse_feed(response.content, source=url)
        _require_ok(response, url)
        return FeedFetch(parse_feed(response.content, source=url), new_etag, new_modified, url)

    def search(
        self,
        categories: Sequence[str],
        since: date,
        until: date,
        *,
        page_size: int = MAX_PAGE,
        on_page: Callable[[int], None] | None = None,
        max_splits: int = MAX_SPLITS,
    ) -> list[Paper]:
        """Papers first submitted in [since, until] (UTC days) in any of `categories`, oldest first.

        A range holding more than arXiv serves for one query is asked in halves (search.py);
        `on_page` is told the number of papers new to the search of each page as it arrives.
        """
        if not categories:
            raise ArxivQueryError("no arXiv categories to ask for", hint="set [arxiv] categories")
        if since > until:
            raise ArxivQueryError(f"the date range {since} .. {until} is empty", hint="swap the dates")
        search = RangeSearch(
            self._api,
            categories,
            page_size=page_size,
            empty_page_retries=self.empty_page_retries,
            result_limit=self.result_limit,
            max_splits=max_splits,
            on_page=on_page,
        )
        return search.run(Window.days(since, until))

    def lookup(self, ids: Sequence[str]) -> list[Paper]:
        """The papers with these ids (a versioned id asks for that version), 100 ids a call."""
        found: list[Paper] = []
        for start in range(0, len(ids), LOOKUP_BATCH):
            batch = ids[start : start + LOOKUP_BATCH]
            params = {"id_list": ",".join(batch), "start": "0", "max_results": str(len(batch))}
            found.extend(self._api(params).papers)
        return found

    def _api(self, params: Mapping[str, str]) -> ApiPage:
        """One export API call; error entries (any status) become ArxivQueryError."""
        response = self._get(self.api_url, params=params)
        if response.status_code == 400:
            parse_api(response.content)  # raises the error entry arXiv sent, if any
        _require_ok(response, self.api_url)
        return parse_api(response.content)

    def _get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Body:
        """A paced GET, retried on transient failures within the time budget."""
        # Hand-written, not tenacity: the policy (a budget on our Clock, Retry-After first, jitter
        # from our rng, one give-up line) is most of this loop, and a tenacity version took 54 lines to 39.
        began = self.clock.monotonic()
        attempt = 0
        unreachable = False
        while True:
            self._pacer.wait()
            retry_after: float | None = None
            try:
                remaining = self.budget - (self.clock.monotonic() - began)
                response = self._attempt(url, params, headers, deadline=time.monotonic() + remaining)
            except _RETRY_ERRORS as exc:
                if _tls_failure(exc):  # a certificate problem does not heal by waiting
                    raise ArxivError(
                        f"TLS failed for {url}: {exc}",
                        hint="check the arXiv URLs and the system's CA certificates",
                    ) from exc
                unreachable = _unreachable(exc)
                failure = f"{type(exc).__name__}: {exc}".rstrip(": ")
            except httpx.HTTPError as exc:
                raise ArxivError(f"cannot reach arXiv at {url}: {exc}") from exc
            except httpx.InvalidURL as exc:
                raise ArxivQueryError(
                    f"cannot build a valid URL for arXiv from {url}: {exc}",
                    hint="check the arXiv URLs and categories in your configuration",
                ) from exc
            else:
                if response.status_code not in _RETRY_STATUSES:
                    return response
                failure = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                retry_after = self._retry_after(response.headers.get("Retry-After"))
            finally:
                self._pacer.done()
                self.requests += 1
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            spent = self.clock.monotonic() - began
            if unreachable and spent + delay > min(self.budget, UNREACHABLE_BUDGET):
                raise ArxivOffline(
                    f"cannot reach arXiv at {url}: {failure} ({attempt + 1} attempts in {spent:.0f} s)",
                    hint="check the network",
                )
            if spent + delay >= self.budget:  # no time left after the wait: an attempt could not finish
                raise ArxivUnavailable(
                    f"arXiv did not answer {url}: {failure} "
                    f"(gave up after {attempt + 1} attempts in {spent:.0f} s)",
                    hint="arXiv may be down or busy; try again later",
                )
            log.info("arXiv: %s from %s; retry %d in %.1f s", failure, url, attempt + 1, delay)
            self.clock.sleep(delay)
            attempt += 1

    def _attempt(
        self,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        *,
        deadline: float,
    ) -> Body:
        """One GET, its body streamed and inflated under `max_body_bytes`, ended at `deadline`.

        `deadline` is on time.monotonic(): bytes arrive in real time whatever the Clock says.
        """
        seconds = max(min(self.timeout, deadline - time.monotonic()), 0.1)
        limit = httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))
        self._deadline.deadline = deadline
        try:
            with self._http.stream("GET", url, params=params, headers=headers, timeout=limit) as response:
                content = read_body(
                    response.iter_raw(),  # as it arrives (httpcore reads at most 64 KB at a time)
                    response.headers.get("Content-Encoding", "identity"),
                    url,
                    max_bytes=self.max_body_bytes,
                    deadline=deadline,
                    budget=self.budget,
                )
                return Body(response.status_code, response.reason_phrase, response.headers, content)
        except httpx.TimeoutException as exc:
            if time.monotonic() < deadline:
                raise  # an ordinary timeout, retried
            raise late(url, self.budget) from exc

    def _backoff(self, attempt: int) -> float:
        """min_interval (at least 2 s) doubled per attempt, capped, plus up to half again of jitter."""
        first = max(self._pacer.min_interval, 2.0)
        base = min(first * 2**attempt, self.max_backoff)
        return float(base * (1.0 + 0.5 * self._rng.random()))

    def _retry_after(self, value: str | None) -> float | None:
        """Retry-After as seconds from now: a number or an HTTP date; None when absent or garbled."""
        if not value:
            return None
        value = value.strip()
        if value.isascii() and value.isdigit():  # not str.isdigit alone: '²' is a digit to it
            return float(value)
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:  # an HTTP date is GMT even when it does not say so
            moment = moment.replace(tzinfo=UTC)
        return max((moment - self.clock.now()).total_seconds(), 0.0)


def _use_backend(client: httpx.Client, backend: DeadlineBackend) -> None:
    """Make every transport of `client` (the direct one and each proxy's, from HTTP_PROXY,
    HTTPS_PROXY and ALL_PROXY less NO_PROXY) open its connections through `backend`.

    httpx takes the proxies from the environment only when it builds its transports itself
    (a transport given to the client turns them off), and has no public hook for the
    network backend: its connection pools' `_network_backend` is set here.
    """
    mounted = [client._transport, *client._mounts.values()]
    for transport in (t for t in mounted if t is not None):  # None: NO_PROXY's direct connections
        pool = getattr(transport, "_pool", None)
        if pool is None or not hasattr(pool, "_network_backend"):
            raise TypeError(f"httpx {httpx.__version__}: no connection pool to bound in {transport!r}")
        pool._network_backend = backend


def _unreachable(exc: BaseException) -> bool:
    """Whether an httpx error means arXiv cannot be reached at all (DNS, refused, no route,
    or a connect nobody answered: a filtered port or a dead route drops it silently)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return True
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return True
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE_ERRNOS:
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _require_ok(response: Body, url: str) -> None:
    """Anything but 200 at this point is a refusal we cannot fix by waiting."""
    if response.status_code != 200:
        raise ArxivError(
            f"arXiv answered HTTP {response.status_code} {response.reason_phrase} for {url}",
            hint="check the arXiv URLs in your configuration",
        )


def _tls_failure(exc: BaseException) -> bool:
    """Whether an httpx error was caused by a TLS failure that waiting will not fix.

    A bad certificate or a server that does not speak TLS; a connection cut mid-handshake
    (SSLEOFError) is ordinary network trouble and is retried.
    """
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError) and not isinstance(cause, ssl.SSLEOFError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False
