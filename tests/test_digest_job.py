"""The digest job through the ledger: real SMTP (aiosmtpd) and a Slack emulator on 127.0.0.1.

Papers come from the real 2024-11-28 feed, polled from the loopback arXiv server; the model is
trained once for the module on the bundled lists.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from arxiv_server import RESTRICTED_FEED, ArxivServer, Reply, recorded
from arxivwatch import config as config_io
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.errors import ArxivError, ConfigError, DeliveryError
from arxivwatch.jobs import digest, open_store, poll
from slack_emulator import SlackEmulator
from smtp_server import SmtpServer

NOW = datetime(2024, 11, 28, 8, 0, tzinfo=UTC)  # the day's digest after the morning poll


@pytest.fixture
def polled(
    write_config: Callable[[str], Path], arxiv_server: ArxivServer, model_path: Path
) -> Callable[[str], Path]:
    """Write a config (the loopback arXiv, the shared model, then `extra`), poll the day's papers
    with it, and return its path."""
    arxiv_server.script("rss", Reply(200, recorded(RESTRICTED_FEED)))

    def write(extra: str = "") -> Path:
        path = write_config(
            f'[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
            f'[training]\nmodel = "{model_path}"\n' + extra
        )
        poll.poll(config_io.load(str(path), env={}), clock=FakeClock(NOW))
        return path

    return write


@pytest.fixture
def make_config(
    polled: Callable[[str], Path], smtp: SmtpServer, slack: SlackEmulator
) -> Callable[[str], Config]:
    """A config with email and Slack on loopback, the shared model, and the day's papers polled."""

    def make(extra: str = "") -> Config:
        path = polled(smtp.config_section() + slack.config_section() + extra)
        return config_io.load(str(path), env={})

    return make


def test_one_run_delivers_once_per_channel_and_never_again(
    make_config: Callable[[str], Config], smtp: SmtpServer, slack: SlackEmulator
) -> None:
    """One multipart email (text and html) and the Slack message(s) in order; a second run sends nothing."""
    cfg = make_config("")
    results = digest.digest(cfg, clock=FakeClock(NOW))
    assert [r.status for r in results] == ["sent", "sent"]
    (mail,) = smtp.messages
    assert mail.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in mail.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert mail["Subject"].startswith("arxivwatch: ")
    assert mail["Message-ID"] and mail["Date"]
    first_slack = len(slack.messages)
    assert first_slack >= 1
    again = digest.digest(cfg, clock=FakeClock(NOW))
    assert [r.status for r in again] == ["already sent", "already sent"]
    assert len(smtp.messages) == 1
    assert len(slack.messages) == first_slack


def test_smtp_down_leaves_the_digest_pending_then_sends_it_once(
    make_config: Callable[[str], Config], smtp: SmtpServer
) -> None:
    """SMTP down: one error line and the digest stays pending; SMTP back: it is delivered once."""
    cfg = make_config("")
    smtp.stop()
    report = io.StringIO()
    with pytest.raises(DeliveryError) as info:
        digest.digest(cfg, channels=["email"], clock=FakeClock(NOW), report=report)
    assert "127.0.0.1" in str(info.value) and "\n" not in str(info.value)
    assert report.getvalue().startswith("email: failed, left pending: ")
    assert "email: email:" not in report.getvalue() and "pending: email:" not in report.getvalue()
    with open_store(cfg, FakeClock(NOW)) as store:
        (pending,) = store.pending_digests()
        assert pending.channel == "email"
    smtp.start()
    digest.digest(cfg, channels=["email"], clock=FakeClock(NOW))
    digest.digest(cfg, channels=["email"], clock=FakeClock(NOW))
    assert len(smtp.messages) == 1
    with open_store(cfg, FakeClock(NOW)) as store:
        assert store.pending_digests() == []
        record = store.get_digest(pending.key)
        assert record is not None and record.status == "sent"
        assert sorted(record.items) == sorted(pending.items)


