"""The names of Gennaker's search attributes, as plain strings (all Keyword-typed).

``workflows/search.py`` turns them into Temporal's typed keys for the engine; ``gennaker up`` registers them with
the dev server from here, so the supervisor never loads the Temporal SDK (docs/architecture.md, "Footprint").
"""

from __future__ import annotations

APPLICATION = "GennakerApplication"
PIPELINE_NAME = "GennakerPipelineName"
PIPELINE_CONFIG_ID = "GennakerPipelineConfigId"
TRIGGER_TYPE = "GennakerTriggerType"
STATUS = "GennakerStatus"
EXECUTION_TYPE = "GennakerExecutionType"

KEYWORDS = (APPLICATION, PIPELINE_NAME, PIPELINE_CONFIG_ID, TRIGGER_TYPE, STATUS, EXECUTION_TYPE)


def dev_server_args() -> list[str]:
    """``--search-attribute Name=Keyword`` flags for ``temporal server start-dev``."""
    args: list[str] = []
    for name in KEYWORDS:
        args += ["--search-attribute", f"{name}=Keyword"]
    return args
