"""Every activity the worker registers, built around the real clients (``worker.py`` calls this)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .engine import DirectoryConfigSource, EngineActivities, PipelineConfigSource


def build_activities(
    settings: Any, client: Any, *, configs: PipelineConfigSource | None = None
) -> list[Callable[..., Any]]:
    """The activity callables for a worker, wired to real clients built from ``settings``."""
    from .expressions import UrlFetcher
    from .webhook import build as webhook_activities

    fetcher = UrlFetcher(list(getattr(settings, "expression_url_allow_list", []) or []))
    engine = EngineActivities(
        client,
        settings.task_queue,
        configs or DirectoryConfigSource(Path(settings.state_dir) / "pipelines"),
        url_fetcher=fetcher,
    )
    return [
        engine.request_concurrency_slot,
        engine.closed_executions,
        engine.get_pipeline_config,
        engine.evaluate_expressions,
        *webhook_activities(settings, client),
    ]
