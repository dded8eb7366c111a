"""Seeing Gennaker run: Prometheus metrics (``metrics``), JSON logs with activity context (``logs``), OpenTelemetry
tracing (``tracing``) and the worker's metrics endpoint (``worker``). docs/operations.md lists every metric."""
