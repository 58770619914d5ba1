"""Configuration: the only reader of TOML files and of ARXIVWATCH_* environment variables.

Where the file comes from, first match wins: `--config FILE`, `$ARXIVWATCH_CONFIG`,
`./arxivwatch.toml`, else the built-in defaults. Every key can then be overridden by
`ARXIVWATCH_<SECTION>_<KEY>` (lists comma-separated). Everything is validated when loaded:
an unknown key, a wrong type, a bad cron expression or time zone is a ConfigError (exit 2)
whose one line names the key and the fix.

Secrets never sit in the file: `email.password_env`, `slack.token_env` and
`slack.webhook_url_env` name environment variables, read by `secret()` at the edge.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arxivwatch import limits, paths
from arxivwatch.errors import ConfigError
from arxivwatch.lists import is_url

ENV_FILE = "ARXIVWATCH_CONFIG"
LOCAL_FILE = "arxivwatch.toml"
DEFAULT_PROFILES = "profiles"
MAX_HORIZON_DAYS = 3660  # ten years
MAX_SECONDS = 3600.0  # the longest any configured wait may be

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArxivConfig:
    categories: tuple[str, ...] = ("cs.CV", "eess.IV", "cs.LG")
    api_url: str = "https://export.arxiv.org/api/query"
    feed_url: str = "https://rss.arxiv.org/rss"
    contact: str = ""
    min_interval: float = 3.0  # seconds between requests, as arXiv asks; never lower it
    budget: float = 600.0  # seconds one step may spend retrying before it fails
    max_body_bytes: int = 50_000_000  # an answer larger than this (inflated) is refused


@dataclass(frozen=True)
class StorageConfig:
    path: str = ""  # "" = the platform's user data dir / arxivwatch.db
    keep_days: int = 365  # papers not seen for longer are pruned; 0 keeps every paper


@dataclass(frozen=True)
class TrainingConfig:
    lists: tuple[str, ...] = ()  # () = the bundled snapshots
    profiles: str = DEFAULT_PROFILES
    model: str = ""  # "" = model.npz next to the database


@dataclass(frozen=True)
class ScheduleConfig:
    timezone: str = "UTC"
    poll: str = "30 5 * * *"
    digest: str = "0 8 * * mon"


@dataclass(frozen=True)
class DigestConfig:
    period: str = "week"
    top_n: int = 10
    min_score: float | None = None
    send_empty: bool = True
    templates: str = ""
    folder: str = ""  # where the file channel writes; "" = <data dir>/digests
    flag_updated: bool = False  # offer a new version of an already-offered paper again, flagged "updated"
    horizon_days: int = 14  # how far back a channel's first digest (or one after a pause) reaches


@dataclass(frozen=True)
class EmailConfig:
    enabled: bool = False
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "ARXIVWATCH_SMTP_PASSWORD"  # noqa: S105 (the name of a variable, not a secret)
    sender: str = ""
    recipients: tuple[str, ...] = ()
    timeout: float = 600.0  # seconds to wait for any one reply; RFC 5321 gives DATA's final reply 10 min


@dataclass(frozen=True)
class SlackConfig:
    enabled: bool = False
    token_env: str = "SLACK_BOT_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
    channel: str = ""
    webhook_url_env: str = ""
    api_url: str = "https://slack.com/api/"
    max_wait: float = 300.0  # seconds of Retry-After one run waits in total before leaving the rest pending


@dataclass(frozen=True)
class Config:
    arxiv: ArxivConfig = field(default_factory=ArxivConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    source: str = "built-in defaults"  # the file it came from, for messages
    base_dir: Path = field(default_factory=Path.cwd)  # relative paths resolve against this

    @property
    def db_path(self) -> Path:
        if self.storage.path:
            return self._resolve(self.storage.path)
        from platformdirs import user_data_dir

        return Path(user_data_dir("arxivwatch", appauthor=False)) / "arxivwatch.db"

    @property
    def data_dir(self) -> Path:
        return self.db_path.parent

    @property
    def model_path(self) -> Path:
        return self._resolve(self.training.model) if self.training.model else (self.data_dir / "model.npz")

    @property
    def list_sources(self) -> tuple[str, ...]:
        """`training.lists` with each relative path resolved against the file's folder (URLs kept)."""
        return tuple(
            item if item.startswith(("http://", "https://")) else str(self._resolve(item))
            for item in self.training.lists
        )

    @property
    def lists_cache(self) -> Path:
        return self.data_dir / "lists"

    @property
    def digest_folder(self) -> Path:
        return self._resolve(self.digest.folder) if self.digest.folder else (self.data_dir / "digests")

    @property
    def templates_dir(self) -> Path | None:
        return self._resolve(self.digest.templates) if self.digest.templates else None

    @property
    def profiles_dir(self) -> Path | None:
        """The user's profiles folder, or None for the shipped profiles.

        The default name `profiles` is used only when such a folder exists beside the
        configuration; a folder named explicitly must exist.
        """
        folder = self._resolve(self.training.profiles)
        if self.training.profiles == DEFAULT_PROFILES and not folder.is_dir():
            return None
        return folder

    def _resolve(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path


SECTIONS: dict[str, type[Any]] = {
    "arxiv": ArxivConfig,
    "storage": StorageConfig,
    "training": TrainingConfig,
    "schedule": ScheduleConfig,
    "digest": DigestConfig,
    "email": EmailConfig,
    "slack": SlackConfig,
}


def load(path: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load, merge and validate the configuration (see the module docstring for the order)."""
    env = os.environ if env is None else env
    file = _find_file(path, env)
    raw: dict[str, Any] = _read_toml(file) if file else {}
    config = Config(
        source=str(file) if file else "built-in defaults",
        base_dir=file.parent.resolve() if file else Path.cwd(),
    )
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"{config.source}: unknown section [{unknown[0]}]",
            hint=f"the sections are {', '.join(SECTIONS)}",
        )
    sections = {}
    for name, cls in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{config.source}: [{name}] must be a table", hint="see the README")
        sections[name] = _build_section(name, cls, table, env, config.source)
    config = replace(config, **sections)
    _refuse_unknown_variables(config, env)
    try:
        _validate(config, env)
    except ConfigError as e:
        raise _named_by_variable(e, config.source, env) from None
    log.debug("configuration from %s", config.source)
    return config


_KEY_NAMED = re.compile(r"\[(\w+)\] (\w+)")


def _named_by_variable(error: ConfigError, src: str, env: Mapping[str, str]) -> ConfigError:
    """`error` about a key the environment set, blamed on that variable instead of `src` (the
    file, or "built-in defaults"); any other error unchanged."""
    prefix = f"{src}: "
    match = _KEY_NAMED.match(error.message, len(prefix)) if error.message.startswith(prefix) else None
    variable = f"ARXIVWATCH_{match[1].upper()}_{match[2].upper()}" if match else ""
    if not match or env.get(variable) is None:
        return error
    return ConfigError(f"environment variable {variable}: {error.message[len(prefix) :]}", hint=error.hint)


def secret(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value of the environment variable `name` (None when unset or empty)."""
    if not name:
        return None
    value = (os.environ if env is None else env).get(name, "")
    return value or None


# Variables of ours that are not configuration keys.
OTHER_VARIABLES = (ENV_FILE, "ARXIVWATCH_REGEN_GOLDEN")
_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]+")


def variable_names() -> tuple[str, ...]:
    """Every ARXIVWATCH_<SECTION>_<KEY> variable that overrides a key."""
    return tuple(
        f"ARXIVWATCH_{name.upper()}_{f.name.upper()}" for name, cls in SECTIONS.items() for f in fields(cls)
    )


def _refuse_unknown_variables(config: Config, env: Mapping[str, str]) -> None:
    """An ARXIVWATCH_* variable that names no key is a mistake, refused like an unknown key."""
    known = {*variable_names(), *OTHER_VARIABLES, *secret_names(config)}
    for name in sorted(env):
        if name.startswith("ARXIVWATCH_") and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            raise ConfigError(
                f"unknown environment variable {name}",
                hint=f"did you mean {close[0]}? else unset it" if close else "unset it (see the README)",
            )


def warn_contact(config: Config) -> None:
    """arXiv asks automated clients for a contact address; warn (not refuse) without one."""
    contact = config.arxiv.contact.strip()
    if not contact:
        log.warning(
            "%s: [arxiv] contact is not set; arXiv asks automated clients for an e-mail address "
            "(set it, or ARXIVWATCH_ARXIV_CONTACT)",
            config.source,
        )
    elif not _EMAIL.fullmatch(contact):
        log.warning(
            "%s: [arxiv] contact %r is not an e-mail address; arXiv uses it to reach you "
            "(use one like lab@example.org)",
            config.source,
            contact,
        )


def secret_names(config: Config) -> tuple[str, ...]:
    """The names of the environment variables holding secrets (password, token, webhook URL)."""
    names = (config.email.password_env, config.slack.token_env, config.slack.webhook_url_env)
    return tuple(name for name in names if name)


def _find_file(path: str | None, env: Mapping[str, str]) -> Path | None:
    if path:
        file = Path(path).expanduser()
        if not file.is_file():
            raise ConfigError(f"config file {file} not found", hint="check the --config path")
        return file
    if env.get(ENV_FILE):
        file = Path(env[ENV_FILE]).expanduser()
        if not file.is_file():
            raise ConfigError(
                f"config file {file} (from ${ENV_FILE}) not found",
                hint=f"fix or unset {ENV_FILE}",
            )
        return file
    local = Path(LOCAL_FILE)
    if local.exists() and not local.is_file():
        raise ConfigError(
            f"./{LOCAL_FILE} is not a file (a folder?)",
            hint=f"move it away, or name the configuration with --config or ${ENV_FILE}",
        )
    return local if local.is_file() else None


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{file}: not valid TOML ({e})", hint="fix the syntax") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{file}: cannot be read ({e})", hint="check the file") from e


