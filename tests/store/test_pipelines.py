"""Pipeline and strategy configs: Front50's save rules, history, ordering, on every backend."""

from __future__ import annotations

import copy
import threading
import uuid

import pytest

from core.store import ConflictError, NotFoundError, StaleError, Store, ValidationError

from .conftest import FIXTURES, load_fixture

SET_BY_STORE = {"lastModified", "updateTs", "lastModifiedBy"}
FIXTURE_FILES = sorted(p.name for p in FIXTURES.glob("deck/*pipelineConfigs.json"))


def minimal(name: str = "deploy", application: str = "app", **extra: object) -> dict:
    return {"application": application, "name": name, "stages": [], "triggers": [], **extra}


def without(doc: dict, keys: set[str] = SET_BY_STORE) -> dict:
    return {k: v for k, v in doc.items() if k not in keys}


@pytest.mark.parametrize("fixture", FIXTURE_FILES)
def test_every_real_pipeline_config_round_trips(store: Store, fixture: str) -> None:
    configs = load_fixture(f"deck/{fixture}")
    assert configs
    for config in configs:
        saved = store.pipelines.save(copy.deepcopy(config), "anonymous")
        assert without(saved) == without(config)
        assert without(store.pipelines.get(config["id"])) == without(config)
        assert store.pipelines.get_by_name(config["application"], config["name"])["id"] == config["id"]
    listed = store.pipelines.all(configs[0]["application"])
    assert [without(p) for p in listed] == [without(c) for c in sorted(configs, key=lambda c: c["index"])]


def test_unknown_keys_preserved_at_every_level(store: Store) -> None:
    config = minimal(
        myTopLevel={"nested": [1, 2, {"deep": None}]},
        stages=[{"refId": 1, "requisiteStageRefIds": [], "type": "wait", "waitTime": 5, "custom": "x"}],
        notifications=[{"type": "slack", "when": ["pipeline.failed"], "extra": True}],
        description="Ünïcødé ✓",
    )
    saved = store.pipelines.save(config, "alice")
    got = store.pipelines.get(saved["id"])
    assert without(got, SET_BY_STORE | {"id"}) == config
    assert got["stages"][0]["refId"] == 1  # numbers stay numbers


def test_save_sets_front50_fields_and_does_not_mutate_input(store: Store) -> None:
    config = minimal()
    saved = store.pipelines.save(config, "alice")
    assert "id" not in config and "lastModified" not in config
    uuid.UUID(saved["id"])
    assert isinstance(saved["lastModified"], int)
    assert saved["updateTs"] == str(saved["lastModified"])
    assert saved["lastModifiedBy"] == "alice"


def test_name_is_trimmed(store: Store) -> None:
    saved = store.pipelines.save(minimal(name="  spaced  "), "alice")
    assert saved["name"] == "spaced"
    assert store.pipelines.get_by_name("app", "SPACED")["id"] == saved["id"]


@pytest.mark.parametrize("field", ["application", "name"])
@pytest.mark.parametrize("value", [None, "", "   ", 42])
def test_application_and_name_required(store: Store, field: str, value: object) -> None:
    config = minimal()
    if value is None:
        del config[field]
    else:
        config[field] = value
    with pytest.raises(ValidationError) as err:
        store.pipelines.save(config, "alice")
    assert err.value.field == field
    assert field in str(err.value)
    assert store.pipelines.all() == []


def test_duplicate_name_refused_ignoring_case(store: Store) -> None:
    store.pipelines.save(minimal(name="Deploy"), "alice")
    with pytest.raises(ConflictError, match="already exists in application app"):
        store.pipelines.save(minimal(name="dEPLOY"), "bob")
    # the same name in another application, or as a strategy, is fine
    store.pipelines.save(minimal(name="deploy", application="other"), "bob")
    store.pipelines.save(minimal(name="deploy"), "bob", kind="strategy")
    assert len(store.pipelines.all()) == 2


def test_application_compared_ignoring_case(store: Store) -> None:
    store.pipelines.save(minimal(application="App"), "alice")
    with pytest.raises(ConflictError):
        store.pipelines.save(minimal(application="APP"), "alice")
    assert [p["application"] for p in store.pipelines.all("app")] == ["App"]


def test_update_by_id_and_rename(store: Store) -> None:
    first = store.pipelines.save(minimal(name="one"), "alice")
    other = store.pipelines.save(minimal(name="two"), "alice")
    renamed = store.pipelines.save({**first, "name": "uno"}, "bob")
    assert renamed["id"] == first["id"]
    assert [p["name"] for p in store.pipelines.all("app")] == ["two", "uno"]
    with pytest.raises(NotFoundError):
        store.pipelines.get_by_name("app", "one")
    with pytest.raises(ConflictError):
        store.pipelines.save({**renamed, "name": "TWO"}, "bob")
    # a case-only rename of itself is not a clash
    assert store.pipelines.save({**other, "name": "Two"}, "bob")["name"] == "Two"


