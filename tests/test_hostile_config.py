"""Hostile configuration: non-finite and out-of-range numbers, unknown categories, a folder for a file."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from arxivwatch import config, taxonomy
from arxivwatch.errors import ConfigError
from conftest import CliRunner


def refusal(write_config: Callable[[str], Path], text: str, env: dict[str, str] | None = None) -> str:
    """The one line a ConfigError (exit 2) gives for this configuration text."""
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        config.load(str(path), env=env or {})
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[arxiv]\nmin_interval = nan\n", "[arxiv] min_interval must be a finite number, got nan"),
        ("[arxiv]\nmin_interval = inf\n", "[arxiv] min_interval must be a finite number, got inf"),
        ("[arxiv]\nbudget = -inf\n", "[arxiv] budget must be a finite number, got -inf"),
        ("[arxiv]\nbudget = -5\n", "[arxiv] budget must be at least 1 seconds, got -5.0"),
        ("[arxiv]\nbudget = 1e9\n", "[arxiv] budget must be at most 86400 seconds, got 1000000000.0"),
        ("[arxiv]\nmin_interval = 1e300\n", "[arxiv] min_interval must be at most 3600 seconds"),
        ("[arxiv]\nmax_body_bytes = 0\n", "[arxiv] max_body_bytes must be at least 1e+06 bytes, got 0"),
        ("[digest]\ntop_n = 0\n", "[digest] top_n must be at least 1, got 0"),
        ("[digest]\ntop_n = 1000000000\n", "[digest] top_n must be at most 1000, got 1000000000"),
        ("[digest]\nmin_score = nan\n", "[digest] min_score must be a finite number, got nan"),
        ("[digest]\nmin_score = 1.5\n", "[digest] min_score must be at most 1, got 1.5"),
        ("[email]\nport = 70000\n", "[email] port must be at most 65535, got 70000"),
    ],
)
def test_numbers_are_finite_and_in_range(
    write_config: Callable[[str], Path], text: str, expected: str
) -> None:
    """nan, inf, negative and huge numbers in the file are refused with one line naming the key."""
    assert expected in refusal(write_config, text)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_number_in_the_environment_is_refused(
    write_config: Callable[[str], Path], value: str
) -> None:
    """ARXIVWATCH_ARXIV_MIN_INTERVAL=nan (the case that sent 1,025 requests a second) names the variable."""
    line = refusal(write_config, "", env={"ARXIVWATCH_ARXIV_MIN_INTERVAL": value})
    assert f"ARXIVWATCH_ARXIV_MIN_INTERVAL must be a number, got {value!r}" in line


def test_unknown_category_is_refused_with_a_suggestion(write_config: Callable[[str], Path]) -> None:
    """`cs.CVV` is not in arXiv's taxonomy: exit 2 naming it and the likely intended code."""
    line = refusal(write_config, '[arxiv]\ncategories = ["cs.CV", "cs.CVV"]\n')
    assert "[arxiv] categories: 'cs.CVV' is not an arXiv category" in line
    assert "did you mean 'cs.CV'?" in line


def test_ten_thousand_categories_are_one_line(write_config: Callable[[str], Path]) -> None:
    """10,000 made-up categories: one line naming the first and counting the rest."""
    many = ", ".join(f'"cs.X{i}"' for i in range(10_000))
    line = refusal(write_config, f"[arxiv]\ncategories = [{many}]\n")
    assert "'cs.X0' is not an arXiv category (and 9999 more)" in line
    assert len(line) < 400


def test_repeated_category_is_refused(write_config: Callable[[str], Path]) -> None:
    """A category listed twice (10,000 copies of cs.CV, say) is refused, naming it."""
    listed = ", ".join(['"cs.CV"'] * 10_000)
    assert "[arxiv] categories lists cs.CV twice" in refusal(
        write_config, f"[arxiv]\ncategories = [{listed}]\n"
    )


def test_taxonomy_knows_the_default_and_archive_codes() -> None:
    """The shipped taxonomy holds the default categories, archives and a few across groups, not typos."""
    known = taxonomy.codes()
    assert set(config.ArxivConfig().categories) <= known
    assert {"cs", "math", "hep-th", "astro-ph.GA", "q-bio.NC", "econ.EM", "stat.ML"} <= known
    assert "cs.CVV" not in known and "cs.cv" not in known
    assert 150 < len(known) < 200


def test_folder_at_the_local_config_path_exits_2(cli: CliRunner, tmp_path: Path) -> None:
    """A folder at ./arxivwatch.toml is refused (exit 2, one line) instead of falling back to defaults."""
    (tmp_path / "arxivwatch.toml").mkdir()
    result = cli("status")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "Error: ./arxivwatch.toml is not a file (a folder?); move it away, or name the "
        "configuration with --config or $ARXIVWATCH_CONFIG"
    ]


def test_every_number_key_is_checked_finite(write_config: Callable[[str], Path]) -> None:
    """A float key without a range of its own (any section) is still refused as nan or inf."""
    floats = [
        (name, f.name)
        for name, cls in config.SECTIONS.items()
        for f in dataclasses.fields(cls)
        if isinstance(getattr(cls(), f.name), float)
    ]
    assert ("arxiv", "budget") in floats
    for section, key in floats:
        line = refusal(write_config, f"[{section}]\n{key} = nan\n")
        assert f"[{section}] {key} must be" in line and "nan" in line
