"""Connecting to Temporal from settings, and leaving one-shot processes safely afterwards."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from core.errors import SdkError

if TYPE_CHECKING:
    from temporalio.client import Client, TLSConfig

    from core.settings import Settings, TemporalSettings


class TemporalConnectError(SdkError, ConnectionError):
    """Temporal could not be reached or the connection settings are unusable; the message says what to do."""


def _read(path: Path | None, setting: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise TemporalConnectError(
            f"setting GENNAKER_TEMPORAL__{setting}: cannot read {path}: {exc.strerror}"
        ) from None


def tls_config(temporal: TemporalSettings) -> TLSConfig | bool | None:
    """What to pass as ``Client.connect(tls=...)``.

    Client certificate files (mTLS) or a CA or server name → a ``TLSConfig``; ``tls`` alone → ``True`` (system
    roots); an API key without ``tls`` → ``None``, which lets the SDK turn TLS on for the key; else ``False``.
    """
    from temporalio.client import TLSConfig

    if (temporal.tls_cert_path is None) != (temporal.tls_key_path is None):
        raise TemporalConnectError(
            "settings GENNAKER_TEMPORAL__TLS_CERT_PATH and GENNAKER_TEMPORAL__TLS_KEY_PATH must be set together"
        )
    files = (temporal.tls_cert_path, temporal.tls_key_path, temporal.tls_ca_path)
    if any(f is not None for f in files) or temporal.tls_server_name:
        return TLSConfig(
            client_cert=_read(temporal.tls_cert_path, "TLS_CERT_PATH"),
            client_private_key=_read(temporal.tls_key_path, "TLS_KEY_PATH"),
            server_root_ca_cert=_read(temporal.tls_ca_path, "TLS_CA_PATH"),
            domain=temporal.tls_server_name,
        )
    if temporal.tls:
        return True
    return None if temporal.api_key is not None else False


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client for ``settings.temporal`` (address, namespace, TLS, API key); a clear error if it is unreachable.
    ``lazy``: connect at the first call instead (which fails while Temporal is down, and connects once it is up).

    Its data converter claim-checks large payloads (``gennaker.payloads``), as every Gennaker client must: a
    process without it could neither read the references others put in history nor keep its own values out.
    """
    from temporalio.client import Client

    from gennaker.payloads import data_converter

    temporal = settings.temporal
    tls = tls_config(temporal)
    api_key = temporal.api_key.get_secret_value() if temporal.api_key is not None else None
    converter = data_converter(settings)
    from core.observability.tracing import temporal_interceptors

    try:
        return await Client.connect(
            temporal.address,
            namespace=temporal.namespace,
            tls=tls,
            api_key=api_key,
            data_converter=converter,
            interceptors=temporal_interceptors(settings),  # tracing, when on; workers of this client inherit it
            lazy=lazy,
        )
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        raise TemporalConnectError(
            f"cannot reach Temporal at {temporal.address} (namespace {temporal.namespace!r}): {reason}; "
            "start it with `make run` or set GENNAKER_TEMPORAL__ADDRESS"
        ) from exc


def exit_now(code: int) -> NoReturn:
    """Flush and leave without interpreter teardown.

    A short-lived process that used a temporalio client can crash while the interpreter finalizes (exit code 134 or
    139 after all work succeeded; temporalio/sdk-python#300). One-shot CLI commands end here instead.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
