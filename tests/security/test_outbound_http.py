"""The outbound policy against real servers on loopback: redirects into refused ranges, DNS answers
that change between calls, size caps on streamed bodies, and every caller (webhook stage create,
status and cancel; notification webhooks, Teams, Google Chat; URL expressions) refusing with the rule."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import subprocess
import zlib
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.expressions import UrlFetcher, UrlFetchError, UrlNotAllowed
from activities.notify import NotifyActivities, SendNotificationInput
from activities.webhook import WebhookActivities
from core.settings.notify import NotificationSettings
from core.status import ExecutionStatus as S
from integrations.notify.render import ExecutionSummary, render_message
from integrations.outbound import (
    OutboundPolicy,
    OutboundRefused,
    OutboundSettings,
    ResponseTooLarge,
    arequest,
    guarded_async_client,
    guarded_client,
    request,
)
from workflows.stages.base import TaskInput

from .outbound_support import Served, json_reply, redirect, reply, serve, stream

#: the opt-in for the first hop only: 127.0.0.1; 127.0.0.2 (also loopback) stays refused
FIRST_HOP = OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.1/32"]))


def task(context: dict[str, Any], name: str = "create_webhook") -> TaskInput:
    return TaskInput(
        execution_id="01EXEC",
        application="app",
        stage_id="01STAGE",
        stage_ref_id="1",
        stage_type="webhook",
        task_name=name,
        context=context,
        stage_start_time_ms=0,
        task_start_time_ms=0,
    )


# ---- redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("http://127.0.0.2:{port2}/secret", "address 127.0.0.2 is loopback (outbound.reject_localhost)"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "address 169.254.169.254 is link-local (outbound.reject_link_local)",
        ),
        (
            "http://[::ffff:10.0.0.1]/",
            "address ::ffff:a00:1 (IPv4 10.0.0.1) is private (RFC 1918) (outbound.reject_private)",
        ),
        ("http://2130706434:{port2}/", "address 127.0.0.2 is loopback (outbound.reject_localhost)"),
        ("http://metadata.google.internal/", "host metadata.google.internal is in the excluded domain 'internal'"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
    ],
)
def test_a_redirect_into_a_refused_range_is_refused(target: str, message: str) -> None:
    with serve("127.0.0.1") as first, serve("127.0.0.2") as second:
        second.routes["/secret"] = json_reply(b'{"secret": true}')
        second.routes["/"] = json_reply(b"{}")
        first.routes["/hook"] = redirect(target.format(port2=second.port))
        with guarded_client(FIRST_HOP) as client, pytest.raises(OutboundRefused) as raised:
            request(client, FIRST_HOP, "POST", first.url("/hook"), content=b"{}")
    assert message in str(raised.value)
    assert str(raised.value).startswith("redirect to ")
    assert [c[1] for c in first.calls] == ["/hook"] and second.calls == []


def test_redirects_within_the_allowed_hosts_are_followed_and_bounded() -> None:
    with serve("127.0.0.1") as server:
        server.routes["/a"] = redirect("/b", 301)
        server.routes["/b"] = redirect(server.url("/c"), 307)
        server.routes["/c"] = json_reply(b'{"ok": true}')
        server.routes["/loop"] = redirect("/loop")
        with guarded_client(FIRST_HOP) as client:
            answer = request(client, FIRST_HOP, "GET", server.url("/a"))
            assert (answer.status_code, json.loads(answer.text)) == (200, {"ok": True})
            assert answer.redirects == [server.url("/a"), server.url("/b")]
            with pytest.raises(OutboundRefused, match=r"more than 5 redirects \(outbound\.max_redirects\)"):
                request(client, FIRST_HOP, "GET", server.url("/loop"))
    assert sum(1 for c in server.calls if c[1] == "/loop") == 6


def test_a_cross_origin_redirect_drops_the_users_headers() -> None:
    seen: list[dict[str, str]] = []
    policy = OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.0/8"]))
    with serve("127.0.0.1") as first, serve("127.0.0.2") as second:

        def record(handler: Any) -> None:
            seen.append({k.lower(): v for k, v in handler.headers.items()})
            reply(handler, 200, b"ok")

        second.routes["/landing"] = record
        first.routes["/hook"] = redirect(second.url("/landing"), 303)
        with guarded_client(policy) as client:
            answer = request(
                client, policy, "POST", first.url("/hook"), headers=[("X-Api-Key", "sekrit")], content=b"{}"
            )
    assert answer.status_code == 200 and second.calls[0][0] == "GET"
    assert "x-api-key" not in seen[0]


# ---- DNS answers that change ---------------------------------------------------------------------


class FlippingResolver:
    """Answers ``first`` once, then ``later`` forever: a rebinding attacker's DNS server."""

    def __init__(self, first: list[str], later: list[str]) -> None:
        self.answers = [first, later]
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[0] if len(self.asked) == 1 else self.answers[1]


