"""Long steps are never silent: a log line when they start and at least every 30 s while they run."""

from __future__ import annotations

import logging
import threading

import pytest

from arxivwatch.clock import FakeClock
from arxivwatch.progress import EVERY, Progress


def test_default_interval_is_at_most_30_seconds() -> None:
    """Without a terminal, a line comes at least every 30 s."""
    assert 0 < EVERY <= 30.0


def test_without_a_terminal_logs_start_heartbeats_and_end(caplog: pytest.LogCaptureFixture) -> None:
    """A step that waits (no advance) still logs its count and elapsed time on every heartbeat."""
    clock = FakeClock()
    beat = threading.Event()

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "of 300 papers" in record.getMessage():
                beat.set()

    handler = Seen()
    logging.getLogger("arxivwatch.progress").addHandler(handler)
    try:
        progress = Progress("re-scoring", 300, unit="papers", terminal=False, every=0.02, clock=clock)
        with caplog.at_level(logging.INFO, logger="arxivwatch.progress"), progress as p:
            p.advance(100)
            clock.advance(31)
            assert beat.wait(timeout=10), "no heartbeat line within 10 s"
    finally:
        logging.getLogger("arxivwatch.progress").removeHandler(handler)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "re-scoring: started (300 papers)"
    assert "re-scoring: 100 of 300 papers, 31 s" in messages
    assert all(r.levelname == "INFO" for r in caplog.records)


def test_quick_step_ends_without_a_second_info_line(caplog: pytest.LogCaptureFixture) -> None:
    """A step shorter than the interval says it started; its end is DEBUG, not noise."""
    progress = Progress("scoring", 5, unit="papers", terminal=False, every=60)
    with caplog.at_level(logging.INFO, logger="arxivwatch.progress"), progress as p:
        p.advance(5)
    assert [r.getMessage() for r in caplog.records] == ["scoring: started (5 papers)"]


def test_unknown_total_says_running(caplog: pytest.LogCaptureFixture) -> None:
    """Without a known total and nothing counted yet, the line says the step is running."""
    clock = FakeClock()
    progress = Progress("catch-up", None, unit="papers", terminal=False, clock=clock)
    clock.advance(45)
    assert progress.line() == "catch-up: running, 45 s"
    progress.advance(1370)
    assert progress.line() == "catch-up: 1370 papers, 45 s"


def test_on_a_terminal_a_progress_bar_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """On a terminal the step draws a rich bar that counts to the total, and logs nothing."""
    with Progress("arXiv metadata", 200, unit="ids", terminal=True) as p:
        p.advance(150)
        assert p._bar is not None
        assert p._bar.tasks[0].completed == 150
        assert p._thread is None


@pytest.mark.parametrize(("level", "bar"), [(logging.INFO, True), (logging.WARNING, False)])
def test_quiet_draws_no_bar_on_a_terminal(level: int, bar: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """With `-q` (arxivwatch logging at WARNING) a terminal gets no progress bar; otherwise it does."""
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    logger = logging.getLogger("arxivwatch")
    before = logger.level
    logger.setLevel(level)
    try:
        with Progress("re-scoring", 10, unit="papers") as p:
            assert (p._bar is not None) is bar
    finally:
        logger.setLevel(before)
