"""The email channel against real aiosmtpd servers: plain, AUTH, STARTTLS and SMTPS."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from core.settings.notify import EmailSettings
from integrations.notify.mail import EmailChannel
from integrations.notify.render import ExecutionSummary, Message, render_message

from .conftest import SMTP_PASSWORD, SMTP_USER, Mailbox, free_port

FROM = "Gennaker <gennaker@example.com>"
LINK = "http://localhost:8084/#/applications/myapp/executions/details/01HEXEC"


def mail(address: str, execution: ExecutionSummary, when: str = "pipeline.failed", **entry: Any) -> Message:
    return render_message({"type": "email", "address": address, **entry}, when, execution, "http://localhost:8084")


def settings(box: Mailbox, **kw: Any) -> EmailSettings:
    return EmailSettings(host=box.host, port=box.port, from_address=FROM, timeout_s=5, **kw)


def parsed(box: Mailbox, index: int = 0) -> EmailMessage:
    content = box.envelopes[index].content
    assert isinstance(content, bytes)
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def test_sends_to_and_cc(smtp: Mailbox, execution: ExecutionSummary) -> None:
    message = mail("ann@example.com, bob@example.com", execution, cc="ops@example.com;lead@example.com")
    result = await EmailChannel(settings(smtp)).send(message)
    assert result.sent, result.error
    assert result.recipients == ("ann@example.com", "bob@example.com", "ops@example.com", "lead@example.com")
    [envelope] = smtp.envelopes
    assert envelope.mail_from == "gennaker@example.com"
    assert envelope.rcpt_tos == ["ann@example.com", "bob@example.com", "ops@example.com", "lead@example.com"]
    received = parsed(smtp)
    assert received["Subject"] == "myapp's deploy prod pipeline has failed"
    assert received["From"] == FROM
    assert received["To"] == "ann@example.com, bob@example.com"
    assert received["Cc"] == "ops@example.com, lead@example.com"
    assert received["Message-ID"] == result.remote_id
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == (
        f"myapp's deploy prod pipeline has failed\n\nTo see more details, please visit:\n{LINK}\n"
    )
    assert f'<a href="{LINK}">{LINK}</a>' in html.get_content()


async def test_judgment_email(smtp: Mailbox, execution: ExecutionSummary) -> None:
    message = mail("ann@example.com", execution, "manualJudgmentContinue")
    assert (await EmailChannel(settings(smtp)).send(message)).sent
    received = parsed(smtp)
    assert received["Subject"] == (
        "Stage Approve for myapp's deploy prod pipeline was judged to continue by bob@example.com"
    )
    body = received.get_body(("plain",))
    assert body is not None
    assert "Judgment 'ship it' was selected." in body.get_content()
    assert f"{LINK}?refId=3" in body.get_content()


async def test_logs_in_when_a_username_is_set(smtp_auth: Mailbox, execution: ExecutionSummary) -> None:
    box = settings(smtp_auth, username=SMTP_USER, password=SMTP_PASSWORD)
    result = await EmailChannel(box).send(mail("ann@example.com", execution))
    assert result.sent, result.error
    assert smtp_auth.logins == [SMTP_USER]
    assert len(smtp_auth.envelopes) == 1


async def test_wrong_password_is_permanent_and_not_shown(smtp_auth: Mailbox, execution: ExecutionSummary) -> None:
    wrong = "wrong-Pa55word-do-not-show"
    result = await EmailChannel(settings(smtp_auth, username=SMTP_USER, password=wrong)).send(
        mail("ann@example.com", execution)
    )
    assert (result.sent, result.retryable, result.error_code) == (False, False, "smtp_535")
    assert result.error == "the SMTP server rejected the login (535)"
    assert wrong not in repr(result)
    assert smtp_auth.envelopes == []


async def test_without_a_username_no_login_is_tried(smtp_auth: Mailbox, execution: ExecutionSummary) -> None:
    assert (await EmailChannel(settings(smtp_auth)).send(mail("ann@example.com", execution))).sent
    assert smtp_auth.logins == []


async def test_starttls_with_auth(
    smtp_starttls: Mailbox, tls_cert: tuple[Path, Path], execution: ExecutionSummary
) -> None:
    box = settings(smtp_starttls, starttls=True, ca_file=tls_cert[0], username=SMTP_USER, password=SMTP_PASSWORD)
    result = await EmailChannel(box).send(mail("ann@example.com", execution))
    assert result.sent, result.error
    assert smtp_starttls.logins == [SMTP_USER]


async def test_starttls_required_by_the_server_but_not_used(
    smtp_starttls: Mailbox, execution: ExecutionSummary
) -> None:
    result = await EmailChannel(settings(smtp_starttls)).send(mail("ann@example.com", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, False, "smtp_530")


async def test_starttls_asked_but_not_offered(smtp: Mailbox, execution: ExecutionSummary) -> None:
    result = await EmailChannel(settings(smtp, starttls=True)).send(mail("ann@example.com", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, False, "smtp_not_supported")


async def test_untrusted_certificate_is_permanent(smtp_starttls: Mailbox, execution: ExecutionSummary) -> None:
    result = await EmailChannel(settings(smtp_starttls, starttls=True)).send(mail("ann@example.com", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, False, "tls_verify")


async def test_implicit_tls(smtps: Mailbox, tls_cert: tuple[Path, Path], execution: ExecutionSummary) -> None:
    result = await EmailChannel(settings(smtps, ssl=True, ca_file=tls_cert[0])).send(mail("ann@example.com", execution))
    assert result.sent, result.error
    assert len(smtps.envelopes) == 1


async def test_temporary_recipient_failure_is_retryable(smtp: Mailbox, execution: ExecutionSummary) -> None:
    smtp.rcpt_replies["ann@example.com"] = "450 4.2.1 mailbox busy, try later"
    result = await EmailChannel(settings(smtp)).send(mail("ann@example.com", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, True, "smtp_450")


async def test_permanent_recipient_failure_is_not(smtp: Mailbox, execution: ExecutionSummary) -> None:
    smtp.rcpt_replies["ann@example.com"] = "550 5.1.1 no such user"
    result = await EmailChannel(settings(smtp)).send(mail("ann@example.com", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, False, "smtp_550")
    assert result.error == "the SMTP server refused every recipient: ann@example.com (550)"


async def test_some_recipients_refused_still_sends(smtp: Mailbox, execution: ExecutionSummary) -> None:
    smtp.rcpt_replies["gone@example.com"] = "550 5.1.1 no such user"
    result = await EmailChannel(settings(smtp)).send(mail("ann@example.com gone@example.com", execution))
    assert result.sent
    assert result.recipients == ("ann@example.com",)
    assert "refused: gone@example.com (550)" in result.detail


async def test_data_rejections(smtp: Mailbox, execution: ExecutionSummary) -> None:
    smtp.data_reply = "451 4.3.0 try again later"
    later = await EmailChannel(settings(smtp)).send(mail("ann@example.com", execution))
    assert (later.retryable, later.error_code) == (True, "smtp_451")
    smtp.data_reply = "554 5.7.1 message rejected"
    never = await EmailChannel(settings(smtp)).send(mail("ann@example.com", execution))
    assert (never.retryable, never.error_code) == (False, "smtp_554")


async def test_unreachable_server_is_retryable(execution: ExecutionSummary) -> None:
    box = EmailSettings(host="127.0.0.1", port=free_port(), from_address=FROM, timeout_s=2)
    result = await EmailChannel(box).send(mail("ann@example.com", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, True, "unreachable")


async def test_not_configured(execution: ExecutionSummary) -> None:
    result = await EmailChannel(EmailSettings()).send(mail("ann@example.com", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, False, "not_configured")
    assert "notifications.email.host" in (result.error or "")


async def test_no_recipients(smtp: Mailbox, execution: ExecutionSummary) -> None:
    result = await EmailChannel(settings(smtp)).send(mail(" ,; ", execution))
    assert (result.sent, result.error_code) == (False, "invalid_address")
