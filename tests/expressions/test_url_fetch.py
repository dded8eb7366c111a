"""activities.expressions.UrlFetcher against a real HTTP server on 127.0.0.1 (started per module)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from activities.expressions import UrlFetcher, UrlFetchError, UrlNotAllowed
from integrations.outbound import OutboundPolicy, OutboundSettings
from workflows.errors import ExpressionError
from workflows.expressions import EvaluationContext, evaluate, process

SEEN: list[str] = []
#: the operator's opt-in for the test server on loopback (refused by default)
LOOPBACK = OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.0/8"]))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, length: bool = True) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        SEEN.append(self.path)
        path = self.path.split("?")[0]
        if path in ("/ok", "/ok/text"):
            self._send(200, b"hello from the server", {"Content-Type": "text/plain"})
        elif path == "/ok/json":
            self._send(
                200,
                json.dumps({"replicas": 3, "regions": ["us-east-1"]}).encode(),
                {"Content-Type": "application/json"},
            )
        elif path == "/ok/yaml":
            self._send(200, b"replicas: 4\nregions: [eu-west-1]\n")
        elif path == "/ok/props":
            self._send(200, b"replicas=5\nname: app\n")
        elif path == "/ok/latin1":
            self._send(200, "caf\u00e9".encode("latin-1"), {"Content-Type": "text/plain; charset=iso-8859-1"})
        elif path == "/ok/redirect":
            self._send(302, b"", {"Location": "/ok/text"})
        elif path == "/ok/missing":
            self._send(404, b"nope")
        elif path == "/ok/big":
            self._send(200, b"x" * 5000)
        elif path == "/ok/big-unsized":
            self._send(200, b"y" * 5000, length=False)
            self.close_connection = True
        elif path == "/ok/slow":
            time.sleep(1.0)
            self._send(200, b"late")
        else:
            self._send(200, b"secret")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def fetcher(base_url: str) -> UrlFetcher:
    SEEN.clear()
    return UrlFetcher([f"{base_url}/ok"], timeout_s=0.5, max_bytes=1000, policy=LOOPBACK)


def test_fetches_allowed_urls(fetcher: UrlFetcher, base_url: str) -> None:
    assert fetcher(f"{base_url}/ok/text") == "hello from the server"
    assert fetcher(f"{base_url}/ok") == "hello from the server"
    assert fetcher(f"{base_url}/ok/text?x=1") == "hello from the server"
    assert fetcher(f"{base_url}/ok/latin1") == "caf\u00e9"
    assert SEEN == ["/ok/text", "/ok", "/ok/text?x=1", "/ok/latin1"]


@pytest.mark.parametrize(
    "suffix",
    [
        "/okay",  # prefix boundary is a path segment
        "/secret",
        "/ok/../secret",
        "/ok/%2e%2e/secret",
        "/ok/%2E%2E%2Fsecret",
        "/ok/./text",
    ],
)
def test_refuses_paths_outside_the_prefix(fetcher: UrlFetcher, base_url: str, suffix: str) -> None:
    with pytest.raises(UrlNotAllowed):
        fetcher(base_url + suffix)
    assert SEEN == []  # nothing was requested


def test_refuses_lookalike_hosts_user_info_and_other_schemes(fetcher: UrlFetcher, base_url: str) -> None:
    port = base_url.rsplit(":", 1)[1]
    bad = [
        f"http://127.0.0.1:{port}@localhost:{port}/ok/text",  # user info trick
        f"http://user:pw@127.0.0.1:{port}/ok/text",
        f"http://127.0.0.1.nip.io:{port}/ok/text",  # allowed host as a prefix of another
        f"http://127.0.0.2:{port}/ok/text",
        f"http://localhost:{port}/ok/text",
        f"http://127.0.0.1:{int(port) + 1}/ok/text",  # other port
        f"https://127.0.0.1:{port}/ok/text",  # other scheme
        f"ftp://127.0.0.1:{port}/ok/text",
        "file:///etc/passwd",
        f"//127.0.0.1:{port}/ok/text",
        f"http://127.0.0.1:{port}\\@evil.example/ok",
        f"http://127.0.0.1:{port}/ok/text\r\nX-Injected: 1",
        f"http://127.0.0.1:{port}:99/ok",
        "",
    ]
    for url in bad:
        with pytest.raises(UrlNotAllowed):
            fetcher(url)
        assert not fetcher.allows(url)
    assert SEEN == []


def test_empty_allow_list_refuses_everything(base_url: str) -> None:
    nothing = UrlFetcher([])
    with pytest.raises(UrlNotAllowed, match="no URLs are allowed"):
        nothing(f"{base_url}/ok/text")
    assert not nothing.allows(f"{base_url}/ok/text")


def test_refusal_message_names_the_host_but_not_the_query(fetcher: UrlFetcher) -> None:
    with pytest.raises(UrlNotAllowed) as info:
        fetcher("http://evil.example/x?token=sekrit")
    assert "evil.example" in str(info.value)
    assert "sekrit" not in str(info.value)
    assert isinstance(info.value, ExpressionError)


def test_host_matching_is_case_insensitive_and_default_ports_are_filled() -> None:
    f = UrlFetcher(["HTTPS://Config.Example/"])
    assert f.allows("https://config.example/anything")
    assert f.allows("https://CONFIG.example:443/x")
    assert not f.allows("http://config.example/x")
    assert not f.allows("https://config.example:8443/x")


def test_redirects_are_not_followed(fetcher: UrlFetcher, base_url: str) -> None:
    with pytest.raises(UrlFetchError, match="redirect"):
        fetcher(f"{base_url}/ok/redirect")
    assert SEEN == ["/ok/redirect"]


def test_http_errors_sizes_and_timeouts(fetcher: UrlFetcher, base_url: str) -> None:
    with pytest.raises(UrlFetchError, match="HTTP 404"):
        fetcher(f"{base_url}/ok/missing")
    with pytest.raises(UrlFetchError, match="larger than 1000 bytes"):
        fetcher(f"{base_url}/ok/big")
    with pytest.raises(UrlFetchError, match="larger than 1000 bytes"):
        fetcher(f"{base_url}/ok/big-unsized")
    with pytest.raises(UrlFetchError, match="ReadTimeout|timed out|Timeout"):
        fetcher(f"{base_url}/ok/slow")


def test_connection_refused_is_an_expression_error() -> None:
    f = UrlFetcher(["http://127.0.0.1:9/"], timeout_s=0.5, policy=LOOPBACK)
    with pytest.raises(UrlFetchError, match="failed"):
        f("http://127.0.0.1:9/x")


@pytest.mark.parametrize("entry", ["not a url", "ftp://x.example/", "http://u:p@x.example/", "http://x.example/?q=1"])
def test_invalid_allow_list_entries_are_rejected(entry: str) -> None:
    with pytest.raises(ValueError, match="allow-list entry"):
        UrlFetcher([entry])


def test_expression_functions_through_the_fetcher(fetcher: UrlFetcher, base_url: str) -> None:
    ctx = EvaluationContext(root={"base": base_url}, url_fetcher=fetcher)
    assert evaluate("#fromUrl(base + '/ok/text')", ctx) == "hello from the server"
    assert evaluate("#jsonFromUrl(base + '/ok/json').replicas", ctx) == 3
    assert evaluate("#yamlFromUrl(base + '/ok/yaml').regions[0]", ctx) == "eu-west-1"
    assert evaluate("#propertiesFromUrl(base + '/ok/props')", ctx) == {"replicas": "5", "name": "app"}


def test_refused_url_in_process_is_recorded_not_raised(fetcher: UrlFetcher, base_url: str) -> None:
    ctx = EvaluationContext(root={"base": base_url}, url_fetcher=fetcher)
    result = process({"cfg": "${#fromUrl(base + '/secret')}"}, ctx)
    assert result.value == {"cfg": "${#fromUrl(base + '/secret')}"}
    [entry] = result.summary["${#fromUrl(base + '/secret')}"]
    assert entry["exceptionType"] == "UrlNotAllowed" and entry["level"] == "ERROR"
    assert SEEN == []
