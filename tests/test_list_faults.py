"""Faults found by trying curated lists as users write them: each case pins the right entry."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from arxivwatch import curated, lists
from arxivwatch.errors import ListError


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


def test_a_local_list_larger_than_the_cap_is_refused_in_one_line(tmp_path: Path) -> None:
    """A local file over lists.MAX_BYTES is a ListError naming its size, not minutes of parsing."""
    big = tmp_path / "huge.md"
    line = "- [A Paper Title About Segmentation](https://arxiv.org/abs/2101.00001)\n"
    big.write_text("# Huge\n\n" + line * (lists.MAX_BYTES // len(line) + 10), encoding="utf-8")
    with pytest.raises(ListError, match=r"huge\.md is larger than 5 MB"):
        lists.load(str(big), cache_dir=tmp_path)


def test_a_local_list_with_crlf_reads_as_before(tmp_path: Path) -> None:
    """A CRLF file gives the same text (and digest) as its LF twin, as universal newlines did."""
    text = "# Papers\n\n- [A Paper Title About Segmentation](https://arxiv.org/abs/2101.00001)\n"
    (tmp_path / "lf.md").write_bytes(text.encode())
    (tmp_path / "crlf.md").write_bytes(text.replace("\n", "\r\n").encode())
    lf, crlf = (lists.load(str(tmp_path / n), cache_dir=tmp_path) for n in ("lf.md", "crlf.md"))
    assert crlf.text == lf.text == text
    assert crlf.sha256 == lf.sha256


class _Endless(BaseHTTPRequestHandler):
    """Streams list text for up to 20 s: a server that never stops sending."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        deadline = time.monotonic() + 20
        chunk = b"- [A Paper Title About Segmentation](https://arxiv.org/abs/2101.00001)\n" * 1000
        try:
            while time.monotonic() < deadline:
                self.wfile.write(chunk)
        except OSError:
            pass  # the client hung up, as it should

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


