"""`arxivwatch run` as a real process: on schedule, on loopback arXiv, SMTP and Slack, stopped by SIGTERM.

The tests that watch a job fire use six-field crons (seconds first) pinned to a date and
time a few seconds ahead, so each job fires exactly once while the test watches.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from arxiv_server import API_TESTING, RESTRICTED_FEED, ApiPages, ArxivServer, Reply, recorded
from arxivwatch.jobs import poll
from arxivwatch.scheduler import SINCE_KEY
from arxivwatch.store import PollRun, Store
from slack_emulator import SlackEmulator
from smtp_server import SmtpServer

pytestmark = pytest.mark.slow

TOKEN = "xoxb-daemon-test-token"
FAR = "0 0 1 1 *"  # midnight on 1 January: does not fire while a test runs
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+: ")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for a child: none of the developer's arxivwatch or Slack settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIVWATCH_", "SLACK_"))}
    env.update(XDG_DATA_HOME=str(home / "xdg-data"), XDG_CACHE_HOME=str(home / "xdg-cache"))
    env.update(extra)
    return env


def arxivwatch(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run one arxivwatch command to the end."""
    return subprocess.run(
        [sys.executable, "-m", "arxivwatch", *args],
        cwd=cwd, env=clean_env(cwd, SLACK_BOT_TOKEN=TOKEN), capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained once for the session with `arxivwatch train --offline`."""
    home = tmp_path_factory.mktemp("trained")
    config = home / "train.toml"
    config.write_text(f'[storage]\npath = "{home / "arxivwatch.db"}"\n', encoding="utf-8")
    done = arxivwatch("train", "--offline", "--config", str(config), cwd=home, timeout=120)
    assert done.returncode == 0, done.stderr
    return home / "model.npz"


class Daemon:
    """`arxivwatch run` in a child process; its stderr lines are collected as they come."""

    def __init__(self, config: Path, *args: str) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "arxivwatch", "run", "--config", str(config), *args],
            cwd=config.parent, env=clean_env(config.parent, SLACK_BOT_TOKEN=TOKEN),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 20) -> str:
        """The first stderr line matching `pattern`; fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        pytest.fail(f"no log line matching {pattern!r}; the log:\n{self.log}")

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, float]:
        """Send SIGTERM (or `signum`); the exit code and the seconds it took to exit."""
        began = time.monotonic()
        self.process.send_signal(signum)
        code = self.process.wait(timeout=20)
        took = time.monotonic() - began
        self._reader.join(timeout=5)
        return code, took

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def daemons() -> Iterator[Callable[..., Daemon]]:
    """Start daemons; any still running after the test is killed."""
    started: list[Daemon] = []

    def start(config: Path, *args: str) -> Daemon:
        daemon = Daemon(config, *args)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


def at(moment: datetime) -> str:
    """A six-field cron that fires once, at this second (UTC)."""
    moment = moment.astimezone(UTC)
    return f"{moment.second} {moment.minute} {moment.hour} {moment.day} {moment.month} *"


def todays_feed() -> bytes:
    """The recorded 2024-11-28 feed, re-dated to today, so this week's digest has its papers."""
    eastern = timezone(timedelta(hours=-5))
    today = format_datetime(datetime.combine(date.today(), datetime.min.time(), eastern))
    return recorded(RESTRICTED_FEED).replace(b"Thu, 28 Nov 2024 00:00:00 -0500", today.encode())


def write_config(
    folder: Path, arxiv: ArxivServer, *, poll: str = FAR, digest: str = FAR,
    model: Path | None = None, smtp: SmtpServer | None = None, slack: SlackEmulator | None = None,
) -> Path:  # fmt: skip
    """A config file in `folder` for loopback servers; the store is folder/data/arxivwatch.db."""
    text = (
        f'[storage]\npath = "{folder / "data" / "arxivwatch.db"}"\n'
        f'[arxiv]\nfeed_url = "{arxiv.feed_url}"\napi_url = "{arxiv.api_url}"\n'
        f'[schedule]\ntimezone = "UTC"\npoll = "{poll}"\ndigest = "{digest}"\n'
    )
    if model is not None:
        text += f'[training]\nmodel = "{model}"\n'
    if smtp is not None:
        text += smtp.config_section()
    if slack is not None:
        text += slack.config_section()
    path = folder / "arxivwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def seed_poll(folder: Path, when: datetime) -> None:
    """Record a good poll at `when`, as if a daemon had polled then."""
    with Store(folder / "data" / "arxivwatch.db") as store:
        store.record_poll(PollRun(at=when, source="feed", outcome="no announcement"))


def open_db(folder: Path) -> Store:
    return Store(folder / "data" / "arxivwatch.db")


