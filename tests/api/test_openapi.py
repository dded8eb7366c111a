"""The OpenAPI document matches what the API serves: every Gate path is in it, and schemathesis, driving the
real stack (a uvicorn server, a worker, a Temporal dev server, the store on SQLite), finds no 5xx and no response
that breaks its declared schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from core.settings import Settings
from gennaker.localstack import ServedApi

APP = "openapi"
SEEDED_PIPELINE = "seeded"
EXAMPLES = 12


PIPELINE_ID = str(uuid.uuid4())
EXECUTION_ID = str(uuid.uuid4())
STAGE_ID = str(uuid.uuid4())
KNOWN = {
    "application": APP,
    "project": APP,
    "name": SEEDED_PIPELINE,
    "name_or_id": SEEDED_PIPELINE,
    "pipeline_id": PIPELINE_ID,
    "execution_id": EXECUTION_ID,
    "task_id": EXECUTION_ID,
    "stage_id": STAGE_ID,
}


def seed(store: Any) -> None:
    """An application, project, pipeline config and finished execution under fixed ids, so aimed requests find
    them; run again before each operation, since the operations before it may have deleted them."""
    from core.store import ConflictError

    store.applications.save({"name": APP, "email": "team@example.com"}, "anonymous")
    config = {
        "id": PIPELINE_ID,
        "application": APP,
        "name": SEEDED_PIPELINE,
        "stages": [{"refId": "1", "requisiteStageRefIds": [], "type": "wait", "name": "w", "waitTime": 1}],
    }
    try:
        store.pipelines.save(config, "anonymous")
    except ConflictError:  # a generated request saved another config under the seeded name: take it back
        store.pipelines.delete(APP, SEEDED_PIPELINE)
        store.pipelines.save(config, "anonymous")
    store.projects.save({"id": APP, "name": APP, "config": {"applications": [APP]}}, "anonymous")
    store.executions.save(
        {
            "id": EXECUTION_ID,
            "type": "PIPELINE",
            "application": APP,
            "name": SEEDED_PIPELINE,
            "pipelineConfigId": PIPELINE_ID,
            "status": "SUCCEEDED",
            "buildTime": 1,
            "startTime": 1,
            "endTime": 2,
            "trigger": {"type": "manual", "user": "anonymous", "parameters": {}},
            "stages": [{"id": STAGE_ID, "refId": "1", "type": "wait", "name": "w", "status": "SUCCEEDED"}],
        }
    )


@pytest.fixture(scope="module")
def live_api(temporal_env: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    from core.store import Store

    tmp: Path = tmp_path_factory.mktemp("openapi")
    address = temporal_env.client.service_client.config.target_host
    settings = Settings(
        state_dir=tmp,
        temporal={"address": address},
        task_queue=f"openapi-{uuid.uuid4()}",
        accounts=[{"name": "prod", "type": "aws", "secretKey": "hush", "regions": ["us-east-1"]}],
    )
    store = Store(settings.store_url)
    store.migrate()
    with ServedApi(settings, store) as live:
        yield live
    store.close()


@pytest.mark.temporal
@pytest.mark.timeout(180)
def test_no_server_errors_and_responses_match_the_schema(live_api: ServedApi) -> None:
    """Each operation twice: with generated path values (mostly 404s) and aimed at the seeded objects."""
    live = live_api
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"invalid schema: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        names = [p.name for p in operation.path_parameters]
        aimed = {name: KNOWN[name] for name in names if name in KNOWN}
        for fixed in [None, aimed] if aimed else [None]:
            seed(live.store)
            strategy = operation.as_strategy(path_parameters=fixed)

            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                case.call_and_validate(
                    base_url=live.url,
                    checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
                    timeout=30,
                )

            try:
                check()
            except Exception as exc:  # noqa: BLE001 - collected, so one run reports every operation that fails
                failures.append(f"{operation.label} (path {fixed or 'generated'}): {exc}")
    assert operations > 30
    assert not failures, "\n\n".join(failures)


def served_routes(app: Any) -> list[Any]:
    """The app's routes with included routers flattened (FastAPI keeps them nested, with their prefixes)."""
    from fastapi.routing import iter_route_contexts

    return list(iter_route_contexts(app.routes))


def test_openapi_lists_every_path_served() -> None:
    from fastapi.routing import APIRoute

    from api.main import create_app

    app = create_app(Settings(state_dir=Path("/nonexistent")))
    routes = [r for r in served_routes(app) if isinstance(r.original_route, APIRoute)]
    served = {(method, r.path) for r in routes for method in r.methods or ()}
    documented = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}
    assert len(served) > 30
    assert served - documented == set()
    assert documented - served == set()
    assert [r.path for r in routes if not r.original_route.include_in_schema] == []


def test_the_document_declares_gates_error_body_not_fastapis_422() -> None:
    from api.main import create_app

    schema = create_app(Settings()).openapi()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations and all("422" not in op["responses"] for op in operations)
    assert all(
        op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        for op in operations
    )
    assert {"timestamp", "status", "error", "message", "path"} <= set(
        schema["components"]["schemas"]["ErrorBody"]["required"]
    )