def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    """The name is resolved once per connection; a second lookup (which would answer 127.0.0.2) never happens."""
    with serve("127.0.0.1") as allowed, serve("127.0.0.2") as internal:
        allowed.routes["/hook"] = json_reply(b'{"where": "allowed"}')
        internal.routes["/hook"] = json_reply(b'{"where": "internal"}')
        resolver = FlippingResolver(["127.0.0.1"], ["127.0.0.2"])
        url = f"http://rebind.example.com:{allowed.port}/hook"
        with guarded_client(FIRST_HOP, resolver=resolver) as client:
            answer = request(client, FIRST_HOP, "GET", url)
            assert json.loads(answer.text) == {"where": "allowed"}
            assert resolver.asked == ["rebind.example.com"]
            # the next connection asks again, gets the internal answer and is refused before connecting
            with pytest.raises(OutboundRefused, match=r"address 127\.0\.0\.2 is loopback"):
                request(client, FIRST_HOP, "GET", f"http://rebind.example.com:{internal.port}/hook")
    assert allowed.calls == [("GET", "/hook", f"rebind.example.com:{allowed.port}")]  # Host kept as the name
    assert internal.calls == []


def test_an_internal_first_answer_is_refused_without_a_second_lookup() -> None:
    with serve("127.0.0.1") as allowed:
        allowed.routes["/hook"] = json_reply(b"{}")
        resolver = FlippingResolver(["169.254.169.254"], ["127.0.0.1"])
        with guarded_client(FIRST_HOP, resolver=resolver) as client, pytest.raises(OutboundRefused, match="link-local"):
            request(client, FIRST_HOP, "GET", f"http://rebind.example.com:{allowed.port}/hook")
    assert resolver.asked == ["rebind.example.com"] and allowed.calls == []


async def test_the_async_client_checks_the_resolved_address_too() -> None:
    with serve("127.0.0.1") as allowed:
        allowed.routes["/hook"] = json_reply(b'{"ok": 1}')
        resolver = FlippingResolver(["127.0.0.1"], ["10.0.0.7"])
        async with guarded_async_client(FIRST_HOP, resolver=resolver) as client:
            answer = await arequest(client, FIRST_HOP, "POST", f"http://hooks.example.com:{allowed.port}/hook")
            assert answer.status_code == 200
            with pytest.raises(OutboundRefused, match=r"10\.0\.0\.7 is private"):
                await arequest(client, FIRST_HOP, "POST", f"http://other.example.com:{allowed.port}/hook")
    assert resolver.asked == ["hooks.example.com", "other.example.com"]


# ---- size caps -----------------------------------------------------------------------------------

CAPPED = OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.1/32"], max_response_bytes=256 * 1024))


def _streamed(server: Served) -> int:
    assert server.streamed.wait(30), "the server never stopped streaming"
    return server.sent[0]


def test_a_large_streamed_body_fails_at_the_cap_without_being_read() -> None:
    total = 512 * 1024 * 1024  # 512 MiB offered; reading it whole would take seconds and the memory
    with serve("127.0.0.1") as server:
        server.routes["/big"] = stream(total, server)
        with guarded_client(CAPPED) as client, pytest.raises(ResponseTooLarge) as raised:
            request(client, CAPPED, "GET", server.url("/big"))
        sent = _streamed(server)
    assert str(raised.value) == "response body is larger than 262144 bytes (outbound.max_response_bytes)"
    assert sent < 64 * 1024 * 1024, sent  # the client hung up long before the end


def test_a_declared_large_body_is_refused_before_reading() -> None:
    with serve("127.0.0.1") as server:
        server.routes["/big"] = stream(64 * 1024 * 1024, server, declare=True)
        with guarded_client(CAPPED) as client, pytest.raises(ResponseTooLarge, match="67108864 bytes is larger"):
            request(client, CAPPED, "GET", server.url("/big"))
        assert _streamed(server) < 64 * 1024 * 1024