def _build_section(
    name: str, cls: type[Any], table: dict[str, Any], env: Mapping[str, str], source: str
) -> Any:
    known = {f.name: f for f in fields(cls)}
    for key in table:
        if key not in known:
            raise ConfigError(
                f"{source}: unknown key [{name}] {key}",
                hint=f"the keys of [{name}] are {', '.join(known)}",
            )
    values: dict[str, Any] = {}
    defaults = cls()
    for key, f in known.items():
        env_name = f"ARXIVWATCH_{name.upper()}_{key.upper()}"
        where = f"[{name}] {key}"
        if env.get(env_name) is not None:
            value = _from_env(env[env_name], getattr(defaults, key), f.type, f"{env_name}")
        elif key in table:
            value = _check_type(table[key], getattr(defaults, key), f.type, f"{source}: {where}")
        else:
            continue
        values[key] = value
    return cls(**values)


def _kind(default: Any, annotation: Any) -> str:
    text = str(annotation)
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float) or "float" in text:
        return "number"
    if isinstance(default, tuple):
        return "list of strings"
    return "string"


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _check_type(value: Any, default: Any, annotation: Any, where: str) -> Any:
    kind = _kind(default, annotation)
    ok = {
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "list of strings": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "string": isinstance(value, str),
    }[kind]
    if not ok:
        raise ConfigError(f"{where} must be {_article(kind)}, got {value!r}", hint="fix its value")
    if kind == "list of strings":
        return tuple(value)
    if kind == "number":
        return float(value)
    return value


