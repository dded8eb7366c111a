"""Projects (Front50's `/v2/projects`)."""

from __future__ import annotations

import pytest

from api.store import ConflictError, NotFoundError, Store, ValidationError


def test_project_lifecycle(store: Store) -> None:
    saved = store.save_project({"name": "Flagship", "email": "team@x", "extra": [1]}, "alice")
    assert saved["id"]
    assert saved["config"] == {"applications": [], "clusters": [], "pipelineConfigs": []}
    assert saved["createTs"] == saved["updateTs"] and saved["lastModifiedBy"] == "alice"
    assert store.get_project(saved["id"]) == saved
    assert store.get_project("flagship") == saved  # by name, ignoring case

    config = {"applications": ["app"], "clusters": [{"account": "prod", "stack": "*"}], "pipelineConfigs": []}
    updated = store.save_project({**saved, "config": config}, "bob")
    assert updated["id"] == saved["id"] and updated["createTs"] == saved["createTs"]
    assert store.get_project(saved["id"])["config"] == config

    other = store.save_project({"name": "second"}, "bob")
    assert [p["name"] for p in store.list_projects()] == ["Flagship", "second"]
    with pytest.raises(ConflictError, match="FLAGSHIP"):
        store.save_project({"name": "FLAGSHIP"}, "bob")
    with pytest.raises(ConflictError):
        store.save_project({**other, "name": "flagship"}, "bob")

    store.delete_project(saved["id"])
    with pytest.raises(NotFoundError, match=saved["id"]):
        store.get_project(saved["id"])
    with pytest.raises(NotFoundError):
        store.delete_project(saved["id"])
    store.delete_project("SECOND")
    assert store.list_projects() == []


@pytest.mark.parametrize(
    ("project", "field"),
    [
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": "p", "config": []}, "config"),
        ({"name": "p", "config": {"applications": "app"}}, "config.applications"),
    ],
)
def test_invalid_projects_name_the_field(store: Store, project: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        store.save_project(project, "bob")
    assert err.value.field == field
    assert store.list_projects() == []
