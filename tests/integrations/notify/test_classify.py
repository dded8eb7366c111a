"""Which failures are worth another try: pure tables for Slack codes, HTTP statuses, SMTP errors,
Retry-After and the shown form of webhook URLs."""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime

import pytest

from integrations.notify.base import check_webhook_url, http_status_retryable, parse_retry_after, safe_url
from integrations.notify.mail import classify_error
from integrations.notify.slack import describe_error, error_retryable
from integrations.notify.teams import body_failure


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("ratelimited", 429, True),
        ("ratelimited", 200, True),
        ("internal_error", 200, True),
        ("fatal_error", 200, True),
        ("service_unavailable", 200, True),
        ("request_timeout", 200, True),
        ("http_502", 502, True),
        ("invalid_auth", 200, False),
        ("not_authed", 200, False),
        ("token_revoked", 200, False),
        ("channel_not_found", 200, False),
        ("not_in_channel", 200, False),
        ("is_archived", 200, False),
        ("missing_scope", 200, False),
        ("msg_too_long", 200, False),
        ("invalid_arguments", 200, False),
        ("http_404", 404, False),
    ],
)
def test_slack_error_retryable(code: str, status: int, retryable: bool) -> None:
    assert error_retryable(code, status) is retryable


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("invalid_auth", "rejected the bot token (invalid_auth); check notifications.slack.bot_token"),
        ("token_revoked", "rejected the bot token (token_revoked)"),
        ("channel_not_found", "channel '#ops' was not found"),
        ("not_in_channel", "invite it to the channel"),
        ("missing_scope", "chat:write"),
        ("ratelimited", "rate limiting"),
        ("something_new", "Slack answered 'something_new' for channel '#ops'"),
    ],
)
def test_slack_error_sentences(code: str, fragment: str) -> None:
    assert fragment in describe_error(code, "#ops")


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (401, False), (403, False), (404, False), (410, False), (413, False), (408, True), (425, True)]
    + [(429, True), (500, True), (502, True), (503, True), (504, True)],
)
def test_http_status_retryable(status: int, retryable: bool) -> None:
    assert http_status_retryable(status) is retryable


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("soon", None),
        ("Wed, 01 Jan 2025 00:00:30 GMT", 30.0),
        ("Tue, 31 Dec 2024 23:59:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=datetime(2025, 1, 1, tzinfo=UTC)) == seconds


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://outlook.office.com/webhook/abc-secret/IncomingWebhook/x", "https://outlook.office.com/..."),
        ("https://chat.googleapis.com/v1/spaces/AAA/messages?key=K&token=T", "https://chat.googleapis.com/..."),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://user:pw@host/hook", "http://host/..."),
        ("not a url", "<invalid url>"),
        ("http://[::1", "<invalid url>"),
    ],
)
def test_safe_url_hides_paths_queries_and_credentials(url: str, shown: str) -> None:
    assert safe_url(url) == shown


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://h/x", None),
        ("ftp://h/x", "must be an http(s) URL"),
        ("#channel", "must be an http(s) URL"),
        ("http:///nohost", "has no host"),
    ],
)
def test_check_webhook_url(url: str, problem: str | None) -> None:
    found = check_webhook_url(url)
    assert (found is None) if problem is None else (problem in (found or ""))


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid"), "smtp_535", False),
        (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), "smtp_not_supported", False),
        (smtplib.SMTPRecipientsRefused({"a@x.io": (450, b"busy"), "b@x.io": (451, b"later")}), "smtp_451", True),
        (
            smtplib.SMTPRecipientsRefused({"a@x.io": (450, b"busy"), "b@x.io": (550, b"no such user")}),
            "smtp_550",
            False,
        ),
        (smtplib.SMTPSenderRefused(553, b"sender rejected", "g@x.io"), "smtp_553", False),
        (smtplib.SMTPDataError(452, b"insufficient storage"), "smtp_452", True),
        (smtplib.SMTPDataError(554, b"rejected as spam"), "smtp_554", False),
        (smtplib.SMTPConnectError(421, b"too many connections"), "smtp_421", True),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "smtp_disconnected", True),
        (ssl.SSLCertVerificationError("certificate verify failed"), "tls_verify", False),
        (ssl.SSLError("wrong version number"), "tls_error", False),
        (ConnectionRefusedError(111, "Connection refused"), "unreachable", True),
        (TimeoutError("timed out"), "unreachable", True),
        (smtplib.SMTPException("odd"), "smtp_error", False),
    ],
)
def test_smtp_error_classification(error: Exception, code: str, retryable: bool) -> None:
    found_code, found_retryable, sentence = classify_error(error, "mail.example.com:25")
    assert (found_code, found_retryable) == (code, retryable)
    assert sentence


def test_smtp_sentences_name_the_problem() -> None:
    refused = smtplib.SMTPRecipientsRefused({"b@x.io": (550, b"no"), "a@x.io": (550, b"no")})
    assert classify_error(refused, "h:25")[2] == "the SMTP server refused every recipient: a@x.io (550), b@x.io (550)"
    assert (
        classify_error(smtplib.SMTPDataError(554, b"5.7.1 spam"), "h:25")[2]
        == "the SMTP server answered 554 5.7.1 spam"
    )
    assert (
        classify_error(ConnectionRefusedError(), "h:25")[2]
        == "could not reach SMTP server h:25: ConnectionRefusedError"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("1", None),
        ("", None),
        ("Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429", True),
        ("Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 503", True),
        ("Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 400", False),
        ("webhook message delivery failed", False),
    ],
)
def test_teams_failures_hidden_in_a_200(body: str, expected: bool | None) -> None:
    failure = body_failure(body)
    assert (failure is None) if expected is None else (failure is not None and failure[1] is expected)
