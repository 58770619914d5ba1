"""Email delivery against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

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
    assert mail["Subject"] == "arxivwatch: 5 papers, 22\u201328 Nov 2024"
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


def test_refused_login_names_the_configured_variable(message: Message) -> None:
    """A refused login's hint names the variable the password came from (its name only, never the value)."""
    with SmtpServer(login=("digest", "s3cret-pw")) as server, pytest.raises(DeliveryError) as caught:
        _send(message, server, username="digest", password="wrong-pw-123", password_env="LAB_SMTP_PW")
    assert str(caught.value) == (
        f"email: {server.host}:{server.port} refused the login (535); "
        "check email.username and the password in $LAB_SMTP_PW"
    )


def test_missing_password_names_the_configured_variable(message: Message, smtp: SmtpServer) -> None:
    """A username without a password says which variable to set, by the name the configuration gives."""
    with pytest.raises(DeliveryError) as caught:
        _send(message, smtp, username="digest", password=None, password_env="LAB_SMTP_PW")
    assert str(caught.value) == (
        f"email: {smtp.host}:{smtp.port} needs a password for digest; set the password in $LAB_SMTP_PW"
    )
    assert smtp.messages == []


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


def test_slow_final_reply_to_data_within_the_timeout_is_one_delivery(
    message: Message, smtp: SmtpServer
) -> None:
    """A 250 to DATA that takes 1.5 s (longer than every other reply) counts, once; 10 min is the default."""
    smtp.handler.data_delay = 1.5
    receipt = _send(message, smtp, timeout=5.0)
    assert receipt.detail == email.message_id(KEY) and len(smtp.messages) == 1
    assert email.DATA_TIMEOUT == 600.0
    from arxivwatch.config import EmailConfig

    assert EmailConfig().timeout == 600.0


def test_final_reply_past_the_timeout_is_a_clear_failure(message: Message, smtp: SmtpServer) -> None:
    """No final reply within `timeout` is one line that says the digest stays pending."""
    smtp.handler.data_delay = 2.0
    with pytest.raises(DeliveryError, match="did not answer in time; the digest stays pending"):
        _send(message, smtp, timeout=0.5)


def test_421_at_quit_after_250_to_data_counts_as_delivered(message: Message, smtp: SmtpServer) -> None:
    """The server accepted the message, then answered QUIT with 421: a Receipt, not an error."""
    smtp.handler.quit_reply = "421 4.4.2 Connection dropped"
    receipt = _send(message, smtp)
    assert receipt.detail == email.message_id(KEY)
    assert len(smtp.messages) == 1


