"""Email over SMTP: one multipart/alternative message, text/plain then text/html.

Security is "starttls" (upgrade a plain connection, the usual port 587), "ssl"
(TLS from the first byte, port 465) or "none" (a local relay). TLS certificates are
verified with the system's trust store. The password is passed in by the caller, who
read it from the environment; it never appears in an error or a log line.

The Message-ID is derived from the digest key, so a resend of the same digest carries
the same Message-ID and mail clients (and people) can recognise it.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from arxivwatch.errors import DeliveryError
from arxivwatch.models import Message, Receipt

SECURITIES = ("starttls", "ssl", "none")


def message_id(digest_key: str) -> str:
    """The Message-ID of a digest: the same key always gives the same id."""
    digest = hashlib.sha256(digest_key.encode("utf-8")).hexdigest()[:32]
    return f"<digest-{digest}@arxivwatch>"


def build(
    message: Message, *, digest_key: str, sender: str, recipients: Sequence[str], now: datetime
) -> EmailMessage:
    """The MIME message: headers, then the text part and its HTML alternative."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id(digest_key)
    mail.set_content(message.text, subtype="plain", charset="utf-8")
    mail.add_alternative(message.html, subtype="html", charset="utf-8")
    return mail


def send(
    message: Message,
    *,
    digest_key: str,
    host: str,
    port: int,
    security: str,
    username: str,
    password: str | None,
    sender: str,
    recipients: Sequence[str],
    timeout: float = 30.0,
    now: datetime | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Receipt:
    """Send `message` to `recipients`; the Receipt's detail is the Message-ID.

    Logs in when `username` is set. `ssl_context` defaults to the system's verified
    context (tests pass one that trusts their own certificate). Any failure raises
    DeliveryError naming host:port and what to check.
    """
    where = f"{host}:{port}"
    _check_arguments(where, security, username, password, sender, recipients)
    now = now or datetime.now(UTC)
    mail = build(message, digest_key=digest_key, sender=sender, recipients=recipients, now=now)
    context = ssl_context or ssl.create_default_context()
    try:
        with _connect(host, port, security, timeout, context) as smtp:
            if username:
                smtp.login(username, password or "")
            refused = smtp.send_message(mail, from_addr=sender, to_addrs=list(recipients))
    except (smtplib.SMTPException, OSError) as e:  # OSError covers sockets, DNS and TLS
        raise _delivery_error(where, e) from e
    accepted = [r for r in recipients if r not in refused]
    extra = {"accepted": ", ".join(accepted), "refused": ", ".join(sorted(refused))}
    return Receipt("email", digest_key, now, detail=mail["Message-ID"], extra=extra)


def _check_arguments(
    where: str,
    security: str,
    username: str,
    password: str | None,
    sender: str,
    recipients: Sequence[str],
) -> None:
    if security not in SECURITIES:
        raise DeliveryError(
            f"email: unknown security {security!r} for {where}",
            hint=f"set email.security to one of {', '.join(SECURITIES)}",
        )
    if not sender or not recipients:
        raise DeliveryError("email: no sender or no recipients", hint="set email.sender and email.recipients")
    if username and password is None:
        raise DeliveryError(
            f"email: {where} needs a password for {username}",
            hint="set the environment variable named by email.password_env",
        )


def _connect(host: str, port: int, security: str, timeout: float, context: ssl.SSLContext) -> smtplib.SMTP:
    if security == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if security == "starttls":
            smtp.starttls(context=context)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _delivery_error(where: str, error: Exception) -> DeliveryError:
    """One line naming the server and what to check; never the password."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"email: {where} refused the login ({error.smtp_code})",
            hint="check email.username and the variable named by email.password_env",
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return DeliveryError(f"email: {where} refused every recipient", hint="check email.recipients")
    if isinstance(error, smtplib.SMTPNotSupportedError | smtplib.SMTPHeloError):
        return DeliveryError(
            f"email: {where} does not support what was asked ({_first_line(error)})",
            hint="check email.security (starttls, ssl or none) and email.port",
        )
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return DeliveryError(
            f"email: TLS with {where} failed ({_first_line(error)})",
            hint="check email.security and email.port, and that the server's certificate is valid",
        )
    if isinstance(error, smtplib.SMTPException):
        return DeliveryError(
            f"email: {where} refused the message ({_first_line(error)})",
            hint="check email.sender, email.recipients and the server's log",
        )
    return DeliveryError(
        f"email: cannot reach {where} ({_first_line(error)})",
        hint="check email.host, email.port and email.security, and that the server is up",
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.splitlines()[0].split())[:200]
