"""The store's shape: `Store` hands out one repository per aggregate, and the store needs nothing above core."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.store import Store, ValidationError

CORE = Path(__file__).resolve().parents[2] / "core"
#: the packages above core (layers 1 to 3 of docs/architecture.md)
OURS = {"activities", "api", "bakery", "canary", "gennaker", "integrations", "providers", "templates", "ui"}
OURS.add("workflows")


def test_each_aggregate_is_a_repository_attribute(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'g.db'}")
    store.migrate()
    try:
        saved = store.pipelines.save({"application": "app", "name": "deploy"}, "bob")
        assert store.pipelines.get(saved["id"]) == saved
        assert store.applications.save({"name": "app"}, "bob")["name"] == "app"
        assert [a["name"] for a in store.applications.all()] == ["app"]
        assert store.executions.header("nope") is None
        assert store.notifications.get("app") == {"application": "app"}
        assert store.jenkins_cursors.get("master") == {}
        assert store.bakes.get("nope") is None
        assert store.api_tokens.all() == [] and store.service_accounts.all() == [] and store.audit.query() == []
        assert store.user_roles.get("bob") == [] and store.projects.all() == [] and store.cloud_cache.status() == []
        assert store.templates.get("nope") is None
        assert store.trigger_events.claim("event", saved["id"], "E1") == ("E1", True)
        assert store.canary.list_configs() == [] and store.dinghy.list_syncs() == []
        assert store.terraform.workspaces("app") == []
    finally:
        store.close()


def test_a_method_of_the_old_one_class_store_names_its_new_place() -> None:
    store = Store("sqlite://")
    with pytest.raises(AttributeError, match=r"Store.save_pipeline moved: use store.pipelines.save"):
        store.save_pipeline  # type: ignore[attr-defined]  # noqa: B018 - the attribute access is what is tested
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        store.nothing  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(store, "list_executions")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE.parent)))
def test_core_imports_nothing_of_ours_above_it(path: Path) -> None:
    upward = [name for name in _imports(path) if name.split(".")[0] in OURS]
    assert upward == [], f"{path.relative_to(CORE.parent)} imports {upward} (core is the bottom layer)"


def test_an_integer_past_64_bits_is_a_validation_error_on_sqlite_too(tmp_path: Path) -> None:
    """PostgreSQL and MySQL compare such a number or answer a DataError; SQLite's driver raises OverflowError,
    which must not leave the store (Gate answered 500 to ``GET .../versions/35206967381356893402719846400``)."""
    store = Store(f"sqlite:///{tmp_path / 'g.db'}")
    store.migrate()
    try:
        with pytest.raises(ValidationError, match="value rejected by the database"):
            store.terraform.get_version("app", "default", 2**70)
    finally:
        store.close()
