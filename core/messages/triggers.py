"""What a cron trigger's Schedule starts (``workflows/triggers.py``) and what it asks the trigger activity."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CronTriggerInput:
    application: str
    pipeline_id: str
    trigger_id: str


@dataclass
class StartCronPipelineInput:
    application: str
    pipeline_id: str
    trigger_id: str
    #: when the Schedule meant to fire (RFC 3339), the de-duplication key with the trigger id
    scheduled_time: str
