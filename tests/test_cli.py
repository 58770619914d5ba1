"""The command line as a user meets it: help, fast start, and one-line errors with the right exit code."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from arxiv_server import EMPTY_FEED, ArxivServer, Reply, recorded
from arxivwatch.cli import build_parser, main
from conftest import CliRunner

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ["demo", "train", "poll", "digest", "run", "score", "lists show", "status", "prune"]


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
    """`lists show` and `train --list` on a missing file: exit 2, one line naming it, no foreign option."""
    cfg = write_config("")
    missing = tmp_path / "no-such-list.md"
    for args in (("lists", "show", str(missing)), ("train", "--offline", "--list", str(missing))):
        result = cli(*args, "--config", str(cfg))
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no-such-list.md" in lines[0], lines
        if args[0] == "lists":  # the hint names no option `lists show` lacks
            assert "--list" not in lines[0], lines


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


GLOBAL_OPTIONS = [
    (["--config", "x.toml"], "config", "x.toml"),
    (["--debug"], "debug", True),
    (["-v"], "verbose", True),
    (["--verbose"], "verbose", True),
    (["-q"], "quiet", True),
    (["--quiet"], "quiet", True),
]


@pytest.mark.parametrize(("option", "dest", "value"), GLOBAL_OPTIONS)
@pytest.mark.parametrize("command", ["status", "poll", "digest", "lists show x.md"])
def test_global_option_means_the_same_before_or_after_the_subcommand(
    option: list[str], dest: str, value: object, command: str
) -> None:
    """A global option given before the subcommand is not overwritten by the subcommand's default."""
    parser = build_parser()
    before = parser.parse_args([*option, *command.split()])
    after = parser.parse_args([*command.split(), *option])
    assert getattr(before, dest) == value
    assert getattr(after, dest) == value
    assert vars(before) == vars(after)


def test_global_options_default_when_not_given() -> None:
    """Without global options, the subcommand sees the defaults (no config, INFO level)."""
    args = build_parser().parse_args(["status"])
    assert (args.config, args.debug, args.verbose, args.quiet) == (None, False, False, False)


@pytest.mark.parametrize("position", ["before", "after"])
def test_config_option_is_used_in_either_position(position: str, tmp_path: Path, cli: CliRunner) -> None:
    """`--config missing.toml` is refused whether it comes before or after the subcommand."""
    option = ["--config", str(tmp_path / "nothere.toml")]
    args = [*option, "status"] if position == "before" else ["status", *option]
    result = cli(*args)
    assert result.returncode == 2
    assert "nothere.toml not found" in result.stderr


@pytest.mark.parametrize("position", ["before", "after"])
def test_quiet_option_silences_info_in_either_position(
    position: str,
    arxiv_server: ArxivServer,
    write_config: Callable[[str], Path],
    cli: CliRunner,
) -> None:
    """`-q` drops the INFO line of `poll` ("poll: announcement, ...") before or after the subcommand."""
    arxiv_server.script("rss", Reply(200, recorded(EMPTY_FEED), {"Content-Type": "application/rss+xml"}))
    text = f'[arxiv]\nfeed_url = "{arxiv_server.feed_url}"\napi_url = "{arxiv_server.api_url}"\n'
    cfg = ["--config", str(write_config(text + 'contact = "lab@example.org"\n'))]
    loud = cli("poll", *cfg, check=True)
    assert "INFO arxivwatch.poll: poll:" in loud.stderr
    quiet = cli(*(["-q", "poll", *cfg] if position == "before" else ["poll", *cfg, "-q"]), check=True)
    assert len(arxiv_server.requests_to("rss")) == 2, "both polls ran"
    assert "INFO" not in quiet.stderr


@pytest.mark.parametrize("flag", ["-v", "--verbose"])
@pytest.mark.parametrize("position", ["before", "after"])
def test_verbose_option_shows_debug_in_either_position(
    flag: str, position: str, write_config: Callable[[str], Path], cli: CliRunner
) -> None:
    """`-v` shows arxivwatch's DEBUG lines (where the configuration came from) in either position."""
    cfg = ["--config", str(write_config('[arxiv]\ncontact = "lab@example.org"\n'))]
    args = [flag, "status", *cfg] if position == "before" else ["status", *cfg, flag]
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    assert "DEBUG arxivwatch.config: configuration from" in result.stderr


@pytest.mark.parametrize(
    "args", [["-q", "status", "-v"], ["status", "--quiet", "--verbose"], ["-v", "-q", "status"]]
)
def test_quiet_and_verbose_together_is_one_usage_line(
    args: list[str], write_config: Callable[[str], Path], cli: CliRunner
) -> None:
    """-q and -v contradict each other: one line saying so, exit 2, in any position."""
    cfg = ["--config", str(write_config('[arxiv]\ncontact = "lab@example.org"\n'))]
    result = cli(*args, *cfg)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: arxivwatch: -q/--quiet and -v/--verbose together; give one of them"
    ]