def test_daemon_polls_and_sends_on_schedule_stops_on_sigterm_and_never_resends(
    tmp_path: Path, arxiv_server: ArxivServer, trained_model: Path,
    daemons: Callable[..., Daemon],
) -> None:  # fmt: skip
    """Poll and digest fire on their cron; SIGTERM exits 0 within 10 s; a restart sends nothing again."""
    arxiv_server.script("rss", Reply(200, todays_feed(), {"ETag": '"today"'}))
    seed_poll(tmp_path, datetime.now(UTC))  # polled just now: start-up has nothing to catch up
    now = datetime.now(UTC)
    with SmtpServer() as smtp, SlackEmulator(token=TOKEN) as slack:
        config = write_config(
            tmp_path, arxiv_server, poll=at(now + timedelta(seconds=4)),
            digest=at(now + timedelta(seconds=7)), model=trained_model, smtp=smtp, slack=slack,
        )  # fmt: skip
        first = daemons(config)
        first.wait_for(r"poll: announcement, \d+ new")
        first.wait_for(r"digest week:\S+:slack sent to slack", timeout=20)
        code, took = first.stop()
        assert (code, took < 10) == (0, True), first.log
        assert len(arxiv_server.requests_to("rss")) == 1  # the scheduled poll, not a start-up one
        assert len(smtp.messages) == 1
        slack_messages = len(slack.messages)
        assert slack_messages >= 1
        with open_db(tmp_path) as store:
            sent = {d.channel: d for d in store.last_digests()}
            assert store.count_papers() > 0
        assert sent.keys() == {"email", "slack"}
        assert all(d.status == "sent" and d.items for d in sent.values())
        paper = store_title(tmp_path, sent["email"].items[0][0])
        assert paper in smtp.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert all(LOG_LINE.match(line) for line in first.lines), first.log
        assert TOKEN not in first.log
        assert "Traceback" not in first.log

        second = daemons(config)
        second.wait_for("start-up done")
        code, _took = second.stop()
        assert code == 0, second.log
        assert len(smtp.messages) == 1
        assert len(slack.messages) == slack_messages
        assert len(arxiv_server.requests_to("rss")) == 1


def store_title(folder: Path, paper_id: str) -> str:
    with open_db(folder) as store:
        paper = store.get_paper(paper_id)
    assert paper is not None
    return paper.title


def test_sigterm_during_a_send_leaves_it_pending_and_the_next_start_sends_it_once(
    tmp_path: Path, arxiv_server: ArxivServer, daemons: Callable[..., Daemon],
    trained_model: Path,
) -> None:  # fmt: skip
    """Stopped while Slack rate-limits it, the daemon exits 0 at once; restarted, sends that digest once."""
    seed_poll(tmp_path, datetime.now(UTC))
    with SmtpServer() as smtp, SlackEmulator(token=TOKEN) as slack:
        slack.fail("ratelimited", times=1, retry_after=60)
        config = write_config(
            tmp_path, arxiv_server, digest=at(datetime.now(UTC) + timedelta(seconds=4)),
            model=trained_model, smtp=smtp, slack=slack,
        )  # fmt: skip
        first = daemons(config)
        deadline = time.monotonic() + 20
        while not any(r.status == 429 for r in slack.requests) and time.monotonic() < deadline:
            time.sleep(0.05)
        code, took = first.stop()
        assert (code, took < 5) == (0, True), first.log
        assert "stopped early by the stop request" in first.log
        with open_db(tmp_path) as store:
            states = {d.channel: d.status for d in store.last_digests()}
        assert states == {"email": "sent", "slack": "pending"}
        assert len(smtp.messages) == 1
        assert slack.messages == []

        second = daemons(config)
        second.wait_for("start-up done")
        code, _took = second.stop()
        assert code == 0, second.log
        assert len(slack.messages) == 1
        assert len(smtp.messages) == 1
        with open_db(tmp_path) as store:
            assert {d.channel: d.status for d in store.last_digests()} == {
                "email": "sent",
                "slack": "sent",
            }
            assert store.pending_digests() == []