def test_a_fetched_list_stops_reading_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A URL whose body passes MAX_BYTES is abandoned as soon as it does, and falls back with an error."""
    monkeypatch.setattr(lists, "MAX_BYTES", 200_000)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        start = time.monotonic()
        with pytest.raises(ListError, match="larger than 200000 bytes"):
            lists.load(f"http://127.0.0.1:{httpd.server_address[1]}/big.md", cache_dir=tmp_path)
        assert time.monotonic() - start < 5
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "text",
    [
        "ICLR 2024 (Oral)",
        "ECCV 2022 (oral)",
        "AAAI-24",
        "CVPR-2023",
        "ICCV 2023 Best Paper",
        "NeurIPS 2023 Datasets and Benchmarks",
        "Nature Communications 2024",
        "Medical Image Analysis",
        "IEEE TMI",
        "IEEE TPAMI 2023",
        "Tech Report",
        "Download PDF",
        "abs",
        "ArXiv Preprint",
        "alphaXiv",
        "Full Paper",
        "Read the paper",
        "[CVPR 2024]",
    ],
)
def test_venues_with_tags_and_more_decorations_are_not_titles(text: str) -> None:
    """Venue link texts with a track, award or hyphenated year, and journal names, are not titles."""
    assert not curated.is_real_title(text)


@pytest.mark.parametrize(
    "text",
    ["Science", "Nature-Inspired Optimisation for Segmentation", "Pattern Recognition Networks", "SAM 2"],
)
def test_titles_near_venue_names_stay_titles(text: str) -> None:
    """Titles that only start like a venue, or are short model names, are still titles."""
    assert curated.is_real_title(text) == (text != "Science")


def test_a_venue_link_after_a_plain_title_does_not_become_the_title() -> None:
    """`Title [ICLR 2024 (Oral)](arxiv)`: the plain text before the venue link is the title."""
    text = (
        "# SAM\n\n"
        "- Segment Anything in Medical Images [Nature Communications 2024](https://arxiv.org/abs/2304.12306)"
        " [code](https://github.com/bowang-lab/MedSAM)\n"
        "- Personalize Segment Anything Model with One Shot [ICLR 2024 (Oral)](https://arxiv.org/abs/2305.03048)\n"
        "- Track Anything: Segment Anything Meets Videos. [AAAI-24](https://arxiv.org/abs/2304.11968)\n"
        "- Fast Segment Anything. [Tech Report](https://arxiv.org/abs/2306.12156)\n"
    )
    titles = _entries(text)
    assert titles["2304.12306"] == ["Segment Anything in Medical Images"]
    assert titles["2305.03048"] == ["Personalize Segment Anything Model with One Shot"]
    assert titles["2304.11968"] == ["Track Anything: Segment Anything Meets Videos"]
    assert titles["2306.12156"] == ["Fast Segment Anything"]


def test_a_venue_tag_before_or_after_the_title_is_not_part_of_it() -> None:
    """`[CVPR 2024] Title`, `(CVPR 2024) Title`, `【CVPR 2024】Title` and `Title (CVPR 2024)` give Title."""
    text = (
        "# Tags\n\n"
        "- (CVPR 2024) Rethinking Interactive Segmentation. [[paper]](https://arxiv.org/abs/2312.00001)\n"
        "- [CVPR 2024] Open-Vocabulary Segmentation with Calibration. [[paper]](https://arxiv.org/abs/2312.00002)\n"
        "- 【CVPR 2024】Masked-attention Mask Transformer. [[paper]](https://arxiv.org/abs/2312.00003)\n"
        "- [Efficient Video Object Segmentation (ECCV 2022)](https://arxiv.org/abs/2312.00004)\n"
        "- [2023] Deep Segmentation Networks Revisited. [[paper]](https://arxiv.org/abs/2312.00005)\n"
    )
    titles = _entries(text)
    assert titles["2312.00001"] == ["Rethinking Interactive Segmentation"]
    assert titles["2312.00002"] == ["Open-Vocabulary Segmentation with Calibration"]
    assert titles["2312.00003"] == ["Masked-attention Mask Transformer"]
    assert titles["2312.00004"] == ["Efficient Video Object Segmentation"]
    assert titles["2312.00005"] == ["Deep Segmentation Networks Revisited"]


def test_bench_lists_reports_an_unreadable_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bench/lists.py names a non-UTF-8 file and fails (exit 1) instead of a traceback."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_lists", Path(__file__).parents[1] / "bench" / "lists.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    (tmp_path / "a-good.md").write_text("# P\n\n- [A Real Paper Title](https://arxiv.org/abs/2101.00001)\n")
    (tmp_path / "b-bad.md").write_bytes(b"\xff\xfe\x00 not utf-8")
    assert bench.main([str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "| a-good.md | 1 | 1 | 100.0% |" in out
    assert "cannot read" in err and "b-bad.md" in err


def test_no_entries_error_counts_one_skipped_line_in_the_singular(tmp_path: Path) -> None:
    """The exit-2 message of a list with one skipped line says "1 line mentions", not "1 lines mention"."""
    from arxivwatch.jobs.learn import _require_entries

    path = tmp_path / "one.md"
    path.write_text("# P\n\n[pdf](https://arxiv.org/abs/2101.00001)\n")
    loaded = lists.load(str(path), cache_dir=tmp_path)
    with pytest.raises(ListError, match=r"\(1 line mentions a paper but gave none\)"):
        _require_entries(loaded, curated.read(loaded.text, loaded.source))


def test_author_first_citations_take_the_sentence_after_the_authors() -> None:
    """`Smith, J., Doe, K. (2019). Title. arXiv:ID` (APA style) is titled by the title, not the authors."""
    text = (
        "# Refs\n\n"
        "1. Smith, J., Doe, K. (2019). Learning Deep Features for Segmentation. arXiv:1902.00002.\n"
        "2. Hinton, G. E. (2015). Distilling the Knowledge in a Neural Network. arXiv:1503.02531\n"
    )
    titles = _entries(text)
    assert titles["1902.00002"] == ["Learning Deep Features for Segmentation"]
    assert titles["1503.02531"] == ["Distilling the Knowledge in a Neural Network"]


def test_a_title_ending_in_a_quoted_word_keeps_its_closing_quote() -> None:
    """`**CAMixerSR: Only Details Need More "Attention"**` keeps both quotes; outer quotes still go."""
    text = (
        "# SR\n\n"
        '**CAMixerSR: Only Details Need More "Attention"**\n\n'
        "- Paper: https://arxiv.org/abs/2402.19289\n\n"
        '- "Attention Is All You Need." [pdf](https://arxiv.org/abs/1706.03762)\n'
    )
    titles = _entries(text)
    assert titles["2402.19289"] == ['CAMixerSR: Only Details Need More "Attention"']
    assert titles["1706.03762"] == ["Attention Is All You Need"]


def test_a_plain_citation_in_a_table_cell_is_an_entry() -> None:
    """`| 2015 | Title. Liu et al. arXiv:ID |`: the cell's first sentence is the title (it gave no entry)."""
    text = (
        "# Faces\n\n| Year | Reference |\n|---|---|\n"
        "| 2015 | Deep Learning Face Attributes in the Wild. Liu et al. arXiv:1411.7766 |\n"
    )
    assert _entries(text) == {"1411.7766": ["Deep Learning Face Attributes in the Wild"]}