def _from_env(text: str, default: Any, annotation: Any, name: str) -> Any:
    kind = _kind(default, annotation)
    try:
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
                raise ValueError(text)
            return lowered in {"true", "1", "yes", "on"}
        if kind == "integer":
            return int(text)
        if kind == "number":
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(text)
            return number
    except ValueError as e:
        raise ConfigError(
            f"environment variable {name} must be {_article(kind)}, got {text!r}", hint="fix or unset it"
        ) from e
    if kind == "list of strings":
        return tuple(item.strip() for item in text.split(",") if item.strip())
    return text


def _validate(config: Config, env: Mapping[str, str]) -> None:
    src = config.source
    sections = {name: getattr(config, name) for name in SECTIONS}
    limits.check_categories(src, config.arxiv.categories)
    limits.check_ranges(src, sections)
    limits.check_text(src, sections)
    for key in ("api_url", "feed_url"):
        url = getattr(config.arxiv, key)
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{src}: [arxiv] {key} must be an http(s) URL, got {url!r}", hint="fix it")
    if config.digest.period not in ("day", "week"):
        raise ConfigError(
            f'{src}: [digest] period must be "day" or "week", got {config.digest.period!r}',
            hint="fix its value",
        )
    if not 1 <= config.digest.horizon_days <= MAX_HORIZON_DAYS:
        raise ConfigError(
            f"{src}: [digest] horizon_days must be between 1 and {MAX_HORIZON_DAYS}, "
            f"got {config.digest.horizon_days}",
            hint="fix its value (days of stored papers a digest may offer; default 14)",
        )
    if config.storage.keep_days != 0 and config.storage.keep_days < config.digest.horizon_days:
        raise ConfigError(
            f"{src}: [storage] keep_days ({config.storage.keep_days}) is shorter than"
            f" [digest] horizon_days ({config.digest.horizon_days})",
            hint="keep papers at least as long as a digest may still offer them, or 0 to keep all",
        )
    _check_seconds(src, "email", "timeout", config.email.timeout, low=1.0)
    _check_seconds(src, "slack", "max_wait", config.slack.max_wait, low=0.0)
    if config.email.security not in ("starttls", "ssl", "none"):
        raise ConfigError(
            f"{src}: [email] security must be starttls, ssl or none, got {config.email.security!r}",
            hint="fix its value",
        )
    if config.email.enabled and not (config.email.sender and config.email.recipients):
        raise ConfigError(
            f"{_enabled_by(src, 'email', env)} but sender or recipients is empty",
            hint=f"set both, or {_disable(src, 'email', env)}",
        )
    if config.slack.enabled and not (config.slack.channel or config.slack.webhook_url_env):
        raise ConfigError(
            f"{_enabled_by(src, 'slack', env)} but neither channel nor webhook_url_env is set",
            hint="set channel (with a bot token in token_env) or webhook_url_env, or "
            + _disable(src, "slack", env),
        )
    if (
        config.slack.enabled
        and config.slack.channel
        and not (config.slack.token_env or config.slack.webhook_url_env)
    ):
        raise ConfigError(
            f"{src}: [slack] token_env is empty, so nothing names the bot token's variable",
            hint='set token_env = "SLACK_BOT_TOKEN" (the variable holding the bot token), or webhook_url_env',
        )
    paths.check_paths(src, _configured_paths(config))
    if config.templates_dir is not None and not config.templates_dir.is_dir():
        raise ConfigError(
            f"{src}: [digest] templates: no folder {config.templates_dir}",
            hint='a relative path is read from the configuration file\'s folder; fix it, or set it to ""',
        )
    _validate_schedule(config)
    limits.check_finite(src, sections)  # last: keys with their own range checks name their range first


