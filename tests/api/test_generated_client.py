"""Gate's Swagger paths serve the document, and a client generated from it works: openapi-python-client (a test
dependency) generates a client from ``/v2/api-docs`` of the real running API, with no network and no post-hooks,
and the generated code creates an application, saves a pipeline and reads it back."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings, TemporalSettings
from gennaker.localstack import ServedApi

APP = "genclient"


@pytest.fixture(scope="module")
def live_api(temporal_env: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    from core.store import Store

    tmp: Path = tmp_path_factory.mktemp("genclient")
    address = temporal_env.client.service_client.config.target_host
    settings = Settings(
        state_dir=tmp, temporal=TemporalSettings(address=address), task_queue=f"genclient-{uuid.uuid4()}"
    )
    store = Store(settings.store_url)
    store.migrate()
    with ServedApi(settings, store) as live:
        yield live
    store.close()


@pytest.fixture(scope="module")
def gate_client(live_api: ServedApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The client package generated into a temporary directory, imported."""
    out = tmp_path_factory.mktemp("generated")
    document = out / "api-docs.json"
    document.write_text(httpx.get(f"{live_api.url}/v2/api-docs", timeout=30).raise_for_status().text)
    config = out / "config.yml"
    config.write_text("post_hooks: []\n")  # no formatter runs: the generated code is used as generated
    package = f"gate_client_{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document), "--meta", "none"]
    command += ["--output-path", str(out / package), "--config", str(config)]
    offline = {**os.environ, **{k: "http://127.0.0.1:9" for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}}
    offline["NO_PROXY"] = ""  # any fetch the generator tried would fail on the dead proxy
    generated = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=offline)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout + generated.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


def operation(gate_client: Any, module: str) -> Any:
    return importlib.import_module(f"{gate_client.__name__}.api.{module}")


def model(gate_client: Any, name: str) -> Any:
    return getattr(importlib.import_module(f"{gate_client.__name__}.models"), name)


@pytest.mark.temporal
@pytest.mark.timeout(180)
def test_a_generated_client_creates_an_application_saves_a_pipeline_and_reads_it_back(
    live_api: ServedApi, gate_client: Any
) -> None:
    with gate_client.Client(base_url=live_api.url, raise_on_unexpected_status=True) as client:
        create_save_and_read_back(gate_client, client)


def create_save_and_read_back(gate_client: Any, client: Any) -> None:
    """The three operations, through the generated functions and models only."""
    task_request, job, application = (model(gate_client, n) for n in ("TaskRequest", "Job", "Application"))
    job_entry = job(type_="createApplication", application=application(name=APP, email="team@example.com"))
    ref = operation(gate_client, "applications.post_task_using_post").sync(
        client=client, body=task_request(job=[job_entry], description="create it")
    )
    assert ref.ref.startswith("/tasks/")
    task = operation(gate_client, "applications.get_task_using_get").sync(
        client=client, task_id=ref.ref.removeprefix("/tasks/")
    )
    assert task.status.value == "SUCCEEDED"
    view = operation(gate_client, "applications.get_application_using_get").sync(client=client, application=APP)
    assert view.name == APP and view.attributes.email == "team@example.com"

    config = model(gate_client, "PipelineConfig").from_dict(
        {
            "application": APP,
            "name": "deploy",
            "stages": [{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 5}],
            "triggers": [{"type": "webhook", "enabled": True, "source": "ci"}],
            "parameterConfig": [{"name": "env", "default": "prod", "required": True}],
            "keepMe": {"unknown": ["keys", "survive"]},
        }
    )
    saved = operation(gate_client, "pipeline_configs.save_pipeline_using_post").sync(client=client, body=config)
    assert saved.id and saved.name == "deploy"

    read = operation(gate_client, "pipeline_configs.app_pipeline_config_using_get").sync(
        client=client, application=APP, name="deploy"
    )
    assert read.id == saved.id
    assert read.stages[0].type_ == "wait" and read.stages[0]["waitTime"] == 5  # a stage's own keys are kept
    assert read.triggers[0].source == "ci" and read.triggers[0].enabled is True
    assert read.parameter_config[0].default == "prod"
    assert read["keepMe"] == {"unknown": ["keys", "survive"]}
    listed = operation(gate_client, "pipeline_configs.app_pipeline_configs_using_get").sync(
        client=client, application=APP
    )
    assert [p.name for p in listed] == ["deploy"]


@pytest.mark.temporal
def test_gate_swagger_paths_serve_the_document_and_the_page(live_api: ServedApi) -> None:
    document = httpx.get(f"{live_api.url}/v2/api-docs", timeout=30)
    assert document.status_code == 200 and document.headers["content-type"] == "application/json"
    assert document.json() == httpx.get(f"{live_api.url}/openapi.json", timeout=30).json()
    # Springfox's operation ids, as in Gate's document: generated clients get the same method names
    assert document.json()["paths"]["/pipelines"]["post"]["operationId"] == "savePipelineUsingPOST"
    page = httpx.get(f"{live_api.url}/swagger-ui.html", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text and "'/v2/api-docs'" in page.text