def test_papers_with_code_ids_never_take_an_earlier_entrys_title() -> None:
    """A plain or italic title line above `- Paper: URL` titles it; the bold title further up does not."""
    text = (
        "# CVPR\n\n"
        "**Rethinking Interactive Image Segmentation**\n\n"
        "- Paper: https://arxiv.org/abs/2401.00001\n- Code: https://github.com/a/b\n\n"
        "Open-Vocabulary Segmentation with Calibration\n\n"
        "- Paper: https://arxiv.org/abs/2401.00002\n- Code: None\n\n"
        "*Masked-attention Mask Transformer*\n\n"
        "- Paper: https://arxiv.org/abs/2401.00003\n\n"
        "Some words about the next paper, which the authors explain at length here. See below.\n\n"
        "- Paper: https://arxiv.org/abs/2401.00004\n"
    )
    reading = curated.read(text, "pwc.md")
    titles = _entries(text)
    assert titles["2401.00001"] == ["Rethinking Interactive Image Segmentation"]
    assert titles["2401.00002"] == ["Open-Vocabulary Segmentation with Calibration"]
    assert titles["2401.00003"] == ["Masked-attention Mask Transformer"]
    assert "2401.00004" not in titles  # no title to give it: reported, not mislabelled
    assert reading.skipped == (19,)


def test_an_html_heading_starts_a_section() -> None:
    """`<h2 align="center">Semi-Supervised</h2>` is a heading: the entries below are in its section."""
    text = (
        "# Medical Imaging\n\n## Segmentation\n\n"
        "- [U-Net: Convolutional Networks for Biomedical Image Segmentation](https://arxiv.org/abs/1505.04597)\n\n"
        '<h2 align="center"><b>Semi-Supervised</b></h2>\n\n'
        "- [MixMatch: A Holistic Approach to Semi-Supervised Learning](https://arxiv.org/abs/1905.02249)\n"
    )
    sections = {e.arxiv_id: e.section for e in curated.parse(text, "h.md")}
    assert sections["1505.04597"] == ("Medical Imaging", "Segmentation")
    assert sections["1905.02249"] == ("Medical Imaging", "Semi-Supervised")


def test_a_bracketed_reference_number_is_not_part_of_the_title() -> None:
    """`[[5]] Title. Authors. arXiv:ID` and an empty `[ ]` left by a reference link give the bare title."""
    text = (
        "# Refs\n\n"
        "- [[5]] Aggregated Residual Transformations. Xie et al. arXiv:1611.05431\n"
        "- [[1]] Numbered Reference Paper Title. Lee et al. arXiv:2002.00006\n\n"
        "[1]: https://arxiv.org/abs/2002.00006\n"
    )
    titles = _entries(text)
    assert titles["1611.05431"] == ["Aggregated Residual Transformations"]
    assert titles["2002.00006"] == ["Numbered Reference Paper Title"]


def test_bench_run_exits_1_naming_a_part_that_could_not_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """bench/run.py's exit status is 1, with a NOT RUN line, when a part (ranking quality) could not run."""
    import importlib.util
    import sys

    folder = Path(__file__).parents[1] / "bench"
    monkeypatch.syspath_prepend(str(folder))
    spec = importlib.util.spec_from_file_location("bench_run", folder / "run.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_run", bench)  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    assert bench.exit_status([], sys.stdout) == 0
    assert capsys.readouterr().out == ""
    assert (
        bench.exit_status(["ranking quality (bench/quality.py failed: MissingEmbeddings: x)"], sys.stdout)
        == 1
    )
    assert (
        capsys.readouterr().out
        == "NOT RUN: ranking quality (bench/quality.py failed: MissingEmbeddings: x)\n"
    )
