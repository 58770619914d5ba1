"""The parser against recorded real arXiv responses, with hand-checked values."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, date, datetime
from importlib import resources

import pytest

from arxiv_server import (
    API_ERROR_400,
    API_NO_RESULTS,
    API_TESTING,
    EMPTY_FEED,
    ERROR_FEED,
    HTML_PAGE,
    RESTRICTED_FEED,
    recorded,
)
from arxivwatch.arxiv.parse import FeedResult, parse_api, parse_feed, split_creators, split_version
from arxivwatch.arxiv.restrict import restrict_feed
from arxivwatch.errors import ArxivError, ArxivQueryError

WATCHED = {"cs.CV", "eess.IV", "cs.LG"}
ARXIV_NS = "{http://arxiv.org/schemas/atom}"


def etree_counts(data: bytes, categories: set[str]) -> Counter[str]:
    """Announce types of the items carrying any of `categories`, counted with xml.etree alone."""
    counts: Counter[str] = Counter()
    root = ET.fromstring(data)  # noqa: S314 (our own recorded file, not network input)
    for item in root.iter("item"):
        if categories & {c.text or "" for c in item.findall("category")}:
            counts[item.findtext(f"{ARXIV_NS}announce_type") or "?"] += 1
    return counts


@pytest.fixture(scope="module")
def restricted() -> bytes:
    return recorded(RESTRICTED_FEED)


@pytest.fixture(scope="module")
def feed(restricted: bytes) -> FeedResult:
    return parse_feed(restricted)


def test_restricted_feed_counts_match_an_independent_count(restricted: bytes) -> None:
    """The cs.CV+eess.IV+cs.LG feed parses to as many new, cross and replace items as etree counts."""
    expected = etree_counts(restricted, WATCHED)
    result = parse_feed(restricted)
    assert Counter(p.announce_type for p in result.papers) == expected
    assert expected == Counter({"new": 273, "replace": 133, "cross": 1})
    assert len({p.id for p in result.papers}) == len(result.papers)


def test_restricted_feed_kept_every_watched_item(restricted: bytes) -> None:
    """The derived feed keeps all 227 cs.CV, 218 cs.LG and 25 eess.IV items of the original feed."""
    for category, count in (("cs.CV", 227), ("cs.LG", 218), ("eess.IV", 25)):
        assert sum(etree_counts(restricted, {category}).values()) == count


def test_feed_header_gives_announcement_date_and_build_time(feed: FeedResult) -> None:
    """The channel pubDate's own-zone date is the announcement date; lastBuildDate is `built`."""
    result = feed
    assert result.announced == date(2024, 11, 28)
    assert result.built == datetime(2024, 11, 28, 14, 47, 20, tzinfo=UTC)
    assert result.title.endswith("updates on arXiv.org")


def test_rss_item_fields_hand_checked(feed: FeedResult) -> None:
    """The first item splits the description into id, version, type and abstract, and derives the pdf link."""
    paper = feed.papers[0]
    assert paper.id == "2411.17702"
    assert paper.version == 1
    assert paper.announce_type == "new"
    assert paper.title == (
        'Finding "Good Views" of Electrocardiogram Signals for Inferring Abnormalities in Cardiac Condition'
    )
    assert paper.abstract.startswith("Electrocardiograms (ECGs) are an established technique")
    assert "Abstract:" not in paper.abstract and "\n" not in paper.abstract
    assert paper.abs_url == "https://arxiv.org/abs/2411.17702"
    assert paper.pdf_url == "https://arxiv.org/pdf/2411.17702v1"
    assert paper.announced == date(2024, 11, 28)


def test_rss_cross_item_takes_first_category_as_primary(feed: FeedResult) -> None:
    """A cross item keeps every category in order and takes the first as primary."""
    paper = next(p for p in feed.papers if p.id == "2411.16552")
    assert paper.announce_type == "cross"
    assert paper.categories == ("stat.AP", "cs.LG", "econ.EM", "stat.ME", "stat.ML")
    assert paper.primary_category == "stat.AP"
    assert paper.authors == ("Anya Shchetkina", "Ron Berman")


def test_rss_doi_and_journal_reference(feed: FeedResult) -> None:
    """arxiv:DOI and arxiv:journal_reference land in doi and journal_ref."""
    paper = next(p for p in feed.papers if p.id == "2411.18231")
    assert paper.doi == "10.1016/j.actaastro.2024.10.066"
    assert paper.journal_ref == "Acta Astronautica, Volume 226, Part 1, 2025, Pages 542-554"
    assert paper.authors[0] == "Nadine M. Trummer"


def test_rss_creators_drop_affiliations(feed: FeedResult) -> None:
    """dc:creator with affiliations in parentheses gives bare author names."""
    paper = next(p for p in feed.papers if p.id == "2411.17748")
    assert paper.authors == (
        "Mohammed Riadh Berramdane",
        "Alexandre Battiston",
        "Michele Bardi",
        "Nicolas Blet",
        "Benjamin R\\'emy",
        "Matthieu Urbain",
    )


def test_rss_replace_item_carries_its_version(feed: FeedResult) -> None:
    """A replace item keeps the version from its description (2411.17697v2)."""
    paper = next(p for p in feed.papers if p.id == "2411.17697")
    assert (paper.version, paper.announce_type) == (2, "replace")
    assert paper.pdf_url == "https://arxiv.org/pdf/2411.17697v2"


