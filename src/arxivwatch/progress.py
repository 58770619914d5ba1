"""Progress of long steps (enrichment, catch-up, re-scoring): never a silent wait.

On a terminal, a rich progress bar on stderr (rich is the well-kept library for it),
unless `-q` asked for warnings and errors only; elsewhere (the daemon, cron, a pipe),
an INFO log line when the step starts, one at least every `every` seconds while it runs
(a heartbeat thread, so a single long request or a retry wait still shows), and one when
a long step ends. Counts are in the step's own units (papers, ids); `total` may be None
when it is not known in advance.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import Any

from arxivwatch.clock import Clock, SystemClock

log = logging.getLogger(__name__)
EVERY = 30.0  # seconds between log lines when there is no terminal


class Progress:
    """A long step's progress: `with Progress("re-scoring", 12000, unit="papers") as p: p.advance(n)`."""

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        unit: str = "items",
        terminal: bool | None = None,
        every: float = EVERY,
        clock: Clock | None = None,
    ) -> None:
        self.label, self.total, self.unit, self.every = label, total, unit, every
        self.done = 0
        # `-q` (arxivwatch at WARNING) asks for warnings and errors only: no bar either
        self._terminal = (
            (sys.stderr.isatty() and log.isEnabledFor(logging.INFO)) if terminal is None else terminal
        )
        self._clock = clock or SystemClock()
        self._start = self._clock.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._beats = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self._terminal:
            from rich.progress import Progress as Bar

            self._bar = Bar(transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        else:
            log.info("%s: started%s", self.label, f" ({self.total} {self.unit})" if self.total else "")
            self._thread = threading.Thread(target=self._heartbeat, name="progress", daemon=True)
            self._thread.start()
        return self

    def advance(self, count: int = 1) -> None:
        """Count `count` more units done."""
        with self._lock:
            self.done += count
        if self._bar is not None:
            self._bar.advance(self._task, count)

    def line(self) -> str:
        """The progress as one line: "re-scoring: 4000 of 12000 papers, 31 s"."""
        with self._lock:
            done = self.done
        elapsed = f"{self._clock.monotonic() - self._start:.0f} s"
        if self.total is None and not done:
            return f"{self.label}: running, {elapsed}"
        of = f" of {self.total}" if self.total is not None else ""
        return f"{self.label}: {done}{of} {self.unit}, {elapsed}"

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            # the last line is worth INFO only after a long wait; a quick step already said it started
            level = logging.INFO if self._beats or kind is not None else logging.DEBUG
            log.log(level, "%s%s", self.line(), "" if kind is None else " (stopped)")
        if self._bar is not None:
            self._bar.stop()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.every):
            self._beats += 1
            log.info("%s", self.line())
