"""The error tree. Every error carries the fix, so the CLI can print one line.

    ArxivwatchError                 exit 1 unless noted; `str(e)` is the whole line
    ├── UsageError                  exit 2: a bad command line
    ├── ConfigError                 exit 2: a bad key, type, cron expression, time zone
    │   └── ProfileError            exit 2: an unknown or malformed profile
    ├── ListError                   exit 2: a curated list that is missing or will not parse
    ├── ModelError                  exit 1: no model, a corrupt one, or one from another version
    ├── ArxivError                  exit 1: arXiv refused, answered nonsense, or stayed down
    │   ├── ArxivQueryError         the request itself was wrong (bad category, bad id)
    │   └── ArxivUnavailable        retries within the time budget ran out
    │       └── ArxivOffline        the network cannot reach arXiv at all (DNS, refused)
    ├── ScheduleError               exit 1: a schedule search ran past its cap
    ├── StoreError                  exit 1: the database cannot be opened, read or written
    │   ├── AlreadyRunning          exit 2: another daemon holds the store's lock
    │   └── StoreMisplaced          exit 2: a newer schema, or a folder where a file belongs
    └── DeliveryError               exit 1: a channel refused or could not be reached;
                                    the digest stays pending and the next run retries it

Raise with `raise XError("what went wrong", hint="what to do") from e`.
"""

from __future__ import annotations


class ArxivwatchError(Exception):
    """Base of every error a user can meet. `exit_code` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(ArxivwatchError):
    exit_code = 2


class ConfigError(ArxivwatchError):
    exit_code = 2


class ProfileError(ConfigError):
    pass


class ListError(ArxivwatchError):
    exit_code = 2


class ListUnreachable(ListError):
    """A curated list's URL could not be fetched because of the network or the server (no copy
    cached): trying later can help, so exit 1, not the bad-usage 2."""

    exit_code = 1


class ModelError(ArxivwatchError):
    pass


class ArxivError(ArxivwatchError):
    pass


class ArxivQueryError(ArxivError):
    pass


class ArxivUnavailable(ArxivError):
    pass


class ArxivOffline(ArxivUnavailable):
    pass


class ScheduleError(ArxivwatchError):
    pass


class StoreError(ArxivwatchError):
    pass


class StoreMisplaced(StoreError):
    """Restarting cannot help (systemd: RestartPreventExitStatus=2)."""

    exit_code = 2


class AlreadyRunning(StoreError):
    exit_code = 2


class DeliveryError(ArxivwatchError):
    pass
