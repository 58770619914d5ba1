"""Email over SMTP: one multipart/alternative message, text/plain then text/html.

Security is "starttls" (upgrade a plain connection, the usual port 587), "ssl"
(TLS from the first byte, port 465) or "none" (a local relay). TLS certificates are
verified with the system's trust store. The password is passed in by the caller, who
read it from the environment; it never appears in an error or a log line.

Addresses: `sender` and `recipients` may carry display names (`Zoë Lab <lab@example.org>`).
The envelope (MAIL FROM, RCPT TO) gets the bare addresses (email.utils.getaddresses);
the headers are written by the standard library's email policy, which encodes non-ASCII
display names as RFC 2047 words, and a non-ASCII domain (`lab@exämple.org`) goes out in
its IDNA form (`lab@xn--exmple-cua.org`) in both, so no SMTPUTF8 is needed; only a non-ASCII
local part needs it, and a server without it is refused with one line saying so.

When is a message sent? When the server answered 250 to the end of DATA: what happens
after (a 421 or a dropped connection at QUIT) does not undo it. `timeout` bounds the
wait for each reply; RFC 5321 section 4.5.3.2 gives the final reply to DATA ten minutes,
the default. Recipients refused while others were accepted are returned in the Receipt
(`extra["refused"]`); all refused is a DeliveryError. Any 4xx is not waited on: the
error says so and the caller leaves the digest pending for its next run.

The Message-ID is derived from the digest key, so a resend of the same digest carries
the same Message-ID and mail clients can drop the duplicate. `Auto-Submitted:
auto-generated` (RFC 3834) keeps vacation responders quiet.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from arxivwatch.errors import DeliveryError
from arxivwatch.models import Message, Receipt

SECURITIES = ("starttls", "ssl", "none")
DATA_TIMEOUT = 600.0  # RFC 5321 4.5.3.2.6: the final reply to DATA may take 10 minutes

log = logging.getLogger("arxivwatch.email")


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
    mail["From"] = addresses([sender])[:1]
    mail["To"] = addresses(recipients)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id(digest_key)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.text, subtype="plain", charset="utf-8")
    mail.add_alternative(message.html, subtype="html", charset="utf-8")
    return mail


def bare_addresses(entries: Sequence[str]) -> list[str]:
    """The addresses of `entries` without display names: ["Zoë <a@b.org>"] -> ["a@b.org"].

    A non-ASCII domain is written in its IDNA (ASCII) form, `lab@xn--exmple-cua.org`, which
    every server takes; only a non-ASCII local part needs the server's SMTPUTF8.
    Raises DeliveryError naming an entry that holds no address.
    """
    return [address.addr_spec for address in addresses(entries)]


def addresses(entries: Sequence[str]) -> list[Address]:
    """`entries` ("Name <addr>" or "addr") as header Addresses, domains in IDNA form.

    Raises DeliveryError naming an entry that holds no address or an unusable domain.
    """
    found: list[Address] = []
    for entry in entries:
        parsed = [(name, address) for name, address in getaddresses([entry]) if "@" in address]
        if not parsed:
            raise DeliveryError(
                f"email: {entry!r} is not an e-mail address",
                hint="write addresses as lab@example.org or Name <lab@example.org>",
            )
        for name, address in parsed:
            local, _, domain = address.rpartition("@")
            try:
                domain = domain.encode("idna").decode("ascii")
            except UnicodeError:
                raise DeliveryError(
                    f"email: the domain of {entry!r} is not a valid domain name",
                    hint="check email.sender and email.recipients",
                ) from None
            found.append(Address(display_name=name, username=local, domain=domain))
    return found


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
    timeout: float = DATA_TIMEOUT,
    now: datetime | None = None,
    ssl_context: ssl.SSLContext | None = None,
    password_env: str = "ARXIVWATCH_SMTP_PASSWORD",  # noqa: S107 (the name of a variable, not a secret)
) -> Receipt:
    """Send `message` to `recipients`; the Receipt's detail is the Message-ID.

    Logs in when `username` is set. `timeout` (seconds) bounds each wait for a reply.
    `ssl_context` defaults to the system's verified context (tests pass one that trusts
    their own certificate). The Receipt's extra has "accepted" and "refused" (addresses,
    comma-separated); a partial refusal is logged as a warning. Any failure before the
    server accepted the message raises DeliveryError naming host:port and what to check;
    a hint about the password names `password_env` (the variable it came from), never the value.
    """
    where = f"{host}:{port}"
    variable = f"${password_env}" if password_env else "the variable named by email.password_env"
    _check_arguments(where, security, username, password, sender, recipients, variable)
    envelope_from = bare_addresses([sender])[0]
    envelope_to = bare_addresses(recipients)
    now = now or datetime.now(UTC)
    mail = build(message, digest_key=digest_key, sender=sender, recipients=recipients, now=now)
    context = ssl_context or ssl.create_default_context()
    try:
        smtp = _connect(host, port, security, timeout, context)
    except (smtplib.SMTPException, OSError) as e:  # OSError covers sockets, DNS and TLS
        raise _delivery_error(where, e, variable) from e
    try:
        if username:
            smtp.login(username, password or "")
        refused = smtp.send_message(mail, from_addr=envelope_from, to_addrs=envelope_to)
    except (smtplib.SMTPException, OSError) as e:
        smtp.close()
        raise _delivery_error(where, e, variable) from e
    _quit(smtp, where)  # accepted: nothing at QUIT undoes that
    accepted = [r for r in envelope_to if r not in refused]
    if refused:
        log.warning("email: %s refused %s (%s accepted)", where, ", ".join(sorted(refused)), len(accepted))
    extra = {"accepted": ", ".join(accepted), "refused": ", ".join(sorted(refused))}
    return Receipt("email", digest_key, now, detail=mail["Message-ID"], extra=extra)


def _quit(smtp: smtplib.SMTP, where: str) -> None:
    """Say goodbye; the message was accepted already, so a failure here is only logged."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError) as e:
        log.info("email: %s answered QUIT with an error after accepting the message (%s)", where, e)
    finally:
        smtp.close()