def test_latex_less_than_survives() -> None:
    """Text like `$1<s<2$` (escaped in the XML) comes out as plain text, not as mangled tags."""
    data = recorded(RESTRICTED_FEED).replace(
        b"Electrocardiograms (ECGs)", b"Electrocardiograms $\\frac{1}{3}&lt;s&lt;1$ (ECGs)", 1
    )
    paper = parse_feed(data).papers[0]
    assert paper.abstract.startswith("Electrocardiograms $\\frac{1}{3}<s<1$ (ECGs)")


def test_empty_channel_is_zero_papers() -> None:
    """An empty channel (weekend, holiday) is a FeedResult with zero papers and its date."""
    result = parse_feed(recorded(EMPTY_FEED))
    assert result.papers == ()
    assert result.announced == date(2024, 11, 28)


def test_error_feed_names_the_bad_archive() -> None:
    """rss.arxiv.org's error feed becomes an ArxivQueryError naming 'astroph'."""
    with pytest.raises(ArxivQueryError) as caught:
        parse_feed(recorded(ERROR_FEED))
    assert "Bad archive 'astroph'" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [HTML_PAGE, b"", b"not xml at all", b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>"],
)
def test_non_feed_is_an_error_not_zero_papers(data: bytes) -> None:
    """HTML, nothing, junk or an Atom document where RSS was expected fail with ArxivError."""
    with pytest.raises(ArxivError):
        parse_feed(data)


def test_truncated_feed_is_an_error(restricted: bytes) -> None:
    """A feed cut off mid-way fails instead of yielding the items before the cut."""
    with pytest.raises(ArxivError, match="broken"):
        parse_feed(restricted[: len(restricted) // 2])


def test_api_page_numbers_and_entry_fields() -> None:
    """An export API page gives its paging numbers and the first entry's hand-checked fields."""
    page = parse_api(recorded(API_TESTING))
    assert (page.total, page.start, page.per_page, len(page.papers)) == (214881, 0, 100, 100)
    paper = page.papers[0]
    assert (paper.id, paper.version) == ("2202.12139", 1)
    assert paper.title.startswith("Testing Deep Learning Models: A First Comparative Study")
    assert paper.authors == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert paper.categories == ("cs.SE", "cs.LG")
    assert paper.primary_category == "cs.SE"
    assert paper.submitted == datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert paper.updated == paper.submitted
    assert paper.doi == "10.1109/ICSTW55395.2022.00035"
    assert paper.journal_ref.startswith("Artificial Intelligence in Software Testing @ 2022 IEEE")
    assert paper.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert paper.abs_url == "https://arxiv.org/abs/2202.12139"
    assert paper.pdf_url == "https://arxiv.org/pdf/2202.12139v1"
    assert paper.announce_type == ""


def test_api_second_version_and_affiliations() -> None:
    """A v2 entry keeps published and updated apart; affiliations do not leak into names."""
    papers = {p.id: p for p in parse_api(recorded(API_TESTING)).papers}
    v2 = papers["2012.10662"]
    assert v2.version == 2
    assert v2.submitted == datetime(2020, 12, 19, 11, 25, 13, tzinfo=UTC)
    assert v2.updated == datetime(2021, 3, 18, 12, 36, 38, tzinfo=UTC)
    assert v2.categories == ("cs.SE", "cs.LG", "cs.PL")
    assert papers["0804.0970"].authors == ("Marie-Claude Gaudel", "Pascale Le Gall")


def test_api_no_results() -> None:
    """A well-formed id that does not exist is an empty page with total 0."""
    page = parse_api(recorded(API_NO_RESULTS))
    assert (page.papers, page.total) == ((), 0)


def test_api_error_entry_is_a_query_error() -> None:
    """The Atom error entry (id containing /api/errors#) becomes arXiv's own message."""
    body = json.loads(recorded(API_ERROR_400))["body"].encode("latin-1")
    with pytest.raises(ArxivQueryError, match="incorrect id format for abc"):
        parse_api(body)


def test_api_rejects_html_and_rss() -> None:
    """An HTML page or an RSS feed where Atom was expected is an ArxivError."""
    for data in (HTML_PAGE, recorded(EMPTY_FEED)):
        with pytest.raises(ArxivError):
            parse_api(data)


def test_split_helpers() -> None:
    """Versions split off new and old ids; creators split only at top-level commas."""
    assert split_version("2411.17700v12") == ("2411.17700", 12)
    assert split_version("hep-th/9901001v2") == ("hep-th/9901001", 2)
    assert split_version("2411.17700") == ("2411.17700", 1)
    assert split_creators("A B (X, Y), C D") == ("A B", "C D")


def test_restrict_keeps_header_and_items_byte_for_byte(restricted: bytes) -> None:
    """Restricting to eess.IV keeps the channel header and exactly the eess.IV items, unchanged."""
    cut = restrict_feed(restricted, ["eess.IV"])
    head = restricted[: restricted.index(b"<item>")]
    assert cut.startswith(head)
    assert cut.endswith(b"</channel>\n</rss>\n")
    assert Counter(p.announce_type for p in parse_feed(cut).papers) == etree_counts(restricted, {"eess.IV"})
    assert sum(etree_counts(restricted, {"eess.IV"}).values()) == 25


def test_bundled_sample_is_cut_and_gzipped_reproducibly(restricted: bytes) -> None:
    """The shipped sample keeps only cs.CV, eess.IV and cs.LG items, gzipped with no name or time stamp."""
    header = (resources.files("arxivwatch") / "data" / "sample-feed.xml.gz").read_bytes()[:10]
    assert restrict_feed(restricted, WATCHED) == restricted
    assert header[3] & 0x08 == 0  # FLG.FNAME unset
    assert header[4:8] == b"\0\0\0\0"  # MTIME 0
