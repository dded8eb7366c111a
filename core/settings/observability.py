"""Settings of metrics, tracing and logs (``observability:`` in gennaker.yml, ``GENNAKER_OBSERVABILITY__*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ObservabilitySettings(BaseModel):
    """Where each process shows its metrics, whether and where traces go, and how log lines look."""

    model_config = ConfigDict(extra="forbid")

    #: the API serves ``GET /metrics`` (Gennaker's metrics, HTTP metrics per route template)
    api_metrics: bool = True
    #: the port of each worker's ``/metrics`` (Gennaker's and the Temporal SDK's metrics); 0 = none
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    #: the address the worker's metrics port binds
    worker_metrics_host: str = "127.0.0.1"
    #: OTLP/HTTP traces endpoint (``http://collector:4318/v1/traces``); None = tracing off
    otlp_endpoint: str | None = None
    #: ``service.name`` of the traces; the worker adds ``-worker``, the API ``-api``
    service_name: str = "gennaker"
    #: ``text`` (people) or ``json`` (one object per line, for log pipelines)
    log_format: Literal["text", "json"] = "text"
