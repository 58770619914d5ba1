"""Email delivery against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from arxivwatch.deliver import email
from arxivwatch.errors import DeliveryError
from arxivwatch.models import Message
from arxivwatch.render import render
from digest_samples import sample_digest
from smtp_server import Certificate, SmtpServer, make_certificate

SENDER = "arxivwatch@lab.example.org"
RECIPIENTS = ["ada@lab.example.org", "grace@lab.example.org"]
NOW = datetime(2024, 11, 28, 8, 0, tzinfo=UTC)
KEY = "week:2024-11-22:email"
# aiosmtpd warns when a test server takes a login without TLS; these servers are loopback only.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="module")
def message() -> Message:
    return render(sample_digest())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def _send(message: Message, server: SmtpServer, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "digest_key": KEY,
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": "",
        "password": None,
        "sender": SENDER,
        "recipients": RECIPIENTS,
        "timeout": 5.0,
        "now": NOW,
        **kw,
    }
    return email.send(message, **args)


def test_one_send_delivers_one_multipart_message(message: Message, smtp: SmtpServer) -> None:
    """One send is one multipart/alternative email: text/plain first, then text/html."""
    receipt = _send(message, smtp)
    (mail,) = smtp.messages
    assert mail.get_content_type() == "multipart/alternative"
    parts = list(mail.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().replace("\r\n", "\n") == message.text
    assert parts[1].get_content().replace("\r\n", "\n") == message.html
    assert receipt.channel == "email" and receipt.digest_key == KEY


def test_headers_and_envelope(message: Message, smtp: SmtpServer) -> None:
    """The message carries Date, Message-ID, From, To, Subject; every recipient gets it."""
    receipt = _send(message, smtp)
    (received,) = smtp.received
    mail = received.message
    assert mail["Subject"] == "arxivwatch: 5 papers, week 48"
    assert mail["From"] == SENDER
    assert mail["To"] == ", ".join(RECIPIENTS)
    assert parsedate_to_datetime(mail["Date"]) == NOW
    assert mail["Message-ID"] == receipt.detail == email.message_id(KEY)
    assert received.rcpt_tos == RECIPIENTS and received.mail_from == SENDER


def test_message_id_is_deterministic_per_digest() -> None:
    """The same digest key gives the same Message-ID, another key another one."""
    assert email.message_id(KEY) == email.message_id(KEY)
    assert email.message_id(KEY) != email.message_id("week:2024-11-29:email")
    assert email.message_id(KEY).endswith("@arxivwatch>")


def test_logs_in_when_a_username_is_set(message: Message) -> None:
    """With a username, the sender logs in with the given password before sending."""
    with SmtpServer(login=("digest", "s3cret-pw")) as server:
        _send(message, server, username="digest", password="s3cret-pw")
        assert server.logins == ["digest"] and len(server.messages) == 1


def test_refused_login_is_one_line_without_the_password(message: Message) -> None:
    """A wrong password fails with one line naming the server, never the password."""
    with SmtpServer(login=("digest", "s3cret-pw")) as server:
        with pytest.raises(DeliveryError) as caught:
            _send(message, server, username="digest", password="wrong-pw-123")
        assert server.messages == []
    text = str(caught.value)
    assert "\n" not in text and "wrong-pw-123" not in text
    assert f"{server.host}:{server.port}" in text and "login" in text


def test_server_down_is_a_delivery_error_then_back(message: Message, smtp: SmtpServer) -> None:
    """With the server down the send fails in one line; once it is back it goes through."""
    smtp.stop()
    with pytest.raises(DeliveryError) as caught:
        _send(message, smtp)
    text = str(caught.value)
    assert "\n" not in text and f"cannot reach {smtp.host}:{smtp.port}" in text
    assert "email.host" in text
    smtp.start()
    _send(message, smtp)
    assert len(smtp.messages) == 1


def test_starttls_with_a_trusted_certificate(message: Message, certificate: Certificate) -> None:
    """STARTTLS upgrades the connection and the login happens over TLS."""
    with SmtpServer(login=("digest", "pw"), tls=certificate) as server:
        context = certificate.client_context()
        _send(message, server, security="starttls", username="digest", password="pw",
              ssl_context=context)  # fmt: skip
        assert server.logins == ["digest"] and len(server.messages) == 1


def test_implicit_tls_with_a_trusted_certificate(message: Message, certificate: Certificate) -> None:
    """Security "ssl" speaks TLS from the first byte."""
    with SmtpServer(tls=certificate, implicit_tls=True) as server:
        _send(message, server, security="ssl", ssl_context=certificate.client_context())
        assert len(server.messages) == 1


def test_unverified_certificate_is_refused(message: Message, certificate: Certificate) -> None:
    """The default context verifies certificates: a self-signed one fails the send."""
    with SmtpServer(tls=certificate) as server:
        with pytest.raises(DeliveryError, match=r"TLS with 127\.0\.0\.1") as caught:
            _send(message, server, security="starttls")
        assert server.messages == []
    assert "\n" not in str(caught.value)


def test_starttls_to_a_plain_server_names_the_setting(message: Message, smtp: SmtpServer) -> None:
    """Asking a server without STARTTLS to upgrade points at email.security."""
    with pytest.raises(DeliveryError, match=r"email\.security"):
        _send(message, smtp, security="starttls")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"security": "tls13"}, "unknown security"),
        ({"recipients": []}, "no recipients"),
        ({"username": "digest", "password": None}, "needs a password"),
    ],
)
def test_bad_settings_fail_before_connecting(
    message: Message, smtp: SmtpServer, change: dict[str, Any], expected: str
) -> None:
    """Impossible settings raise DeliveryError without talking to the server."""
    with pytest.raises(DeliveryError, match=expected):
        _send(message, smtp, **change)
    assert smtp.messages == []


def test_smtp_server_helper_keeps_the_raw_bytes(message: Message, smtp: SmtpServer) -> None:
    """The test server records the envelope and the raw message (so other tests can use it)."""
    _send(message, smtp)
    assert b"Content-Type: multipart/alternative" in smtp.received[0].raw
