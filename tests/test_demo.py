"""The offline demo: the whole train -> score -> select -> render path on the bundled data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_writes_four_files_and_prints_a_ranked_table(tmp_path: Path) -> None:
    """`arxivwatch demo --out DIR` works with no configuration and no network and writes every format."""
    out = tmp_path / "digest"
    result = subprocess.run(
        [sys.executable, "-m", "arxivwatch", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    for name in ("digest.html", "digest.txt", "digest.md", "slack.json"):
        assert (out / name).stat().st_size > 200, name
    headings = [line.split(" (")[0] for line in result.stdout.splitlines() if line.rstrip().endswith(")")]
    assert headings == ["Medical imaging", "Segmentation", "Semi-supervised and label-efficient learning"]
    assert "2024-11-28" in result.stdout
    payloads = json.loads((out / "slack.json").read_text(encoding="utf-8"))
    assert payloads and all("text" in p and len(p["blocks"]) <= 50 for p in payloads)
    html = (out / "digest.html").read_text(encoding="utf-8")
    assert "https://arxiv.org/abs/" in html


def test_demo_ranks_a_segmentation_paper_first_for_segmentation(tmp_path: Path) -> None:
    """The top segmentation pick of the real 2024-11-28 feed has 'segment' in its title or abstract."""
    from arxivwatch.jobs import learn

    with (tmp_path / "out.txt").open("w") as printed:
        digest = learn.demo(tmp_path / "d", out=printed)
    section = next(s for s in digest.sections if s.profile.name == "segmentation")
    assert section.items, "the feed of that day has segmentation papers"
    top = section.items[0].paper
    assert "segment" in (top.title + top.abstract).lower()
    assert digest.scanned == 274  # the new and cross items of that day


def test_demo_keeps_the_default_digest_size(tmp_path: Path) -> None:
    """Each profile of the demo digest holds at most the default top_n (10) papers."""
    from arxivwatch.jobs import learn

    with (tmp_path / "out.txt").open("w") as printed:
        digest = learn.demo(tmp_path / "d", out=printed)
    assert all(0 < len(s.items) <= 10 for s in digest.sections)
