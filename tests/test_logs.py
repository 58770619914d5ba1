"""Logging: the libraries stay quiet unless --debug, and secret values never reach the output."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from arxivwatch import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger and the libraries' levels back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logs.THIRD_PARTY}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    ("flags", "ours", "theirs"),
    [
        ({}, logging.INFO, logging.WARNING),
        ({"quiet": True}, logging.WARNING, logging.WARNING),
        ({"verbose": True}, logging.DEBUG, logging.WARNING),
        ({"debug": True}, logging.DEBUG, logging.DEBUG),
    ],
)
def test_levels(flags: dict[str, bool], ours: int, theirs: int) -> None:
    """-v opens arxivwatch's debug logs only; the libraries (slack-sdk, httpx, ...) need --debug."""
    logs.setup(**flags)
    assert logging.getLogger().level == ours
    for name in ("slack_sdk", "httpx", "httpcore", "urllib3", "apscheduler", "markdown_it"):
        assert logging.getLogger(name).level == theirs, name


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("flags", [{}, {"verbose": True}])
def test_a_library_not_named_is_quiet_too(flags: dict[str, bool], capsys: pytest.CaptureFixture[str]) -> None:
    """pylatexenc's INFO on an unclosed \\verb in a title, and any library's INFO, need --debug."""
    from arxivwatch.titles import unicode_text

    logs.setup(**flags)
    assert unicode_text("Unclosed \\verb|x brace") == "Unclosed \\verb|x brace"
    logging.getLogger("some.library").info("chatter")
    logging.getLogger("some.library").warning("a real problem")
    logging.getLogger("arxivwatch.train").info("ours")
    err = capsys.readouterr().err
    assert "pylatexenc" not in err and "chatter" not in err
    assert "a real problem" in err and "ours" in err


@pytest.mark.usefixtures("restore_logging")
def test_debug_shows_the_libraries(capsys: pytest.CaptureFixture[str]) -> None:
    """With --debug a library's INFO line is shown."""
    logs.setup(debug=True)
    logging.getLogger("some.library").info("chatter")
    assert "chatter" in capsys.readouterr().err


def test_redaction_covers_messages_arguments_and_tracebacks() -> None:
    """A secret value in a message, its arguments or an exception's traceback is replaced by its name."""
    redactor = logs.RedactSecrets()
    redactor.add({"SLACK_BOT_TOKEN": "xoxb-1234-secret", "EMPTY": ""})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redactor)
    logger = logging.getLogger("arxivwatch.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sending with %s", "Bearer xoxb-1234-secret")
        try:
            raise RuntimeError("auth failed for xoxb-1234-secret")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    out = stream.getvalue()
    assert "xoxb-1234-secret" not in out
    assert out.count("[redacted SLACK_BOT_TOKEN]") == 3  # the message, the raising line, the error
    assert "RuntimeError" in out