def test_a_digest_that_fell_due_while_down_is_sent_at_start_and_only_once(
    tmp_path: Path, arxiv_server: ArxivServer, trained_model: Path
) -> None:
    """The daemon ran here a week ago, the daily digest time passed since: --once sends it, once."""
    now = datetime.now(UTC)
    seed_poll(tmp_path, now)
    with open_db(tmp_path) as store:
        store.set_value(SINCE_KEY, (now - timedelta(days=7)).isoformat())
    with SmtpServer() as smtp:
        config = write_config(tmp_path, arxiv_server, digest="0 0 * * *", model=trained_model, smtp=smtp)
        first = arxivwatch("run", "--once", "--config", str(config), cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        assert re.search(r"digest week:\S+:email sent to email", first.stderr), first.stderr
        assert len(smtp.messages) == 1
        again = arxivwatch("run", "--once", "--config", str(config), cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert len(smtp.messages) == 1
    with open_db(tmp_path) as store:
        assert [d.status for d in store.last_digests()] == ["sent"]
        assert store.heartbeats()["start-up"][1] is True


def test_a_second_daemon_on_the_same_store_is_refused_with_the_first_ones_pid(
    tmp_path: Path, arxiv_server: ArxivServer, daemons: Callable[..., Daemon]
) -> None:
    """While one daemon runs, another `run` (even --once) exits 2 with one line naming its pid;
    SIGINT stops the first one with exit 0."""
    seed_poll(tmp_path, datetime.now(UTC))
    config = write_config(tmp_path, arxiv_server)
    first = daemons(config)
    first.wait_for("daemon started")
    second = arxivwatch("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert f"already running on {tmp_path / 'data' / 'arxivwatch.db'} (pid {first.process.pid})" in lines[0]
    code, _took = first.stop(signal.SIGINT)  # Ctrl-C stops it as cleanly as SIGTERM
    assert code == 0, first.log
    assert "SIGINT received" in first.log


def test_start_up_backfills_days_of_missed_polls_through_the_export_api_once(
    tmp_path: Path, arxiv_server: ArxivServer
) -> None:
    """A store last polled five days ago: `run --once` fetches that gap from the API, and only once."""
    arxiv_server.script("api", ApiPages(recorded(API_TESTING)))
    arxiv_server.script("rss", Reply(500, b"the feed must not be asked"))
    last = datetime.now(UTC) - timedelta(days=5)
    seed_poll(tmp_path, last)
    config = write_config(tmp_path, arxiv_server)
    done = arxivwatch("run", "--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    requests = arxiv_server.requests_to("api")
    assert len(requests) == 1
    start = poll.backfill_start(last).astimezone(UTC)  # overlaps the last good poll (test_catch_up)
    assert start < last
    day_after = datetime.now(UTC) + timedelta(days=1)  # the range ends at midnight after today (UTC)
    window = f"submittedDate:[{start:%Y%m%d}0000 TO {day_after:%Y%m%d}0000]"
    assert window in requests[0].param("search_query")
    with open_db(tmp_path) as store:
        assert store.count_papers() == 100
        newest = store.last_poll()
    assert newest is not None
    assert (newest.source, newest.outcome) == ("api", "announcement")

    again = arxivwatch("run", "--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(arxiv_server.requests_to("api")) == 1
    assert arxiv_server.requests_to("rss") == []


def test_status_check_exit_codes_follow_the_last_poll(
    tmp_path: Path, arxiv_server: ArxivServer, trained_model: Path
) -> None:
    """status --check: 1 after a failed poll (and run --once exits 1), 0 after a good one (with a
    model), 1 when the last good poll is older than the daily schedule allows."""
    config = write_config(tmp_path, arxiv_server, poll="30 5 * * *", model=trained_model)
    arxiv_server.script("rss", Reply(404, b"not here"))
    failed = arxivwatch("run", "--once", "--config", str(config), cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    check = arxivwatch("status", "--check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 1
    assert "unhealthy: the last poll failed" in check.stdout

    arxiv_server.script("rss", Reply(200, todays_feed()))
    good = arxivwatch("run", "--once", "--config", str(config), cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    check = arxivwatch("status", "--check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr

    old = tmp_path / "old"
    seed_poll(old, datetime.now(UTC) - timedelta(days=3))
    old_config = write_config(old, arxiv_server, poll="30 5 * * *", model=trained_model)
    check = arxivwatch("status", "--check", "--config", str(old_config), cwd=old)
    assert check.returncode == 1
    assert "is older than the poll due at" in check.stdout


def test_a_job_stuck_on_the_network_does_not_keep_sigterm_waiting(
    tmp_path: Path, daemons: Callable[..., Daemon]
) -> None:
    """A poll hung on an arXiv that never answers: SIGTERM still exits 0 within 10 s, nothing recorded."""
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        config = tmp_path / "arxivwatch.toml"
        config.write_text(
            f'[storage]\npath = "{tmp_path / "data" / "arxivwatch.db"}"\n'
            f'[arxiv]\nfeed_url = "{url}/rss"\napi_url = "{url}/api/query"\n',
            encoding="utf-8",
        )
        daemon = daemons(config)
        daemon.wait_for("polling now")
        time.sleep(0.5)
        code, took = daemon.stop()
    assert (code, took < 10) == (0, True), daemon.log
    assert "still running" in daemon.log
    with open_db(tmp_path) as store:
        assert store.last_poll() is None
