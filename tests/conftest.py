"""Shared fixtures: an isolated environment and a configuration file pointing into tmp_path."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from arxiv_server import ArxivServer
    from arxivwatch.config import Config
    from slack_emulator import SlackEmulator
    from smtp_server import SmtpServer

CliRunner = Callable[..., "subprocess.CompletedProcess[str]"]

# the loopback servers' fixtures, usable from every test module without importing them
pytest_plugins = ("arxiv_server",)
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's ARXIVWATCH_* settings, Slack token, proxies (every test talks
    to 127.0.0.1; a proxy test sets its own) or ./arxivwatch.toml."""
    import os

    for name in list(os.environ):
        if name.startswith(("ARXIVWATCH_", "SLACK_")) or name.lower() in PROXY_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained offline on the bundled lists by the train job, once per session (tests
    that change a model copy it first)."""
    from arxivwatch import config
    from arxivwatch.jobs import learn

    folder = tmp_path_factory.mktemp("model")
    path = folder / "model.npz"
    (folder / "train.toml").write_text(
        f'[storage]\npath = "{folder / "train.db"}"\n[training]\nmodel = "{path}"\n'
    )
    with (folder / "metrics.txt").open("w") as out:
        learn.train(config.load(str(folder / "train.toml"), env={}), offline=True, out=out)
    return path


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 for one test."""
    from smtp_server import SmtpServer

    with SmtpServer() as server:
        yield server


SLACK_TOKEN = "xoxb-test-loopback"  # the bot token the `slack` fixture's emulator accepts


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackEmulator]:
    """A Slack Web API emulator on 127.0.0.1 with a #digest channel, its token in SLACK_BOT_TOKEN."""
    from slack_emulator import SlackEmulator

    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    with SlackEmulator(token=SLACK_TOKEN, channels=("#digest",)) as server:
        yield server


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config file whose storage lives in tmp_path; the text given is appended."""

    def write(extra: str = "") -> Path:
        path = tmp_path / "arxivwatch-test.toml"
        base = f'[storage]\npath = "{tmp_path / "data" / "arxivwatch.db"}"\n'
        path.write_text(base + extra, encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_config(write_config: Callable[[str], Path]) -> Callable[[str], Config]:
    """A loaded config (storage in tmp_path, daily digests, every paper qualifying) plus `extra`
    (modules with their own defaults define their own `make_config`)."""
    from arxivwatch import config as config_io

    def make(extra: str = "") -> Config:
        path = write_config('[digest]\nperiod = "day"\nmin_score = 0.0\n' + extra)
        return config_io.load(str(path), env={})

    return make


@pytest.fixture
def closed_arxiv(write_config: Callable[[str], Path]) -> tuple[str, Path]:
    """(the URL, a config file) whose arXiv is a loopback port nobody listens on."""
    from smtp_server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    path = write_config(
        f'[arxiv]\napi_url = "{url}/api/query"\nfeed_url = "{url}/rss"\ncontact = "lab@example.org"\n'
    )
    return url, path


@pytest.fixture
def loopback_config(arxiv_server: ArxivServer, write_config: Callable[[str], Path]) -> Config:
    """A loaded configuration whose arXiv is the loopback server, storage in tmp_path."""
    from arxivwatch import config

    path = write_config(
        f'[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
        'contact = "lab@example.org"\n'
    )
    return config.load(str(path), env={})


@pytest.fixture
def cli() -> CliRunner:
    """Run `python -m arxivwatch ARGS...` as a real process; returns the CompletedProcess."""

    def run(*args: str, stdin: str | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "arxivwatch", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=check,
        )

    return run
