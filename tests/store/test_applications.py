"""Applications: Front50's attribute map, name rules, merge on update, delete cascade."""

from __future__ import annotations

import copy

import pytest

from core.store import NotFoundError, Store, ValidationError

from .conftest import load_fixture

SET_BY_STORE = {"createTs", "updateTs", "lastModifiedBy", "user"}


def test_real_applications_round_trip(store: Store) -> None:
    apps = load_fixture("deck/default_applications.json")
    for app in apps:
        store.applications.save(copy.deepcopy(app), "anonymous")
    listed = store.applications.all()
    assert [a["name"] for a in listed] == sorted(a["name"] for a in apps)
    for app in apps:
        got = store.applications.get(app["name"])
        assert {k: v for k, v in got.items() if k not in SET_BY_STORE} == {
            k: v for k, v in app.items() if k not in SET_BY_STORE
        }


def test_create_sets_timestamps_as_strings_and_lowercases_name(store: Store) -> None:
    attrs = load_fixture("deck/core_create_application_testapp1.json")["attributes"]
    saved = store.applications.save({**attrs, "name": "TestApp1", "permissions": {"READ": ["dev"], "WRITE": []}}, "bob")
    assert saved["name"] == "testapp1"
    assert saved["createTs"].isdigit() and saved["updateTs"] == saved["createTs"]
    assert saved["lastModifiedBy"] == "bob"
    assert saved["providerSettings"] == {"gce": {"associatePublicIpAddress": True}}
    assert saved["trafficGuards"] == []
    assert store.applications.get("TESTAPP1") == saved


def test_update_merges_and_keeps_create_ts(store: Store) -> None:
    created = store.applications.save(
        {"name": "app", "email": "a@x", "description": "d", "cloudProviders": ["aws", "gce"], "custom": {"k": 1}},
        "alice",
    )
    assert created["cloudProviders"] == "aws,gce"  # Front50 hands Orca a comma-separated string
    updated = store.applications.save({"name": "App", "email": "b@x", "description": None, "other": 2}, "bob")
    assert updated["createTs"] == created["createTs"]
    assert int(updated["updateTs"]) >= int(created["updateTs"])
    assert updated["email"] == "b@x"
    assert updated["description"] == "d"  # None leaves an attribute alone, like Front50's PATCH
    assert updated["custom"] == {"k": 1} and updated["other"] == 2
    assert updated["lastModifiedBy"] == "bob"
    assert store.applications.get("app") == updated

    replaced = store.applications.save({"name": "app", "email": "c@x"}, "carol", replace=True)
    assert replaced["createTs"] == created["createTs"]
    assert "custom" not in replaced and "description" not in replaced


@pytest.mark.parametrize("name", [None, "", "   ", "has space", "bad!name", "app/x", "имя", "a" * 256, 7])
def test_invalid_names_refused_naming_the_field(store: Store, name: object) -> None:
    app = {"email": "a@x"} if name is None else {"name": name, "email": "a@x"}
    with pytest.raises(ValidationError) as err:
        store.applications.save(app, "bob")
    assert err.value.field == "name"
    assert store.applications.all() == []


@pytest.mark.parametrize("name", ["valid", "valid1name", "valid-name", "valid1.name", "valid-1_name"])
def test_valid_names(store: Store, name: str) -> None:
    assert store.applications.save({"name": name}, "bob")["name"] == name


@pytest.mark.parametrize("permissions", ["READ", {"READ": "dev"}, {"WRITE": [1]}])
def test_invalid_permissions(store: Store, permissions: object) -> None:
    with pytest.raises(ValidationError) as err:
        store.applications.save({"name": "app", "permissions": permissions}, "bob")
    assert err.value.field == "permissions"


def test_get_missing_names_it(store: Store) -> None:
    with pytest.raises(NotFoundError, match="ghost"):
        store.applications.get("ghost")
    with pytest.raises(NotFoundError, match="ghost"):
        store.applications.delete("ghost", "bob")


def test_delete_cascades_to_pipelines_strategies_and_projects(store: Store) -> None:
    store.applications.save({"name": "app"}, "bob")
    store.applications.save({"name": "keep"}, "bob")
    pipeline = store.pipelines.save({"application": "app", "name": "p"}, "bob")
    store.pipelines.save({"application": "app", "name": "s"}, "bob", kind="strategy")
    kept = store.pipelines.save({"application": "keep", "name": "p"}, "bob")
    store.projects.save(
        {
            "name": "proj",
            "config": {
                "applications": ["app", "keep"],
                "pipelineConfigs": [
                    {"application": "app", "pipelineConfigId": pipeline["id"]},
                    {"application": "keep", "pipelineConfigId": kept["id"]},
                ],
                "clusters": [],
            },
        },
        "bob",
    )
    store.executions.save({"id": "E1", "application": "app", "pipelineConfigId": pipeline["id"], "buildTime": 1})

    store.applications.delete("APP", "bob")

    with pytest.raises(NotFoundError):
        store.applications.get("app")
    assert store.pipelines.all("app") == []
    assert store.pipelines.all("app", kind="strategy") == []
    assert [p["id"] for p in store.pipelines.all("keep")] == [kept["id"]]
    project = store.projects.get("proj")
    assert project["config"]["applications"] == ["keep"]
    assert project["config"]["pipelineConfigs"] == [{"application": "keep", "pipelineConfigId": kept["id"]}]
    assert store.executions.get("E1")["application"] == "app"  # executions are Orca's, not Front50's
    assert len(store.pipelines.history(pipeline["id"])) == 1


def test_notification_documents_with_the_global_ones_appended(store) -> None:
    assert store.notifications.get("App") == {"application": "app"}
    store.notifications.save("App", {"slack": [{"address": "#a", "when": ["pipeline.failed"]}], "other": 1}, "bob")
    store.notifications.save(None, {"slack": [{"address": "#all"}], "email": [{"address": "ops@x.io"}]}, "root")
    doc = store.notifications.get("app")
    assert [e["address"] for e in doc["slack"]] == ["#a", "#all"] and doc["email"] == [{"address": "ops@x.io"}]
    assert doc["other"] == 1 and doc["lastModifiedBy"] == "bob"
    assert [(e["type"], e["address"]) for e in store.notifications.entries("APP")] == [
        ("slack", "#a"),
        ("slack", "#all"),
        ("email", "ops@x.io"),
    ]
    with pytest.raises(ValidationError, match="slack"):
        store.notifications.save("app", {"slack": "#a"}, "bob")
    store.notifications.delete("app")
    assert [e["address"] for e in store.notifications.get("app")["slack"]] == ["#all"]