def _configured_paths(config: Config) -> list[tuple[str, str, Path, bool]]:
    """The paths the configuration names, and the ones it implies that are always used, as
    paths.check_paths takes them. The default digests folder is left to the file channel,
    which names a file in its way when it writes (a file there need not stop a poll)."""
    entries = [
        ("[storage] path", "[storage] path", config.db_path, False),
        ("[training] model", "[training] model", config.model_path, False),
    ]
    if config.digest.folder:
        entries.append(("[digest] folder", "[digest] folder", config.digest_folder, True))
    if config.templates_dir is not None:
        entries.append(("[digest] templates", "[digest] templates", config.templates_dir, True))
    if config.training.profiles != DEFAULT_PROFILES:
        folder = config._resolve(config.training.profiles)
        entries.append(("[training] profiles", "[training] profiles", folder, True))
    sources = config.list_sources
    entries += [("[training] lists", "[training] lists", Path(s), False) for s in sources if not is_url(s)]
    if any(map(is_url, sources)):  # a list fetched from a URL is cached there
        entries.append(("the list cache", "[storage] path", config.lists_cache, True))
    return entries


def _enabled_by(src: str, section: str, env: Mapping[str, str]) -> str:
    """Who turned `section` on: the environment variable when it did, else the file."""
    variable = f"ARXIVWATCH_{section.upper()}_ENABLED"
    if env.get(variable) is not None:
        return f"[{section}] is enabled by the environment variable {variable}"
    return f"{src}: [{section}] is enabled"


def _disable(src: str, section: str, env: Mapping[str, str]) -> str:
    variable = f"ARXIVWATCH_{section.upper()}_ENABLED"
    if env.get(variable) is not None:
        return f"unset {variable}"
    return "set enabled = false"


def _check_seconds(src: str, section: str, key: str, value: float, *, low: float) -> None:
    if not (math.isfinite(value) and low <= value <= MAX_SECONDS):
        raise ConfigError(
            f"{src}: [{section}] {key} must be between {low:g} and {MAX_SECONDS:g} seconds, got {value!r}",
            hint="fix its value",
        )


def _validate_schedule(config: Config) -> None:
    src = config.source
    try:
        zone = ZoneInfo(config.schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(
            f"{src}: [schedule] timezone {config.schedule.timezone!r} is not a known time zone",
            hint="use an IANA name such as UTC or Europe/Berlin",
        ) from e
    from arxivwatch.schedule import cron

    for key in ("poll", "digest"):
        expr = getattr(config.schedule, key)
        try:
            cron(expr, zone)
        except ValueError as e:
            raise ConfigError(
                f"{src}: [schedule] {key} = {expr!r} is not a valid cron expression ({e})",
                hint='use five fields: minute hour day month weekday, e.g. "0 8 * * mon" '
                "(or six, seconds first)",
            ) from e
