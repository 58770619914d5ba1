"""Logging for the command line: levels, quiet third-party libraries, and secrets redacted.

Levels: INFO by default, WARNING with `-q`, arxivwatch's DEBUG with `-v`. Every other
logger (any library: the ones in THIRD_PARTY, and pylatexenc, scikit-learn, ... not named
there) reaches the output only at WARNING and above unless `--debug`, where everything
logs at DEBUG: a filter on the handler drops the rest, whatever level a library set on
its own logger. At every level, the values of the secret environment variables the
configuration names (`email.password_env`, `slack.token_env`, `slack.webhook_url_env`)
are replaced by `[redacted NAME]` in every record that reaches the handler, the
exception text included.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

THIRD_PARTY = (
    "slack_sdk",
    "httpx",
    "httpcore",
    "urllib3",
    "apscheduler",
    "markdown_it",
    "mail.log",
    "asyncio",
    "hpack",
)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MIN_SECRET = 4  # shorter values would redact ordinary words; no real token is this short


class RedactSecrets(logging.Filter):
    """Replaces each secret value in a record's message (and exception text) by its name."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, str] = {}  # value -> the variable's name

    def add(self, secrets: Mapping[str, str]) -> None:
        """Redact these values from now on: `secrets` maps variable name -> value."""
        for name, value in secrets.items():
            if value and len(value) >= MIN_SECRET:
                self.secrets[value] = name

    def redact(self, text: str) -> str:
        """`text` with every known secret value replaced by "[redacted NAME]"."""
        for value, name in sorted(self.secrets.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(value, f"[redacted {name}]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class OnlyOurs(logging.Filter):
    """Drops records under WARNING that do not come from arxivwatch's own loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name == "arxivwatch" or record.name.startswith("arxivwatch.")
        return ours or record.levelno >= logging.WARNING


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record, not the one at setup.

    While a rich progress bar is drawn, rich puts a proxy in `sys.stderr` that prints each
    line above the bar; a handler holding the original stream glued lines to the bar.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always sys.stderr


_filter = RedactSecrets()


def setup(*, quiet: bool = False, verbose: bool = False, debug: bool = False) -> None:
    """Log to stderr at the level the flags ask for (see the module docstring)."""
    level = logging.DEBUG if (verbose or debug) else logging.WARNING if quiet else logging.INFO
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    if not debug:
        handler.addFilter(OnlyOurs())
    handler.addFilter(_filter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "arxivwatch", False)]:
        root.removeHandler(old)  # ours from an earlier call; others' handlers stay
    handler.arxivwatch = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else max(level, logging.WARNING))


def redact_secrets(names: Iterable[str], env: Mapping[str, str]) -> None:
    """Redact the values of the environment variables `names` from every log record."""
    _filter.add({name: env.get(name, "") for name in names if name})


def redact(text: str) -> str:
    """`text` with the registered secret values redacted (for output not sent through logging)."""
    return _filter.redact(text)
