"""Locating and loading curated lists: a local file, a bundled snapshot, or a URL.

A URL is fetched with httpx and cached on disk with its ETag / Last-Modified, so a
second fetch is a conditional request. When the network fails, the cached copy is
used, else the bundled snapshot of the same file name, and the LoadedList says so in
`warning`; only when neither exists is it an error. This module is the only code that
reads a curated list from the disk or the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from arxivwatch.errors import ListError, ListUnreachable

if TYPE_CHECKING:
    import httpx

DATA = Path(__file__).parent / "data" / "lists"
BUNDLED: tuple[Path, ...] = tuple(
    DATA / name
    for name in ("dl-papers-and-resources.md", "implemented-dl-papers.md", "wtf-is-deep-learning.md")
)
MAX_BYTES = 5_000_000  # a curated README is ~100 kB; refuse anything absurd
TIMEOUT = 20.0
_GITHUB_BLOB = re.compile(r"^https://github\.com/([^/]+)/([^/]+)/blob/(.+)$")

Origin = Literal["file", "network", "cache", "bundled"]


@dataclass(frozen=True)
class LoadedList:
    """A curated list's text and where it came from."""

    source: str
    text: str
    sha256: str
    origin: Origin
    warning: str | None = None


def is_url(path_or_url: str) -> bool:
    """True for http(s) URLs, which are fetched rather than read."""
    return path_or_url.startswith(("http://", "https://"))


def load(
    path_or_url: str,
    *,
    cache_dir: Path,
    offline: bool = False,
    client: httpx.Client | None = None,
) -> LoadedList:
    """The list at `path_or_url`: a file read, or a URL fetched (cached, with fallbacks).

    A fetched list is cached directly in `cache_dir` (Config.lists_cache, the folder the
    configuration checks), as `<key>.md` with its validators in `<key>.json`.
    """
    if not is_url(path_or_url):
        return _read_file(Path(path_or_url).expanduser())
    url = raw_url(path_or_url)
    if offline:
        return _fallback(path_or_url, url, cache_dir, reason="offline", warn_cache=False, transient=False)
    try:
        return _fetch(path_or_url, url, cache_dir, client)
    except _FetchFailed as failure:
        return _fallback(
            path_or_url, url, cache_dir, reason=str(failure), warn_cache=True, transient=failure.transient
        )


def raw_url(url: str) -> str:
    """A GitHub page URL of a file turned into the raw file's URL; others unchanged."""
    match = _GITHUB_BLOB.match(url)
    if match:
        owner, repo, rest = match.groups()
        return f"https://raw.githubusercontent.com/{owner}/{repo}/{rest}"
    return url