def test_slack_ratelimited_then_ok_is_delivered_once_after_the_wait(
    make_config: Callable[[str], Config], slack: SlackEmulator
) -> None:
    """A 429 with Retry-After is waited out (fake clock) and the message is posted exactly once."""
    cfg = make_config("")
    slack.fail("ratelimited", times=1, retry_after=7)
    clock = FakeClock(NOW)
    (result,) = digest.digest(cfg, channels=["slack"], clock=clock)
    assert result.status == "sent"
    assert 7 in clock.sleeps
    texts = [m.get("text") for m in slack.messages]
    assert len(texts) == len(set(texts)) >= 1


def test_slack_failing_midway_resends_only_the_rest(
    make_config: Callable[[str], Config], slack: SlackEmulator
) -> None:
    """A digest in several Slack messages failing after the first sends only the others next time."""
    cfg = make_config("[digest]\nmin_score = 0.0\ntop_n = 25\n")
    slack.fail("channel_not_found", times=1, after=1)
    with pytest.raises(DeliveryError, match="channel_not_found"):
        digest.digest(cfg, channels=["slack"], clock=FakeClock(NOW))
    assert len(slack.messages) == 1
    digest.digest(cfg, channels=["slack"], clock=FakeClock(NOW))
    posted = slack.messages
    assert len(posted) >= 2, "75 papers do not fit in one 50-block message"
    bodies = [str(m["blocks"]) for m in posted]
    assert len(bodies) == len(set(bodies)), "no Slack message was posted twice"


def test_dry_run_sends_and_records_nothing(
    make_config: Callable[[str], Config], smtp: SmtpServer, slack: SlackEmulator
) -> None:
    """--dry-run prints the digest but neither delivers nor writes the ledger."""
    cfg = make_config("")
    sink = io.StringIO()
    results = digest.digest(cfg, dry_run=True, clock=FakeClock(NOW), out=sink)
    assert {r.status for r in results} == {"dry run"}
    assert "arxivwatch" in sink.getvalue()
    assert smtp.messages == [] and slack.messages == []
    with open_store(cfg, FakeClock(NOW)) as store:
        assert store.last_digests() == [] and store.pending_digests() == []


def test_a_paper_sent_once_is_not_sent_again_in_the_weekly_digest(
    make_config: Callable[[str], Config], smtp: SmtpServer
) -> None:
    """The daily digest's papers are left out of the week's digest on the same channel."""
    cfg = make_config("")
    (daily,) = digest.digest(cfg, period="day", channels=["email"], clock=FakeClock(NOW))
    (weekly,) = digest.digest(cfg, period="week", channels=["email"], clock=FakeClock(NOW))
    assert daily.status == weekly.status == "sent"
    with open_store(cfg, FakeClock(NOW)) as store:
        day_record, week_record = store.get_digest(daily.key), store.get_digest(weekly.key)
    assert day_record is not None and week_record is not None
    day_ids = {paper_id for paper_id, _ in day_record.items}
    week_ids = {paper_id for paper_id, _ in week_record.items}
    assert day_ids and not day_ids & week_ids
    assert len(smtp.messages) == 2


def test_empty_digest_is_skipped_when_configured(
    make_config: Callable[[str], Config], smtp: SmtpServer
) -> None:
    """With send_empty = false an empty period sends nothing and records nothing."""
    cfg = make_config("[digest]\nsend_empty = false\nmin_score = 1.0\n")
    (result,) = digest.digest(cfg, channels=["email"], clock=FakeClock(NOW))
    assert result.status == "skipped (empty)"
    assert smtp.messages == []


