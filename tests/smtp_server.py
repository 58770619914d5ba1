"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives.

    with SmtpServer() as smtp:                 # plain SMTP, no login
        ...  # send to smtp.host, smtp.port
        mail = smtp.messages[0]                # an email.message.EmailMessage
    with SmtpServer(login=("user", "pw")):     # AUTH required, checked
    with SmtpServer(tls=cert_and_key):         # STARTTLS offered (see make_certificate)
    with SmtpServer(tls=..., implicit_tls=True)  # TLS from the first byte (security "ssl")

Ambiguous moments, scripted on `smtp.handler`: `data_delay` (seconds before the final
reply to DATA), `data_replies` (replies to DATA used first, e.g. "421 ..."), `refuse`
(recipients answered 550), `quit_reply` (e.g. "421 ..." instead of 221). The server
does not offer SMTPUTF8, like many real ones (aiosmtpd's Controller would: `smtputf8=True`
turns it on).

`stop()` takes it down (connections are refused) and `start()` brings it back on the
same port, so a test can check what a sender does while the server is down.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One accepted message: the envelope and the parsed MIME message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    data_delay: float = 0.0  # seconds before the final reply to DATA
    data_replies: list[str] = field(default_factory=list)  # scripted final replies, used first
    refuse: frozenset[str] = frozenset()  # recipients answered 550 at RCPT
    quit_reply: str | None = None  # answered to QUIT instead of 221
    rcpt_refused: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            with self.lock:
                self.rcpt_refused.append(address)
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        with self.lock:
            scripted = self.data_replies.pop(0) if self.data_replies else None
        if scripted is not None:
            return scripted
        raw = bytes(envelope.original_content or envelope.content)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw))
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return self.quit_reply or "221 Bye"


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and its key, as files."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(folder: Path) -> Certificate:
    """A fresh self-signed certificate for 127.0.0.1 / localhost, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """An aiosmtpd Controller on 127.0.0.1 whose handler keeps every message."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        login: tuple[str, str] | None = None,
        tls: Certificate | None = None,
        implicit_tls: bool = False,
        smtputf8: bool = False,
    ) -> None:
        self.port = free_port()
        self.handler = _Handler()
        self._login = login
        self._tls = tls
        self._implicit_tls = implicit_tls
        self._smtputf8 = smtputf8
        self._controller: Controller | None = None

    def config_section(self, extra: str = "") -> str:
        """The [email] section of a configuration that mails this server in plain SMTP from
        arxivwatch@example.org to lab@example.org, `extra` key lines appended."""
        return (
            f'[email]\nenabled = true\nhost = "{self.host}"\nport = {self.port}\nsecurity = "none"\n'
            'sender = "arxivwatch@example.org"\nrecipients = ["lab@example.org"]\n' + extra
        )

    @property
    def messages(self) -> list[EmailMessage]:
        """The parsed messages received so far, in order."""
        with self.handler.lock:
            return [r.message for r in self.handler.received]

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def logins(self) -> list[str]:
        """The user names that logged in successfully."""
        with self.handler.lock:
            return list(self.handler.logins)

    def start(self) -> SmtpServer:
        # aiosmtpd's Controller offers SMTPUTF8 unless told not to; many real servers do not.
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": self._smtputf8}
        if self._login is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
            # aiosmtpd only counts STARTTLS as TLS; under implicit TLS it must not insist.
            kwargs.update(auth_require_tls=self._tls is not None and not self._implicit_tls)
        if self._tls is not None and self._implicit_tls:
            kwargs["ssl_context"] = self._tls.server_context()
        elif self._tls is not None:
            kwargs.update(tls_context=self._tls.server_context(), require_starttls=True)
        self._controller = Controller(
            self.handler, hostname=self.host, port=self.port, ready_timeout=5, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Take the server down: connections to its port are refused until start()."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self._login is not None
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        if (user, password) != self._login:
            return AuthResult(success=False, handled=False)
        with self.handler.lock:
            self.handler.logins.append(user)
        return AuthResult(success=True)

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
