"""Bytes from arXiv to Papers: the announcement feed (RSS 2.0) and the export API (Atom).

Pure functions, no I/O. Both formats go through feedparser, with HTML sanitizing
turned off: arXiv sends plain text (often LaTeX such as `$1<s<2$`), and feedparser's
sanitizer would mangle it into tags. A document that is not the expected kind of
feed (an HTML error page, a truncated download, nothing at all) is an ArxivError,
never zero papers; arXiv's own error documents become an ArxivQueryError naming
what was wrong.
"""

from __future__ import annotations

import re
import xml.sax
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from arxivwatch.errors import ArxivError, ArxivQueryError
from arxivwatch.models import Paper, abs_link, pdf_link

_VERSIONED = re.compile(r"^(?P<id>.+?)v(?P<version>\d+)$")
_DESCRIPTION = re.compile(
    r"^arXiv:(?P<ref>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?(?P<abstract>.*)$",
    re.DOTALL,
)
_ERROR_FEED_TITLE = "Feed error for query"
_API_ERROR_MARK = "/api/errors#"


@dataclass(frozen=True)
class FeedResult:
    """One announcement feed: its papers, the announcement date and when it was built."""

    papers: tuple[Paper, ...]
    announced: date | None
    built: datetime | None
    title: str


@dataclass(frozen=True)
class ApiPage:
    """One page of export API results, with the paging numbers arXiv reported."""

    papers: tuple[Paper, ...]
    total: int | None  # None when arXiv's answer has no count, or one that is not a whole number >= 0
    start: int
    per_page: int


def split_version(ref: str) -> tuple[str, int]:
    """`2411.17700v2` -> ("2411.17700", 2); an id without a version is version 1."""
    match = _VERSIONED.match(ref.strip())
    if match is None:
        return ref.strip(), 1
    return match["id"], int(match["version"])


def normalise(text: str) -> str:
    """Collapse runs of whitespace (arXiv wraps titles and abstracts) to single spaces."""
    return " ".join(text.split())


def parse_feed(data: bytes, *, source: str = "") -> FeedResult:
    """Parse an rss.arxiv.org RSS 2.0 feed. An empty channel is zero papers (no announcement)."""
    parsed = _load(data, expected="rss", source=source)
    if b"<channel" not in data:
        where = f" from {source}" if source else ""
        raise ArxivError(
            f"arXiv sent an RSS document without a <channel>{where}",
            hint="the feed is broken at the moment; the next poll tries again",
        )
    channel = parsed.feed
    title = normalise(str(channel.get("title", "")))
    if title.startswith(_ERROR_FEED_TITLE):
        raise _feed_error(title, str(channel.get("subtitle", "")))
    announced = _rfc822_date(channel.get("published"))
    built = _rfc822_datetime(channel.get("updated"))
    papers = tuple(_rss_paper(entry, announced) for entry in parsed.entries)
    return FeedResult(papers=papers, announced=announced, built=built, title=title)


def parse_api(data: bytes) -> ApiPage:
    """Parse one export API response; an error entry becomes an ArxivQueryError."""
    parsed = _load(data, expected="atom", source="the export API")
    for entry in parsed.entries:
        if _API_ERROR_MARK in str(entry.get("id", "")):
            message = normalise(str(entry.get("summary", ""))) or "unknown error"
            raise ArxivQueryError(
                f"arXiv rejected the query: {message}",
                hint="check the arXiv ids or categories asked for",
            )
    feed = parsed.feed
    papers = tuple(_api_paper(entry) for entry in parsed.entries)
    return ApiPage(
        papers=papers,
        total=_count(feed.get("opensearch_totalresults")),
        start=_int(feed.get("opensearch_startindex"), default=0),
        per_page=_int(feed.get("opensearch_itemsperpage"), default=len(papers)),
    )


def _load(data: bytes, *, expected: str, source: str) -> Any:
    """feedparser with sanitizing off; anything but a well-formed feed of the expected kind fails."""
    where = f" from {source}" if source else ""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXException):
        raise ArxivError(
            f"arXiv sent a broken document{where}: {problem}",
            hint="the download was probably cut short; try again later",
        )
    version = str(parsed.get("version", ""))
    if not version.startswith(expected):
        kind = "an HTML page" if b"<html" in data[:2000].lower() else "something else"
        raise ArxivError(
            f"arXiv sent {kind} instead of an {expected.upper()} feed{where}",
            hint="arXiv may be down for maintenance; try again later",
        )
    return parsed


