"""docker-compose.temporal.yml cannot run here (no Docker engine), so check its structure and keep it in step
with workflows/search.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflows import search

COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.temporal.yml"
DEPENDS_ON_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def script(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return "\n".join(command) if isinstance(command, list) else str(command)


def published(service: dict[str, Any]) -> dict[int, int]:
    """container port → host port, from short (``[ip:]host:container``) or long port syntax."""
    ports = {}
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports[int(port["target"])] = int(port["published"])
        else:
            *_, host, container = str(port).split(":")
            ports[int(container)] = int(host)
    return ports


def test_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"postgresql", "temporal-schema", "temporal", "temporal-setup", "temporal-ui"}
    assert services["postgresql"]["image"].startswith("postgres:")
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    for job in ("temporal-schema", "temporal-setup"):
        assert services[job]["image"].startswith("temporalio/admin-tools:")


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        test = check["test"]
        assert isinstance(test, list) and test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1, name


def test_ports(services: dict[str, dict[str, Any]]) -> None:
    assert published(services["temporal"]) == {7233: 7233}
    assert published(services["temporal-ui"]) == {8080: 8233}
    assert published(services["postgresql"]) == {}  # 5432 is taken by the machine's own PostgreSQL
    hosts = {p for name in ("temporal", "temporal-ui") for p in services[name]["ports"]}
    assert all(str(p).startswith("127.0.0.1:") for p in hosts), "published on every interface"


def test_depends_on_refers_to_services_that_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: use the long depends_on form with conditions"
        for other, spec in depends.items():
            assert other in services and other != name, f"{name} depends on unknown service {other}"
            assert spec["condition"] in DEPENDS_ON_CONDITIONS
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[other]
    order = {
        "temporal-schema": "postgresql",
        "temporal": "temporal-schema",
        "temporal-setup": "temporal",
        "temporal-ui": "temporal",
    }
    for name, dependency in order.items():
        assert dependency in services[name]["depends_on"]
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"


def test_volumes_are_declared(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses undeclared volume {source}"
    assert any("/var/lib/postgresql/data" in str(v) for v in services["postgresql"]["volumes"])


def test_every_search_attribute_is_registered(services: dict[str, dict[str, Any]]) -> None:
    setup = script(services["temporal-setup"])
    for key in search.ALL:
        assert re.search(rf"temporal operator search-attribute create [^\n]*--name {key.name} --type Keyword", setup), (
            f"{key.name} is not registered by temporal-setup"
        )
    registered = set(re.findall(r"search-attribute create [^\n]*--name (\w+)", setup))
    assert registered == {key.name for key in search.ALL}, "the compose file registers attributes the code lacks"
    assert "temporal operator cluster health" in setup  # waits for the server before registering


def test_schema_job_sets_up_both_databases(services: dict[str, dict[str, Any]]) -> None:
    schema = script(services["temporal-schema"])
    assert "--db temporal update-schema" in schema and "--db temporal_visibility update-schema" in schema


def test_shell_variables_are_escaped_for_compose(services: dict[str, dict[str, Any]]) -> None:
    # Compose interpolates ${X} and $X itself; variables meant for the container's shell must be written $$X.
    for name, service in services.items():
        text = script(service)
        assert not re.search(r"(?<!\$)\$(?![${])", text), f"{name}: unescaped $ in its command"
        assert not re.search(r"(?<!\$)\$\{", text), f"{name}: ${{...}} in a command is interpolated by compose"
