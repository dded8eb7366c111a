"""Echo's webhook answers: whether the event was processed and, Gennaker's addition, what it started."""

from __future__ import annotations

from typing import Any

from .base import SpinnakerDocument, SpinnakerPart


class Refusal(SpinnakerPart):
    pipeline_id: str | None = None
    reason: str | None = None


class WebhookAnswer(SpinnakerDocument):
    """Gate clients read ``eventProcessed`` and ``eventId``; ``executions`` and ``refused`` say what happened."""

    event_processed: bool
    event_id: str | None = None
    executions: list[dict[str, Any]] | None = None
    refused: list[Refusal] | None = None
