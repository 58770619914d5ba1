"""One request every `min_interval` seconds, as arXiv's terms of use ask.

The pacer is driven by a Clock, so tests use a FakeClock and read the sleeps it
recorded instead of waiting. One pacer is shared by every request a client makes
(feed, search, lookup), because arXiv's limit covers all of them together.

Processes sharing one store share the pace too: with `shared` set (the jobs pass
`<db>.pace`), `wait()` takes an exclusive flock on that file and holds it until `done()`,
which writes the end of the answer (Unix time) into it. So the daemon and a manual
`poll` on one store never talk to arXiv at once, and the next of them starts at least
`min_interval` after the last answer of either. Waiting for the lock is bounded by
`max_wait` seconds on the Clock, and a daemon's stopping clock ends it at once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from arxivwatch.clock import Clock
from arxivwatch.errors import ArxivUnavailable, StoreError

_LOCK_POLL = 0.05  # seconds between tries for the shared lock


class Pacer:
    """Spaces calls: `wait()` before a request, `done()` when its answer arrived."""

    def __init__(
        self, clock: Clock, min_interval: float, *, shared: Path | None = None, max_wait: float = 600.0
    ) -> None:
        self.clock = clock
        self.min_interval = min_interval
        self.shared = shared
        self.max_wait = max_wait
        self._last: float | None = None
        self._fd: int | None = None

    def wait(self) -> float:
        """Sleep until `min_interval` has passed since the last answer; returns the time slept."""
        remaining = 0.0
        if self._last is not None:
            remaining = self._last + self.min_interval - self.clock.monotonic()
        if self.shared is not None:
            last_shared = self._lock_shared()
            if last_shared is not None:
                # a clock set back must not make us wait for hours: at most one interval
                ahead = min(last_shared + self.min_interval - self.clock.now().timestamp(), self.min_interval)
                remaining = max(remaining, ahead)
        if remaining <= 0:
            return 0.0
        try:
            self.clock.sleep(remaining)
        except BaseException:  # stopped while waiting: no request follows, let the others go
            self._release()
            raise
        return remaining

    def done(self) -> None:
        """Mark the end of a request (counted from the answer: the conservative reading)."""
        self._last = self.clock.monotonic()
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                os.pwrite(self._fd, f"{self.clock.now().timestamp():.3f}\n".encode(), 0)
            except OSError:
                pass  # a full disk loses one timestamp; the next process waits from its own answer
            self._release()

    def _release(self) -> None:
        """Let go of the shared lock, if held."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _lock_shared(self) -> float | None:
        """Take the shared lock (waiting at most max_wait s); the last answer's Unix time, if any."""
        assert self.shared is not None
        try:
            self.shared.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.shared, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"cannot open the pace file {self.shared}: {exc.strerror}",
                hint="make the folder of [storage] path writable",
            ) from exc
        give_up = self.clock.monotonic() + self.max_wait
        try:
            while not _try_lock(fd):
                if self.clock.monotonic() > give_up:
                    raise ArxivUnavailable(
                        f"another arxivwatch process on this store kept talking to arXiv "
                        f"for more than {self.max_wait:.0f} s ({self.shared})",
                        hint="try again when it has finished",
                    )
                self.clock.sleep(_LOCK_POLL)  # on the Clock, so a stopping daemon is not held here
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        try:
            return float(text)
        except ValueError:
            return None


def _try_lock(fd: int) -> bool:
    """Take the exclusive flock on `fd` if it is free; whether it was."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
