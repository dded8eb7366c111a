"""``auth.secret_fields`` in executions: a config field the operator marked secret is replaced wherever an execution
leaves the API (one execution, the listings, the search, the expression routes, ``GET /events``) and in what REST
listeners receive; the engine keeps working with the real value."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.events import EventActivities
from core.messages.events import DeliverEventsInput
from core.redaction import (
    PLACEHOLDER,
    execution_fields,
    redact_event,
    redact_execution,
    redact_execution_text,
    stage_fields,
)
from core.settings.events import EventSettings
from core.store import Store
from integrations.outbound import OutboundPolicy, OutboundSettings
from tests.api.conftest import serve_api
from tests.events.endpoint import Listener

RULES = ["password", "stages.*.token", "triggers.*.apiKey"]
EXECUTION: dict[str, Any] = {
    "id": "E1",
    "trigger": {"type": "webhook", "apiKey": "key-123", "user": "ann"},
    "stages": [
        {"refId": "1", "context": {"token": "tok-xyz", "nested": {"password": "deep-pw"}, "waitTime": 0}},
        {"refId": "2", "context": {"waitTime": 1}},
    ],
}


def test_config_paths_are_read_as_the_engine_stores_them() -> None:
    assert execution_fields(RULES) == [
        "password",
        "stages.*.token",
        "stages.*.context.token",
        "triggers.*.apiKey",
        "trigger.apiKey",
    ]
    assert execution_fields(["stages.*.context.token"]) == ["stages.*.context.token"]  # already an execution path
    assert stage_fields(RULES) == ["password", "token"]
    assert stage_fields(["stages.*.context.a.b", "triggers.*.x"]) == ["a.b"]


def test_an_execution_is_copied_with_its_secrets_replaced() -> None:
    shown = redact_execution(EXECUTION, RULES)
    assert shown["trigger"] == {"type": "webhook", "apiKey": PLACEHOLDER, "user": "ann"}
    assert shown["stages"][0]["context"] == {"token": PLACEHOLDER, "nested": {"password": PLACEHOLDER}, "waitTime": 0}
    assert EXECUTION["trigger"]["apiKey"] == "key-123"  # the original is untouched
    assert redact_execution(EXECUTION, []) is EXECUTION and redact_execution(EXECUTION, ["nothing"]) is EXECUTION


def test_text_is_decoded_only_when_rules_are_set_and_rewritten_only_when_one_matched() -> None:
    text = json.dumps(EXECUTION)
    assert redact_execution_text("not json at all", []) == "not json at all"  # never decoded without rules
    assert redact_execution_text(text, ["nothing"]) is text
    redacted = redact_execution_text(text, RULES)
    assert "key-123" not in redacted and "tok-xyz" not in redacted and "deep-pw" not in redacted
    assert json.loads(redacted)["stages"][1]["context"] == {"waitTime": 1}


def test_events_carry_no_secret() -> None:
    stage_event = {
        "details": {"type": "orca:stage:complete"},
        "content": {"context": EXECUTION["stages"][0]["context"], "execution": EXECUTION},
    }
    trigger_event = {"details": {"type": "webhook"}, "content": {"trigger": EXECUTION["trigger"]}}
    for event in (stage_event, trigger_event):
        shown = json.dumps(redact_event(event, RULES))
        assert "key-123" not in shown and "tok-xyz" not in shown and "deep-pw" not in shown
    assert redact_event(stage_event, []) is stage_event
    quiet = {"details": {}, "content": {"context": {"waitTime": 1}}}
    assert redact_event(quiet, RULES) is quiet


async def test_a_rest_listener_receives_events_without_secrets(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'g.db'}")
    store.migrate()
    listener = await Listener().start()
    config = EventSettings.model_validate(
        {"endpoints": [{"name": "hec", "url": listener.url}], "poll_window_s": 1, "poll_interval_s": 0.05}
    )
    acts = EventActivities(
        store, config, OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.0/8"])), secret_fields=RULES
    )
    try:
        details = {"type": "orca:pipeline:complete", "created": str(int(time.time() * 1000)), "application": "app"}
        content = {"execution": EXECUTION, "executionId": "E1"}
        store.events.append([{"details": details, "content": content, "eventId": f"e-{uuid.uuid4()}"}])
        await ActivityEnvironment().run(acts.deliver_events, DeliverEventsInput(endpoint="hec", cursor=0))
    finally:
        await acts.aclose()
        await listener.stop()
        store.close()
    [received] = listener.received
    assert received["content"]["execution"]["trigger"]["apiKey"] == PLACEHOLDER
    assert "tok-xyz" not in json.dumps(received) and "deep-pw" not in json.dumps(received)


@pytest.mark.temporal
async def test_no_execution_read_shows_a_secret_and_the_engine_keeps_the_value(client: Any, tmp_path: Path) -> None:
    async with serve_api(client, tmp_path, auth={"secret_fields": RULES}) as api:
        pipeline = {
            "application": "vault",
            "name": "hidden",
            "triggers": [{"type": "webhook", "source": "vault-hook", "enabled": True, "apiKey": "key-123"}],
            "stages": [
                {"refId": "1", "type": "wait", "waitTime": 0, "token": "tok-xyz", "nested": {"password": "deep-pw"}},
                {
                    "refId": "2",
                    "requisiteStageRefIds": ["1"],
                    "type": "evaluateVariables",
                    "variables": [{"key": "seen", "value": "${trigger.apiKey.length()}"}],
                },
            ],
        }
        assert (await api.http.post("/pipelines", json=pipeline)).status_code == 200
        hooked = (await api.http.post("/webhooks/webhook/vault-hook", json={})).json()
        [execution_id] = [e["executionId"] for e in hooked["executions"]]
        done = await api.finished(execution_id)
        assert done["status"] == "SUCCEEDED", done
        api.store.projects.save({"id": "vaulted", "name": "vaulted", "config": {"applications": ["vault"]}}, "ann")
        answers = [
            await api.http.get(f"/pipelines/{execution_id}"),
            await api.http.get("/projects/vaulted/pipelines"),
            await api.http.get("/applications/vault/pipelines", params={"expand": "true"}),
            await api.http.get("/executions", params={"executionIds": execution_id, "expand": "true"}),
            await api.http.get("/applications/vault/executions/search", params={"expand": "true"}),
            await api.http.get("/events", params={"executionId": execution_id, "limit": 1000}),
            await api.http.get(f"/pipelines/{execution_id}/evaluateExpression", params={"expression": "${trigger}"}),
        ]
        for answer in answers:
            assert answer.status_code == 200, answer.text
            for secret in ("key-123", "tok-xyz", "deep-pw"):
                assert secret not in answer.text, (answer.request.url, secret)
        restarted = await api.http.put(f"/pipelines/{execution_id}/stages/{done['stages'][0]['id']}/restart", json={})
        assert restarted.status_code == 200 and restarted.json()["id"] == execution_id
        assert "key-123" not in restarted.text and "tok-xyz" not in restarted.text
        await api.finished(execution_id)
        shown = answers[0].json()
        assert shown["trigger"]["apiKey"] == PLACEHOLDER
        assert shown["stages"][0]["context"]["token"] == PLACEHOLDER
        # the engine ran with the real value (7 characters), and the store keeps it for the engine's reads
        assert shown["stages"][1]["outputs"]["seen"] == 7
        assert "key-123" in json.dumps(api.store.executions.get(execution_id))
