"""The concurrency gate of a pipeline config (``workflows/concurrency.py``), as the activity that starts it
names it: the workflow type and the signal an execution asks for a slot with."""

from __future__ import annotations

GATE_WORKFLOW = "PipelineConcurrencyGate"
REQUEST_SIGNAL = "request"
