"""Search attributes that make executions findable in the Temporal Web UI and CLI, e.g.
``temporal workflow list --query "GennakerApplication='demo'"``."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

APPLICATION = SearchAttributeKey.for_keyword("GennakerApplication")
PIPELINE_NAME = SearchAttributeKey.for_keyword("GennakerPipelineName")
PIPELINE_CONFIG_ID = SearchAttributeKey.for_keyword("GennakerPipelineConfigId")
TRIGGER_TYPE = SearchAttributeKey.for_keyword("GennakerTriggerType")
STATUS = SearchAttributeKey.for_keyword("GennakerStatus")
EXECUTION_TYPE = SearchAttributeKey.for_keyword("GennakerExecutionType")

ALL = (APPLICATION, PIPELINE_NAME, PIPELINE_CONFIG_ID, TRIGGER_TYPE, STATUS, EXECUTION_TYPE)


def dev_server_args() -> list[str]:
    """``--search-attribute Name=Keyword`` flags for ``temporal server start-dev``."""
    args: list[str] = []
    for key in ALL:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    return args