def test_save_with_given_new_id_creates(store: Store) -> None:
    saved = store.pipelines.save(minimal(id="my-own-id"), "alice")
    assert saved["id"] == "my-own-id"
    assert store.pipelines.get("my-own-id")["name"] == "deploy"


def test_cron_trigger_ids(store: Store) -> None:
    triggers = [
        {"type": "cron", "cronExpression": "0 0 * * * ?", "enabled": True, "id": "copied-id"},
        {"type": "CRON", "cronExpression": "0 5 * * * ?"},
        {"type": "git", "source": "github"},
    ]
    new = store.pipelines.save(minimal(triggers=copy.deepcopy(triggers)), "alice")
    ids = [t.get("id") for t in new["triggers"]]
    # a new pipeline gets fresh ids on every cron trigger (a copied one must not share the Quartz job)
    assert ids[0] != "copied-id" and ids[1] and ids[2] is None
    uuid.UUID(ids[0]), uuid.UUID(ids[1])

    # an update keeps ids, fills missing ones
    config = copy.deepcopy(new)
    config["triggers"].append({"type": "cron", "cronExpression": "0 9 * * * ?"})
    updated = store.pipelines.save(config, "alice")
    assert [t.get("id") for t in updated["triggers"][:3]] == ids
    assert updated["triggers"][3]["id"]

    # regenerateCronTriggerIds renews all of them
    regenerated = store.pipelines.save({**updated, "regenerateCronTriggerIds": True}, "alice")
    renewed = [t["id"] for t in regenerated["triggers"] if t["type"].lower() == "cron"]
    assert not set(renewed) & {ids[0], ids[1], updated["triggers"][3]["id"]}
    assert len(set(renewed)) == 3


def test_stale_check(store: Store) -> None:
    saved = store.pipelines.save(minimal(), "alice")
    fresh = store.pipelines.save(saved, "alice", stale_check=True)
    assert fresh["lastModified"] > saved["lastModified"]
    with pytest.raises(StaleError, match="stale"):
        store.pipelines.save({**saved, "description": "old edit"}, "bob", stale_check=True)
    assert "description" not in store.pipelines.get(saved["id"])
    # without staleCheck, or without a submitted lastModified, the save goes through
    store.pipelines.save({**saved, "description": "forced"}, "bob")
    store.pipelines.save(without(store.pipelines.get(saved["id"]), {"lastModified"}), "bob", stale_check=True)
    # updateTs as a string is compared as a number
    current = store.pipelines.get(saved["id"])
    store.pipelines.save({**current, "lastModified": str(current["lastModified"])}, "bob", stale_check=True)


def test_history_newest_first_with_whole_documents(store: Store) -> None:
    saved = store.pipelines.save(minimal(description="v0"), "alice")
    for i in range(1, 4):
        saved = store.pipelines.save({**saved, "description": f"v{i}"}, f"user{i}")
    history = store.pipelines.history(saved["id"])
    assert [h["description"] for h in history] == ["v3", "v2", "v1", "v0"]
    assert history[0] == store.pipelines.get(saved["id"])
    assert [h["lastModifiedBy"] for h in history[:2]] == ["user3", "user2"]
    assert [h["description"] for h in store.pipelines.history(saved["id"], limit=2)] == ["v3", "v2"]
    assert store.pipelines.history("unknown") == []
    assert store.pipelines.history(saved["id"], kind="strategy") == []
    with pytest.raises(ValidationError) as err:
        store.pipelines.history(saved["id"], limit=0)
    assert err.value.field == "limit"


