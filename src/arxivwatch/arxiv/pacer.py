"""One request every `min_interval` seconds, as arXiv's terms of use ask.

The pacer is driven by a Clock, so tests use a FakeClock and read the sleeps it
recorded instead of waiting. One pacer is shared by every request a client makes
(feed, search, lookup), because arXiv's limit covers all of them together.
"""

from __future__ import annotations

from arxivwatch.clock import Clock


class Pacer:
    """Spaces calls: `wait()` before a request, `done()` when its answer arrived."""

    def __init__(self, clock: Clock, min_interval: float) -> None:
        self.clock = clock
        self.min_interval = min_interval
        self._last: float | None = None

    def wait(self) -> float:
        """Sleep until `min_interval` has passed since the last answer; returns the time slept."""
        if self._last is None:
            return 0.0
        remaining = self._last + self.min_interval - self.clock.monotonic()
        if remaining <= 0:
            return 0.0
        self.clock.sleep(remaining)
        return remaining

    def done(self) -> None:
        """Mark the end of a request (counted from the answer: the conservative reading)."""
        self._last = self.clock.monotonic()
