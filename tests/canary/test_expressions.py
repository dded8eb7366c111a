"""``#canaryConfigNameToId(name, app)`` in pipeline expressions: read from the store by the expressions activity."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from workflows import expressions as expr

pytestmark = pytest.mark.temporal


async def test_a_stage_gets_the_config_id_by_name(engine: Any) -> None:
    name = f"cfg-{uuid.uuid4().hex[:8]}"
    config = engine.store.canary.create_config({"name": name, "applications": ["shop"], "metrics": []})
    stage = {
        "refId": "1",
        "type": "wait",
        "name": "wait",
        "waitTime": 0,
        "configId": f"${{#canaryConfigNameToId('{name}', 'shop')}}",
        "missing": "${#canaryConfigNameToId('nope', 'shop')}",
    }
    execution = await engine.run({"application": "shop", "name": "p", "stages": [stage]})
    context = execution["stages"][0]["context"]
    assert context["configId"] == config["id"]
    assert context["missing"] == "${#canaryConfigNameToId('nope', 'shop')}"  # left as written, as Orca leaves it
    descriptions = [e["description"] for entries in context["expressionEvaluationSummary"].values() for e in entries]
    assert any("no canary config named 'nope' in application 'shop'" in d for d in descriptions), descriptions


def test_inside_a_workflow_it_asks_for_the_activity() -> None:
    """Without the store's lookups (workflow code) the function defers, like the URL helpers."""
    ctx = expr.EvaluationContext(root={})
    with pytest.raises(expr.UrlFetchUnavailable):
        expr.evaluate("#canaryConfigNameToId('a', 'b')", ctx)
