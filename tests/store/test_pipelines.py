"""Pipeline and strategy configs: Front50's save rules, history, ordering, on every backend."""

from __future__ import annotations

import copy
import threading
import uuid

import pytest

from api.store import ConflictError, NotFoundError, StaleError, Store, ValidationError

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
        saved = store.save_pipeline(copy.deepcopy(config), "anonymous")
        assert without(saved) == without(config)
        assert without(store.get_pipeline(config["id"])) == without(config)
        assert store.get_pipeline_by_name(config["application"], config["name"])["id"] == config["id"]
    listed = store.list_pipelines(configs[0]["application"])
    assert [without(p) for p in listed] == [without(c) for c in sorted(configs, key=lambda c: c["index"])]


def test_unknown_keys_preserved_at_every_level(store: Store) -> None:
    config = minimal(
        myTopLevel={"nested": [1, 2, {"deep": None}]},
        stages=[{"refId": 1, "requisiteStageRefIds": [], "type": "wait", "waitTime": 5, "custom": "x"}],
        notifications=[{"type": "slack", "when": ["pipeline.failed"], "extra": True}],
        description="Ünïcødé ✓",
    )
    saved = store.save_pipeline(config, "alice")
    got = store.get_pipeline(saved["id"])
    assert without(got, SET_BY_STORE | {"id"}) == config
    assert got["stages"][0]["refId"] == 1  # numbers stay numbers


def test_save_sets_front50_fields_and_does_not_mutate_input(store: Store) -> None:
    config = minimal()
    saved = store.save_pipeline(config, "alice")
    assert "id" not in config and "lastModified" not in config
    uuid.UUID(saved["id"])
    assert isinstance(saved["lastModified"], int)
    assert saved["updateTs"] == str(saved["lastModified"])
    assert saved["lastModifiedBy"] == "alice"


def test_name_is_trimmed(store: Store) -> None:
    saved = store.save_pipeline(minimal(name="  spaced  "), "alice")
    assert saved["name"] == "spaced"
    assert store.get_pipeline_by_name("app", "SPACED")["id"] == saved["id"]


@pytest.mark.parametrize("field", ["application", "name"])
@pytest.mark.parametrize("value", [None, "", "   ", 42])
def test_application_and_name_required(store: Store, field: str, value: object) -> None:
    config = minimal()
    if value is None:
        del config[field]
    else:
        config[field] = value
    with pytest.raises(ValidationError) as err:
        store.save_pipeline(config, "alice")
    assert err.value.field == field
    assert field in str(err.value)
    assert store.list_pipelines() == []


def test_duplicate_name_refused_ignoring_case(store: Store) -> None:
    store.save_pipeline(minimal(name="Deploy"), "alice")
    with pytest.raises(ConflictError, match="already exists in application app"):
        store.save_pipeline(minimal(name="dEPLOY"), "bob")
    # the same name in another application, or as a strategy, is fine
    store.save_pipeline(minimal(name="deploy", application="other"), "bob")
    store.save_pipeline(minimal(name="deploy"), "bob", kind="strategy")
    assert len(store.list_pipelines()) == 2


def test_application_compared_ignoring_case(store: Store) -> None:
    store.save_pipeline(minimal(application="App"), "alice")
    with pytest.raises(ConflictError):
        store.save_pipeline(minimal(application="APP"), "alice")
    assert [p["application"] for p in store.list_pipelines("app")] == ["App"]


def test_update_by_id_and_rename(store: Store) -> None:
    first = store.save_pipeline(minimal(name="one"), "alice")
    other = store.save_pipeline(minimal(name="two"), "alice")
    renamed = store.save_pipeline({**first, "name": "uno"}, "bob")
    assert renamed["id"] == first["id"]
    assert [p["name"] for p in store.list_pipelines("app")] == ["two", "uno"]
    with pytest.raises(NotFoundError):
        store.get_pipeline_by_name("app", "one")
    with pytest.raises(ConflictError):
        store.save_pipeline({**renamed, "name": "TWO"}, "bob")
    # a case-only rename of itself is not a clash
    assert store.save_pipeline({**other, "name": "Two"}, "bob")["name"] == "Two"


