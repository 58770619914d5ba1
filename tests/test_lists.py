"""Loading curated lists from files, bundled snapshots and a real loopback HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from arxivwatch import lists
from arxivwatch.errors import ListError

BODY = "# Segmentation\n\n[U-Net (2015)](https://arxiv.org/abs/1505.04597)\n"


class _Handler(BaseHTTPRequestHandler):
    """Serves BODY with an ETag and answers 304 to a matching If-None-Match."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers))
        for name, status in (("/missing.md", 404), ("/busy.md", 503)):
            if self.path == name:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        data = BODY.encode()
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(httpd: ThreadingHTTPServer, name: str) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/{name}"


def test_url_is_fetched_cached_revalidated_and_falls_back(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    """A URL is fetched, revalidated with its ETag, and served from cache with a warning when down."""
    url = _url(server, "README.md")
    first = lists.load(url, cache_dir=tmp_path)
    assert (first.origin, first.text, first.warning) == ("network", BODY, None)
    second = lists.load(url, cache_dir=tmp_path)
    assert second.origin == "cache" and second.text == BODY and second.warning is None
    assert _Handler.seen[-1].get("If-None-Match") == '"v1"'
    server.shutdown()
    server.server_close()
    third = lists.load(url, cache_dir=tmp_path)
    assert third.origin == "cache" and third.text == BODY
    assert third.warning is not None and "cached copy" in third.warning
    assert third.sha256 == first.sha256


def test_a_cache_that_cannot_be_written_is_a_warning_not_a_failure(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    """A fetched list whose cache file cannot be written (a folder in its place) is used, with a
    warning naming the cache path, instead of failing the training."""
    url = _url(server, "README.md")
    first = lists.load(url, cache_dir=tmp_path)
    cached = next(tmp_path.glob("*.md"))
    cached.unlink()
    cached.mkdir()  # a folder where the cache file goes: the write fails whoever runs the test
    (cached.with_suffix(".json")).unlink()
    again = lists.load(url, cache_dir=tmp_path)
    assert (again.origin, again.text, again.sha256) == ("network", BODY, first.sha256)
    assert again.warning is not None
    assert again.warning.startswith(f"{url}: could not cache it at {cached} (")
    assert again.warning.endswith("check that the cache folder is writable")


def test_a_fetched_list_is_cached_in_the_folder_given_not_a_subfolder(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    """The cache files go straight into `cache_dir` (the configuration's list cache, which it
    checks), not into a `lists` folder under it (once data/lists/lists/...)."""
    cache = tmp_path / "data" / "lists"
    lists.load(_url(server, "README.md"), cache_dir=cache)
    assert sorted(p.suffix for p in cache.iterdir()) == [".json", ".md"]


def test_unreachable_url_falls_back_to_bundled_snapshot(tmp_path: Path) -> None:
    """A URL that cannot be fetched, with no cache, uses the bundled file of the same name."""
    url = "http://127.0.0.1:9/lists/wtf-is-deep-learning.md"
    loaded = lists.load(url, cache_dir=tmp_path)
    assert loaded.origin == "bundled" and "WTF-is-Deep-Learning" in loaded.text
    assert loaded.warning is not None and "bundled snapshot" in loaded.warning


def test_unreachable_url_without_fallback_is_a_list_error(tmp_path: Path) -> None:
    """No network, no cache and no bundled namesake: ListError naming the URL."""
    with pytest.raises(ListError, match=r"127\.0\.0\.1:9/other\.md"):
        lists.load("http://127.0.0.1:9/other.md", cache_dir=tmp_path)


def test_a_list_url_failing_for_the_network_exits_1_and_for_the_url_exits_2(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    """No copy anywhere: a refused connection or a 503 is worth retrying later (exit 1); a 404 is a
    wrong URL, bad usage (exit 2)."""
    from arxivwatch.errors import ListUnreachable

    with pytest.raises(ListUnreachable) as refused:
        lists.load("http://127.0.0.1:9/other.md", cache_dir=tmp_path)
    with pytest.raises(ListUnreachable, match=r"HTTP 503") as busy:
        lists.load(_url(server, "busy.md"), cache_dir=tmp_path)
    with pytest.raises(ListError, match=r"HTTP 404") as missing:
        lists.load(_url(server, "missing.md"), cache_dir=tmp_path)
    assert (refused.value.exit_code, busy.value.exit_code, missing.value.exit_code) == (1, 1, 2)


def test_offline_uses_cache_without_network(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    """Offline loading reads the cached copy and sends no request."""
    url = _url(server, "README.md")
    lists.load(url, cache_dir=tmp_path)
    count = len(_Handler.seen)
    loaded = lists.load(url, cache_dir=tmp_path, offline=True)
    assert loaded.origin == "cache" and loaded.text == BODY and len(_Handler.seen) == count


def test_a_copy_cached_by_an_earlier_version_is_still_used_offline(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    """A list cached where earlier versions put it (cache_dir/lists/) is moved to the cache folder
    and read offline, so upgrading does not lose the offline copy."""
    url = _url(server, "README.md")
    lists.load(url, cache_dir=tmp_path)
    old = tmp_path / "lists"
    old.mkdir()
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert len(names) == 2  # the text and its validators
    for name in names:
        (tmp_path / name).replace(old / name)
    count = len(_Handler.seen)
    loaded = lists.load(url, cache_dir=tmp_path, offline=True)
    assert (loaded.origin, loaded.text, len(_Handler.seen)) == ("cache", BODY, count)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == names
    assert list(old.iterdir()) == []


def test_offline_without_a_cache_says_it_did_not_fetch_not_that_it_failed(tmp_path: Path) -> None:
    """With --offline and no cached copy, the bundled namesake is used with a warning saying the
    list was not fetched because of --offline (not "could not fetch"); with no namesake, ListError."""
    url = "http://127.0.0.1:9/lists/wtf-is-deep-learning.md"
    loaded = lists.load(url, cache_dir=tmp_path, offline=True)
    assert loaded.origin == "bundled"
    assert (
        loaded.warning
        == f"not fetching {url} (--offline); using the bundled snapshot wtf-is-deep-learning.md"
    )
    with pytest.raises(ListError) as caught:
        lists.load("http://127.0.0.1:9/other.md", cache_dir=tmp_path, offline=True)
    assert str(caught.value).startswith(
        "not fetching curated list http://127.0.0.1:9/other.md (--offline) and"
    )


def test_missing_file_is_a_list_error_with_fix(tmp_path: Path) -> None:
    """A missing local file raises ListError that says how to fix it."""
    with pytest.raises(ListError) as caught:
        lists.load(str(tmp_path / "nope.md"), cache_dir=tmp_path)
    assert "nope.md" in str(caught.value) and "check the path" in str(caught.value)


def test_bundled_and_local_files(tmp_path: Path) -> None:
    """Bundled snapshots load with origin "bundled"; other files with origin "file"."""
    assert len(lists.BUNDLED) == 3
    bundled = lists.load(str(lists.BUNDLED[0]), cache_dir=tmp_path)
    assert bundled.origin == "bundled" and bundled.text.startswith("# Deep Learning papers")
    local = tmp_path / "mine.md"
    local.write_text(BODY)
    assert lists.load(str(local), cache_dir=tmp_path).origin == "file"


def test_github_blob_url_becomes_raw() -> None:
    """A GitHub file page URL is fetched from raw.githubusercontent.com."""
    assert lists.raw_url("https://github.com/axruff/ML_papers/blob/master/README.md") == (
        "https://raw.githubusercontent.com/axruff/ML_papers/master/README.md"
    )
