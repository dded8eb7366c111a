"""The audit trail over the real API (Temporal dev server, worker, store): saves, triggers, judgments, cancels,
application writes and refusals are recorded with who, what, from where and how it ended; never a token."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from api.auth import tokens
from tests.api.auth_support import bearer
from tests.api.conftest import serve_api

pytestmark = pytest.mark.temporal


def judged(name: str) -> dict[str, Any]:
    return {
        "application": "Demo",
        "name": name,
        "limitConcurrent": False,
        "stages": [{"refId": "1", "type": "manualJudgment", "name": "judge"}],
    }


async def test_writes_and_refusals_are_audited(client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    auth = {"enabled": True, "admin_roles": ["admins"]}
    async with serve_api(client, tmp_path, auth=auth) as api:
        root, _ = tokens.issue(api.store, "Root", ["admins"], expires=None, by="cli")
        as_root = bearer(root)
        api.http.headers.update(as_root)  # the reads wait_for makes, too
        saved = await api.http.post("/pipelines", json=judged("first"), headers=as_root)
        assert saved.status_code == 200, saved.text
        triggered = await api.http.post("/pipelines/demo/first", json={"type": "manual"}, headers=as_root)
        assert triggered.status_code == 202, triggered.text
        execution_id = triggered.json()["ref"].rsplit("/", 1)[-1]
        running = await api.wait_for(execution_id, lambda e: e["stages"][0]["status"] == "RUNNING")
        stage_id = running["stages"][0]["id"]
        judged_answer = await api.http.patch(
            f"/pipelines/{execution_id}/stages/{stage_id}", json={"judgmentStatus": "continue"}, headers=as_root
        )
        assert judged_answer.status_code == 200, judged_answer.text
        await api.finished(execution_id)

        second = await api.http.post("/pipelines/v2/demo/first", json={}, headers=as_root)
        second_id = second.json()["ref"].rsplit("/", 1)[-1]
        await api.wait_for(second_id, lambda e: e["status"] == "RUNNING")
        assert (await api.http.put(f"/pipelines/{second_id}/cancel", headers=as_root)).status_code == 200

        task = {
            "application": "newapp",
            "description": "Create Application: newapp",
            "job": [{"type": "upsertApplication", "application": {"name": "newapp", "email": "a@b.c"}}],
        }
        assert (await api.http.post("/tasks", json=task, headers=as_root)).status_code == 200
        refused = await api.http.post("/pipelines", json=judged("x"), headers=bearer("gnk_wrong-token-value"))
        assert refused.status_code == 401
        bad = await api.http.post("/pipelines", json={"application": "demo"}, headers=as_root)
        assert bad.status_code == 400

        trail = (await api.http.get("/audit", headers=as_root)).json()
        by_action: dict[str, list[dict[str, Any]]] = {}
        for event in trail:
            by_action.setdefault(event["action"], []).append(event)
        saves = by_action["pipeline.save"]
        assert [e["outcome"] for e in saves] == ["rejected", "denied", "success"]
        ok = saves[-1]
        assert ok["principal"] == "root" and ok["via"] == "token" and ok["application"] == "demo"
        assert ok["resourceName"] == "first" and ok["status"] == 200 and ok["remoteAddress"] == "127.0.0.1"
        assert saves[1]["principal"] == "anonymous" and saves[1]["status"] == 401
        triggers = by_action["pipeline.trigger"]
        assert {e["executionId"] for e in triggers} == {execution_id, second_id}
        assert all(e["application"] == "demo" and e["resourceName"] == "first" for e in triggers)
        judgment = by_action["judgment"][0]
        assert judgment["executionId"] == execution_id and judgment["detail"] == "judgmentStatus=continue"
        assert by_action["execution.cancel"][0]["executionId"] == second_id
        app_save = by_action["application.save"][0]
        assert app_save["application"] == "newapp" and app_save["resourceName"] == "newapp"

        filtered = await api.http.get("/audit", params={"action": "pipeline.trigger", "limit": 1}, headers=as_root)
        assert len(filtered.json()) == 1 and filtered.json()[0]["executionId"] == second_id
        mine = await api.http.get("/audit", params={"user": "ROOT", "application": "newapp"}, headers=as_root)
        assert [e["action"] for e in mine.json()] == ["application.save"]
        assert (await api.http.get("/audit", headers={"Authorization": ""})).status_code == 401
        everything = json.dumps(api.store.audit.query(limit=1000))
        for secret in (root, "gnk_wrong-token-value"):
            assert secret not in everything and secret not in caplog.text


async def test_audit_with_authentication_off_records_anonymous_and_is_open(client: Any, tmp_path: Path) -> None:
    async with serve_api(client, tmp_path) as api:
        assert (await api.http.post("/pipelines", json=judged("open"))).status_code == 200
        trail = (await api.http.get("/audit", params={"application": "demo"})).json()
        assert [(e["action"], e["principal"], e["outcome"]) for e in trail] == [
            ("pipeline.save", "anonymous", "success")
        ]
        assert (await api.http.get("/audit", params={"limit": 0})).status_code == 400
