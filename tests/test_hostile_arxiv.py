"""The arXiv client against hostile or broken servers: bounded memory, bounded time, one line each."""

from __future__ import annotations

import fcntl
import itertools
import logging
import random
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from arxiv_server import EMPTY_FEED, ArxivServer, Reply, recorded
from arxivwatch.arxiv.client import ArxivClient
from arxivwatch.clock import FakeClock, SystemClock
from arxivwatch.errors import ArxivError, ArxivOffline, ArxivUnavailable
from conftest import CliRunner
from smtp_server import free_port

CATS = ["cs.CV"]
MB = 1_000_000


def gzip_bomb(inflated: int) -> bytes:
    """A gzip body of `inflated` zero bytes, built a megabyte at a time (a few hundred KB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MB)
    parts = [packer.compress(block) for _ in range(inflated // MB)]
    return b"".join([*parts, packer.flush()])


def make_client(server: ArxivServer, **kwargs: object) -> ArxivClient:
    options: dict[str, object] = {"contact": "lab@example.org", "rng": random.Random(1)} | kwargs
    return ArxivClient(api_url=server.api_url, feed_url=server.feed_url, **options)  # type: ignore[arg-type]


def test_gzip_bomb_is_refused_with_bounded_memory(arxiv_server: ArxivServer) -> None:
    """A 300 MB gzip bomb against a 10 MB cap: one line naming the cap, peak traced memory under 25 MB."""
    bomb = gzip_bomb(300 * MB)
    assert len(bomb) < 1 * MB
    arxiv_server.script("rss", Reply(200, bomb, {"Content-Encoding": "gzip"}))
    with make_client(arxiv_server, clock=FakeClock(), max_body_bytes=10 * MB) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ArxivError) as caught:
                client.fetch_feed(CATS)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 25 * MB, f"peak {peak / MB:.0f} MB"
    assert "larger than 10,000,000 bytes (after decompression)" in str(caught.value)
    assert "max_body_bytes" in str(caught.value) and "\n" not in str(caught.value)


def test_gzip_body_under_the_cap_is_inflated(arxiv_server: ArxivServer) -> None:
    """A real feed sent gzip-compressed is inflated by the client and parsed as usual."""
    body = recorded(EMPTY_FEED)
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    arxiv_server.script(
        "rss", Reply(200, packer.compress(body) + packer.flush(), {"Content-Encoding": "gzip"})
    )
    with make_client(arxiv_server, clock=FakeClock()) as client:
        fetch = client.fetch_feed(CATS)
    assert fetch.result is not None and fetch.result.papers == ()
    assert arxiv_server.requests[0].header("Accept-Encoding") == "gzip"


def test_plain_body_over_the_cap_is_refused(arxiv_server: ArxivServer) -> None:
    """An uncompressed answer one byte over the cap is refused the same way."""
    arxiv_server.script("rss", Reply(200, b"x" * (1 * MB + 1)))
    client = make_client(arxiv_server, clock=FakeClock(), max_body_bytes=1 * MB)
    with client, pytest.raises(ArxivError, match=r"larger than 1,000,000 bytes"):
        client.fetch_feed(CATS)


def test_dripping_server_ends_within_the_budget(arxiv_server: ArxivServer) -> None:
    """A body dripped one byte every 0.05 s (60 s in all) ends near the 2 s budget, in wall-clock time."""
    arxiv_server.script("rss", Reply(200, b"<" * 1200, drip=0.05))
    with make_client(arxiv_server, clock=SystemClock(), budget=2.0, timeout=1.0) as client:
        began = time.monotonic()
        with pytest.raises(ArxivUnavailable) as caught:
            client.fetch_feed(CATS)
        took = time.monotonic() - began
    assert took < 4.0, f"took {took:.1f} s"
    assert "still arriving when the 2 s budget ran out" in str(caught.value)


def test_each_retry_is_logged_with_reason_and_delay(
    arxiv_server: ArxivServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 503 then a 200: one INFO line naming the HTTP status and the 5 s wait from Retry-After."""
    arxiv_server.script("rss", Reply(503, headers={"Retry-After": "5"}), Reply(200, recorded(EMPTY_FEED)))
    client = make_client(arxiv_server, clock=FakeClock())
    with caplog.at_level(logging.INFO, logger="arxivwatch.arxiv"), client:
        client.fetch_feed(CATS)
    retries = [r for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 1 and retries[0].levelno == logging.INFO
    assert "HTTP 503" in retries[0].getMessage() and "retry 1 in 5.0 s" in retries[0].getMessage()


def test_connection_refused_fails_fast_naming_offline() -> None:
    """A closed port: ArxivOffline within 30 s of (fake) waiting, saying to check the network (each
    command adds its own hint: poll to try later, train --offline)."""
    url = f"http://127.0.0.1:{free_port()}"
    clock = FakeClock()
    with ArxivClient(api_url=f"{url}/api/query", feed_url=f"{url}/rss", contact="", clock=clock) as client:
        began = time.monotonic()
        with pytest.raises(ArxivOffline) as caught:
            client.fetch_feed(CATS)
    assert sum(clock.sleeps) <= 30.0 and time.monotonic() - began < 30.0
    assert str(caught.value).endswith("; check the network") and "cannot reach arXiv" in str(caught.value)


def test_dns_failure_fails_fast_naming_offline() -> None:
    """A host that does not resolve (.invalid) is unreachable too: ArxivOffline within 30 s."""
    clock = FakeClock()
    with ArxivClient(
        api_url="http://arxiv.invalid/api/query", feed_url="http://arxiv.invalid/rss", contact="", clock=clock
    ) as client:
        began = time.monotonic()
        with pytest.raises(ArxivOffline, match=r"check the network$"):
            client.fetch_feed(CATS)
    assert sum(clock.sleeps) <= 30.0 and time.monotonic() - began < 30.0


def test_unanswered_connect_fails_fast_naming_offline() -> None:
    """A port whose backlog is full never answers a connect (like a filtered one): ArxivOffline fast."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        url = f"http://127.0.0.1:{port}"
        clock = FakeClock()
        began = time.monotonic()
        try:
            with (
                ArxivClient(
                    api_url=f"{url}/api/query", feed_url=f"{url}/rss", contact="", clock=clock, timeout=1.0
                ) as client,
                pytest.raises(ArxivOffline, match=r"ConnectTimeout.*check the network$"),
            ):
                client.fetch_feed(CATS)
        finally:
            for filler in fillers:
                filler.close()
    assert sum(clock.sleeps) <= 30.0 and time.monotonic() - began < 30.0


def test_two_clients_on_one_pace_file_keep_the_interval(arxiv_server: ArxivServer, tmp_path: Path) -> None:
    """Two clients (as two processes would) sharing one pace file: arrivals at least min_interval apart."""
    arxiv_server.script("rss", Reply(200, recorded(EMPTY_FEED)))
    pace = tmp_path / "arxivwatch.db.pace"
    interval = 0.6

    def three_fetches() -> None:
        with make_client(arxiv_server, clock=SystemClock(), min_interval=interval, pace_file=pace) as client:
            for _ in range(3):
                client.fetch_feed(CATS)

    workers = [threading.Thread(target=three_fetches) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    arrivals = sorted(r.at for r in arxiv_server.requests)
    assert len(arrivals) == 6
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= interval - 0.02, gaps


def test_pace_file_is_honoured_across_fresh_clients(arxiv_server: ArxivServer, tmp_path: Path) -> None:
    """A new client (a new process) waits for the interval after another client's last answer."""
    arxiv_server.script("rss", Reply(200, recorded(EMPTY_FEED)))
    pace = tmp_path / "arxivwatch.db.pace"
    with make_client(arxiv_server, clock=SystemClock(), pace_file=pace) as first:
        first.fetch_feed(CATS)
    clock = FakeClock()
    clock.advance(time.time() - clock.now().timestamp())  # the fake clock at real wall time
    with make_client(arxiv_server, clock=clock, pace_file=pace) as second:
        second.fetch_feed(CATS)
    assert len(clock.sleeps) == 1 and 2.5 < clock.sleeps[0] <= 3.0


def test_too_many_categories_is_one_line(arxiv_server: ArxivServer) -> None:
    """A URL too long for httpx (10,000 categories) is one ArxivError line, not httpx.InvalidURL."""
    many = [f"cs.X{i}" for i in range(10_000)]
    arxiv_server.script("rss", Reply(200, recorded(EMPTY_FEED)))
    client = make_client(arxiv_server, clock=FakeClock())
    with client, pytest.raises(ArxivError, match="cannot build a valid URL for arXiv"):
        client.fetch_feed(many)
    assert arxiv_server.requests == []


@pytest.mark.slow
def test_train_with_arxiv_unreachable_falls_back_fast_with_one_warning(
    cli: CliRunner, closed_arxiv: tuple[str, Path]
) -> None:
    """`train`, arXiv's port closed: metadata given up within 30 s, one warning naming --offline, exit 0."""
    _url, config = closed_arxiv
    began = time.monotonic()
    result = cli("train", "--config", str(config))
    took = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and "--offline" in warnings[0] and "cannot reach arXiv" in warnings[0]
    retries = [line for line in result.stderr.splitlines() if "retry" in line]
    assert retries and sum(float(line.rsplit(" in ", 1)[1].split()[0]) for line in retries) < 30.0
    assert took < 120.0


def test_waiting_for_another_process_on_the_pace_file_is_bounded(
    arxiv_server: ArxivServer, tmp_path: Path
) -> None:
    """Another process holding the pace lock: the client gives up after its 2 s budget, sending nothing."""
    pace = tmp_path / "arxivwatch.db.pace"
    with pace.open("w") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        clock = FakeClock()
        client = make_client(arxiv_server, clock=clock, budget=2.0, pace_file=pace)
        with client, pytest.raises(ArxivUnavailable, match="kept talking to arXiv for more than 2 s"):
            client.fetch_feed(CATS)
    assert 2.0 <= sum(clock.sleeps) <= 2.2
    assert arxiv_server.requests == []
    with make_client(arxiv_server, clock=FakeClock(), pace_file=pace) as after:  # the lock was let go
        arxiv_server.script("rss", Reply(200, recorded(EMPTY_FEED)))
        assert after.fetch_feed(CATS).result is not None


def test_stalled_answer_ends_with_the_budget_not_the_read_timeout(arxiv_server: ArxivServer) -> None:
    """Headers then silence, with a 30 s read timeout and a 1.5 s budget: over within 3 s of wall-clock."""
    arxiv_server.script("rss", Reply(200, b"<" * 10, drip=60.0))
    with make_client(arxiv_server, clock=SystemClock(), budget=1.5, timeout=30.0) as client:
        began = time.monotonic()
        with pytest.raises(ArxivUnavailable):
            client.fetch_feed(CATS)
        took = time.monotonic() - began
    assert took < 3.0, f"took {took:.1f} s"


def test_two_processes_on_one_pace_file_keep_the_interval(arxiv_server: ArxivServer, tmp_path: Path) -> None:
    """Two real processes sharing one store's pace file: all six arrivals at least 0.6 s apart."""
    arxiv_server.script("rss", Reply(200, recorded(EMPTY_FEED)))
    pace = tmp_path / "arxivwatch.db.pace"
    code = (
        "import sys\nfrom pathlib import Path\nfrom arxivwatch.arxiv.client import ArxivClient\n"
        "with ArxivClient(api_url=sys.argv[1], feed_url=sys.argv[2], contact='', min_interval=0.6,"
        " pace_file=Path(sys.argv[3])) as client:\n"
        "    for _ in range(3):\n        client.fetch_feed(['cs.CV'])\n"
    )
    args = [sys.executable, "-c", code, arxiv_server.api_url, arxiv_server.feed_url, str(pace)]
    workers = [subprocess.Popen(args) for _ in range(2)]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    arrivals = sorted(r.at for r in arxiv_server.requests)
    assert len(arrivals) == 6
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.6 - 0.02, gaps


def slow_headers_server(stop: threading.Event) -> int:
    """A loopback server that answers every connection with a status line, then one header line
    every 0.2 s for 8 s (each read arrives well within any read timeout); returns its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)

    def drip(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                give_up = time.monotonic() + 8.0
                while not stop.is_set() and time.monotonic() < give_up:
                    conn.sendall(b"X-Slow: a\r\n")
                    time.sleep(0.2)
            except OSError:
                pass

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


def test_headers_dripping_without_end_stop_at_the_budget() -> None:
    """Headers arriving one line every 0.2 s (never finished), budget 2 s: ArxivUnavailable within 4 s."""
    stop = threading.Event()
    port = slow_headers_server(stop)
    url = f"http://127.0.0.1:{port}"
    client = ArxivClient(
        api_url=f"{url}/api/query", feed_url=f"{url}/rss", contact="lab@example.org", budget=2.0, timeout=30.0
    )
    try:
        began = time.monotonic()
        with pytest.raises(ArxivUnavailable):
            client.fetch_feed(CATS)
        took = time.monotonic() - began
    finally:
        stop.set()
        client.close()
    assert took < 4.0, f"took {took:.1f} s"


def test_the_client_goes_through_the_proxy_of_http_proxy(
    arxiv_server: ArxivServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HTTP_PROXY set (a lab behind a proxy), the feed is fetched through that proxy, with
    our User-Agent; with NO_PROXY naming the host, directly."""
    from http_proxy import HttpProxy

    arxiv_server.script("rss", Reply(200, recorded(EMPTY_FEED), {"Content-Type": "application/rss+xml"}))
    with HttpProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.org")
        client = make_client(arxiv_server)
        try:
            fetched = client.fetch_feed(CATS)
        finally:
            client.close()
        assert fetched.result is not None and len(arxiv_server.requests_to("rss")) == 1
        ((target, headers),) = proxy.requests
        assert target == f"{arxiv_server.feed_url}/cs.CV"
        assert headers["User-Agent"].endswith("mailto:lab@example.org)")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        client = make_client(arxiv_server)
        try:
            client.fetch_feed(CATS)
        finally:
            client.close()
        assert len(proxy.requests) == 1 and len(arxiv_server.requests_to("rss")) == 2


def test_a_proxy_dripping_headers_stops_at_the_budget(
    arxiv_server: ArxivServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy that answers one header line every 0.2 s without end, budget 2 s: ArxivUnavailable
    within 4 s; the deadline bounds the proxy's connection as it bounds a direct one."""
    from http_proxy import HttpProxy

    with HttpProxy(drip=True) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        client = make_client(arxiv_server, budget=2.0, timeout=30.0)
        began = time.monotonic()
        try:
            with pytest.raises(ArxivUnavailable):
                client.fetch_feed(CATS)
        finally:
            client.close()
        took = time.monotonic() - began
    assert proxy.requests and took < 4.0, f"took {took:.1f} s"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("HTTPS_PROXY", "socks5://lab:s3cret@127.0.0.1:1080", "socks5://127.0.0.1:1080"),
        ("HTTP_PROXY", "ftp://lab:s3cret@127.0.0.1:21", "ftp://127.0.0.1:21"),
        ("all_proxy", "socks5h://127.0.0.1:1080", "socks5h://127.0.0.1:1080"),
        # a password with "#" not percent-encoded: httpx.InvalidURL, whose message held "lab:s3cret"
        ("HTTPS_PROXY", "http://lab:s3cret#x@127.0.0.1:3128", "http://127.0.0.1:3128"),
        ("http_proxy", "http://127.0.0.1:31x8", "http://127.0.0.1:31x8"),
    ],
)
def test_a_proxy_httpx_cannot_use_is_one_line_naming_its_variable(
    cli: CliRunner,
    write_config: Callable[[str], Path],
    arxiv_server: ArxivServer,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    named: str,
) -> None:
    """A SOCKS proxy (httpx needs socksio for it), a proxy of an unknown scheme, or a proxy URL httpx
    cannot parse (a bad port, a "#" in the password) in the environment is one line naming the
    variable and the proxy without its password, exit 2, no traceback."""
    config = write_config(
        f'[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
        'contact = "lab@example.org"\n'
    )
    monkeypatch.setenv(variable, value)
    result = cli("poll", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    (line,) = [x for x in result.stderr.strip().splitlines() if x.startswith("Error:")]
    assert line.startswith(f"Error: the proxy {named} of {variable} "), line
    assert arxiv_server.requests == []


def test_a_list_url_behind_a_proxy_httpx_cannot_use_is_one_line(
    cli: CliRunner,
    write_config: Callable[[str], Path],
    arxiv_server: ArxivServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`train` fetching a list URL with a SOCKS proxy in the environment: the same one line naming
    the variable as a poll gives, exit 2, no traceback, no password."""
    config = write_config(
        f'[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
        f'contact = "lab@example.org"\n[training]\nlists = ["{arxiv_server.api_url}/list.md"]\n'
    )
    monkeypatch.setenv("HTTPS_PROXY", "socks5://lab:s3cret@127.0.0.1:1080")
    monkeypatch.setenv("HTTP_PROXY", "socks5://lab:s3cret@127.0.0.1:1080")
    result = cli("train", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    (line,) = [x for x in result.stderr.strip().splitlines() if x.startswith("Error:")]
    assert line.startswith("Error: the proxy socks5://127.0.0.1:1080 of HTTPS_PROXY cannot be used: ")


def test_of_both_cases_set_the_proxy_named_is_the_one_httpx_uses(
    cli: CliRunner,
    write_config: Callable[[str], Path],
    arxiv_server: ArxivServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTPS_PROXY and https_proxy both set: httpx uses the lowercase one (urllib's rule), so the
    line names https_proxy and its proxy, not the ignored uppercase variable sorted first."""
    config = write_config(
        f'[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
        'contact = "lab@example.org"\n'
    )
    monkeypatch.setenv("HTTPS_PROXY", "socks5://lab:s3cret@127.0.0.1:1080")  # ignored by httpx
    monkeypatch.setenv("https_proxy", "ftp://lab:s3cret@127.0.0.1:21")
    result = cli("poll", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    (line,) = [x for x in result.stderr.strip().splitlines() if x.startswith("Error:")]
    assert line.startswith("Error: the proxy ftp://127.0.0.1:21 of https_proxy cannot be used: "), line
    assert arxiv_server.requests == []


@pytest.mark.parametrize("entry", ["[::1]", "fe80::/10"])
def test_a_no_proxy_entry_httpx_cannot_read_is_one_line(
    cli: CliRunner,
    write_config: Callable[[str], Path],
    arxiv_server: ArxivServer,
    monkeypatch: pytest.MonkeyPatch,
    entry: str,
) -> None:
    """NO_PROXY holding an IPv6 address in brackets or an IPv6 range (httpx.InvalidURL when it
    builds its transports) is one line naming the entry and the variable, exit 2, no traceback."""
    config = write_config(
        f'[arxiv]\napi_url = "{arxiv_server.api_url}"\nfeed_url = "{arxiv_server.feed_url}"\n'
        'contact = "lab@example.org"\n'
    )
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", f"localhost,{entry},127.0.0.1")
    result = cli("poll", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.strip().splitlines() if x.startswith("Error:")]
    assert line.startswith(f"Error: the entry {entry!r} of NO_PROXY cannot be read by httpx"), line
    assert arxiv_server.requests == []
