"""OpenTelemetry tracing, off unless ``observability.otlp_endpoint`` is set: spans go by OTLP/HTTP to that
endpoint. The API's FastAPI app and every httpx client are instrumented, and Temporal's ``TracingInterceptor``
sits on the API's client and on the worker, so one trace runs from a Gate call through the workflow to the
activities' outbound calls.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_provider: Any = None


def enabled(settings: Any) -> bool:
    obs = getattr(settings, "observability", None)
    return bool(obs is not None and obs.otlp_endpoint)


def setup(settings: Any, role: str) -> bool:
    """Install the global tracer provider exporting to the OTLP endpoint and instrument httpx (once per
    process); False when tracing is off. ``role`` (``api``, ``worker``) ends the service name."""
    global _provider
    if not enabled(settings):
        return False
    if _provider is not None:
        return True
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    obs = settings.observability
    provider = TracerProvider(resource=Resource.create({"service.name": f"{obs.service_name}-{role}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=obs.otlp_endpoint)))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    _provider = provider
    log.info("tracing to %s", obs.otlp_endpoint)
    return True


def flush(timeout_ms: int = 5000) -> None:
    """Export the spans still buffered (tests, shutdown)."""
    if _provider is not None:
        _provider.force_flush(timeout_ms)


def temporal_interceptors(settings: Any) -> list[Any]:
    """Temporal's tracing interceptor when tracing is on (for a client, which hands it to its workers)."""
    if not enabled(settings):
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def instrument_app(app: Any, settings: Any) -> None:
    """Server spans for every API request (the trace's root when the caller sends no ``traceparent``)."""
    if not setup(settings, "api"):
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="metrics,health")