def test_list_order_and_reorder(store: Store) -> None:
    a = store.pipelines.save(minimal(name="b-no-index"), "u")
    b = store.pipelines.save(minimal(name="A-no-index"), "u")
    c = store.pipelines.save(minimal(name="z", index=0), "u")
    d = store.pipelines.save(minimal(name="y", index=1), "u")
    store.pipelines.save(minimal(name="elsewhere", application="other", index=0), "u")
    assert [p["name"] for p in store.pipelines.all("app")] == ["z", "y", "A-no-index", "b-no-index"]
    assert [p["index"] for p in store.pipelines.all("app")] == [0, 1, 2, 3]
    assert len(store.pipelines.all()) == 5

    store.pipelines.reorder("APP", {a["id"]: 0, b["id"]: 1, c["id"]: 2, d["id"]: 3})
    assert [p["name"] for p in store.pipelines.all("app")] == ["b-no-index", "A-no-index", "z", "y"]
    # reordering is no revision and keeps lastModified (open editors are not made stale)
    assert store.pipelines.get(a["id"])["lastModified"] == a["lastModified"]
    assert len(store.pipelines.history(a["id"])) == 1
    # a later save without index keeps the stored one (Orca's SavePipelineTask does this)
    assert store.pipelines.save(without(store.pipelines.get(c["id"]), {"index"}), "u")["index"] == 2

    with pytest.raises(NotFoundError):
        store.pipelines.reorder("other", {a["id"]: 5})
    with pytest.raises(NotFoundError):
        store.pipelines.reorder("app", {a["id"]: 7, "missing": 1})
    assert store.pipelines.get(a["id"])["index"] == 0  # all or nothing
    with pytest.raises(ValidationError) as err:
        store.pipelines.reorder("app", {a["id"]: "first"})  # type: ignore[dict-item]
    assert err.value.field == "idsToIndices"


def test_strategies_are_kept_apart(store: Store) -> None:
    pipeline = store.pipelines.save(minimal(name="deploy"), "u")
    strategy = store.pipelines.save(minimal(name="highlander", strategy=True), "u", kind="strategy")
    assert [p["name"] for p in store.pipelines.all("app")] == ["deploy"]
    assert [p["name"] for p in store.pipelines.all("app", kind="strategy")] == ["highlander"]
    with pytest.raises(NotFoundError):
        store.pipelines.get(strategy["id"])
    with pytest.raises(NotFoundError):
        store.pipelines.get(pipeline["id"], kind="strategy")
    assert store.pipelines.get(strategy["id"], kind="strategy")["strategy"] is True
    store.pipelines.delete("app", "highlander", kind="strategy")
    assert store.pipelines.all("app", kind="strategy") == []
    assert len(store.pipelines.all("app")) == 1
    with pytest.raises(ValidationError) as err:
        store.pipelines.all(kind="template")
    assert err.value.field == "kind"


def test_delete_pipeline(store: Store) -> None:
    saved = store.pipelines.save(minimal(name="Deploy"), "u")
    with pytest.raises(NotFoundError, match="nope"):
        store.pipelines.delete("app", "nope")
    store.pipelines.delete("APP", "deploy")
    with pytest.raises(NotFoundError):
        store.pipelines.get(saved["id"])
    assert len(store.pipelines.history(saved["id"])) == 1  # history is kept, as Front50 keeps it
    # the name is free again
    store.pipelines.save(minimal(name="Deploy"), "u")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"index": "first"}, "index"),
        ({"triggers": {"type": "cron"}}, "triggers"),
        ({"id": 12}, "id"),
        ({"name": "n" * 300}, "name"),
        ({"lastModified": "yesterday"}, "lastModified"),
    ],
)
def test_invalid_fields_named_and_nothing_written(store: Store, change: dict, field: str) -> None:
    saved = store.pipelines.save(minimal(), "u")
    with pytest.raises(ValidationError) as err:
        store.pipelines.save({**saved, **change}, "u", stale_check=True)
    assert err.value.field == field
    assert store.pipelines.get(saved["id"]) == saved
    assert len(store.pipelines.history(saved["id"])) == 1


def test_failed_save_leaves_no_partial_rows(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the config row is written (here: the history insert) rolls the whole save back."""
    import core.store.pipelines as repository
    from core.store.models import PipelineConfigRevision as original

    class Boom(RuntimeError):
        pass

    def failing(**kwargs: object) -> object:
        raise Boom("history write failed")

    saved = store.pipelines.save(minimal(), "u")
    monkeypatch.setattr(repository, "PipelineConfigRevision", failing)
    with pytest.raises(Boom):
        store.pipelines.save({**saved, "description": "half"}, "u")
    with pytest.raises(Boom):
        store.pipelines.save(minimal(name="brand-new"), "u")
    monkeypatch.setattr(repository, "PipelineConfigRevision", original)
    assert store.pipelines.get(saved["id"]) == saved
    assert [p["name"] for p in store.pipelines.all("app")] == ["deploy"]
    assert len(store.pipelines.history(saved["id"])) == 1


def test_concurrent_saves_of_one_name_give_one_winner(store: Store) -> None:
    results: list[object] = []

    def save(i: int) -> None:
        try:
            results.append(store.pipelines.save(minimal(name="race", description=str(i)), f"user{i}"))
        except ConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, dict) for r in results) == 1
    assert sum(isinstance(r, ConflictError) for r in results) == 7
    assert len(store.pipelines.all("app")) == 1