def _check_arguments(
    where: str,
    security: str,
    username: str,
    password: str | None,
    sender: str,
    recipients: Sequence[str],
    variable: str,
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
            hint=f"set the password in {variable}",
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


def _delivery_error(where: str, error: Exception, variable: str) -> DeliveryError:
    """One line naming the server and what to check; `variable` names where the password came
    from ("$ARXIVWATCH_SMTP_PASSWORD"), never the password."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"email: {where} refused the login ({error.smtp_code})",
            hint=f"check email.username and the password in {variable}",
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        names = ", ".join(sorted(error.recipients))
        codes = sorted({int(code) for code, _text in error.recipients.values()})
        if all(400 <= code < 500 for code in codes):  # greylisting, a full mailbox: temporary
            return DeliveryError(
                f"email: {where} answered {', '.join(map(str, codes))} to every recipient ({names}),"
                " try later; the digest stays pending",
                hint="the next digest run sends it again; check the server's log if this persists",
            )
        return DeliveryError(
            f"email: {where} refused every recipient ({names})", hint="check email.recipients"
        )
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):  # smtplib wraps it
        return DeliveryError(
            f"email: {where} did not answer in time; the digest stays pending",
            hint="check the server; [email] timeout sets the wait (RFC 5321: 600 s)",
        )
    if isinstance(error, smtplib.SMTPNotSupportedError) and "SMTPUTF8" in str(error):
        return DeliveryError(
            f"email: {where} does not take addresses with non-ASCII letters before the @ (no SMTPUTF8)",
            hint="use an ASCII address in email.sender and email.recipients (display names may be non-ASCII)",
        )
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
    code = getattr(error, "smtp_code", 0)
    if isinstance(error, smtplib.SMTPResponseException) and 400 <= code < 500:
        return DeliveryError(
            f"email: {where} answered {code}, try later ({_first_line(error)}); the digest stays pending",
            hint="the next digest run sends it again; check the server's log if this persists",
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