@pytest.mark.parametrize("channel", ["email", "slack"])
def test_a_channel_named_but_not_enabled_is_refused_recording_nothing(
    channel: str, polled: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`digest --channel email|slack` with that channel off exits 2 naming the key and records no digest."""
    from arxivwatch.cli import main

    path = polled("")
    cfg = config_io.load(str(path), env={})
    assert main(["digest", "--channel", channel, "--config", str(path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"Error: {channel} is not enabled: set [{channel}] enabled = true"), error
    with open_store(cfg, FakeClock(NOW)) as store:
        assert store.last_digests() == [] and store.pending_digests() == []
    assert main(["digest", "--channel", "stdout", "--config", str(path)]) == 0  # stdout needs nothing


def test_an_empty_dry_run_after_a_failed_poll_says_the_poll_failed(
    write_config: Callable[[str], Path], arxiv_server: ArxivServer, model_path: Path
) -> None:
    """`digest --dry-run` with nothing to show after a failed poll names that failure and `status`."""
    arxiv_server.script("rss", Reply(404, b"not found"))
    path = write_config(
        f'[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
        f'[training]\nmodel = "{model_path}"\n'
    )
    cfg = config_io.load(str(path), env={})
    with pytest.raises(ArxivError):
        poll.poll(cfg, clock=FakeClock(NOW))
    (result,) = digest.digest(cfg, period="day", dry_run=True, clock=FakeClock(NOW), out=io.StringIO())
    assert result.papers == 0
    assert result.line == (
        "stdout: dry run, 0 papers; the last poll failed at 2024-11-28 08:00 UTC: see `arxivwatch status`"
    )


def test_a_dry_run_leaves_a_failed_digest_unhealthy(make_config: Callable[[str], Config]) -> None:
    """A `digest --dry-run` after a failed digest keeps its failed heartbeat: `status --check` exits 1."""
    from arxivwatch.jobs import status

    cfg = make_config("")
    with open_store(cfg, FakeClock(NOW)) as store:
        store.beat("digest", False, "email: failed, left pending: connection refused")
    digest.digest(cfg, dry_run=True, clock=FakeClock(NOW), out=io.StringIO())
    with open_store(cfg, FakeClock(NOW)) as store:
        _at, ok, detail = store.heartbeats()["digest"]
    assert (ok, detail) == (False, "email: failed, left pending: connection refused")
    report = status.collect(cfg, clock=FakeClock(NOW))
    assert report["problem"] is not None and "the last digest" in report["problem"]


def test_digest_command_prints_each_channel_line_once(
    polled: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`digest --channel file` prints its line once on stdout and no INFO log line repeating it."""
    from arxivwatch.cli import main

    path = polled(f'[digest]\nfolder = "{tmp_path / "out"}"\n')
    capsys.readouterr()
    assert main(["digest", "--channel", "file", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("file: wrote "), lines
    assert "wrote" not in captured.err, captured.err


def test_a_digest_printed_on_stdout_keeps_stdout_for_itself(
    polled: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """When a run prints a digest (the stdout channel, a dry run), every channel's line goes to
    stderr: `arxivwatch digest > digest.txt` holds the digest and nothing else."""
    from arxivwatch.cli import main

    path = polled("")
    cfg = config_io.load(str(path), env={})
    cfg.digest_folder.parent.mkdir(parents=True, exist_ok=True)
    cfg.digest_folder.write_text("not a folder\n")  # the file digest fails and stays pending
    assert main(["digest", "--channel", "file", "--config", str(path)]) == 1
    cfg.digest_folder.unlink()
    capsys.readouterr()
    assert main(["digest", "--config", str(path)]) == 0  # stdout, and the pending file digest
    captured = capsys.readouterr()
    assert captured.out.startswith("arxivwatch · ")
    assert "file: " not in captured.out and "stdout: " not in captured.out, captured.out[-300:]
    lines = [line for line in captured.err.splitlines() if line.startswith(("file: ", "stdout: "))]
    assert [line.split(" ")[:2] for line in lines] == [["stdout:", "printed,"], ["file:", "wrote"]]
    assert main(["digest", "--dry-run", "--channel", "file", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("arxivwatch · ") and "file: dry run" not in captured.out
    assert "file: dry run, " in captured.err


def test_a_channel_not_enabled_without_a_file_names_the_file_to_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a configuration file the refusal names ./arxivwatch.toml, not "in built-in defaults"."""
    monkeypatch.chdir(tmp_path)
    cfg = config_io.load(None, env={})
    with pytest.raises(ConfigError) as refused:
        digest.check_channels(cfg, ["email"])
    assert str(refused.value).startswith(
        "email is not enabled: set [email] enabled = true in ./arxivwatch.toml"
        " (or ARXIVWATCH_EMAIL_ENABLED=true)"
    ), str(refused.value)
