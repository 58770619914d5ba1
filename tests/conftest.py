"""Shared fixtures: an isolated environment and a configuration file pointing into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# the loopback servers' fixtures, usable from every test module without importing them
pytest_plugins = ("arxiv_server",)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's ARXIVWATCH_* settings, Slack token or ./arxivwatch.toml."""
    import os

    for name in list(os.environ):
        if name.startswith("ARXIVWATCH_") or name.startswith("SLACK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config file whose storage lives in tmp_path; the text given is appended."""

    def write(extra: str = "") -> Path:
        path = tmp_path / "arxivwatch-test.toml"
        base = f'[storage]\npath = "{tmp_path / "data" / "arxivwatch.db"}"\n'
        path.write_text(base + extra, encoding="utf-8")
        return path

    return write
