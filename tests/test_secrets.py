"""No secret in any output at any verbosity: failing Slack and SMTP sends at --debug, searched."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from slack_emulator import SlackEmulator
from smtp_server import SmtpServer

TOKEN = "xoxb-SECRET-wrong-token-4242"
PASSWORD = "SECRET-wrong-password-4242"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model trained offline for the whole module (each test has its own store)."""
    folder = tmp_path_factory.mktemp("model")
    cfg = folder / "train.toml"
    cfg.write_text(f'[storage]\npath = "{folder / "train.db"}"\n', encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "arxivwatch", "train", "--offline", "--config", str(cfg)],
        capture_output=True,
        check=True,
        timeout=180,
    )
    return folder / "model.npz"


@pytest.fixture
def trained_config(write_config: Callable[[str], Path], model_path: Path) -> Callable[[str], Path]:
    """A function writing a configuration (extra TOML appended) that uses the trained model."""
    base = f'[arxiv]\ncontact = "lab@example.org"\n[training]\nmodel = "{model_path}"\n'
    return lambda extra: write_config(base + extra)


def _run(env: dict[str, str], flag: str, channel: str, cfg: Path) -> subprocess.CompletedProcess[str]:
    """`arxivwatch FLAG digest --channel CHANNEL --config CFG` with `env` added."""
    return subprocess.run(
        [sys.executable, "-m", "arxivwatch", flag, "digest", "--channel", channel, "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize("position", ["--debug", "-v"])
def test_failing_slack_send_shows_no_token(position: str, trained_config: Callable[[str], Path]) -> None:
    """A Slack send refused for a bad token, at --debug or -v, prints the failure but never the token."""
    with SlackEmulator(token="xoxb-the-right-one") as slack:
        cfg = trained_config(slack.config_section())
        result = _run({"SLACK_BOT_TOKEN": TOKEN}, position, "slack", cfg)
        assert slack.requests, "the send reached the emulator"
    assert result.returncode != 0
    assert "invalid_auth; check the bot token in $SLACK_BOT_TOKEN" in result.stderr  # the name, not the value
    assert TOKEN not in result.stdout + result.stderr
    assert "SECRET" not in result.stdout + result.stderr


def test_failing_slack_webhook_shows_no_url(trained_config: Callable[[str], Path]) -> None:
    """A webhook URL is a secret too: a refused webhook post at --debug never prints it."""
    with SlackEmulator() as slack:
        url = f"http://127.0.0.1:{slack.port}/services/T000/B000/SECRETwrongpath"
        cfg = trained_config('[slack]\nenabled = true\nwebhook_url_env = "DIGEST_WEBHOOK"\n')
        result = _run({"DIGEST_WEBHOOK": url}, "--debug", "slack", cfg)
        assert slack.requests, "the post reached the emulator"
    assert result.returncode != 0
    assert "SECRETwrongpath" not in result.stdout + result.stderr
    assert "[redacted DIGEST_WEBHOOK]" in result.stderr  # the debug logs did name it, redacted


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_failing_smtp_login_shows_no_password(trained_config: Callable[[str], Path]) -> None:
    """An SMTP login refused for a bad password, at --debug, prints the failure but never the password."""
    with SmtpServer(login=("digest", "the-right-one")) as smtp:
        cfg = trained_config(smtp.config_section('username = "digest"\npassword_env = "LAB_SMTP_PW"\n'))
        result = _run({"LAB_SMTP_PW": PASSWORD}, "--debug", "email", cfg)
        assert smtp.messages == []
    assert result.returncode != 0
    assert "SECRET" not in result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert "check email.username and the password in $LAB_SMTP_PW" in result.stderr  # the name only


@pytest.mark.parametrize(
    "url",
    [
        "htp://hooks.example/SECRET-hook-1",
        "http://[SECRET-hook-2/x",
        "SECRET-hook-3",
        "https:///SECRET-hook-4",
    ],
)
def test_malformed_webhook_url_is_one_line_naming_the_variable(
    url: str, trained_config: Callable[[str], Path]
) -> None:
    """A webhook variable that is no http(s) URL: one line naming the variable, exit 1, never its value."""
    cfg = trained_config('[slack]\nenabled = true\nwebhook_url_env = "DIGEST_WEBHOOK"\n')
    result = _run({"DIGEST_WEBHOOK": url}, "-v", "slack", cfg)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "the Slack webhook URL in $DIGEST_WEBHOOK is not an http(s) URL" in result.stderr
    assert "SECRET" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("section", "key", "value", "channel"),
    [
        ("slack", "token_env", "xoxb-SECRET-pasted-token-77", "slack"),
        ("slack", "webhook_url_env", "https://hooks.slack.com/services/T0/B0/SECRETpasted", "slack"),
        ("email", "password_env", "SECRET pasted password!", "email"),
        ("slack", "token_env", "SLACK_TOKEN\\nSECRET-second-line", "slack"),
    ],
)
def test_a_secret_pasted_where_its_variable_name_belongs_is_never_shown(
    section: str, key: str, value: str, channel: str, trained_config: Callable[[str], Path]
) -> None:
    """A `*_env` key holding no variable name (often the secret itself, pasted there) is refused naming the
    key, exit 2, without the value even at --debug: never a hint like "check the bot token in $xoxb-..."."""
    extra = f'[{section}]\nenabled = true\n{key} = "{value}"\n'
    if section == "slack":
        extra += 'channel = "#digest"\n'
    else:
        extra += 'host = "127.0.0.1"\nport = 9\nsender = "a@example.org"\nrecipients = ["b@example.org"]\n'
    result = _run({}, "--debug", channel, trained_config(extra))
    assert result.returncode == 2
    assert "SECRET" not in result.stdout + result.stderr
    assert f"[{section}] {key} must be the NAME of an environment variable" in result.stderr
