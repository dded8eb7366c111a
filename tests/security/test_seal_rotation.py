"""Rotating the sealing key: values sealed with a previous key still open (API and worker), a save seals them again
with the current key, and a value no key opens is refused without being shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core import sealing
from core.settings import Settings


def _settings(tmp_path: Path, key: str, *previous: str) -> Settings:
    return Settings.model_validate(
        {"state_dir": tmp_path, "auth": {"seal_key": key, "previous_seal_keys": list(previous)}}
    )


def test_a_value_sealed_with_a_previous_key_opens_and_is_sealed_again_with_the_current_one(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = _settings(tmp_path, old)
    rotating = _settings(tmp_path, new, old)
    after = _settings(tmp_path, new)
    sealed_old = sealing.seal(before, "Bearer hunter2")

    assert sealing.unseal(rotating, sealed_old) == "Bearer hunter2"
    with pytest.raises(sealing.SealError):
        sealing.unseal(after, sealed_old)
    moved, state = sealing.reseal(rotating, sealed_old)
    assert state == "resealed" and moved != sealed_old and sealing.unseal(after, moved) == "Bearer hunter2"
    assert sealing.seal(rotating, sealed_old) != sealed_old  # a save seals it again
    assert sealing.unseal(after, sealing.seal(rotating, sealed_old)) == "Bearer hunter2"
    # a value the current key opens is kept as it is: saving a config as read does not churn its tokens
    assert sealing.reseal(rotating, moved) == (moved, "current")
    assert sealing.seal(rotating, moved) == moved
    # new values are sealed with the current key
    assert sealing.unseal(after, sealing.seal(rotating, "Basic abc")) == "Basic abc"


def test_a_value_no_key_opens_is_kept_and_refused_where_used_without_showing_it(tmp_path: Path) -> None:
    stranger = sealing.seal(_settings(tmp_path, Fernet.generate_key().decode()), "Bearer hunter2")
    rotating = _settings(tmp_path, Fernet.generate_key().decode(), Fernet.generate_key().decode())
    assert sealing.reseal(rotating, stranger) == (stranger, "unopenable")
    assert sealing.seal(rotating, stranger) == stranger
    with pytest.raises(sealing.SealError, match="previous_seal_keys") as refused:
        sealing.unseal(rotating, stranger)
    assert "hunter2" not in str(refused.value) and stranger not in str(refused.value)


def test_the_worker_opens_values_sealed_with_a_previous_key(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_old = sealing.seal(_settings(tmp_path, old), "Bearer hunter2")
    with pytest.raises(sealing.SealError):
        sealing.open_value(sealed_old)  # no process key opens it yet
    sealing.configure(_settings(tmp_path, new, old))  # what the worker does when it builds its activities
    assert sealing.open_value(sealed_old) == "Bearer hunter2"


def test_a_previous_key_that_is_not_a_fernet_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(sealing.SealError, match=r"auth.previous_seal_keys\[1\] is not a Fernet key"):
        sealing.unseal(
            _settings(tmp_path, Fernet.generate_key().decode(), Fernet.generate_key().decode(), "not-a-key"),
            sealing.seal(_settings(tmp_path, Fernet.generate_key().decode()), "x"),
        )


def test_sealed_values_finds_every_sealed_header_value(tmp_path: Path) -> None:
    settings = _settings(tmp_path, Fernet.generate_key().decode())
    config = sealing.seal_config(
        settings,
        {
            "stages": [
                {"type": "webhook", "customHeaders": {"A": "1", "B": ["2", "3"], "C": "${trigger.user}"}},
                {"type": "wait"},
                "not a stage",
            ]
        },
    )
    assert len(sealing.sealed_values(config)) == 3
    assert sealing.sealed_values({"stages": "none"}) == [] and sealing.sealed_values(None) == []


async def test_saving_through_the_api_seals_old_values_again(tmp_path: Path) -> None:
    from api.auth import tokens
    from tests.api.auth_support import auth_api, bearer

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_old = sealing.seal(_settings(tmp_path, old), "Bearer hunter2")
    webhook = {"refId": "1", "type": "webhook", "name": "call", "url": "https://example.com/hook"}
    config = {"application": "shop", "name": "hooked", "stages": [{**webhook, "customHeaders": {"A": sealed_old}}]}
    async with auth_api(tmp_path, admin_roles=["admins"], seal_key=new, previous_seal_keys=[old]) as api:
        token, _ = tokens.issue(api.store, "root", ["admins"], expires=None, by="cli")
        saved = await api.http.post("/pipelines", json=config, headers=bearer(token))
        assert saved.status_code == 200, saved.text
        stored = api.store.pipelines.get(saved.json()["id"])["stages"][0]["customHeaders"]["A"]
    assert stored != sealed_old and sealing.unseal(_settings(tmp_path, new), stored) == "Bearer hunter2"
