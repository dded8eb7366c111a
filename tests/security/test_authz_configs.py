"""Attacks through pipeline configs and applications (auth on), over HTTP: a pipeline id that differs only in
case to capture another pipeline's managed service account, creating applications, reading secrets back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.auth import tokens
from api.auth.redaction import PLACEHOLDER
from tests.api.auth_support import AuthApi, auth_api, bearer

WAIT = [{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 0}]
SETTINGS: dict[str, Any] = {"admin_roles": ["admins"]}


def _token(api: AuthApi, user: str, *roles: str) -> dict[str, str]:
    token, _ = tokens.issue(api.store, user, list(roles), expires=None, by="cli")
    return bearer(token)


def _pipeline(pipeline_id: str, **extra: Any) -> dict[str, Any]:
    # names compare ignoring case too: make them differ otherwise, so that only the ids clash
    name = f"p-{pipeline_id}-{sum(c.isupper() for c in pipeline_id)}"
    return {"id": pipeline_id, "application": "shop", "name": name, "stages": WAIT, **extra}


async def test_pipeline_ids_are_unique_without_regard_to_case(tmp_path: Path) -> None:
    async with auth_api(tmp_path, **SETTINGS) as api:
        admin = _token(api, "root", "admins")
        assert (await api.http.post("/pipelines", json=_pipeline("Deploy-1"), headers=admin)).status_code == 200
        clash = await api.http.post("/pipelines", json=_pipeline("deploy-1"), headers=admin)
        assert clash.status_code == 409, clash.text
        assert "'id' deploy-1 differs only in case" in clash.json()["message"]
        assert [p["id"] for p in api.store.pipelines.all("shop")] == ["Deploy-1"]  # nothing half-written
        # the same id, same case, is an update
        assert (await api.http.post("/pipelines", json=_pipeline("Deploy-1"), headers=admin)).status_code == 200


async def test_a_pipeline_cannot_capture_another_pipelines_managed_service_account(tmp_path: Path) -> None:
    async with auth_api(tmp_path, **SETTINGS) as api:
        admin = _token(api, "root", "admins")
        api.store.applications.save({"name": "shop", "email": "a@b.c"}, "setup")  # open to everyone
        victim = _pipeline(
            "payments", roles=["payments-deployers"], triggers=[{"type": "cron", "cronExpression": "0 0 12 * * ?"}]
        )
        assert (await api.http.post("/pipelines", json=victim, headers=admin)).status_code == 200
        account = api.store.service_accounts.get("payments@managed-service-account")
        assert account["managedBy"] == "payments" and account["memberOf"] == ["payments-deployers"]
        # the attacker holds the roles it asks for, and picks an id that only differs in case
        attacker = _token(api, "mallory", "payments-deployers")
        copy = _pipeline("PAYMENTS", roles=["payments-deployers"])
        refused = await api.http.post("/pipelines", json=copy, headers=attacker)
        assert refused.status_code == 409 and "differs only in case" in refused.json()["message"]
        # the victim's pipeline gone, its account stays its own: a new pipeline cannot take it over
        assert (await api.http.delete("/pipelines/shop/p-payments-0", headers=admin)).status_code == 200
        taken = await api.http.post("/pipelines", json=copy, headers=attacker)
        assert taken.status_code == 409, taken.text
        assert taken.json()["field"] == "roles" and "managed by pipeline payments" in taken.json()["message"]
        # nor may a trigger name another pipeline's managed account, even an admin's save
        borrowed = _pipeline(
            "other",
            triggers=[
                {"type": "cron", "cronExpression": "0 0 12 * * ?", "runAsUser": "Payments@managed-service-account"}
            ],
        )
        named = await api.http.post("/pipelines", json=borrowed, headers=admin)
        assert named.status_code == 400 and named.json()["field"] == "triggers[0].runAsUser", named.text
        assert api.store.service_accounts.get("payments@managed-service-account")["managedBy"] == "payments"


async def test_creating_an_application_needs_the_configured_role(tmp_path: Path) -> None:
    def create(name: str) -> dict[str, Any]:
        return {"job": [{"type": "createApplication", "application": {"name": name, "email": "a@b.c"}}]}

    async with auth_api(tmp_path, **SETTINGS) as api:
        anyone = _token(api, "mallory", "dev")
        refused = await api.http.post("/tasks", json=create("grab"), headers=anyone)
        assert refused.status_code == 403, refused.text
        assert "CREATE permission on application 'grab'" in refused.json()["message"]
        anonymous = await api.http.post("/tasks", json=create("grab"))
        assert anonymous.status_code == 403
        upsert = {"job": [{"type": "upsertApplication", "application": {"name": "grab"}}]}
        assert (await api.http.post("/tasks", json=upsert, headers=anyone)).status_code == 403
        assert api.store.applications.all() == []
        admin = _token(api, "root", "admins")
        assert (await api.http.post("/tasks", json=create("granted"), headers=admin)).status_code == 200
    async with auth_api(tmp_path / "roles", create_application_roles=["Creators"], **SETTINGS) as api:
        creator, other = _token(api, "cara", "creators"), _token(api, "otto", "dev")
        assert (await api.http.post("/tasks", json=create("mine"), headers=creator)).status_code == 200
        assert (await api.http.post("/tasks", json=create("theirs"), headers=other)).status_code == 403
        assert [a["name"] for a in api.store.applications.all()] == ["mine"]


async def test_secrets_never_leave_through_config_reads_and_survive_a_round_trip(tmp_path: Path) -> None:
    secret_fields = ["apiKey", "stages.*.password"]
    config: dict[str, Any] = {
        "application": "shop",
        "name": "deploy",
        "triggers": [
            {"type": "git", "source": "github", "project": "o", "slug": "r", "branch": "main", "secret": "gh-hmac-1"},
            {"type": "webhook", "source": "s", "apiKey": "key-2"},
        ],
        "stages": [{**WAIT[0], "password": "pw-3"}],
    }
    clear = ("gh-hmac-1", "key-2", "pw-3")
    async with auth_api(tmp_path, secret_fields=secret_fields, **SETTINGS) as api:
        admin = _token(api, "root", "admins")
        saved = await api.http.post("/pipelines", json=config, headers=admin)
        assert saved.status_code == 200 and not any(c in saved.text for c in clear), saved.text
        pipeline_id = saved.json()["id"]
        reads = [
            "/applications/shop/pipelineConfigs",
            "/applications/shop/pipelineConfigs/deploy",
            "/pipelineConfigs",
            f"/pipelineConfigs/{pipeline_id}/history",
        ]
        for path in reads:
            answer = await api.http.get(path, headers=admin)
            assert answer.status_code == 200 and PLACEHOLDER in answer.text, path
            assert not any(c in answer.text for c in clear), path
        # Deck's read-modify-write: the placeholders come back and the stored secrets stay
        doc = (await api.http.get("/applications/shop/pipelineConfigs/deploy", headers=admin)).json()
        doc["description"] = "edited"
        assert (await api.http.post("/pipelines", json=doc, headers=admin)).status_code == 200
        stored = api.store.pipelines.get(pipeline_id)
        assert stored["description"] == "edited"
        assert stored["triggers"][0]["secret"] == "gh-hmac-1" and stored["triggers"][1]["apiKey"] == "key-2"
        assert stored["stages"][0]["password"] == "pw-3"
        # a new secret replaces the old one
        doc["triggers"][0]["secret"] = "gh-hmac-new"
        assert (await api.http.put(f"/pipelines/{pipeline_id}", json=doc, headers=admin)).status_code == 200
        assert api.store.pipelines.get(pipeline_id)["triggers"][0]["secret"] == "gh-hmac-new"
        # the placeholder on a new pipeline has nothing to stand for
        fresh = {**config, "name": "copy", "triggers": [{**config["triggers"][0], "secret": PLACEHOLDER}]}
        refused = await api.http.post("/pipelines", json=fresh, headers=admin)
        assert refused.status_code == 400 and refused.json()["field"] == "triggers[0].secret", refused.text


async def test_webhook_header_values_are_sealed_when_saved(tmp_path: Path) -> None:
    webhook = {
        "refId": "1",
        "type": "webhook",
        "name": "call",
        "url": "https://example.com/hook",
        "method": "POST",
        "customHeaders": {"Authorization": "Bearer hunter2", "X-Trace": "${trigger.user}", "X-Many": ["a1", "b2"]},
    }
    async with auth_api(tmp_path, **SETTINGS) as api:
        admin = _token(api, "root", "admins")
        saved = await api.http.post(
            "/pipelines", json={"application": "shop", "name": "hooked", "stages": [webhook]}, headers=admin
        )
        assert saved.status_code == 200
        stored = api.store.pipelines.get(saved.json()["id"])
        headers = stored["stages"][0]["customHeaders"]
        assert headers["Authorization"].startswith("sealed:v1:") and "hunter2" not in str(stored)
        assert all(v.startswith("sealed:v1:") for v in headers["X-Many"])
        assert headers["X-Trace"] == "${trigger.user}"  # an expression is left for the engine
        read = await api.http.get("/applications/shop/pipelineConfigs/hooked", headers=admin)
        assert "hunter2" not in read.text
        # saved again as read, a sealed value is kept as it is (not sealed twice)
        again = await api.http.post("/pipelines", json=read.json(), headers=admin)
        assert again.json()["stages"][0]["customHeaders"]["Authorization"] == headers["Authorization"]
        from core.sealing import unseal

        assert unseal(api.settings, headers["Authorization"]) == "Bearer hunter2"


def test_a_value_sealed_with_another_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    import pytest
    from cryptography.fernet import Fernet

    from core.sealing import SealError, seal, unseal
    from core.settings import Settings

    api_side = Settings.model_validate(
        {"state_dir": tmp_path / "a", "auth": {"seal_key": Fernet.generate_key().decode()}}
    )
    worker_side = Settings.model_validate({"state_dir": tmp_path / "b"})  # no key given: one of its own
    sealed = seal(api_side, "Bearer hunter2")
    assert unseal(api_side, sealed) == "Bearer hunter2"
    with pytest.raises(SealError, match="auth.seal_key differs") as refused:
        unseal(worker_side, sealed)
    assert "hunter2" not in str(refused.value) and sealed not in str(refused.value)
    assert (tmp_path / "b" / "sealing.key").stat().st_mode & 0o077 == 0  # the generated key is the owner's only
