"""Deployment files read true: the systemd unit and the README's snippet, and what git ignores."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "arxivwatch.service"


def _readme_unit_snippet() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^```ini\n(.*?)^```$", readme, re.DOTALL | re.MULTILINE)
    assert found, "the README shows the unit's [Service] section in an ini block"
    return found.group(1)


def _trailing_comments(unit_text: str) -> list[str]:
    """Lines where a `#` follows a value: systemd would read it as part of the value."""
    lines = []
    for line in unit_text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";", "[")):
            continue
        _, _, value = stripped.partition("=")
        if re.search(r"\s[#;]", value):
            lines.append(line)
    return lines


@pytest.mark.parametrize("source", ["deploy/arxivwatch.service", "README.md"])
def test_unit_has_no_trailing_comments(source: str) -> None:
    """No value in the unit file or the README's snippet is followed by a `# ...` comment."""
    text = UNIT.read_text(encoding="utf-8") if source.endswith(".service") else _readme_unit_snippet()
    assert "ExecStart=" in text
    assert _trailing_comments(text) == []


def test_trailing_comment_check_finds_the_reported_case() -> None:
    """The check catches `EnvironmentFile=/etc/x.env      # secrets`, the case the README had."""
    assert _trailing_comments("[Service]\nEnvironmentFile=/etc/x.env      # secrets\n# fine\nUser=a\n") == [
        "EnvironmentFile=/etc/x.env      # secrets"
    ]


def test_verify_script_refuses_a_trailing_comment_systemd_analyze_misses(tmp_path: Path) -> None:
    """deploy/verify-unit.sh exits 1 on `EnvironmentFile=... # secrets`, which systemd-analyze accepts."""
    (tmp_path / "deploy").mkdir()
    shutil.copy(REPO / "deploy" / "verify-unit.sh", tmp_path / "deploy" / "verify-unit.sh")
    unit = UNIT.read_text(encoding="utf-8")
    (tmp_path / "deploy" / "arxivwatch.service").write_text(unit, encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    bad = "EnvironmentFile=/etc/arxivwatch/arxivwatch.env   # secrets"
    (tmp_path / "README.md").write_text(
        readme.replace("EnvironmentFile=/etc/arxivwatch/arxivwatch.env\n", bad + "\n", 1), encoding="utf-8"
    )
    result = subprocess.run(
        ["bash", str(tmp_path / "deploy" / "verify-unit.sh")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "README snippet:" in result.stderr and "# secrets" in result.stderr


def test_readme_snippet_matches_the_unit_file() -> None:
    """Every setting the README shows is the unit file's own (the snippet is an excerpt, not a variant)."""
    unit_lines = set(UNIT.read_text(encoding="utf-8").splitlines())
    settings = [x for x in _readme_unit_snippet().splitlines() if x and not x.startswith("#")]
    assert settings and all(x in unit_lines for x in settings), [x for x in settings if x not in unit_lines]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit_and_the_snippet() -> None:
    """`deploy/verify-unit.sh` (systemd-analyze verify) passes with no warning."""
    result = subprocess.run(
        ["bash", str(REPO / "deploy" / "verify-unit.sh")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_gitignore_covers_the_secrets_file() -> None:
    """The `arxivwatch.env` the README has you create is ignored by git; the example is not."""
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "arxivwatch.env", "deploy/arxivwatch.env.example"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.split() == ["arxivwatch.env"]