def test_save_with_given_new_id_creates(store: Store) -> None:
    saved = store.save_pipeline(minimal(id="my-own-id"), "alice")
    assert saved["id"] == "my-own-id"
    assert store.get_pipeline("my-own-id")["name"] == "deploy"


def test_cron_trigger_ids(store: Store) -> None:
    triggers = [
        {"type": "cron", "cronExpression": "0 0 * * * ?", "enabled": True, "id": "copied-id"},
        {"type": "CRON", "cronExpression": "0 5 * * * ?"},
        {"type": "git", "source": "github"},
    ]
    new = store.save_pipeline(minimal(triggers=copy.deepcopy(triggers)), "alice")
    ids = [t.get("id") for t in new["triggers"]]
    # a new pipeline gets fresh ids on every cron trigger (a copied one must not share the Quartz job)
    assert ids[0] != "copied-id" and ids[1] and ids[2] is None
    uuid.UUID(ids[0]), uuid.UUID(ids[1])

    # an update keeps ids, fills missing ones
    config = copy.deepcopy(new)
    config["triggers"].append({"type": "cron", "cronExpression": "0 9 * * * ?"})
    updated = store.save_pipeline(config, "alice")
    assert [t.get("id") for t in updated["triggers"][:3]] == ids
    assert updated["triggers"][3]["id"]

    # regenerateCronTriggerIds renews all of them
    regenerated = store.save_pipeline({**updated, "regenerateCronTriggerIds": True}, "alice")
    renewed = [t["id"] for t in regenerated["triggers"] if t["type"].lower() == "cron"]
    assert not set(renewed) & {ids[0], ids[1], updated["triggers"][3]["id"]}
    assert len(set(renewed)) == 3


def test_stale_check(store: Store) -> None:
    saved = store.save_pipeline(minimal(), "alice")
    fresh = store.save_pipeline(saved, "alice", stale_check=True)
    assert fresh["lastModified"] > saved["lastModified"]
    with pytest.raises(StaleError, match="stale"):
        store.save_pipeline({**saved, "description": "old edit"}, "bob", stale_check=True)
    assert "description" not in store.get_pipeline(saved["id"])
    # without staleCheck, or without a submitted lastModified, the save goes through
    store.save_pipeline({**saved, "description": "forced"}, "bob")
    store.save_pipeline(without(store.get_pipeline(saved["id"]), {"lastModified"}), "bob", stale_check=True)
    # updateTs as a string is compared as a number
    current = store.get_pipeline(saved["id"])
    store.save_pipeline({**current, "lastModified": str(current["lastModified"])}, "bob", stale_check=True)


def test_history_newest_first_with_whole_documents(store: Store) -> None:
    saved = store.save_pipeline(minimal(description="v0"), "alice")
    for i in range(1, 4):
        saved = store.save_pipeline({**saved, "description": f"v{i}"}, f"user{i}")
    history = store.pipeline_history(saved["id"])
    assert [h["description"] for h in history] == ["v3", "v2", "v1", "v0"]
    assert history[0] == store.get_pipeline(saved["id"])
    assert [h["lastModifiedBy"] for h in history[:2]] == ["user3", "user2"]
    assert [h["description"] for h in store.pipeline_history(saved["id"], limit=2)] == ["v3", "v2"]
    assert store.pipeline_history("unknown") == []
    assert store.pipeline_history(saved["id"], kind="strategy") == []
    with pytest.raises(ValidationError) as err:
        store.pipeline_history(saved["id"], limit=0)
    assert err.value.field == "limit"


