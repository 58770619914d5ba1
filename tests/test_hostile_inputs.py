"""Hostile inputs: feed links pointing elsewhere, backtracking profile patterns, unknown categories."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from arxiv_server import RESTRICTED_FEED, recorded
from arxivwatch import digest, profiles, regex_bounds, render
from arxivwatch.arxiv.parse import parse_api, parse_feed
from arxivwatch.curated import CuratedEntry
from arxivwatch.errors import ProfileError
from digest_samples import PAPERS, PROFILES, SCORES, THRESHOLDS, TODAY

EVIL_ABS = "https://evil.example/abs/2411.17702"


def test_feed_item_link_to_another_host_is_not_used() -> None:
    """An item whose <link> points at evil.example (or rss.arxiv.org) still links to arxiv.org by its id."""
    data = recorded(RESTRICTED_FEED).decode()
    data = data.replace("<link>https://arxiv.org/abs/2411.17702</link>", f"<link>{EVIL_ABS}</link>", 1)
    data = re.sub(
        r"<link>https://arxiv.org/abs/(2411\.17697)</link>", r"<link>https://rss.arxiv.org/x/\1</link>", data
    )
    papers = {p.id: p for p in parse_feed(data.encode()).papers}
    assert papers["2411.17702"].abs_url == "https://arxiv.org/abs/2411.17702"
    assert papers["2411.17702"].pdf_url == "https://arxiv.org/pdf/2411.17702v1"
    assert papers["2411.17697"].abs_url == "https://arxiv.org/abs/2411.17697"
    assert all(p.abs_url.startswith("https://arxiv.org/abs/") for p in papers.values())


def test_api_entry_links_are_not_used() -> None:
    """Export API entries get links built from id and version, whatever their <link> elements say."""
    data = recorded("export-api_query-all-testing_start0_max100_2026-04-12.xml.gz").decode()
    data = re.sub(r'href="http://arxiv.org/(abs|pdf)/', r'href="https://evil.example/\1/', data)
    page = parse_api(data.encode())
    assert page.papers
    for paper in page.papers:
        assert paper.abs_url == f"https://arxiv.org/abs/{paper.id}"
        assert paper.pdf_url == f"https://arxiv.org/pdf/{paper.id}v{paper.version}"


def test_rendered_links_come_from_the_id_not_the_stored_row() -> None:
    """A stored paper with evil links renders arxiv.org/abs/ID and arxiv.org/pdf/IDvN in every format."""
    evil = replace(PAPERS[0], abs_url=EVIL_ABS, pdf_url="https://evil.example/pdf", version=3)
    start, end = digest.period_bounds("week", TODAY)
    made = digest.select(
        [evil, *PAPERS[1:]], SCORES, PROFILES, THRESHOLDS, period="week", start=start, end=end, channel="x"
    )
    rendered = render.render(made)
    for text in (rendered.html, rendered.text, rendered.markdown, str(rendered.slack)):
        assert "evil.example" not in text
        assert f"https://arxiv.org/pdf/{evil.id}v3" in text
        assert f"https://arxiv.org/abs/{evil.id}" in text


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(a+)+$", "nests a repeat inside a repeat"),
        ("(?:x*)*y", "nests a repeat inside a repeat"),
        ("(a|aa)+$", "repeats an alternation"),
        ("a" * 301, "longer than 300 characters"),
        ("(a?){26}a{26}", "nests a repeat inside a repeat"),
        (r"((a)\2?)+$", "nests a repeat inside a repeat"),
        (".*.*.*x", "more than 2 open repeats"),
        ("a*a*a*a*a*a*a*a*a*a*b", "more than 2 open repeats"),
        ("[a-z]+[a-z]+[a-z]+!", "more than 2 open repeats"),
        ("a?" * 20 + "a" * 20, "more than 8 repeats of variable length"),
    ],
)
def test_backtracking_profile_pattern_is_refused_at_load(tmp_path: Path, pattern: str, why: str) -> None:
    """A pattern that could backtrack for minutes is refused when profiles load, naming file and key."""
    path = tmp_path / "bad.toml"
    path.write_text(f"title = \"x\"\nsections = ['{pattern}']\n")
    began = time.monotonic()
    with pytest.raises(ProfileError) as caught:
        profiles.load_profiles(tmp_path)
    assert time.monotonic() - began < 1.0
    line = str(caught.value)
    assert f"profile {path}: bad key 'sections'" in line and why in line and "\n" not in line
    assert caught.value.exit_code == 2


def test_accepted_patterns_stay_fast_on_a_hostile_heading() -> None:
    """Every shipped pattern passes the check, and each matches 40 'a' plus '!' in well under 10 ms."""
    heading = "a" * 40 + "!"
    for profile in profiles.load_profiles(None):
        for pattern in profile.sections:
            assert regex_bounds.problem(pattern) is None
            began = time.perf_counter()
            re.search(pattern, heading, re.IGNORECASE)
            assert time.perf_counter() - began < 0.01
    assert regex_bounds.problem("(?:ab)+c|semi[- ]?sup") is None


def test_accepted_pattern_at_the_limit_is_fast_on_a_long_heading(tmp_path: Path) -> None:
    """Two open repeats (the most accepted) on a 5,000-character heading: under 0.5 s, its start only."""
    path = tmp_path / "edge.toml"
    path.write_text("title = \"x\"\nsections = ['.*.*x']\n")
    (profile,) = profiles.load_profiles(tmp_path)
    entry = CuratedEntry(title="A title", source="list", section=("a" * 5000,))
    began = time.monotonic()
    assert not profiles.is_positive(entry, profile)
    assert time.monotonic() - began < 0.5


def test_unknown_profile_category_is_refused(tmp_path: Path) -> None:
    """A profile limited to `cs.CVV` is refused naming the file, the key and the code."""
    path = tmp_path / "p.toml"
    path.write_text('title = "x"\nsections = ["seg"]\ncategories = ["cs.CVV"]\n')
    with pytest.raises(ProfileError) as caught:
        profiles.load_profiles(tmp_path)
    assert f"profile {path}: bad key 'categories'" in str(caught.value)
    assert "'cs.CVV' is not one" in str(caught.value)
