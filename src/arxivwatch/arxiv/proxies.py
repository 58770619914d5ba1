"""The proxies of the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) that httpx cannot use.

httpx reads them when it builds its transports and raises there (ImportError for a SOCKS proxy
without the socksio package, ValueError for any scheme but http, https and socks5,
httpx.InvalidURL for a URL it cannot parse: a password holding "#" or "/" not percent-encoded,
a NO_PROXY entry such as "[::1]" or "fe80::/10"):
a user behind such a proxy gets one line naming the variable, never a traceback, and never the
proxy's password. The variables are those httpx reads (urllib's rules: of HTTPS_PROXY and
https_proxy both set, the lowercase one), so the one named is the one to change.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any
from urllib.request import getproxies_environment

from arxivwatch.errors import ConfigError

if TYPE_CHECKING:
    import httpx

SCHEMES = ("https", "http", "all")  # the proxies httpx takes from the environment (arXiv is https)
_SOCKS = ("socks5", "socks5h")


def http_client(**options: Any) -> httpx.Client:
    """`httpx.Client(**options)`; ConfigError (one line, exit 2) when a proxy of the environment
    is one httpx cannot use, which it finds while building the client."""
    import httpx

    try:
        return httpx.Client(**options)
    except (ImportError, ValueError, httpx.InvalidURL) as exc:
        problem = unusable_proxy_error()
        if problem is None:
            raise
        raise problem from exc


def unusable_proxy_error() -> ConfigError | None:
    """A ConfigError naming the first proxy variable httpx uses and cannot use, and why, or None
    when every one is usable (the failure was something else)."""
    import httpx

    for name, value in _effective(SCHEMES):
        url = value if "://" in value else f"http://{value}"
        shown = _without_password(url)
        try:
            scheme = httpx.URL(url).scheme
        except httpx.InvalidURL:
            return ConfigError(
                f"the proxy {shown} of {name} is not a valid URL",
                hint=f"percent-encode : / ? # @ in its user name and password (# is %23), or unset {name}",
            )
        if scheme in ("http", "https") or (scheme in _SOCKS and find_spec("socksio") is not None):
            continue
        if scheme in _SOCKS:
            why = "a SOCKS proxy needs the socksio package (pip install 'httpx[socks]')"
        else:
            why = f"only http://, https:// and socks5:// proxies are supported, not {scheme}://"
        return ConfigError(
            f"the proxy {shown} of {name} cannot be used: {why}",
            hint=f"unset {name} or set it to an http:// proxy",
        )
    return _unreadable_no_proxy()


def _unreadable_no_proxy() -> ConfigError | None:
    """A ConfigError naming the NO_PROXY entry httpx cannot read (it makes a URL pattern of each:
    "[::1]" or an IPv6 range such as "fe80::/10" is no URL), or None."""
    import httpx

    try:  # httpx's own reading of each entry (get_environment_proxies), to name the one it refuses
        from httpx._utils import URLPattern, is_ipv4_hostname, is_ipv6_hostname
    except ImportError:  # another httpx: the caller re-raises its error
        return None
    for name, value in _effective(("no",)):
        hosts = [h.strip() for h in value.split(",")]
        if "*" in hosts:  # no proxy at all: httpx reads no other entry
            return None
        for host in filter(None, hosts):
            if "://" in host:
                pattern = host
            elif is_ipv4_hostname(host) or host.lower() == "localhost":
                pattern = f"all://{host}"
            elif is_ipv6_hostname(host):
                pattern = f"all://[{host}]"
            else:
                pattern = f"all://*{host}"
            try:
                URLPattern(pattern)
            except httpx.InvalidURL:
                return ConfigError(
                    f"the entry {host!r} of {name} cannot be read by httpx",
                    hint=f"remove it from {name}: httpx reads host names, IPv4 addresses and ranges,"
                    " and IPv6 addresses without brackets or a /range",
                )
    return None


def _effective(schemes: tuple[str, ...]) -> list[tuple[str, str]]:
    """(variable, value) of each of `schemes`' *_PROXY variables httpx reads from the environment
    (urllib's getproxies_environment: the lowercase variable wins over the uppercase one)."""
    chosen = getproxies_environment()
    found: list[tuple[str, str]] = []
    for scheme in schemes:
        value = chosen.get(scheme)
        if not value:
            continue
        names = [n for n in os.environ if n.lower() == f"{scheme}_proxy" and os.environ[n] == value]
        names.sort(key=lambda n: (n != n.lower(), n))  # the lowercase name first
        found.append((names[0] if names else f"{scheme.upper()}_PROXY", value))
    return found


def _without_password(url: str) -> str:
    """scheme://host[:port] of a proxy URL, its user name and password left out, taken as
    written (after the last "@"): a URL httpx cannot parse is named without its secrets too."""
    scheme, _, rest = url.strip().partition("://")
    where = rest.rpartition("@")[2]
    for end in "/?#":
        where = where.partition(end)[0]
    return f"{scheme.lower()}://{where}"