def test_webhook_stage_fails_clearly_on_a_large_body_and_keeps_only_a_note_of_a_medium_one() -> None:
    policy = OutboundPolicy(
        OutboundSettings(allow_cidrs=["127.0.0.1/32"], max_response_bytes=256 * 1024, webhook_kept_body_bytes=4096)
    )
    with serve("127.0.0.1") as server, guarded_client(policy) as client:
        server.routes["/big"] = stream(8 * 1024 * 1024, server)
        server.routes["/medium"] = json_reply(json.dumps({"log": "y" * 10_000}).encode())
        acts = WebhookActivities(client, policy=policy, max_body_bytes=policy.settings.webhook_kept_body_bytes)
        big = acts.create_webhook(task({"url": server.url("/big"), "method": "GET"}))
        medium = acts.create_webhook(task({"url": server.url("/medium"), "method": "GET"}))
    assert big.status == S.TERMINAL
    assert big.error == (
        f"webhook url {server.url('/big')}: response body is larger than 262144 bytes (outbound.max_response_bytes)"
    )
    assert medium.status == S.SUCCEEDED
    assert medium.context["webhook"]["body"] == "<response body of 10011 bytes not kept: larger than 4096 bytes>"


# ---- every caller refuses with the rule -----------------------------------------------------------


def test_webhook_create_status_and_cancel_are_refused_with_the_rule() -> None:
    policy = OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.1/32"]))
    with serve("127.0.0.1") as server, guarded_client(policy) as client:
        # the remote server chooses a status URL on the metadata service
        server.routes["/hook"] = json_reply(b'{"status": "http://169.254.169.254/latest/meta-data/iam"}')
        acts = WebhookActivities(client, policy=policy)
        create = acts.create_webhook(task({"url": "http://169.254.169.254/latest/meta-data/"}))
        assert create.status == S.TERMINAL
        assert create.error == (
            "webhook url http://169.254.169.254/latest/meta-data/: "
            "address 169.254.169.254 is link-local (outbound.reject_link_local)"
        )
        assert create.context["webhook"]["error"] == create.error
        chosen = acts.create_webhook(
            task(
                {
                    "url": server.url("/hook"),
                    "waitForCompletion": True,
                    "statusUrlResolution": "webhookResponse",
                    "statusUrlJsonPath": "$.status",
                }
            )
        )
        assert chosen.status == S.SUCCEEDED
        monitor = acts.monitor_webhook(task({**chosen.context, "statusJsonPath": "$.s"}, "monitor_webhook"))
        assert monitor.status == S.TERMINAL
        assert monitor.error == (
            "status url http://169.254.169.254/latest/meta-data/iam: "
            "address 169.254.169.254 is link-local (outbound.reject_link_local)"
        )
        headers = acts.create_webhook(
            task({"url": server.url("/hook"), "customHeaders": {"Metadata-Flavor": "Google"}})
        )
        assert headers.status == S.TERMINAL and "(outbound.metadata_headers)" in (headers.error or "")
        cancel = acts.cancel_webhook(task({"url": server.url("/hook"), "cancelEndpoint": "http://10.0.0.1/cancel"}))
        assert cancel.status == S.SUCCEEDED  # best effort, as Orca: refused and logged, nothing sent
    assert [c[1] for c in server.calls] == ["/hook"]


EXECUTION = ExecutionSummary(
    application="myapp", execution_id="01HEXEC", pipeline_name="deploy", status="TERMINAL", trigger_user="ann"
)


@pytest.mark.parametrize(
    ("kind", "address", "rule"),
    [
        ("webhook", "http://169.254.169.254/latest/meta-data/?token=sekrit", "outbound.reject_link_local"),
        ("microsoftteams", "http://10.0.0.1/webhookb2/secret", "outbound.reject_private"),
        ("googlechat", "http://[::1]:7233/v1/spaces/x?key=sekrit", "outbound.reject_localhost"),
        ("webhook", "http://metadata.google.internal/computeMetadata/v1/", "outbound.excluded_domains"),
    ],
)
async def test_notifications_to_internal_addresses_fail_naming_the_rule(kind: str, address: str, rule: str) -> None:
    acts = NotifyActivities(NotificationSettings())  # the safe defaults
    try:
        with pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(
                acts.send_notification,
                SendNotificationInput({"type": kind, "address": address}, "pipeline.failed", EXECUTION),
            )
    finally:
        await acts.aclose()
    assert raised.value.non_retryable and f"({rule})" in raised.value.message
    assert "sekrit" not in raised.value.message and "secret" not in raised.value.message


def test_notifications_follow_a_redirect_only_into_allowed_addresses() -> None:
    async def go(url: str) -> Any:
        acts = NotifyActivities(NotificationSettings(), policy=FIRST_HOP)
        try:
            return await acts.channels["webhook"].send(_message(url))
        finally:
            await acts.aclose()

    with serve("127.0.0.1") as server:
        server.routes["/hook"] = redirect("http://169.254.169.254/latest/", 307)
        result = asyncio.run(go(server.url("/hook")))
    assert not result.sent and result.error_code == "refused" and not result.retryable
    assert "redirect to http://169.254.169.254/latest/: address 169.254.169.254 is link-local" in (result.error or "")


