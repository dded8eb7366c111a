"""Real servers for the notification tests: the Slack stand-in, aiosmtpd (plain, STARTTLS, SMTPS,
with and without AUTH) and the scriptable HTTP stub for webhooks, Teams and Google Chat."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope

from integrations.notify.render import ExecutionSummary
from integrations.outbound import OutboundPolicy, OutboundSettings, guarded_async_client
from tests.stubs import Stub, serve_stub

from .slack_standin import SlackStandin, serve_slack

SLACK_TOKEN = "xoxb-standin-0123456789-secret"
SMTP_USER = "gennaker"
SMTP_PASSWORD = "s3cret-smtp-pa55word"


@pytest.fixture
def execution() -> ExecutionSummary:
    return ExecutionSummary(
        application="myapp",
        execution_id="01HEXEC",
        pipeline_name="deploy prod",
        status="TERMINAL",
        trigger_user="ann@example.com",
        stage_name="Approve",
        stage_ref_id="3",
        instructions="Check <b>the dashboard</b> first",
        judgment_input="ship it",
        judged_by="bob@example.com",
    )


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with serve_slack(SLACK_TOKEN) as standin:
        yield standin


@pytest.fixture
def stub() -> Iterator[Stub]:
    with serve_stub() as served:
        yield served


#: the operator's opt-in for the stub servers on loopback (refused by default)
LOOPBACK = OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.0/8"]))


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with guarded_async_client(LOOPBACK, timeout=httpx.Timeout(2.0, connect=1.0)) as client:
        yield client


# ---- SMTP --------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What an aiosmtpd server received, and how to reach it."""

    host: str
    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    #: answer RCPT TO for these addresses with this reply (e.g. "450 4.2.1 try later")
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str = "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: Any, session: Any, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        if self.data_reply.startswith("250"):
            self.envelopes.append(envelope)
        return self.data_reply

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        login = data.login.decode() if isinstance(data.login, bytes) else str(data.login)
        password = data.password.decode() if isinstance(data.password, bytes) else str(data.password)
        ok = login == SMTP_USER and password == SMTP_PASSWORD
        if ok:
            self.logins.append(login)
        # handled=False: aiosmtpd answers 535 itself for a failed login
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(mailbox: Mailbox, **kwargs: Any) -> Controller:
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    """A plain SMTP server without AUTH."""
    mailbox = Mailbox("127.0.0.1", free_port())
    controller = _serve(mailbox)
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_auth() -> Iterator[Mailbox]:
    """A plain SMTP server offering AUTH without TLS (``auth_require_tls=False``)."""
    mailbox = Mailbox("127.0.0.1", free_port())
    controller = _serve(mailbox, authenticator=mailbox.authenticate, auth_require_tls=False)
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _server_context(tls_cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls_cert[0]), str(tls_cert[1]))
    return context


@pytest.fixture
def smtp_starttls(tls_cert: tuple[Path, Path]) -> Iterator[Mailbox]:
    """An SMTP server that requires STARTTLS, and AUTH only over TLS (aiosmtpd's default)."""
    mailbox = Mailbox("127.0.0.1", free_port())
    controller = _serve(
        mailbox,
        tls_context=_server_context(tls_cert),
        require_starttls=True,
        authenticator=mailbox.authenticate,
    )
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtps(tls_cert: tuple[Path, Path]) -> Iterator[Mailbox]:
    """An SMTPS server (implicit TLS from the first byte)."""
    mailbox = Mailbox("127.0.0.1", free_port())
    controller = _serve(mailbox, ssl_context=_server_context(tls_cert))
    try:
        yield mailbox
    finally:
        controller.stop()
