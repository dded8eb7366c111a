"""Connecting from settings: TLS choices, API key, and a clear message when Temporal is not there."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import Client, TLSConfig

from core.settings import Settings, TemporalSettings
from gennaker.temporal_client import TemporalConnectError, connect, tls_config


def test_plain_connection_by_default() -> None:
    assert tls_config(TemporalSettings()) is False


def test_tls_with_system_roots() -> None:
    assert tls_config(TemporalSettings(tls=True)) is True


def test_api_key_lets_the_sdk_turn_tls_on() -> None:
    assert tls_config(TemporalSettings(api_key="k")) is None  # type: ignore[arg-type]
    assert tls_config(TemporalSettings(api_key="k", tls=True)) is True  # type: ignore[arg-type]


def test_mtls_files_are_read(tmp_path: Path) -> None:
    for name in ("client.pem", "client.key", "ca.pem"):
        (tmp_path / name).write_bytes(f"-----{name}-----".encode())
    config = tls_config(
        TemporalSettings(
            tls_cert_path=tmp_path / "client.pem",
            tls_key_path=tmp_path / "client.key",
            tls_ca_path=tmp_path / "ca.pem",
            tls_server_name="temporal.example.com",
        )
    )
    assert isinstance(config, TLSConfig)
    assert config.client_cert == b"-----client.pem-----"
    assert config.client_private_key == b"-----client.key-----"
    assert config.server_root_ca_cert == b"-----ca.pem-----"
    assert config.domain == "temporal.example.com"


def test_ca_alone_or_server_name_alone_is_tls(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(b"ca")
    only_ca = tls_config(TemporalSettings(tls_ca_path=tmp_path / "ca.pem"))
    assert isinstance(only_ca, TLSConfig) and only_ca.client_cert is None and only_ca.server_root_ca_cert == b"ca"
    only_name = tls_config(TemporalSettings(tls_server_name="t.example.com"))
    assert isinstance(only_name, TLSConfig) and only_name.domain == "t.example.com"


def test_cert_needs_its_key(tmp_path: Path) -> None:
    with pytest.raises(TemporalConnectError, match="TLS_CERT_PATH and GENNAKER_TEMPORAL__TLS_KEY_PATH"):
        tls_config(TemporalSettings(tls_cert_path=tmp_path / "client.pem"))


def test_unreadable_file_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "client.pem").write_bytes(b"cert")
    with pytest.raises(TemporalConnectError, match="GENNAKER_TEMPORAL__TLS_KEY_PATH: cannot read .*missing.key"):
        tls_config(TemporalSettings(tls_cert_path=tmp_path / "client.pem", tls_key_path=tmp_path / "missing.key"))


async def test_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    settings = Settings(temporal={"address": f"127.0.0.1:{port}"})
    with pytest.raises(TemporalConnectError) as info:
        await connect(settings)
    message = str(info.value)
    assert message.startswith(f"cannot reach Temporal at 127.0.0.1:{port} (namespace 'default'): ")
    assert message.endswith("start it with `make run` or set GENNAKER_TEMPORAL__ADDRESS")


@pytest.mark.temporal
async def test_connects_to_the_dev_server(client: Client) -> None:
    settings = Settings(temporal={"address": client.service_client.config.target_host, "namespace": "default"})
    connected = await connect(settings)
    assert connected.namespace == "default"
    assert (await connected.count_workflows("GennakerApplication = 'nothing-here'")).count == 0


def test_exit_now_flushes_and_keeps_the_code() -> None:
    code = "from gennaker.temporal_client import exit_now; print('unflushed', end=''); exit_now(7)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (done.returncode, done.stdout) == (7, "unflushed")
