"""Email over SMTP (stdlib ``smtplib`` in a thread), as Echo's ``EmailNotificationService`` sends it.

``To`` is the entry's ``address`` and ``Cc`` its ``cc``, each split on spaces, commas and semicolons as
Echo splits them. The message has a plain-text part and an HTML part. STARTTLS, implicit TLS and AUTH
follow the settings; the password goes only to ``SMTP.login`` and never into results or logs.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from core.settings.notify import EmailSettings

from .base import SendResult
from .render import Message

CHANNEL = "email"


def split_addresses(value: str | None) -> list[str]:
    """``"a@x.io, b@x.io;c@x.io"`` → three addresses (Echo splits on space, comma and semicolon)."""
    return [part for part in re.split(r"[ ,;]+", value or "") if part]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def build_email(message: Message, from_address: str, *, message_id: str | None = None) -> EmailMessage:
    """The email for ``message``: Subject, From, To, Cc, a text part and an HTML alternative."""
    email = EmailMessage()
    email["Subject"] = _one_line(message.subject)
    email["From"] = from_address
    to = split_addresses(message.address)
    cc = split_addresses(message.cc)
    if to:
        email["To"] = ", ".join(to)
    if cc:
        email["Cc"] = ", ".join(cc)
    email["Date"] = formatdate(localtime=False, usegmt=True)
    domain = from_address.rpartition("@")[2].strip("<> ") or "gennaker.local"
    email["Message-ID"] = message_id or make_msgid(domain=domain)
    email.set_content(message.text + "\n")
    email.add_alternative(f"<html><body>\n{message.html}\n</body></html>\n", subtype="html")
    return email


def classify_error(error: Exception, host: str) -> tuple[str, bool, str]:
    """``(code, retryable, sentence)`` for an SMTP failure: 4xx answers and lost connections may pass
    later; 5xx answers, refused credentials, missing extensions and bad certificates will not."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"smtp_{error.smtp_code}", False, f"the SMTP server rejected the login ({error.smtp_code})"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "smtp_not_supported", False, f"the SMTP server does not support what the settings ask: {error}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = {address: answer[0] for address, answer in error.recipients.items()}
        retryable = all(400 <= code < 500 for code in codes.values())
        refused = ", ".join(f"{address} ({code})" for address, code in sorted(codes.items()))
        return (
            f"smtp_{max(codes.values(), default=550)}",
            retryable,
            f"the SMTP server refused every recipient: {refused}",
        )
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        reply = (
            error.smtp_error.decode("utf-8", "replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        return f"smtp_{code}", 400 <= code < 500, f"the SMTP server answered {code} {_one_line(reply)}".rstrip()
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return "smtp_disconnected", True, f"the SMTP server {host} closed the connection"
    if isinstance(error, smtplib.SMTPException):  # (an OSError too, so before the network errors)
        return "smtp_error", False, f"sending email failed: {type(error).__name__}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return "tls_verify", False, f"the TLS certificate of SMTP server {host} could not be verified"
    if isinstance(error, ssl.SSLError):
        return "tls_error", False, f"TLS with SMTP server {host} failed: {type(error).__name__}"
    if isinstance(error, OSError):  # refused, reset, timed out, name not resolved
        return "unreachable", True, f"could not reach SMTP server {host}: {type(error).__name__}"
    return "smtp_error", False, f"sending email failed: {type(error).__name__}"


class EmailChannel:
    """Sends each message over a fresh SMTP connection (notifications are few; relays drop idle ones)."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, message: Message) -> SendResult:
        settings = self.settings
        if not settings.host or not settings.from_address:
            return SendResult.failed(
                CHANNEL,
                "email is not configured: set notifications.email.host and notifications.email.from_address",
                code="not_configured",
                retryable=False,
            )
        recipients = tuple(split_addresses(message.address) + split_addresses(message.cc))
        if not recipients:
            return SendResult.failed(
                CHANNEL, "the email notification has no recipients", code="invalid_address", retryable=False
            )
        email = build_email(message, settings.from_address)
        host = f"{settings.host}:{settings.port}"
        try:
            refused = await asyncio.to_thread(self._deliver, email, list(recipients))
        except (smtplib.SMTPException, OSError) as err:
            code, retryable, sentence = classify_error(err, host)
            return SendResult.failed(CHANNEL, sentence, code=code, retryable=retryable, recipients=recipients)
        accepted = tuple(address for address in recipients if address not in refused)
        detail = f"accepted by {host}"
        if refused:
            detail += "; refused: " + ", ".join(
                f"{address} ({answer[0]})" for address, answer in sorted(refused.items())
            )
        return SendResult.ok(CHANNEL, accepted, remote_id=str(email["Message-ID"]), detail=detail)

    def _deliver(self, email: EmailMessage, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        settings = self.settings
        assert settings.host is not None and settings.from_address is not None
        context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
        smtp: smtplib.SMTP
        if settings.ssl:
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        with smtp:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.username:
                password = settings.password.get_secret_value() if settings.password else ""
                smtp.login(settings.username, password)
            return smtp.send_message(email, from_addr=settings.from_address, to_addrs=recipients)