def test_one_refused_recipient_is_named_and_the_rest_delivered(
    message: Message, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """One of two recipients answered 550: the other gets it; the refused one is named (receipt, warning)."""
    smtp.handler.refuse = frozenset({"grace@lab.example.org"})
    receipt = _send(message, smtp)
    (received,) = smtp.received
    assert received.rcpt_tos == ["ada@lab.example.org"]
    assert receipt.extra == {"accepted": "ada@lab.example.org", "refused": "grace@lab.example.org"}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [f"email: {smtp.host}:{smtp.port} refused grace@lab.example.org (1 accepted)"]


def test_every_recipient_refused_is_a_failure_naming_them(message: Message, smtp: SmtpServer) -> None:
    """All recipients answered 550: DeliveryError naming both, nothing delivered."""
    smtp.handler.refuse = frozenset(RECIPIENTS)
    with pytest.raises(DeliveryError, match="refused every recipient") as caught:
        _send(message, smtp)
    assert all(r in str(caught.value) for r in RECIPIENTS)
    assert smtp.messages == []


def test_non_ascii_display_names_on_a_server_without_smtputf8(message: Message, smtp: SmtpServer) -> None:
    """'Zoë Lab <lab@…>' goes out with bare envelope addresses and RFC 2047 headers (7-bit), no SMTPUTF8."""
    sender = "Zoë Lab <lab@example.org>"
    recipients = ["Jürgen Groß <jg@example.org>", "plain@example.org"]
    _send(message, smtp, sender=sender, recipients=recipients)
    (received,) = smtp.received
    assert received.mail_from == "lab@example.org"
    assert received.rcpt_tos == ["jg@example.org", "plain@example.org"]
    head = received.raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # raises if any header byte is 8-bit
    assert b"=?utf-8?" in head
    assert str(received.message["From"]) == sender
    assert str(received.message["To"]) == ", ".join(recipients)


def test_an_entry_without_an_address_is_refused_before_connecting(message: Message, smtp: SmtpServer) -> None:
    """A recipient like 'Lab' (no address) is one line naming it, nothing sent."""
    with pytest.raises(DeliveryError, match="'Lab' is not an e-mail address"):
        _send(message, smtp, recipients=["Lab"])
    assert smtp.received == []


def test_auto_submitted_and_a_stable_message_id_on_every_resend(message: Message, smtp: SmtpServer) -> None:
    """Two sends of one digest carry the same Message-ID and Auto-Submitted: auto-generated."""
    _send(message, smtp)
    _send(message, smtp)
    first, second = smtp.messages
    assert first["Message-ID"] == second["Message-ID"] == email.message_id(KEY)
    assert first["Auto-Submitted"] == "auto-generated"


def test_a_4xx_is_not_waited_on(message: Message, smtp: SmtpServer) -> None:
    """451 to DATA fails at once (no retry loop here) with a line saying the digest stays pending."""
    import time

    smtp.handler.data_replies.append("451 4.3.0 Mail server temporarily rejected message")
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="answered 451, try later") as caught:
        _send(message, smtp)
    assert time.monotonic() - started < 3
    assert "stays pending" in str(caught.value) and smtp.messages == []


def test_the_loopback_server_offers_no_smtputf8(smtp: SmtpServer) -> None:
    """The server the non-ASCII tests use does not advertise SMTPUTF8 (aiosmtpd's Controller would)."""
    import smtplib

    client = smtplib.SMTP(smtp.host, smtp.port, timeout=10)
    try:
        client.ehlo()
        assert "8bitmime" in client.esmtp_features
        assert not client.has_extn("smtputf8")
    finally:
        client.quit()


def test_a_non_ascii_domain_goes_out_in_idna_form(message: Message, smtp: SmtpServer) -> None:
    """'Zoë <zoe@exämple.org>' is delivered as zoe@xn--exmple-cua.org on envelope and header, 7-bit."""
    _send(message, smtp, sender="Lab <lab@exämple.org>", recipients=["Zoë <zoe@exämple.org>"])
    (received,) = smtp.received
    assert (received.mail_from, received.rcpt_tos) == ("lab@xn--exmple-cua.org", ["zoe@xn--exmple-cua.org"])
    received.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # raises if any header byte is 8-bit
    assert str(received.message["To"]) == "Zoë <zoe@xn--exmple-cua.org>"


def test_a_non_ascii_local_part_without_smtputf8_is_one_line(message: Message, smtp: SmtpServer) -> None:
    """'zoë@example.org' needs SMTPUTF8: the error names that, not the security setting."""
    with pytest.raises(DeliveryError, match=r"non-ASCII letters before the @ \(no SMTPUTF8\)") as caught:
        _send(message, smtp, recipients=["zoë@example.org"])
    assert "email.security" not in caught.value.hint
    assert smtp.received == []


def test_every_recipient_greylisted_is_a_temporary_failure(message: Message, smtp: SmtpServer) -> None:
    """450 to every RCPT says 'try later' (the digest stays pending), not 'check email.recipients'."""

    async def greylist(server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        return "450 4.2.0 Greylisted, try again later"

    smtp.handler.handle_RCPT = greylist  # type: ignore[method-assign]
    with pytest.raises(DeliveryError, match=r"answered 450 to every recipient .*try later") as caught:
        _send(message, smtp)
    assert "email.recipients" not in caught.value.hint
    assert smtp.received == []