def _feed_error(title: str, description: str) -> ArxivQueryError:
    """rss.arxiv.org's HTTP 400 error feed, e.g. "Bad archive 'astroph'. Valid archive names are ..."."""
    problem, _, valid = normalise(description).partition(". Valid ")
    query = title.partition(":")[2].strip()
    message = f"arXiv rejected the feed query {query}: {problem.rstrip('.')}"
    hint = f"check the configured categories (valid {valid.rstrip('.')})" if valid else ""
    return ArxivQueryError(message, hint=hint or "check the configured categories")


def _rss_paper(entry: Any, channel_date: date | None) -> Paper:
    """One RSS item; the description carries the versioned id, the announce type and the abstract."""
    description = str(entry.get("summary", ""))
    match = _DESCRIPTION.match(description.strip())
    ref = match["ref"] if match else str(entry.get("id", "")).rpartition(":")[2]
    paper_id, version = split_version(ref)
    abstract = match["abstract"] if match else description
    announce_type = str(entry.get("arxiv_announce_type", "")) or (match["type"] if match else "")
    categories = _terms(entry)
    return Paper(
        id=paper_id,
        title=normalise(str(entry.get("title", ""))),
        abstract=normalise(abstract),
        version=version,
        authors=split_creators(str(entry.get("author", ""))),
        categories=categories,
        primary_category=categories[0] if categories else "",
        announced=_rfc822_date(entry.get("published")) or channel_date,
        announce_type=announce_type.strip(),
        abs_url=abs_link(paper_id),  # never the item's <link>: a feed could point anywhere
        pdf_url=pdf_link(paper_id, version),
        journal_ref=normalise(str(entry.get("arxiv_journal_reference", ""))),
        doi=normalise(str(entry.get("arxiv_doi", ""))),
    )


def _api_paper(entry: Any) -> Paper:
    """One export API entry (the id is `http://arxiv.org/abs/<id>vN`)."""
    paper_id, version = split_version(str(entry.get("id", "")).rpartition("/abs/")[2])
    categories = _terms(entry)
    primary = entry.get("arxiv_primary_category") or {}
    return Paper(
        id=paper_id,
        title=normalise(str(entry.get("title", ""))),
        abstract=normalise(str(entry.get("summary", ""))),
        version=version,
        authors=tuple(normalise(str(a.get("name", ""))) for a in entry.get("authors", [])),
        categories=categories,
        primary_category=str(primary.get("term", "")) or (categories[0] if categories else ""),
        submitted=_iso_datetime(entry.get("published")),
        updated=_iso_datetime(entry.get("updated")),
        abs_url=abs_link(paper_id),  # never the entry's links: built from the id alone
        pdf_url=pdf_link(paper_id, version),
        comment=normalise(str(entry.get("arxiv_comment", ""))),
        journal_ref=normalise(str(entry.get("arxiv_journal_ref", ""))),
        doi=normalise(str(entry.get("arxiv_doi", ""))),
    )


def split_creators(creators: str) -> tuple[str, ...]:
    """`A, B (Inst, Town), C` -> ("A", "B", "C"): split at top-level commas, drop affiliations."""
    names: list[str] = []
    depth, current = 0, list[str]()
    for char in creators:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            names.append("".join(current))
            current = []
            continue
        if depth == 0 and char != ")":
            current.append(char)
    names.append("".join(current))
    return tuple(name for name in (normalise(n) for n in names) if name)


def _terms(entry: Any) -> tuple[str, ...]:
    """Every category term, in document order, without duplicates."""
    terms = (str(tag.get("term", "")).strip() for tag in entry.get("tags", []))
    return tuple(dict.fromkeys(t for t in terms if t))


def _rfc822_datetime(value: object) -> datetime | None:
    """An RSS date (`Thu, 28 Nov 2024 00:00:00 -0500`), keeping its own offset."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None


def _rfc822_date(value: object) -> date | None:
    """The calendar date of an RSS date in its own time zone (arXiv's: US Eastern)."""
    moment = _rfc822_datetime(value)
    return moment.date() if moment else None


def _iso_datetime(value: object) -> datetime | None:
    """An Atom timestamp (`2022-02-24T15:05:19Z`) as an aware datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: object, *, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _count(value: object) -> int | None:
    """opensearch:totalResults as a whole number >= 0; None for anything else (absent, "many", -1)."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdecimal() and text.isascii() else None
