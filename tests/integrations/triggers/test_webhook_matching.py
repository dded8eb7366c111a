"""``webhook`` triggers: source, payloadConstraints, enabled/disabled, and the trigger the execution gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations.triggers.events import Event, Match, TriggerError, make_event, match_event


def post(source: str, body: dict[str, Any], **headers: str) -> Event:
    return make_event("webhook", source, json.dumps(body).encode(), {"X-GitHub-Delivery": "d-1", **headers})


def pipeline(pid: str = "p1", *triggers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    if not triggers:
        triggers = ({"type": "webhook", "enabled": True, "source": "ci"},)
    return {"id": pid, "application": "app", "name": f"pipe-{pid}", "triggers": list(triggers), **fields}


def fired(event: Event, *configs: dict[str, Any]) -> list[str]:
    return [m.pipeline["id"] for m in match_event(event, configs).matches]


def test_the_trigger_an_execution_gets() -> None:
    config = {
        "type": "webhook",
        "enabled": True,
        "source": "ci",
        "payloadConstraints": {"env": "prod"},
        "expectedArtifactIds": ["ea-1"],
        "runAsUser": "svc-deployer",
        "secret": "never-shown",
        "description": "from CI",
    }
    pipe = pipeline(
        "p1",
        config,
        parameterConfig=[{"name": "region", "default": "us-east-1"}, {"name": "tag", "default": ""}],
        expectedArtifacts=[{"id": "ea-1", "matchArtifact": {"type": "docker/image", "name": "gcr.io/p/app"}}],
    )
    body = {
        "env": "prod",
        "parameters": {"tag": "v7"},
        "artifacts": [{"type": "docker/image", "name": "gcr.io/p/app", "reference": "gcr.io/p/app:v7"}],
    }
    [match] = match_event(post("ci", body), [pipe]).matches
    assert match == Match(pipe, match.trigger, config)
    assert match.run_as_user == "svc-deployer"
    assert match.trigger == {
        "type": "webhook",
        "enabled": True,
        "source": "ci",
        "payloadConstraints": {"env": "prod"},
        "expectedArtifactIds": ["ea-1"],
        "runAsUser": "svc-deployer",
        "description": "from CI",
        "user": "svc-deployer",
        "parameters": {"region": "us-east-1", "tag": "v7"},
        "payload": body,
        "artifacts": [{"type": "docker/image", "name": "gcr.io/p/app", "reference": "gcr.io/p/app:v7"}],
        "eventId": "d-1",
        "notifications": [],
        "rebake": False,
        "dryRun": False,
        "strategy": False,
    }


def test_without_run_as_user_the_trigger_user_is_anonymous() -> None:
    [match] = match_event(post("ci", {}), [pipeline()]).matches
    assert match.trigger["user"] == "anonymous"
    assert match.run_as_user is None
    assert match.trigger["parameters"] == {} and match.trigger["artifacts"] == []


def test_the_source_must_be_equal_including_case() -> None:
    assert fired(post("ci", {}), pipeline()) == ["p1"]
    assert fired(post("CI", {}), pipeline()) == []
    assert fired(post("other", {}), pipeline()) == []


@pytest.mark.parametrize(
    ("pipeline_fields", "trigger_fields", "fires"),
    [
        ({}, {}, True),
        ({"disabled": False}, {}, True),
        ({"disabled": "false"}, {}, True),
        ({"disabled": True}, {}, False),
        ({"disabled": "true"}, {}, False),
        ({"disabled": "TRUE"}, {}, False),
        ({}, {"enabled": False}, False),
        ({}, {"enabled": "false"}, False),
        ({}, {"enabled": "true"}, True),
        ({}, {"enabled": None}, False),
        ({}, {"enabled": ""}, False),
        ({}, {"type": "Webhook"}, False),  # trigger types are exact
        ({}, {"type": "git"}, False),
    ],
)
def test_only_enabled_triggers_of_enabled_pipelines(
    pipeline_fields: dict[str, Any], trigger_fields: dict[str, Any], fires: bool
) -> None:
    trigger = {"type": "webhook", "enabled": True, "source": "ci"} | trigger_fields
    assert fired(post("ci", {}), pipeline("p1", trigger, **pipeline_fields)) == (["p1"] if fires else [])


def test_a_trigger_without_enabled_is_disabled() -> None:
    assert fired(post("ci", {}), pipeline("p1", {"type": "webhook", "source": "ci"})) == []


@pytest.mark.parametrize(
    ("constraints", "fires"),
    [
        (None, True),
        ({}, True),
        ({"branch": "main"}, True),
        ({"branch": "^ma"}, True),
        ({"branch": "dev"}, False),
        ({"build.number": "^42$"}, True),
        ({"$.build.result": "SUCCESS|UNSTABLE"}, True),
        ({"$.build.result": "FAILURE"}, False),
        ({"missing": ".*"}, False),
    ],
)
def test_payload_constraints(constraints: dict[str, Any] | None, fires: bool) -> None:
    trigger = {"type": "webhook", "enabled": True, "source": "ci", "payloadConstraints": constraints}
    body = {"branch": "main", "build": {"number": 42, "result": "SUCCESS"}}
    assert fired(post("ci", body), pipeline("p1", trigger)) == (["p1"] if fires else [])


def test_constraints_that_are_not_an_object_refuse_the_trigger() -> None:
    trigger = {"type": "webhook", "enabled": True, "source": "ci", "payloadConstraints": ["x"]}
    result = match_event(post("ci", {}), [pipeline("p1", trigger)])
    assert result.matches == [] and result.refused == [("p1", "payloadConstraints: must be an object")]


def test_every_matching_pipeline_fires_once_per_distinct_trigger() -> None:
    trigger = {"type": "webhook", "enabled": True, "source": "ci"}
    other = trigger | {"payloadConstraints": {"a": "1"}}
    configs = [pipeline("p1", trigger, trigger), pipeline("p2", trigger, other), pipeline("p3")]
    assert fired(post("ci", {"a": "1"}), *configs) == ["p1", "p2", "p2", "p3"]


@pytest.mark.parametrize(
    ("artifacts", "fires"),
    [
        ([{"type": "docker/image", "name": "gcr.io/p/app", "version": "v1"}], True),
        ([{"type": "docker/image", "name": "gcr.io/p/other"}], False),
        ([], False),
        (None, False),
    ],
)
def test_expected_artifact_ids_gate_the_trigger(artifacts: list[dict[str, Any]] | None, fires: bool) -> None:
    trigger = {"type": "webhook", "enabled": True, "source": "ci", "expectedArtifactIds": ["ea"]}
    expected = [{"id": "ea", "matchArtifact": {"type": "docker/image", "name": "gcr.io/p/app"}}]
    body = {} if artifacts is None else {"artifacts": artifacts}
    result = match_event(post("ci", body), [pipeline("p1", trigger, expectedArtifacts=expected)])
    assert [m.pipeline["id"] for m in result.matches] == (["p1"] if fires else [])
    if not fires:
        assert result.refused == [("p1", "no received artifact matches the trigger's expectedArtifactIds")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"parameters": ["a"]}, "parameters"),
        ({"artifacts": {"type": "x"}}, "artifacts"),
        ({"artifacts": ["x"]}, "artifacts"),
    ],
)
def test_malformed_parameters_or_artifacts_are_the_senders_error(body: dict[str, Any], field: str) -> None:
    with pytest.raises(TriggerError, match=rf"^{field}: "):
        match_event(post("ci", body), [pipeline()])


def test_the_trigger_does_not_share_objects_with_the_config_or_event() -> None:
    trigger = {"type": "webhook", "enabled": True, "source": "ci", "payloadConstraints": {"a": "1"}}
    event = post("ci", {"a": "1", "nested": {"x": 1}})
    [match] = match_event(event, [pipeline("p1", trigger)]).matches
    match.trigger["payload"]["nested"]["x"] = 2
    match.trigger["payloadConstraints"]["a"] = "2"
    assert event.payload["nested"]["x"] == 1 and trigger["payloadConstraints"] == {"a": "1"}
