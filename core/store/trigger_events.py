"""Echo's de-duplication of trigger events: an event (its key) starts a pipeline once, however often it is
delivered; a redelivery answers the execution the first delivery started."""

from __future__ import annotations

from typing import Any

from . import events
from .errors import ConflictError
from .models import KEY_LENGTH, TriggerEvent
from .session import Database
from .values import now_ms


class TriggerEvents:
    """Which execution each trigger event started, per pipeline."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(
        self, event_key: str, pipeline_config_id: str, execution_id: str, event: dict[str, Any] | None = None
    ) -> tuple[str, bool]:
        """Record that ``event_key`` starts ``execution_id`` of a pipeline, unless the event was claimed for
        that pipeline before: then answer the earlier execution id. Returns ``(execution id, claimed now)``.
        ``event`` (Echo's trigger event) goes into the event outbox in the same transaction, so once."""
        key = event_key[:KEY_LENGTH]
        try:
            with self._db.session(write=True) as s:
                s.add(
                    TriggerEvent(
                        event_key=key,
                        pipeline_config_id=pipeline_config_id,
                        execution_id=execution_id,
                        created_at=now_ms(),
                    )
                )
                if event is not None:
                    s.flush()  # the claim first: a duplicate fails on it, not on the event
                    events.append(s, [event])
            return execution_id, True
        except ConflictError:
            with self._db.session() as s:
                row = s.get(TriggerEvent, (key, pipeline_config_id))
                earlier = row.execution_id if row is not None else None
            if earlier is None:  # pragma: no cover - a conflict whose row vanished: only a concurrent purge does that
                raise
            return earlier, False
