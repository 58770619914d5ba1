"""Curated lists as people write them: one small fixture per layout, every arXiv link spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from arxivwatch import curated

LAYOUTS = Path(__file__).parent / "data" / "layouts"


def _read(name: str) -> curated.ListReading:
    return curated.read((LAYOUTS / name).read_text(encoding="utf-8"), name)


def _titles(name: str) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for entry in _read(name).entries:
        found.setdefault(entry.arxiv_id, []).append(entry.title)
    return found


def test_gfm_tables_title_cell_and_venue_link_cell() -> None:
    """A bold-link title cell after a badge, and a plain title cell whose id sits in a venue link."""
    titles = _titles("gfm-table.md")
    assert titles["2304.08485"] == ["Visual Instruction Tuning"]
    assert titles["2310.03744"] == ["Improved Baselines with Visual Instruction Tuning"]
    assert titles["2108.10257"] == ["SwinIR: Image Restoration Using Swin Transformer"]
    assert titles["2107.10833"] == [
        "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic Data"
    ]
    assert None not in titles  # a blog row links no paper page
    swin = next(e for e in _read("gfm-table.md").entries if e.arxiv_id == "2108.10257")
    assert swin.section == ("Awesome Vision-Language Models", "Super-Resolution")
    assert "https://github.com/JingyunLiang/SwinIR" in swin.urls


def test_table_group_rows_extend_the_section() -> None:
    """A row with one bold cell and no link names the group of the rows below it in their section."""
    entries = {e.arxiv_id: e for e in _read("gfm-table.md").entries}
    base = ("Awesome Vision-Language Models", "Grouped")
    assert entries["2006.11239"].section == (*base, "Diffusion")
    assert entries["1706.03762"].section == (*base, "Transformers")
    assert entries["1706.03762"].title == "Attention Is All You Need"


def test_papers_with_code_blocks_take_the_bold_line_above() -> None:
    """`**Title**` then `- arxiv: [url](url)` or `- Paper: url` lines: an entry per id, titled in bold."""
    titles = _titles("papers-with-code.md")
    assert titles["1411.4038"] == ["Fully Convolutional Networks for Semantic Segmentation"]
    assert titles["1605.06211"] == ["Fully Convolutional Networks for Semantic Segmentation"]
    assert titles["1612.01105"] == ["Pyramid Scene Parsing Network"]
    assert titles[None] == ["Conditional Random Fields as Recurrent Neural Networks"]


def test_inline_and_block_html() -> None:
    """`<p>` blocks with `<a><strong>Title</strong></a>`, `<table>` rows with a rowspan, `<details>`."""
    titles = _titles("html-blocks.md")
    assert titles["2503.11651"] == ["VGGT: Visual Geometry Grounded Transformer"]
    assert titles["1910.10683"] == ["T5"]  # the "model" column, though a rowspan cell comes first
    assert titles["2010.11934"] == ["mT5"]
    assert titles["2005.14165"] == ["Language Models are Few-Shot Learners"]
    vggt = next(e for e in _read("html-blocks.md").entries if e.arxiv_id == "2503.11651")
    assert vggt.section == ("Top CVPR Papers", "3d vision")


def test_plain_citations_numbered_and_reference_links() -> None:
    """`N. Title. Authors. arXiv:ID`, reference-style links and `"**Title**." arXiv preprint` citations."""
    titles = _titles("citations.md")
    assert titles["1503.02531"] == ["Distilling the knowledge in a neural network"]
    assert titles["2011.00809"] == [
        "Data-free Knowledge Distillation for Segmentation using Data-Enriching GAN"
    ]
    assert titles["1412.6550"] == ["FitNets: Hints for Thin Deep Nets"]
    assert titles["1409.1556"] == ["Very deep convolutional networks for large-scale image recognition"]
    assert titles[None] == ["Generative adversarial nets"]  # a NeurIPS proceedings link: title only


def test_nested_author_first_citations_and_title_sentence_bullets() -> None:
    """A title may link a publisher while the id sits in a trailing [PDF]; sub-bullets are entries."""
    reading = _read("nested-bullets.md")
    titles = _titles("nested-bullets.md")
    assert titles["2203.14672"] == ["Are High-Resolution Cameras Really Needed?"]
    assert titles["2309.05450"] == [
        "A Comparison Between Framed-Based and Event-Based Cameras for Flapping-Wing Robot Perception"
    ]
    assert titles[None] == ["Event Camera Based Eye Motion Analysis: A Survey"]
    assert titles["1803.07728"] == ["Unsupervised Representation Learning by Predicting Image Rotations"]
    rotation = next(e for e in reading.entries if e.arxiv_id == "1803.07728")
    assert rotation.section == ("Event-based Vision", "Self-Supervised", "2018")


def test_bold_title_blocks_and_numbered_bold_titles() -> None:
    """`**Title** <br>` blocks, `1. **Title.** Venue. [paper](url)`; Springer, OpenReview: title only."""
    reading = _read("bold-blocks.md")
    titles = _titles("bold-blocks.md")
    assert titles["2102.04306"] == [
        "TransUNet: Transformers Make Strong Encoders for Medical Image Segmentation"
    ]
    assert titles["1609.02907"] == ["Semi-Supervised Classification with Graph Convolutional Networks"]
    assert titles[None] == [
        "Medical Transformer: Gated Axial-Attention for Medical Image Segmentation",
        "Graph Attention Networks",
    ]
    assert reading.skipped == ()


@pytest.mark.parametrize(
    "name", ["gfm-table.md", "papers-with-code.md", "html-blocks.md", "citations.md", "nested-bullets.md"]
)
def test_every_mentioned_id_is_recovered_with_a_title(name: str) -> None:
    """Every arXiv id a fixture mentions comes back as an entry whose title is a real title."""
    reading = _read(name)
    assert reading.mentioned
    assert reading.recovered == reading.mentioned
    assert all(curated.is_real_title(e.title) for e in reading.entries)
    assert reading.skipped == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://arxiv.org/abs/arXiv:2301.01234", "2301.01234"),
        ("https://arxiv.org/html/2301.01234v3", "2301.01234"),
        ("https://browse.arxiv.org/abs/2301.01234", "2301.01234"),
        ("https://huggingface.co/papers/2301.01234", "2301.01234"),
        ("https://www.alphaxiv.org/abs/2301.01234", "2301.01234"),
        ("https://doi.org/10.48550/arXiv.2301.01234", "2301.01234"),
        ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
        ("arXiv:hep-th/9901001", "hep-th/9901001"),
        ("Title. Authors. Venue 2023. arXiv:2301.01234", "2301.01234"),
        ("https://arxiv.org/pdf/2301.012345", None),  # six digits: not an id
    ],
)
def test_every_link_spelling_gives_the_id(text: str, expected: str | None) -> None:
    """Each spelling of an arXiv link or citation people use normalises to the bare id."""
    assert curated.normalize_arxiv_id(text) == expected


def test_link_spellings_in_a_list_become_entries() -> None:
    """A bullet list linking papers by each spelling yields their ids, titled by the link text."""
    spellings = [
        "https://arxiv.org/abs/arXiv:2301.00001",
        "https://arxiv.org/html/2301.00002v1",
        "https://browse.arxiv.org/abs/2301.00003",
        "https://huggingface.co/papers/2301.00004",
        "https://www.alphaxiv.org/abs/2301.00005",
        "https://doi.org/10.48550/arXiv.2301.00006",
        "https://arxiv.org/abs/hep-th/9901001v2",
    ]
    text = "# Papers\n\n" + "".join(f"- [Paper number {n} on topics]({u})\n" for n, u in enumerate(spellings))
    entries = curated.parse(text, "spellings.md")
    assert [e.arxiv_id for e in entries] == [
        "2301.00001",
        "2301.00002",
        "2301.00003",
        "2301.00004",
        "2301.00005",
        "2301.00006",
        "hep-th/9901001",
    ]
    assert [e.title for e in entries] == [f"Paper number {n} on topics" for n in range(len(spellings))]


@pytest.mark.parametrize(
    "text", ["arXiv", "[pdf]", "Paper", "code", "CVPR 2025", "AAAI25", "https://x.org/a"]
)
def test_decorations_and_venues_are_not_titles(text: str) -> None:
    """A link text that decorates an entry, a venue or a URL is never taken as a title."""
    assert not curated.is_real_title(text)


def test_partly_recognised_list_names_the_lines_it_skipped() -> None:
    """A line citing an id with no title to give it is counted, and its number shown when verbose."""
    text = "# Papers\n\n- [A Real Paper Title](https://arxiv.org/abs/2301.00001)\n\n[pdf](https://arxiv.org/abs/2301.00002)\n"
    reading = curated.read(text, "partly.md")
    assert [e.arxiv_id for e in reading.entries] == ["2301.00001"]
    assert reading.skipped == (5,)
    assert reading.summary().startswith(
        "1 entries: 1 with an arXiv id, 0 without (title only); 1 line mentions"
    )
    assert reading.summary(verbose=True).endswith("lines 5")
