"""Projects (Front50's `/v2/projects`)."""

from __future__ import annotations

import pytest

from core.store import ConflictError, NotFoundError, Store, ValidationError


def test_project_lifecycle(store: Store) -> None:
    saved = store.projects.save({"name": "Flagship", "email": "team@x", "extra": [1]}, "alice")
    assert saved["id"]
    assert saved["config"] == {"applications": [], "clusters": [], "pipelineConfigs": []}
    assert saved["createTs"] == saved["updateTs"] and saved["lastModifiedBy"] == "alice"
    assert store.projects.get(saved["id"]) == saved
    assert store.projects.get("flagship") == saved  # by name, ignoring case

    config = {"applications": ["app"], "clusters": [{"account": "prod", "stack": "*"}], "pipelineConfigs": []}
    updated = store.projects.save({**saved, "config": config}, "bob")
    assert updated["id"] == saved["id"] and updated["createTs"] == saved["createTs"]
    assert store.projects.get(saved["id"])["config"] == config

    other = store.projects.save({"name": "second"}, "bob")
    assert [p["name"] for p in store.projects.all()] == ["Flagship", "second"]
    with pytest.raises(ConflictError, match="FLAGSHIP"):
        store.projects.save({"name": "FLAGSHIP"}, "bob")
    with pytest.raises(ConflictError):
        store.projects.save({**other, "name": "flagship"}, "bob")

    store.projects.delete(saved["id"])
    with pytest.raises(NotFoundError, match=saved["id"]):
        store.projects.get(saved["id"])
    with pytest.raises(NotFoundError):
        store.projects.delete(saved["id"])
    store.projects.delete("SECOND")
    assert store.projects.all() == []


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
        store.projects.save(project, "bob")
    assert err.value.field == field
    assert store.projects.all() == []
