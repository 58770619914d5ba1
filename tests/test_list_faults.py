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
