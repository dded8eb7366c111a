"""Search attributes that make executions findable in the Temporal Web UI and CLI, e.g.
``temporal workflow list --query "GennakerApplication='demo'"``. Their names live in ``core/search.py``."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

from core import search as names
from core.search import dev_server_args

APPLICATION = SearchAttributeKey.for_keyword(names.APPLICATION)
PIPELINE_NAME = SearchAttributeKey.for_keyword(names.PIPELINE_NAME)
PIPELINE_CONFIG_ID = SearchAttributeKey.for_keyword(names.PIPELINE_CONFIG_ID)
TRIGGER_TYPE = SearchAttributeKey.for_keyword(names.TRIGGER_TYPE)
STATUS = SearchAttributeKey.for_keyword(names.STATUS)
EXECUTION_TYPE = SearchAttributeKey.for_keyword(names.EXECUTION_TYPE)

ALL = (APPLICATION, PIPELINE_NAME, PIPELINE_CONFIG_ID, TRIGGER_TYPE, STATUS, EXECUTION_TYPE)

__all__ = [
    "ALL",
    "APPLICATION",
    "EXECUTION_TYPE",
    "PIPELINE_CONFIG_ID",
    "PIPELINE_NAME",
    "STATUS",
    "TRIGGER_TYPE",
    "dev_server_args",
]
