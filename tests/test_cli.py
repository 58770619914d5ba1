"""The command line as a user meets it: help, fast start, and one-line errors with the right exit code."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from arxivwatch.cli import build_parser, main
from conftest import CliRunner

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ["demo", "train", "poll", "digest", "run", "score", "lists show", "status"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command prints a real description under --help and is documented in README.md."""
    with pytest.raises(SystemExit) as info:
        main([*command.split(), "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"arxivwatch {command}" in out
    assert len(out.split("options:")[0]) > 120, "the help should explain the command"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"arxivwatch {command}" in readme


def test_parser_knows_exactly_the_documented_commands() -> None:
    """No command exists that the test above does not check."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted({c.split()[0] for c in COMMANDS})  # type: ignore[arg-type]


def test_help_imports_no_heavy_library() -> None:
    """`arxivwatch --help` loads none of scikit-learn, Jinja2, APScheduler or slack-sdk."""
    code = (
        "import sys\n"
        "from arxivwatch.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sklearn', 'jinja2', 'apscheduler', 'slack_sdk', 'numpy', 'scipy') "
        "if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "HEAVY=\n" in result.stdout


def test_usage_mistake_is_one_line_exit_2(cli: CliRunner) -> None:
    """An unknown option is a single 'Error:' line with exit code 2, not a usage dump or traceback."""
    result = cli("poll", "--since", "yesterday")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: arxivwatch poll: argument --since")


def test_broken_config_file_is_one_line_exit_2(tmp_path: Path, cli: CliRunner) -> None:
    """A config file with an unknown key fails any command with exit 2 and one line naming the key."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[digest]\ntop_m = 5\n")
    result = cli("status", "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: {bad}: unknown key [digest] top_m; the keys of [digest] are "
        "period, top_n, min_score, send_empty, templates, folder, flag_updated, horizon_days"
    ]
    assert "Traceback" not in result.stderr


def test_unknown_profile_is_one_line_exit_2(tmp_path: Path, cli: CliRunner) -> None:
    """Asking for a profile that does not exist names it, exit 2."""
    result = cli("demo", "--out", str(tmp_path / "d"), "--profile", "astrophysics")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "astrophysics" in lines[0] and lines[0].startswith("Error: ")


def test_missing_list_file_is_one_line_exit_2(
    tmp_path: Path, write_config: Callable[[str], Path], cli: CliRunner
) -> None:
    """`lists show` and `train --list` on a missing file: exit 2 and one line naming the file."""
    cfg = write_config("")
    missing = tmp_path / "no-such-list.md"
    for args in (("lists", "show", str(missing)), ("train", "--offline", "--list", str(missing))):
        result = cli(*args, "--config", str(cfg))
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no-such-list.md" in lines[0], lines


def test_no_model_is_one_line_exit_1(write_config: Callable[[str], Path], cli: CliRunner) -> None:
    """Scoring before any training says to run `arxivwatch train`, exit 1, no traceback."""
    result = cli("score", "--config", str(write_config("")), stdin='{"id": "1", "title": "x"}\n')
    assert result.returncode == 1
    assert "arxivwatch train" in result.stderr
    assert "Traceback" not in result.stderr


def test_lists_show_prints_one_json_entry_per_line(
    write_config: Callable[[str], Path], cli: CliRunner
) -> None:
    """`lists show` on a bundled list prints JSON lines with the contract's keys; 164 distinct ids."""
    import json

    import arxivwatch

    path = Path(arxivwatch.__file__).parent / "data" / "lists" / "dl-papers-and-resources.md"
    result = cli("lists", "show", str(path), "--config", str(write_config("")))
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"arxiv_id", "title", "urls", "year", "section", "text", "source"} <= set(entries[0])
    assert len({e["arxiv_id"] for e in entries if e["arxiv_id"]}) == 164
    unet = next(e for e in entries if e["arxiv_id"] == "1505.04597")
    assert unet["title"].lower().startswith("u-net: convolutional networks")
