"""Configuration: where it comes from, how the environment overrides it, and how it is refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arxivwatch import config
from arxivwatch.errors import ConfigError


def test_defaults_without_any_file() -> None:
    """With no file and no environment, the built-in defaults of DESIGN.md apply."""
    cfg = config.load(None, env={})
    assert cfg.source == "built-in defaults"
    assert cfg.arxiv.categories == ("cs.CV", "eess.IV", "cs.LG")
    assert cfg.schedule.digest == "0 8 * * mon"
    assert cfg.digest.period == "week"
    assert cfg.digest.top_n == 10
    assert cfg.digest.min_score is None
    assert cfg.email.password_env == "ARXIVWATCH_SMTP_PASSWORD"
    assert cfg.db_path.name == "arxivwatch.db"


def test_file_lookup_order(tmp_path: Path) -> None:
    """--config wins over $ARXIVWATCH_CONFIG, which wins over ./arxivwatch.toml."""
    (tmp_path / "arxivwatch.toml").write_text("[digest]\ntop_n = 3\n")
    env_file = tmp_path / "env.toml"
    env_file.write_text("[digest]\ntop_n = 4\n")
    flag_file = tmp_path / "flag.toml"
    flag_file.write_text("[digest]\ntop_n = 5\n")
    assert config.load(None, env={}).digest.top_n == 3
    assert config.load(None, env={"ARXIVWATCH_CONFIG": str(env_file)}).digest.top_n == 4
    assert config.load(str(flag_file), env={"ARXIVWATCH_CONFIG": str(env_file)}).digest.top_n == 5


def test_environment_overrides_every_type(write_config: Callable[[str], Path]) -> None:
    """ARXIVWATCH_SECTION_KEY overrides the file; lists are comma-separated, booleans and numbers parse."""
    path = write_config('[arxiv]\ncategories = ["cs.CV"]\n')
    env = {
        "ARXIVWATCH_ARXIV_CATEGORIES": "cs.LG, stat.ML",
        "ARXIVWATCH_DIGEST_TOP_N": "7",
        "ARXIVWATCH_DIGEST_MIN_SCORE": "0.25",
        "ARXIVWATCH_EMAIL_ENABLED": "false",
        "ARXIVWATCH_SLACK_API_URL": "http://127.0.0.1:9/api/",
    }
    cfg = config.load(str(path), env=env)
    assert cfg.arxiv.categories == ("cs.LG", "stat.ML")
    assert cfg.digest.top_n == 7
    assert cfg.digest.min_score == 0.25
    assert cfg.email.enabled is False
    assert cfg.slack.api_url == "http://127.0.0.1:9/api/"


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    """storage.path and digest.folder given relative are taken relative to the file's folder."""
    sub = tmp_path / "etc"
    sub.mkdir()
    (sub / "a.toml").write_text('[storage]\npath = "db/x.db"\n[digest]\nfolder = "out"\n')
    cfg = config.load(str(sub / "a.toml"), env={})
    assert cfg.db_path == sub.resolve() / "db" / "x.db"
    assert cfg.model_path == sub.resolve() / "db" / "model.npz"
    assert cfg.digest_folder == sub.resolve() / "out"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[email]\nhots = "x"\n', "unknown key [email] hots"),
        ('[mail]\nhost = "x"\n', "unknown section [mail]"),
        ('[digest]\ntop_n = "ten"\n', "[digest] top_n must be an integer, got 'ten'"),
        ('[arxiv]\ncategories = "cs.CV"\n', "[arxiv] categories must be a list of strings"),
        ('[schedule]\npoll = "61 5 * * *"\n', "[schedule] poll = '61 5 * * *' is not a valid cron"),
        ('[schedule]\ntimezone = "Mars/Olympus"\n', "timezone 'Mars/Olympus' is not a known time zone"),
        ('[email]\nsecurity = "tls"\n', "[email] security must be starttls, ssl or none"),
        ('[digest]\nperiod = "month"\n', '[digest] period must be "day" or "week"'),
        ("[arxiv]\nmin_interval = 1\n", "[arxiv] min_interval must be at least 3 seconds"),
        ("[digest\n", "not valid TOML"),
    ],
)
def test_bad_configuration_is_one_line_naming_the_key(
    write_config: Callable[[str], Path], text: str, expected: str
) -> None:
    """Each kind of mistake raises a ConfigError (exit 2) whose single line names the key."""
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        config.load(str(path), env={})
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_bad_environment_value_names_the_variable() -> None:
    """A non-number in ARXIVWATCH_DIGEST_TOP_N is refused naming the variable."""
    with pytest.raises(ConfigError, match="ARXIVWATCH_DIGEST_TOP_N must be an integer"):
        config.load(None, env={"ARXIVWATCH_DIGEST_TOP_N": "many"})


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("ARXIVWATCH_DIGEST_TOP_N", "0", "[digest] top_n must be at least 1, got 0"),
        ("ARXIVWATCH_SCHEDULE_POLL", "bad", "[schedule] poll = 'bad' is not a valid cron expression"),
        ("ARXIVWATCH_ARXIV_CATEGORIES", "cs.XX", "[arxiv] categories: 'cs.XX' is not an arXiv category"),
    ],
)
def test_a_value_out_of_range_from_the_environment_names_the_variable(
    variable: str, value: str, says: str, write_config: Callable[[str], Path]
) -> None:
    """A bad value set by the environment is blamed on its variable, not the file or "built-in defaults"."""
    for path in (None, str(write_config(""))):
        with pytest.raises(ConfigError) as refused:
            config.load(path, env={variable: value})
        assert refused.value.message.startswith(f"environment variable {variable}: {says}"), refused.value
    with pytest.raises(ConfigError) as from_file:  # the file's own mistakes still name the file
        config.load(str(write_config("[digest]\ntop_n = 0\n")), env={})
    said = from_file.value.message
    assert said.endswith(".toml: [digest] top_n must be at least 1, got 0"), said


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    """--config naming a missing file is a ConfigError, not a silent fall back to defaults."""
    with pytest.raises(ConfigError, match="not found"):
        config.load(str(tmp_path / "nope.toml"), env={})