def _read_file(path: Path) -> LoadedList:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # bounded: a larger file is refused, not read whole
        if len(data) > MAX_BYTES:
            raise ListError(
                f"curated list {path} is larger than {MAX_BYTES // 1_000_000} MB",
                hint="a curated list is a markdown file of some 100 kB: give the list itself, or split it",
            )
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except FileNotFoundError as e:
        raise ListError(
            f"curated list not found: {path}",
            hint="check the path (as given on the command line or in [training] lists)",
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ListError(f"cannot read curated list {path}: {e}", hint="give a UTF-8 markdown file") from e
    origin: Origin = "bundled" if path.resolve().parent == DATA.resolve() else "file"
    return LoadedList(str(path), text, _digest(text), origin)


class _FetchFailed(Exception):
    """The network did not give us the list (kept private: load() falls back). `transient`:
    the network or the server failed (trying later can help), not the URL (a 4xx answer)."""

    def __init__(self, reason: str, *, transient: bool = True) -> None:
        super().__init__(reason)
        self.transient = transient


def _fetch(source: str, url: str, cache_dir: Path, client: httpx.Client | None) -> LoadedList:
    import httpx

    from arxivwatch.arxiv.proxies import http_client

    text_path, meta_path = _cache_paths(cache_dir, url)
    meta = _read_meta(meta_path) if text_path.exists() else {}
    headers = {"Accept": "text/markdown, text/plain, */*"}
    if meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    own = client is None
    http = client or http_client(timeout=TIMEOUT, follow_redirects=True)
    try:
        with http.stream("GET", url, headers=headers) as response:
            status = response.status_code
            body = _read_bounded(response) if status == 200 else b""
    except httpx.HTTPError as e:
        raise _FetchFailed(f"{type(e).__name__}: {e}") from e
    finally:
        if own:
            http.close()
    if status == 304:
        text = text_path.read_text(encoding="utf-8")
        return LoadedList(source, text, _digest(text), "cache")
    if status != 200:
        raise _FetchFailed(f"HTTP {status}", transient=status >= 500 or status == 429)
    text = body.decode("utf-8", errors="replace")
    try:
        _write_cache(text_path, meta_path, text, response.headers)
    except OSError as e:  # the list itself arrived: a cache we cannot write only costs a refetch
        warning = (
            f"{source}: could not cache it at {text_path} ({e.strerror or e}); "
            "it is fetched again next time and has no offline copy: check that the cache folder is writable"
        )
        return LoadedList(source, text, _digest(text), "network", warning)
    return LoadedList(source, text, _digest(text), "network")


def _read_bounded(response: httpx.Response) -> bytes:
    """The body, read chunk by chunk; _FetchFailed as soon as it passes MAX_BYTES."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise _FetchFailed(f"response larger than {MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _fallback(
    source: str, url: str, cache_dir: Path, *, reason: str, warn_cache: bool, transient: bool
) -> LoadedList:
    """The cached copy, else the bundled snapshot of that name, else ListError: exit 1
    (ListUnreachable) when the network or server failed, 2 when the URL did (a 4xx) or offline."""
    text_path, _ = _cache_paths(cache_dir, url)
    if text_path.exists():
        text = text_path.read_text(encoding="utf-8")
        warning = f"could not fetch {source} ({reason}); using the cached copy" if warn_cache else None
        return LoadedList(source, text, _digest(text), "cache", warning)
    name = Path(urlsplit(url).path).name
    bundled = next((path for path in BUNDLED if path.name == name), None)
    if bundled is not None:
        text = bundled.read_text(encoding="utf-8")
        warning = f"{_unfetched(source, reason)}; using the bundled snapshot {name}"
        return LoadedList(source, text, _digest(text), "bundled", warning)
    error = ListUnreachable if transient else ListError
    raise error(
        f"{_unfetched(f'curated list {source}', reason)} and no copy is cached",
        hint="check the URL and the network, or give a local file with --list PATH",
    )


def _unfetched(source: str, reason: str) -> str:
    """Why `source` was not fetched: "not fetching X (--offline)" when offline by choice,
    "could not fetch X (REASON)" when a fetch failed."""
    return (
        f"not fetching {source} (--offline)"
        if reason == "offline"
        else f"could not fetch {source} ({reason})"
    )


def _cache_paths(cache_dir: Path, url: str) -> tuple[Path, Path]:
    """The cached text and validators of `url` in `cache_dir`.

    Earlier versions cached in `cache_dir/lists/`: a copy found only there is moved here first,
    so an upgrade keeps the offline copy (if it cannot be moved, it is fetched again).
    """
    key = hashlib.sha256(url.encode()).hexdigest()[:24]
    text, meta = cache_dir / f"{key}.md", cache_dir / f"{key}.json"
    old = cache_dir / "lists"
    if not text.exists() and (old / text.name).is_file():
        with contextlib.suppress(OSError):
            (old / text.name).replace(text)
            if (old / meta.name).is_file():
                (old / meta.name).replace(meta)
    return text, meta


def _read_meta(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a lost or damaged validator only costs a full download
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _write_cache(text_path: Path, meta_path: Path, text: str, headers: httpx.Headers) -> None:
    meta = {"etag": headers.get("etag", ""), "last_modified": headers.get("last-modified", "")}
    text_path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(text_path, text)
    _atomic_write(meta_path, json.dumps(meta))


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
