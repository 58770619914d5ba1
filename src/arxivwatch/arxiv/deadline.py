"""A deadline on every socket operation of an attempt, headers included.

httpx's timeouts are per read: a server that sends its status line and headers one byte
a second never trips them, and the body's deadline (body.py) only starts once the headers
are in. `DeadlineBackend` is the httpcore network backend of the client's transport; each
connect, read and write it makes waits at most what remains until `deadline`
(time.monotonic(), set by the client before each attempt), and past it raises httpcore's
ReadTimeout, which httpx reports as a timeout like any other.
"""

from __future__ import annotations

import ssl
import time
import typing

import httpcore

_Option = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, every wait capped by `deadline` (time.monotonic(); inf = none)."""

    def __init__(self) -> None:
        self.deadline = float("inf")
        self._inner = httpcore.SyncBackend()

    def remaining(self, timeout: float | None) -> float | None:
        """`timeout` capped by what remains until the deadline; ReadTimeout when nothing remains."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the attempt's deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[_Option] | None = None,
    ) -> httpcore.NetworkStream:
        """A TCP connection, made within the deadline."""
        stream = self._inner.connect_tcp(
            host, port, self.remaining(timeout), local_address=local_address, socket_options=socket_options
        )
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[_Option] | None = None,
    ) -> httpcore.NetworkStream:
        """A Unix socket connection, made within the deadline."""
        stream = self._inner.connect_unix_socket(path, self.remaining(timeout), socket_options=socket_options)
        return _DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's retries; the client does not ask for any)."""
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, backend: DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._backend.remaining(timeout))
        return _DeadlineStream(inner, self._backend)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)
