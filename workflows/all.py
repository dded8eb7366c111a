"""Every workflow class the worker registers."""

from __future__ import annotations

from .concurrency import ConcurrencyGateWorkflow
from .pipeline import PipelineWorkflow
from .stage import StageWorkflow

WORKFLOWS: list[type] = [PipelineWorkflow, StageWorkflow, ConcurrencyGateWorkflow]
