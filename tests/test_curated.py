"""Parsing the three shapes of curated list, and normalising arXiv ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from arxivwatch import curated

LISTS = Path(__file__).parent / "data" / "learning" / "lists"


def _parse(name: str) -> list[curated.CuratedEntry]:
    return curated.parse((LISTS / name).read_text(encoding="utf-8"), name)


@pytest.mark.parametrize(
    ("name", "distinct"),
    [
        ("dl-papers-and-resources.md", 164),
        ("implemented-dl-papers.md", 22),
        ("wtf-is-deep-learning.md", 57),
    ],
)
def test_distinct_arxiv_ids_per_list(name: str, distinct: int) -> None:
    """Each bundled list yields the independently counted number of distinct arXiv ids."""
    entries = _parse(name)
    assert len({e.arxiv_id for e in entries if e.arxiv_id}) == distinct
    assert all(e.title.strip() for e in entries)
    assert all(e.source == name for e in entries)


def _entry(name: str, arxiv_id: str) -> curated.CuratedEntry:
    return next(e for e in _parse(name) if e.arxiv_id == arxiv_id)


def test_sections_of_known_entries() -> None:
    """Entries sit under their heading path, and under the group line in the weekly list."""
    medical = _entry("dl-papers-and-resources.md", "1804.08414")
    assert "Applications: Medical Imaging" in medical.section
    assert medical.title.startswith("Abdominal multi-organ segmentation")
    assert medical.year == 2018 and not medical.title.endswith("(2018)")
    assert "Semi Supervised" in _entry("dl-papers-and-resources.md", "1905.02249").section
    weekly = _entry("wtf-is-deep-learning.md", "1907.07034")
    assert weekly.section[-1] == "Biomedical Segmentation/Classification + Limited Annotation Techniques"
    assert weekly.venue == "MICCAI" and weekly.year == 2019


def test_title_drops_year_prefix_and_bold_tag() -> None:
    """`[2019 - **[MixMatch]**: Title](url)` becomes "MixMatch: Title" with year 2019."""
    entry = _entry("dl-papers-and-resources.md", "1905.02249")
    assert entry.title == "MixMatch: A Holistic Approach to Semi-Supervised Learning"
    assert entry.year == 2019
    assert "https://arxiv.org/abs/1905.02249" in entry.urls


def test_inline_abstract_and_quotes_are_kept() -> None:
    """`<sub>` abstracts and `>` quotes after an entry become its text."""
    vgg = _entry("dl-papers-and-resources.md", "1409.1556")
    assert vgg.text.startswith("In this work we investigate the effect")
    best = _entry("dl-papers-and-resources.md", "1907.13236")
    assert "Recognizing unseen objects" in best.text


def test_numbered_entries_take_id_from_citation_and_paper_link() -> None:
    """`**[N]** Name` entries get the [Paper] URL, the arXiv id, the year and the citation."""
    vgg = _entry("implemented-dl-papers.md", "1409.1556")
    assert vgg.title.startswith("VGG Net")
    assert vgg.year == 2014
    assert "arXiv:1409.1556" in vgg.text
    wgan = _entry("implemented-dl-papers.md", "1701.07875")
    assert wgan.urls[0].startswith("https://arxiv.org/pdf/1701.07875.pdf")


def test_entries_without_arxiv_id_are_kept() -> None:
    """A paper linked elsewhere (NIPS proceedings) is still an entry, with no id."""
    alexnet = [e for e in _parse("implemented-dl-papers.md") if e.title.startswith("Alex Net")]
    assert alexnet and alexnet[0].arxiv_id is None


def test_toc_badges_and_resources_are_not_entries() -> None:
    """Anchor links, badge images and resource links (GitHub, videos) make no entries."""
    titles = {
        e.title for name in ("dl-papers-and-resources.md", "wtf-is-deep-learning.md") for e in _parse(name)
    }
    assert "Models" not in titles and "Segmentation" not in titles
    assert not any(
        url.startswith("#")
        for name in ("dl-papers-and-resources.md",)
        for e in _parse(name)
        for url in e.urls
    )
    assert "Patrick Liu" not in titles
    assert "Checked" not in titles


def test_bare_title_line_above_bare_url() -> None:
    """A plain title line followed by a plain URL is one entry with that URL."""
    text = "# Applications\n\nLow-dose X-ray tomography\nhttps://www.nature.com/articles/x\n"
    [entry] = curated.parse(text, "mini.md")
    assert entry.title == "Low-dose X-ray tomography"
    assert entry.urls == ("https://www.nature.com/articles/x",)
    assert entry.section == ("Applications",)


def test_group_line_resets_at_next_heading() -> None:
    """The group line applies to its bullet list only until the next heading."""
    text = (
        "### Wk1 - 2020.01.01\nBiomedical Segmentation\n* [A](https://arxiv.org/abs/2001.00001)\n"
        "### Wk2\n* [B](https://arxiv.org/abs/2001.00002) <kbd>CVPR 2020</kbd>\n"
    )
    first, second = curated.parse(text, "w.md")
    assert first.section == ("Wk1 - 2020.01.01", "Biomedical Segmentation")
    assert second.section == ("Wk2",)
    assert (second.venue, second.year) == ("CVPR", 2020)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://arxiv.org/abs/1505.04597", "1505.04597"),
        ("https://arxiv.org/abs/1709.07330v3", "1709.07330"),
        ("https://arxiv.org/pdf/1409.1556.pdf", "1409.1556"),
        ("https://arxiv.org/pdf/1409.1556v2.pdf", "1409.1556"),
        ("http://arxiv.org/pdf/1602.07360", "1602.07360"),
        ("https://www.arxiv.org/abs/2411.17735", "2411.17735"),
        ("http://export.arxiv.org/abs/2411.17735v1", "2411.17735"),
        ("https://arxiv.org/pdf/1511.06434.pdf%C3", "1511.06434"),
        ("https://arxiv.org/pdf/1312.6114.pdf?source=post_page---", "1312.6114"),
        ("arXiv preprint arXiv:1701.07875 (2017)", "1701.07875"),
        ("arXiv: 2001.07685v2", "2001.07685"),
        ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
        ("https://arxiv.org/abs/math.GT/0309136", "math/0309136"),
        ("arXiv:math.GT/0309136v1", "math/0309136"),
        ("cs.SE/0001001", "cs/0001001"),
        ("http://arxiv.org/abs/math.gt/0309136", "math/0309136"),
        ("2101.00001", "2101.00001"),
        ("https://example.org/paper.pdf", None),
        ("see 1234", None),
    ],
)
def test_normalize_arxiv_id(text: str, expected: str | None) -> None:
    """Ids come out without version from every URL and citation form, junk ignored."""
    assert curated.normalize_arxiv_id(text) == expected
