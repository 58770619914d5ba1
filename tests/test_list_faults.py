"""Faults found by trying curated lists as users write them: each case pins the right entry."""

from __future__ import annotations

from arxivwatch import curated


def _entries(text: str) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for entry in curated.parse(text, "faults.md"):
        found.setdefault(entry.arxiv_id, []).append(entry.title)
    return found


def test_a_badge_image_link_still_carries_the_paper_link() -> None:
    """`[![arXiv](badge)](arxiv url) Title` (markdown) and `<a href><img></a> Title` (HTML) are entries."""
    text = (
        "# Papers\n\n"
        "- [![arXiv](https://img.shields.io/badge/arXiv-2312.00006-b31b1b.svg)](https://arxiv.org/abs/2312.00006)"
        " Segment Anything in Images and Videos\n"
        '- <a href="https://arxiv.org/abs/2312.00007"><img src="https://img.shields.io/badge/arXiv-red"></a>'
        " Masked Autoencoders Are Scalable Vision Learners\n"
    )
    titles = _entries(text)
    assert titles["2312.00006"] == ["Segment Anything in Images and Videos"]
    assert titles["2312.00007"] == ["Masked Autoencoders Are Scalable Vision Learners"]


def test_unmatched_opening_quotes_take_linear_time() -> None:
    """A long line of opening quotes with no closing one is read in well under a second (was quadratic)."""
    import time

    quotes = "“ab " * 20_000
    text = f"# Q\n\n- {quotes}\n- [A Real Paper Title Here](https://arxiv.org/abs/2101.00001)\n  {quotes}\n"
    start = time.perf_counter()
    entries = curated.parse(text, "quotes.md")
    assert time.perf_counter() - start < 3.0
    assert [e.arxiv_id for e in entries if e.arxiv_id] == ["2101.00001"]
