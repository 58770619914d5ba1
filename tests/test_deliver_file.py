"""File delivery: the digest's formats written atomically into a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arxivwatch.deliver import file
from arxivwatch.errors import DeliveryError
from arxivwatch.render import render
from digest_samples import sample_digest


def test_write_names_files_by_period(tmp_path: Path) -> None:
    """write() puts digest-<period>-<start>.{html,txt,md,json} in the folder, with the contents."""
    d = sample_digest("file")
    message = render(d)
    receipt = file.write(message, d, tmp_path / "out")
    stem = tmp_path / "out" / "digest-week-2024-11-22"
    assert (stem.with_suffix(".html")).read_text(encoding="utf-8") == message.html
    assert (stem.with_suffix(".txt")).read_text(encoding="utf-8") == message.text
    assert (stem.with_suffix(".md")).read_text(encoding="utf-8") == message.markdown
    assert json.loads(stem.with_suffix(".json").read_text(encoding="utf-8")) == list(message.slack)
    assert receipt.channel == "file" and receipt.digest_key == d.key
    assert str(stem.with_suffix(".html")) in receipt.detail


def test_write_files_uses_the_demo_names(tmp_path: Path) -> None:
    """write_files() writes exactly digest.html, digest.txt, digest.md and slack.json."""
    paths = file.write_files(render(sample_digest()), tmp_path)
    assert sorted(p.name for p in paths) == ["digest.html", "digest.md", "digest.txt", "slack.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_rewrite_replaces_without_leaving_temporary_files(tmp_path: Path) -> None:
    """Writing twice replaces the files and leaves no temporary file behind."""
    (tmp_path / "digest.txt").write_text("old")
    file.write_files(render(sample_digest()), tmp_path)
    file.write_files(render(sample_digest()), tmp_path)
    text = (tmp_path / "digest.txt").read_text(encoding="utf-8")
    assert text.startswith("arxivwatch \u00b7 22\u201328 November 2024")
    assert len(list(tmp_path.iterdir())) == 4


def test_unwritable_folder_is_a_delivery_error(tmp_path: Path) -> None:
    """A folder that cannot be created fails with one line naming it."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(DeliveryError, match="cannot write the digest") as caught:
        file.write_files(render(sample_digest()), blocker / "digest")
    assert "\n" not in str(caught.value)
