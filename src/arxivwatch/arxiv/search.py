"""The export API's date-range search, whole however long the range: windows, then pages.

arXiv serves at most API_RESULT_LIMIT (30,000) results for one query, however it is paged
(user manual §3.1.1.2), and a catch-up after weeks of downtime asks for more than that. So a
range is asked as `submittedDate` windows: a window whose answer says it holds more than the
limit is halved, and the halves are asked in turn, halved again if need be, until each fits.

Nothing falls between two halves, whatever arXiv does with seconds: its filter
`submittedDate:[lo TO hi]` is documented to the minute, in GMT (user manual §5.1), but papers
carry seconds, and third-party reports differ on whether `hi` covers its whole minute. So the
halves of [lo, hi] are [lo, mid] and [mid, hi]: they share the minute `mid`, and every paper of
the window is in one of them under any reading. The few papers of that minute come twice and are
kept once, as is any paper seen twice because pages shifted when arXiv added papers mid-way. The
older half is asked first, so the papers still come oldest first.

Bounded: a window of two minutes cannot be halved, and one search halves at most `max_splits`
windows; past either it fails with the one-line ArxivQueryError a too-large range always gave.
A window's pages are at most SHORT_PAGES times those it needs at the limit (60 at arXiv's).
Each halving costs the one request whose answer showed the window too large; every request
goes through the client, so it is paced and retried like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from arxivwatch.arxiv.parse import ApiPage
from arxivwatch.errors import ArxivQueryError, ArxivUnavailable
from arxivwatch.models import Paper

log = logging.getLogger("arxivwatch.arxiv")

API_RESULT_LIMIT = 30000  # arXiv serves at most this many results for one query
MAX_PAGE = 2000  # arXiv serves at most this many results per call
# Halvings in one search. arXiv holds ~2.7 million papers in all: even if every window of a
# search over all of them were halved needlessly once, ~180 halvings would do. The cap only
# stops a server that keeps claiming too many results (at 3 s a request: 13 minutes at most).
MAX_SPLITS = 256
MINUTE = timedelta(minutes=1)
# Pages one window may take, in multiples of the pages a window at the limit needs (15 at
# arXiv's): arXiv sends full pages; a server sending a paper a page would take 30,000 requests.
SHORT_PAGES = 4

Fetch = Callable[[Mapping[str, str]], ApiPage]


@dataclass(frozen=True)
class Window:
    """Papers first submitted from `first` to `last`, both included, to the minute (aware, UTC)."""

    first: datetime
    last: datetime

    @classmethod
    def days(cls, since: date, until: date) -> Window:
        """The UTC days `since` .. `until`, both whole: 00:00 of the first to 00:00 of the day after
        the last, so that papers of the last day's 23:59:01-23:59:59 are in it under either reading
        of an end minute (the module's docstring). Under the to-the-minute reading the papers of the
        day after's first minute come too: stored once, like the overlap of a catch-up. The last
        date there is (9999-12-31) has no day after: it ends at its 23:59."""
        first = datetime.combine(since, time(0, 0), UTC)
        if until == date.max:
            return cls(first, datetime.combine(until, time(23, 59), UTC))
        return cls(first, datetime.combine(until + timedelta(days=1), time(0, 0), UTC))

    def query(self) -> str:
        """arXiv's filter: `submittedDate:[202611160000 TO 202611240000]`."""
        return f"submittedDate:[{_minute(self.first)} TO {_minute(self.last)}]"

    def halves(self) -> tuple[Window, Window] | None:
        """The older and the newer half, sharing their middle minute (see the module's docstring);
        None for a window of two minutes or less, the floor: each half would be the window itself."""
        minutes = (self.last - self.first) // MINUTE
        if minutes < 2:
            return None
        middle = self.first + (minutes // 2) * MINUTE
        return Window(self.first, middle), Window(middle, self.last)


def _minute(moment: datetime) -> str:
    """`202611160000`: always twelve digits (strftime's %Y writes the year 999 as `999`)."""
    return f"{moment.year:04d}{moment:%m%d%H%M}"


class _TooMany(Exception):
    """A window's answer claimed more results than arXiv serves for one query."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.total = total


@dataclass
class RangeSearch:
    """One date-range search: `RangeSearch(client_api, ("cs.CV",)).run(Window.days(a, b))`.

    `fetch` makes one paced export API call and parses it (ArxivClient's); `on_page` is told
    how many papers each page brought that the search had not seen yet (a Progress's `advance`).
    """

    fetch: Fetch
    categories: Sequence[str]
    page_size: int = MAX_PAGE
    empty_page_retries: int = 3
    result_limit: int = API_RESULT_LIMIT
    max_splits: int = MAX_SPLITS
    on_page: Callable[[int], None] | None = None

    def run(self, whole: Window) -> list[Paper]:
        """Every paper first submitted in `whole` in any of the categories, oldest first, once each
        (in the newest version the search met).

        Raises ArxivQueryError when a window arXiv says is too large cannot be halved (two
        minutes, or `max_splits` halvings done), and whatever the client raises.
        """
        seen: dict[str, Paper] = {}
        for page in self._windows(whole):
            before = len(seen)
            for paper in page:
                # A paper met twice (a shared minute, a window asked again) keeps its newest version.
                if paper.version >= seen.get(paper.id, paper).version:
                    seen[paper.id] = paper
            if self.on_page is not None:  # papers new to this search: a window asked again counts once
                self.on_page(len(seen) - before)
        return list(seen.values())

    def _windows(self, whole: Window) -> Iterator[tuple[Paper, ...]]:
        pending = [whole]  # a stack, the older half on top: depth-first, oldest first
        splits = 0
        while pending:
            window = pending.pop()
            try:
                yield from self._pages(window)
            except _TooMany as over:
                older, newer = self._halve(window, over.total, splits)
                pending += [newer, older]
                splits += 1

    def _halve(self, window: Window, total: int, splits: int) -> tuple[Window, Window]:
        query = self._query(window)
        too_many = f"arXiv has {total} results for {query}, more than the {self.result_limit} it will serve"
        halves = window.halves()
        if halves is None:
            raise ArxivQueryError(
                f"{too_many}, in a window too short to split",
                hint="ask for fewer categories, or try later if arXiv's count is wrong",
            )
        if splits >= self.max_splits:
            raise ArxivQueryError(
                f"{too_many}, still, after splitting the range {splits} times",
                hint="ask for a shorter date range",
            )
        log.info("arXiv: %d results for %s, more than %d: asking each half", total, query, self.result_limit)
        return halves

    def _query(self, window: Window) -> str:
        cats = " OR ".join(f"cat:{c}" for c in self.categories)
        return f"({cats}) AND {window.query()}"

    def _pages(self, window: Window) -> Iterator[tuple[Paper, ...]]:
        """Follow opensearch:totalResults page by page; _TooMany when it is over the limit."""
        params = {
            "search_query": self._query(window),
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
            "max_results": str(min(self.page_size, MAX_PAGE)),
        }
        size = min(self.page_size, MAX_PAGE)
        most = SHORT_PAGES * -(-self.result_limit // size)  # pages one window may take
        start = 0
        for _ in range(most):
            page, total = self._page({**params, "start": str(start)}, start)
            if total > self.result_limit:  # at a later page too: arXiv grew past it mid-way
                raise _TooMany(total)
            yield page.papers
            start += len(page.papers)
            if not page.papers or start >= total:
                return
        raise ArxivUnavailable(
            f"arXiv sent {most} pages of {start} results for {params['search_query']}, which has "
            f"{total}, when {size} a page were asked for",
            hint="the export API is unreliable at the moment; try again later",
        )

    def _page(self, params: Mapping[str, str], start: int) -> tuple[ApiPage, int]:
        """One page and its count; an empty page although results remain is arXiv's known
        glitch: ask again. ArxivUnavailable for an answer without a count (opensearch:totalResults
        absent, not a number, negative): taking the first page for all would lose the rest."""
        for _ in range(self.empty_page_retries + 1):
            page = self.fetch(params)
            total = page.total
            if total is None:
                raise ArxivUnavailable(
                    f"arXiv's answer for {params['search_query']} gave no count of its results "
                    "(opensearch:totalResults), so its pages cannot be followed",
                    hint="the export API is unreliable at the moment; try again later",
                )
            if page.papers or start >= total or total > self.result_limit:  # too many: halve, no retry
                return page, total
        raise ArxivUnavailable(
            f"arXiv kept sending empty pages at result {start} of {total}",
            hint="the export API is unreliable at the moment; try again later",
        )
