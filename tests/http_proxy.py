"""A forwarding HTTP proxy on 127.0.0.1, for the arXiv client behind HTTP_PROXY.

It reads a request in absolute form (`GET http://127.0.0.1:PORT/rss/cs.CV HTTP/1.1`), sends it
to that server in origin form over a new connection, and relays the answer until the server
closes. With `drip=True` it never forwards: it answers with a status line and then one header
line every 0.2 s without end (a hostile or broken proxy). Requests are recorded as
(absolute URL, headers) pairs.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit


class HttpProxy:
    def __init__(self, *, drip: bool = False) -> None:
        self.drip = drip
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> HttpProxy:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65_536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            self.requests.append((target, headers))
            if self.drip:
                self._drip(conn)
                return
            parts = urlsplit(target)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            forwarded = [f"{method} {path} {version}", *(f"{k}: {v}" for k, v in headers.items()
                         if k.lower() not in ("proxy-connection", "connection"))]  # fmt: skip
            forwarded.append("Connection: close")
            with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as upstream:
                upstream.sendall(("\r\n".join(forwarded) + "\r\n\r\n").encode("latin-1"))
                while chunk := upstream.recv(65_536):
                    conn.sendall(chunk)

    def _drip(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        n = 0
        while not self._stop.wait(0.2):
            n += 1
            try:
                conn.sendall(f"X-Drip-{n}: x\r\n".encode())
            except OSError:
                return