def test_list_order_and_reorder(store: Store) -> None:
    a = store.save_pipeline(minimal(name="b-no-index"), "u")
    b = store.save_pipeline(minimal(name="A-no-index"), "u")
    c = store.save_pipeline(minimal(name="z", index=0), "u")
    d = store.save_pipeline(minimal(name="y", index=1), "u")
    store.save_pipeline(minimal(name="elsewhere", application="other", index=0), "u")
    assert [p["name"] for p in store.list_pipelines("app")] == ["z", "y", "A-no-index", "b-no-index"]
    assert [p["index"] for p in store.list_pipelines("app")] == [0, 1, 2, 3]
    assert len(store.list_pipelines()) == 5

    store.reorder_pipelines("APP", {a["id"]: 0, b["id"]: 1, c["id"]: 2, d["id"]: 3})
    assert [p["name"] for p in store.list_pipelines("app")] == ["b-no-index", "A-no-index", "z", "y"]
    # reordering is no revision and keeps lastModified (open editors are not made stale)
    assert store.get_pipeline(a["id"])["lastModified"] == a["lastModified"]
    assert len(store.pipeline_history(a["id"])) == 1
    # a later save without index keeps the stored one (Orca's SavePipelineTask does this)
    assert store.save_pipeline(without(store.get_pipeline(c["id"]), {"index"}), "u")["index"] == 2

    with pytest.raises(NotFoundError):
        store.reorder_pipelines("other", {a["id"]: 5})
    with pytest.raises(NotFoundError):
        store.reorder_pipelines("app", {a["id"]: 7, "missing": 1})
    assert store.get_pipeline(a["id"])["index"] == 0  # all or nothing
    with pytest.raises(ValidationError) as err:
        store.reorder_pipelines("app", {a["id"]: "first"})  # type: ignore[dict-item]
    assert err.value.field == "idsToIndices"


def test_strategies_are_kept_apart(store: Store) -> None:
    pipeline = store.save_pipeline(minimal(name="deploy"), "u")
    strategy = store.save_pipeline(minimal(name="highlander", strategy=True), "u", kind="strategy")
    assert [p["name"] for p in store.list_pipelines("app")] == ["deploy"]
    assert [p["name"] for p in store.list_pipelines("app", kind="strategy")] == ["highlander"]
    with pytest.raises(NotFoundError):
        store.get_pipeline(strategy["id"])
    with pytest.raises(NotFoundError):
        store.get_pipeline(pipeline["id"], kind="strategy")
    assert store.get_pipeline(strategy["id"], kind="strategy")["strategy"] is True
    store.delete_pipeline("app", "highlander", kind="strategy")
    assert store.list_pipelines("app", kind="strategy") == []
    assert len(store.list_pipelines("app")) == 1
    with pytest.raises(ValidationError) as err:
        store.list_pipelines(kind="template")
    assert err.value.field == "kind"


def test_delete_pipeline(store: Store) -> None:
    saved = store.save_pipeline(minimal(name="Deploy"), "u")
    with pytest.raises(NotFoundError, match="nope"):
        store.delete_pipeline("app", "nope")
    store.delete_pipeline("APP", "deploy")
    with pytest.raises(NotFoundError):
        store.get_pipeline(saved["id"])
    assert len(store.pipeline_history(saved["id"])) == 1  # history is kept, as Front50 keeps it
    # the name is free again
    store.save_pipeline(minimal(name="Deploy"), "u")


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
    saved = store.save_pipeline(minimal(), "u")
    with pytest.raises(ValidationError) as err:
        store.save_pipeline({**saved, **change}, "u", stale_check=True)
    assert err.value.field == field
    assert store.get_pipeline(saved["id"]) == saved
    assert len(store.pipeline_history(saved["id"])) == 1


def test_failed_save_leaves_no_partial_rows(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the config row is written (here: the history insert) rolls the whole save back."""
    import api.store.repository as repository

    class Boom(RuntimeError):
        pass

    original = repository.PipelineConfigRevision

    def failing(**kwargs: object) -> object:
        raise Boom("history write failed")

    saved = store.save_pipeline(minimal(), "u")
    monkeypatch.setattr(repository, "PipelineConfigRevision", failing)
    with pytest.raises(Boom):
        store.save_pipeline({**saved, "description": "half"}, "u")
    with pytest.raises(Boom):
        store.save_pipeline(minimal(name="brand-new"), "u")
    monkeypatch.setattr(repository, "PipelineConfigRevision", original)
    assert store.get_pipeline(saved["id"]) == saved
    assert [p["name"] for p in store.list_pipelines("app")] == ["deploy"]
    assert len(store.pipeline_history(saved["id"])) == 1


def test_concurrent_saves_of_one_name_give_one_winner(store: Store) -> None:
    results: list[object] = []

    def save(i: int) -> None:
        try:
            results.append(store.save_pipeline(minimal(name="race", description=str(i)), f"user{i}"))
        except ConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, dict) for r in results) == 1
    assert sum(isinstance(r, ConflictError) for r in results) == 7
    assert len(store.list_pipelines("app")) == 1