def _message(url: str) -> Any:
    return render_message({"type": "webhook", "address": url}, "pipeline.failed", EXECUTION, "http://gennaker.example")


def test_url_expressions_are_refused_even_when_allow_listed() -> None:
    fetcher = UrlFetcher(["http://169.254.169.254/latest/", "http://127.0.0.1:9/"])
    with pytest.raises(UrlNotAllowed) as raised:
        fetcher("http://169.254.169.254/latest/meta-data/")
    assert str(raised.value).endswith("address 169.254.169.254 is link-local (outbound.reject_link_local)")
    assert not fetcher.allows("http://127.0.0.1:9/x")


def test_url_expressions_do_not_follow_redirects_into_internal_ranges() -> None:
    with serve("127.0.0.1") as server:
        server.routes["/cfg"] = redirect("http://169.254.169.254/latest/")
        fetcher = UrlFetcher([server.url("/")], policy=FIRST_HOP)
        with pytest.raises(UrlFetchError, match="redirect"):
            fetcher(server.url("/cfg"))
    assert [c[1] for c in server.calls] == ["/cfg"]


def test_plain_httpx_would_have_reached_the_second_server() -> None:
    """The control: without the policy the same redirect reaches the internal server."""
    with serve("127.0.0.1") as first, serve("127.0.0.2") as second:
        second.routes["/secret"] = json_reply(b'{"secret": true}')
        first.routes["/hook"] = redirect(second.url("/secret"))
        with httpx.Client(follow_redirects=True, trust_env=False) as plain:
            assert plain.get(first.url("/hook")).json() == {"secret": True}
    assert second.calls and second.calls[0][1] == "/secret"


# ---- TLS keeps the name ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for ``secure.example.com`` only (made with the openssl command)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=secure.example.com", "-addext", "subjectAltName=DNS:secure.example.com"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_https_to_the_vetted_address_keeps_sni_host_and_certificate_checks_on_the_name(
    certificate: tuple[str, str],
) -> None:
    cert, key = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    trust = ssl.create_default_context(cafile=cert)
    resolver = FlippingResolver(["127.0.0.1"], ["127.0.0.1"])
    with serve("127.0.0.1", tls=server_side) as server:
        server.routes["/hook"] = json_reply(b'{"tls": true}')
        with guarded_client(FIRST_HOP, resolver=resolver, verify=trust) as client:
            answer = request(client, FIRST_HOP, "POST", f"https://secure.example.com:{server.port}/hook")
            assert json.loads(answer.text) == {"tls": True}
            # the same address under a name the certificate does not cover: the check uses the name
            with pytest.raises(httpx.ConnectError, match="certificate|hostname"):
                request(client, FIRST_HOP, "POST", f"https://other.example.com:{server.port}/hook")
    assert server.server_names[0] == "secure.example.com"
    assert server.calls == [("POST", "/hook", f"secure.example.com:{server.port}")]


# ---- compressed bodies ----------------------------------------------------------------------------


def _encoded(body: bytes, encoding: str) -> Any:
    return lambda h: reply(h, 200, body, {"Content-Type": "application/json", "Content-Encoding": encoding})


def test_compressed_bodies_are_inflated_within_the_cap() -> None:
    bomb = gzip.compress(b"0" * (64 * 1024 * 1024))  # 64 MiB of zeros in about 64 KiB
    with serve("127.0.0.1") as server:
        server.routes["/small"] = _encoded(gzip.compress(b'{"ok": true}'), "gzip")
        server.routes["/deflate"] = _encoded(zlib.compress(b'{"ok": 2}'), "deflate")
        server.routes["/bomb"] = _encoded(bomb, "gzip")
        server.routes["/brotli"] = _encoded(b"\x0b\x02\x80{}\x03", "br")
        with guarded_client(CAPPED) as client:
            assert json.loads(request(client, CAPPED, "GET", server.url("/small")).text) == {"ok": True}
            assert json.loads(request(client, CAPPED, "GET", server.url("/deflate")).text) == {"ok": 2}
            with pytest.raises(ResponseTooLarge, match=r"larger than 262144 bytes \(outbound\.max_response_bytes\)"):
                request(client, CAPPED, "GET", server.url("/bomb"))
            with pytest.raises(httpx.DecodingError, match="unsupported Content-Encoding 'br'"):
                request(client, CAPPED, "GET", server.url("/brotli"))
    assert len(bomb) < 262144  # the raw body was under the cap: only the inflated size stopped it