def test_profiles_folder(tmp_path: Path) -> None:
    """The default profiles folder is used only if it exists; None means the shipped profiles."""
    (tmp_path / "a.toml").write_text("")
    assert config.load(str(tmp_path / "a.toml"), env={}).profiles_dir is None
    (tmp_path / "profiles").mkdir()
    assert config.load(str(tmp_path / "a.toml"), env={}).profiles_dir == tmp_path.resolve() / "profiles"


def test_secret_comes_only_from_the_environment() -> None:
    """secret() reads the named variable and treats empty as unset."""
    assert config.secret("X_TOKEN", env={"X_TOKEN": "s3cret"}) == "s3cret"
    assert config.secret("X_TOKEN", env={"X_TOKEN": ""}) is None
    assert config.secret("", env={}) is None


def test_delivery_keys_defaults() -> None:
    """horizon_days is 14, the SMTP reply timeout RFC 5321's 600 s, Slack's total Retry-After wait 300 s."""
    cfg = config.load(None, env={})
    assert (cfg.digest.horizon_days, cfg.email.timeout, cfg.slack.max_wait) == (14, 600.0, 300.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[digest]\nhorizon_days = 0\n", "[digest] horizon_days must be between 1 and 3660, got 0"),
        ("[digest]\nhorizon_days = -3\n", "[digest] horizon_days must be between 1 and 3660, got -3"),
        ("[digest]\nhorizon_days = 1.5\n", "[digest] horizon_days must be an integer, got 1.5"),
        ("[email]\ntimeout = nan\n", "[email] timeout must be between 1 and 3600 seconds, got nan"),
        ("[email]\ntimeout = 0\n", "[email] timeout must be between 1 and 3600 seconds, got 0.0"),
        ("[slack]\nmax_wait = inf\n", "[slack] max_wait must be between 0 and 3600 seconds, got inf"),
        ("[slack]\nmax_wait = -1\n", "[slack] max_wait must be between 0 and 3600 seconds, got -1.0"),
    ],
)
def test_delivery_keys_are_finite_and_in_range(tmp_path: Path, text: str, expected: str) -> None:
    """A horizon under a day, or an infinite, NaN or negative timeout or wait, is refused naming the key."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        config.load(str(path), env={})
    assert str(caught.value).startswith(f"{path}: {expected}")


@pytest.mark.parametrize(
    "contact", ["zoë@lab.example.org", "a@b.org\nX-Evil: 1", "Zoë Lab <z@lab.org>", "a@b.org\t"]
)
def test_contact_a_header_cannot_carry_is_refused(contact: str) -> None:
    """A non-ASCII or control character in contact is one ConfigError line (exit 2), not a traceback."""
    with pytest.raises(ConfigError) as caught:
        config.load(None, env={"ARXIVWATCH_ARXIV_CONTACT": contact})
    assert "[arxiv] contact" in str(caught.value) and "ASCII" in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SLACK_TOKEN_ENV", "xoxb-1234-SECRETVALUE"),
        ("SLACK_WEBHOOK_URL_ENV", "https://hooks.slack.com/services/T0/B0/SECRETVALUE"),
        ("EMAIL_PASSWORD_ENV", "MySECRETVALUE!"),
    ],
)
def test_a_secret_pasted_where_a_variable_name_goes_is_refused_unechoed(key: str, value: str) -> None:
    """token_env = "xoxb-..." is refused naming the key, and the value (the secret) is not in the line."""
    with pytest.raises(ConfigError) as caught:
        config.load(None, env={f"ARXIVWATCH_{key}": value})
    section, _, name = key.lower().partition("_")
    assert f"[{section}] {name} must be the NAME of an environment variable" in str(caught.value)
    assert "SECRETVALUE" not in str(caught.value)


def test_a_templates_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    """[digest] templates naming no folder (relative to the file's folder) is refused, not ignored."""
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "aw.toml"
    path.write_text('[digest]\ntemplates = "tpl"\n')
    with pytest.raises(ConfigError) as caught:
        config.load(str(path), env={})
    assert str(caught.value).startswith(f"{path}: [digest] templates: no folder {tmp_path / 'conf' / 'tpl'}")
    (tmp_path / "conf" / "tpl").mkdir()
    assert config.load(str(path), env={}).templates_dir == tmp_path / "conf" / "tpl"


def test_unknown_arxivwatch_variable_is_refused_with_the_closest_key() -> None:
    """ARXIVWATCH_DIGEST_TOPN is refused like an unknown key, naming it and suggesting TOP_N."""
    with pytest.raises(ConfigError) as info:
        config.load(None, env={"ARXIVWATCH_DIGEST_TOPN": "5"})
    assert "unknown environment variable ARXIVWATCH_DIGEST_TOPN" in str(info.value)
    assert "ARXIVWATCH_DIGEST_TOP_N" in str(info.value)
    assert info.value.exit_code == 2


def test_unknown_variable_exits_2_from_the_command_line(
    write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """`status` with ARXIVWATCH_DIGEST_TOPN set is one Error line and exit 2."""
    monkeypatch.setenv("ARXIVWATCH_DIGEST_TOPN", "5")
    result = cli("status", "--config", str(write_config("")))
    assert result.returncode == 2
    assert result.stderr.startswith("Error: unknown environment variable ARXIVWATCH_DIGEST_TOPN")
    assert "Traceback" not in result.stderr


def test_secret_and_known_variables_are_accepted() -> None:
    """The secret variables the configuration names, ARXIVWATCH_CONFIG and every key's variable pass."""
    env = {name: "1" for name in config.variable_names() if name.endswith(("_TOP_N", "_PORT"))}
    env["ARXIVWATCH_SMTP_PASSWORD"] = "x"
    env["ARXIVWATCH_REGEN_GOLDEN"] = "1"
    assert config.load(None, env=env).digest.top_n == 1


@pytest.mark.parametrize(
    ("contact", "warned"),
    [("", "is not set"), ("lab", "is not an e-mail address"), ("lab@example", "is not an e-mail address")],
)
def test_contact_missing_or_malformed_is_warned(
    contact: str, warned: str, write_config: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    """arXiv asks for a contact address: an empty or non-e-mail contact logs one warning naming it."""
    with caplog.at_level("WARNING", logger="arxivwatch.config"):
        config.warn_contact(config.load(str(write_config(f'[arxiv]\ncontact = "{contact}"\n')), env={}))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "[arxiv] contact" in warnings[0] and warned in warnings[0]


def test_good_contact_is_not_warned(
    write_config: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A contact that is an e-mail address logs no warning."""
    with caplog.at_level("WARNING", logger="arxivwatch.config"):
        config.warn_contact(config.load(str(write_config('[arxiv]\ncontact = "lab@example.org"\n')), env={}))
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_relative_list_path_resolves_against_the_file_folder(tmp_path: Path) -> None:
    """`training.lists` paths resolve against the configuration file's folder; URLs stay as they are."""
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "c.toml").write_text(
        '[training]\nlists = ["lists/a.md", "/abs/b.md", "https://example.org/c.md"]\n', encoding="utf-8"
    )
    cfg = config.load(str(folder / "c.toml"), env={})
    assert cfg.list_sources == (
        str(folder.resolve() / "lists" / "a.md"),
        "/abs/b.md",
        "https://example.org/c.md",
    )


def test_building_the_arxiv_client_warns_about_the_contact(
    write_config: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    """The warning comes where arXiv is asked (the client is built), not at every configuration load."""
    from arxivwatch import jobs
    from arxivwatch.clock import FakeClock

    cfg = config.load(str(write_config("")), env={})
    with caplog.at_level("WARNING", logger="arxivwatch.config"):
        assert not caplog.records
        jobs.arxiv_client(cfg, FakeClock()).close()
    assert any("[arxiv] contact is not set" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("section", ["email", "slack"])
def test_a_channel_enabled_from_the_environment_is_named_by_its_variable(
    section: str, write_config: Callable[[str], Path]
) -> None:
    """A channel turned on by ARXIVWATCH_<SECTION>_ENABLED with its settings missing names that
    variable, not the file, and says to unset it."""
    path = write_config('[arxiv]\ncontact = "lab@example.org"\n')
    variable = f"ARXIVWATCH_{section.upper()}_ENABLED"
    with pytest.raises(ConfigError) as info:
        config.load(str(path), env={variable: "true"})
    line = str(info.value)
    assert line.startswith(f"[{section}] is enabled by the environment variable {variable} but "), line
    assert line.endswith(f"unset {variable}") and str(path) not in line, line
    file_on = write_config(f"[{section}]\nenabled = true\n")
    with pytest.raises(
        ConfigError, match=rf"^{re.escape(str(file_on))}: \[{section}\] is enabled but .*set enabled = false$"
    ):
        config.load(str(file_on), env={})