@pytest.mark.parametrize("position", ["before", "after"])
def test_debug_option_shows_the_traceback_in_either_position(
    position: str, tmp_path: Path, cli: CliRunner
) -> None:
    """`--debug` adds the traceback above the one error line, before or after the subcommand."""
    option = ["--config", str(tmp_path / "nothere.toml")]
    args = ["--debug", "status", *option] if position == "before" else ["status", *option, "--debug"]
    result = cli(*args)
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("Error: config file")


def test_no_third_party_line_at_verbose(write_config: Callable[[str], Path], cli: CliRunner) -> None:
    """`train -v` logs no line of markdown_it, httpx or any other library: only arxivwatch's."""
    cfg = write_config('[arxiv]\ncontact = "lab@example.org"\n')
    result = cli("train", "--offline", "--config", str(cfg), "-v", check=True)
    lines = [line for line in result.stderr.splitlines() if " DEBUG " in line or " INFO " in line]
    assert lines, "train -v should log something"
    assert all(" arxivwatch" in line for line in lines), [x for x in lines if " arxivwatch" not in x][:3]


def test_lists_alone_prints_the_lists_help(cli: CliRunner) -> None:
    """`arxivwatch lists` prints the help of `lists` (naming `show`), not the top-level help."""
    result = cli("lists")
    assert "usage: arxivwatch lists" in result.stdout
    assert "show" in result.stdout
    assert "demo" not in result.stdout


def test_help_summaries_end_in_one_period() -> None:
    """Every command's one-line summary in the top-level help ends in exactly one period."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    helps = [choice.help for choice in sub._choices_actions]  # type: ignore[attr-defined]
    assert len(helps) == len(COMMANDS)
    for text in helps:
        assert text.endswith(".") and not text.endswith(".."), text


@pytest.mark.slow
def test_unreachable_arxiv_fails_fast_naming_offline(closed_arxiv: tuple[str, Path], cli: CliRunner) -> None:
    """On a closed port, `train` warns once naming --offline and `poll` fails, each within 30 s,
    poll (and status after it) with a hint to poll again later, never `train --offline`."""
    import time

    url, cfg = closed_arxiv
    started = time.monotonic()
    trained = cli("train", "--config", str(cfg))
    assert time.monotonic() - started < 30
    assert trained.returncode == 0, trained.stderr
    warnings = [line for line in trained.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and "--offline" in warnings[0], warnings
    assert "INFO arxivwatch.arxiv: arXiv: ConnectError" in trained.stderr  # the retry, logged
    started = time.monotonic()
    polled = cli("poll", "--config", str(cfg))
    assert time.monotonic() - started < 30
    assert polled.returncode == 1
    error = polled.stderr.splitlines()[-1]
    assert error.startswith(f"Error: cannot reach arXiv at {url}/rss/")
    assert "poll again later" in error and "--offline" not in error, error
    for args in ((), ("--json",)):
        shown = cli("status", "--config", str(cfg), *args).stdout
        assert "poll again later" in shown and "--offline" not in shown, shown


def test_log_lines_on_a_terminal_stand_on_their_own_beside_the_progress_bar(
    closed_arxiv: tuple[str, Path],
) -> None:
    """On a terminal a retry line is printed above the progress bar, not glued to the bar's text."""
    import os
    import re
    import select
    import time

    _url, cfg = closed_arxiv
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "arxivwatch", "poll", "--since", "2024-11-20", "--config", str(cfg)],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, "COLUMNS": "200", "TERM": "xterm"},
    )
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    os.close(primary)
    assert process.wait(timeout=10) == 1
    out = b"".join(chunks).decode("utf-8", "replace")
    at = out.index("INFO arxivwatch.arxiv:")
    start = max(out.rfind("\n", 0, at), out.rfind("\r", 0, at)) + 1
    before = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out[start:at])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", before), repr(out[start - 80 : at])


def test_demo_out_naming_a_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`demo --out` naming an existing file says it needs a folder (exit 2), before any training."""
    target = tmp_path / "digest.html"
    target.write_text("mine", encoding="utf-8")
    assert main(["demo", "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"Error: --out {target} is a file, not a folder; "
        "give a folder for the four digest files (it is created if missing)"
    ]
    assert target.read_text(encoding="utf-8") == "mine"


def test_score_on_a_terminal_says_it_is_reading_stdin(
    write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`score` reading a terminal says so on stderr (Ctrl-D ends), then scores the lines typed."""
    import io

    from arxivwatch.config import load
    from trained_model import install_model

    path = write_config()
    install_model(load(str(path), env={}).model_path)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal('{"id": "x1", "title": "Semi-supervised segmentation"}\n'))
    assert main(["score", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    assert "end with Ctrl-D (or give --input FILE)" in captured.err
    assert captured.out.startswith('{"id": "x1", "scores": {')
