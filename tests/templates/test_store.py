"""Pipeline templates in the store on SQLite, PostgreSQL and MariaDB (migration 0014_templates): Front50's
records per version, the digest version written once, concurrent creates, dependents, and the downgrade."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, inspect

from core.store import ConflictError, NotFoundError, Store, ValidationError
from core.store.session import MIGRATIONS
from core.store.templates import TEMPLATES
from templates import Reference, TemplateError, digest
from templates.stored import TemplateStore
from tests.store.conftest import mysql_url, postgresql_url  # noqa: F401 - fixtures

MIGRATED: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (
        f"sqlite:///{tmp_path / 'g.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue(f"{request.param}_url")
    )
    store = Store(url)
    if url not in MIGRATED:
        store.migrate()
        MIGRATED.add(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(TEMPLATES.delete())
    engine.dispose()
    yield store
    store.close()


def doc(tid: str = "tpl", description: str = "Déploiement → prod ✓") -> dict[str, Any]:
    return {
        "schema": "v2",
        "id": tid,
        "metadata": {"name": "Deploy", "description": description, "scopes": ["global", "Team-A"]},
        "pipeline": {"stages": [{"refId": "w", "type": "wait", "waitTime": 1}]},
    }


def test_versions_tags_and_digests(store: Store) -> None:
    templates = TemplateStore(store)
    first = templates.save(doc(), "olga")
    assert templates.get("tpl")["metadata"]["description"] == "Déploiement → prod ✓"  # utf8mb4 on MariaDB
    by_digest = templates.get("tpl", digest_=first["digest"])
    assert digest({**by_digest, "tag": "latest"}) == first["digest"]
    assert {d.get("tag") for d in templates.versions()["tpl"]} == {None, "latest"}
    templates.save(doc(description="v2"), "olga", tag="stable")
    assert templates.get("tpl", "stable")["metadata"]["description"] == "v2"
    assert templates.get("tpl", "latest")["metadata"]["description"] == "v2"
    assert templates.get("tpl")["metadata"]["description"] == "Déploiement → prod ✓"
    assert len(templates.versions()["tpl"]) == 5  # id, id:latest, id:stable, two digests
    assert [d["id"] for d in templates.list_all(["team-a"])] and not templates.list_all(["other"])
    assert templates.load(Reference("tpl", tag="stable"))["metadata"]["description"] == "v2"
    with pytest.raises(TemplateError):
        templates.load(Reference("tpl", tag="canary"))
    with pytest.raises(ConflictError):
        templates.save(doc(), "olga")
    with pytest.raises(ValidationError, match="Pipeline template tag must be one of"):
        templates.save(doc("other"), "olga", tag="prod")
    with pytest.raises(ValidationError, match="does not match"):
        templates.save(doc("other"), "olga", update_id="tpl")


def test_a_digest_version_is_written_once(store: Store) -> None:
    templates = TemplateStore(store)
    first = templates.save(doc(), "olga")
    again = templates.save(doc(), "dave", update_id="tpl")  # the same content: the same digest
    assert again["digest"] == first["digest"]
    assert templates.get("tpl", digest_=first["digest"])["lastModifiedBy"] == "olga"


def test_concurrent_creates_one_wins(store: Store) -> None:
    templates = TemplateStore(store)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def create(n: int) -> None:
        barrier.wait()
        try:
            templates.save(doc("race", description=f"by {n}"), f"user{n}")
            results.append("ok")
        except ConflictError:
            results.append("conflict")
        except Exception as exc:  # noqa: BLE001 - shown in the assertion, not lost with the thread
            results.append(f"error: {exc!r}")

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 3 + ["ok"]


TAGS = ("stable", "unstable", "experimental", "test")


def _save_four_tags_at_once(templates: TemplateStore, tid: str) -> list[str]:
    results: list[str] = []
    barrier = threading.Barrier(len(TAGS))

    def save(tag: str) -> None:
        barrier.wait()
        try:
            templates.save(doc(tid, description="same"), "olga", tag=tag)
            results.append("ok")
        except Exception as exc:  # noqa: BLE001 - shown in the assertion
            results.append(f"error: {exc!r}")

    threads = [threading.Thread(target=save, args=(tag,)) for tag in TAGS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_saves_of_new_tags_all_succeed(store: Store) -> None:
    """Four tags of one new template saved at once: each writes its own key, and all of them write the same
    ``id:latest``, new. That is an upsert (and the digest version an insert-if-new), so none of the four gets a
    conflict (a read, then an insert, let two insert the same key: a conflict for one on PostgreSQL and MariaDB)."""
    templates = TemplateStore(store)
    for attempt in range(5):  # the race needs the inserts to meet; a few rounds make that near certain
        tid = f"tags{attempt}"
        assert _save_four_tags_at_once(templates, tid) == ["ok"] * 4, attempt
        assert templates.get(tid, "latest")["metadata"]["description"] == "same"


def test_a_create_raced_between_its_read_and_its_write_is_refused_not_turned_into_an_update(store: Store) -> None:
    """Another create of the same id commits after this create's first statement on the table and before its
    write. The primary key decides: one of them gets a conflict. (A check-then-upsert let both succeed, the later
    one written over the winner: about 2 % of 4-thread races on PostgreSQL.) SQLite's writer lock serialises them,
    and MariaDB's repeatable read kept the check's answer; PostgreSQL's read committed is the case this catches."""
    templates = TemplateStore(store)
    results: dict[str, str] = {}

    def create(who: str) -> None:
        try:
            templates.save(doc("race", description=who), who)
            results[who] = "ok"
        except ConflictError:
            results[who] = "conflict"

    competitor = threading.Thread(target=create, args=("competitor",))
    first = threading.current_thread()

    def race_once(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # once: the competitor runs to its end, or until it waits on this transaction
        if "pipeline_templates" in statement and threading.current_thread() is first and competitor.ident is None:
            competitor.start()
            competitor.join(timeout=2)

    event.listen(store.db.engine, "after_cursor_execute", race_once)
    try:
        create("first")
    finally:
        event.remove(store.db.engine, "after_cursor_execute", race_once)
    competitor.join(timeout=60)
    assert sorted(results.values()) == ["conflict", "ok"], results


def test_delete_refused_while_a_pipeline_uses_it(store: Store) -> None:
    templates = TemplateStore(store)
    templates.save(doc("tpl"), "olga", tag="stable")
    templates.save(doc("tpl2"), "olga")
    ref = {"reference": "spinnaker://tpl:stable"}
    user = store.pipelines.save(
        {"application": "app", "name": "p", "schema": "v2", "type": "templatedPipeline", "template": ref}, "olga"
    )
    assert [p["id"] for p in templates.dependents("tpl")] == [user["id"]]
    assert templates.dependents("tpl2") == []  # "tpl" is not a prefix of "tpl2"'s users, nor the reverse
    with pytest.raises(ConflictError, match=f"depend on this template: {user['id']}"):
        templates.delete("tpl", "stable")
    templates.delete("tpl", "latest")  # nobody references this one
    with pytest.raises(NotFoundError):
        templates.delete("tpl", "latest")
    store.pipelines.delete("app", "p")
    templates.delete("tpl", "stable")
    with pytest.raises(NotFoundError):
        templates.get("tpl", "stable")


def test_the_migration_downgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    Store(url).migrate()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0013_terraform")
        tables = set(inspect(engine).get_table_names())
        assert "pipeline_templates" not in tables
        assert "terraform_states" in tables
    finally:
        engine.dispose()
