"""The proxies of the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) that httpx cannot use.

httpx reads them when it builds its transports and raises there (ImportError for a SOCKS proxy
without the socksio package, ValueError for any scheme but http, https and socks5): a user
behind such a proxy gets one line naming the variable, never a traceback, and never the
proxy's password.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from urllib.parse import urlsplit

from arxivwatch.errors import ConfigError

VARIABLES = ("http_proxy", "https_proxy", "all_proxy")  # either case, as httpx reads them
_SOCKS = ("socks5", "socks5h")


def unusable_proxy_error() -> ConfigError | None:
    """A ConfigError naming the first proxy variable httpx cannot use and why, or None when
    every one is usable (the failure was something else)."""
    for name, value in sorted(os.environ.items()):
        if name.lower() not in VARIABLES or not value.strip():
            continue
        url = value.strip() if "://" in value else f"http://{value.strip()}"
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("http", "https") or (scheme in _SOCKS and find_spec("socksio") is not None):
            continue
        if scheme in _SOCKS:
            why = "a SOCKS proxy needs the socksio package (pip install 'httpx[socks]')"
        else:
            why = f"only http://, https:// and socks5:// proxies are supported, not {scheme}://"
        return ConfigError(
            f"the proxy {_without_password(url)} of {name} cannot be used: {why}",
            hint=f"unset {name} or set it to an http:// proxy",
        )
    return None


def _without_password(url: str) -> str:
    """scheme://host[:port] of a proxy URL: its user name and password left out."""
    parts = urlsplit(url)
    try:
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port that is no number: named as written, less the credentials
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
