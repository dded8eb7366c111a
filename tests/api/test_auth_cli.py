"""``gennaker auth token issue|list|revoke``: the admin's commands on the server machine, then the API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.store import Store
from gennaker.cli import run
from tests.api.auth_support import auth_api, bearer


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("GENNAKER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENNAKER_STATE_DIR", str(tmp_path))


async def test_issue_list_revoke_then_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["auth", "token", "issue", "--user", "Root", "--role", "admins", "--expires", "30d", "-o", "json"]) == 0
    issued = json.loads(capsys.readouterr().out)
    token = issued["token"]
    assert token.startswith("gnk_") and issued["owner"] == "root" and issued["roles"] == ["admins"]
    assert run(["auth", "token", "issue", "--user", "bob"]) == 0
    text = capsys.readouterr().out
    assert "shown once" in text and "gnk_" in text and "expires: never" in text

    assert run(["auth", "token", "list"]) == 0
    listing = capsys.readouterr().out
    assert "root" in listing and "bob" in listing and "gnk_" not in listing and "active" in listing
    assert run(["auth", "token", "list", "--user", "root", "-o", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in listed] == [issued["id"]] and "tokenHash" not in listed[0]

    async with auth_api(tmp_path, admin_roles=["admins"]) as api:  # the same store file as the CLI's
        assert (await api.http.get("/auth/user", headers=bearer(token))).json()["admin"] is True
        assert run(["auth", "token", "revoke", issued["id"]]) == 0
        assert "revoked" in capsys.readouterr().out
        assert (await api.http.get("/auth/user", headers=bearer(token))).status_code == 401
    store = Store(f"sqlite:///{tmp_path / 'gennaker.db'}")
    assert token not in json.dumps(store.api_tokens.all())
    store.close()


def test_bad_input_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["auth", "token", "issue", "--user", "bob", "--expires", "soon"]) == 2
    assert "positive duration" in capsys.readouterr().err
    assert run(["auth", "token", "revoke", "nope"]) == 2
    assert "no token" in capsys.readouterr().err


def test_reseal_seals_stored_values_again_with_the_current_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.fernet import Fernet

    from core import sealing
    from core.settings import Settings

    old, new, lost = (Fernet.generate_key().decode() for _ in range(3))
    with_key = {k: Settings.model_validate({"state_dir": tmp_path, "auth": {"seal_key": k}}) for k in (old, new, lost)}

    def hooked(name: str, key: str, value: str = "Bearer hunter2") -> dict[str, object]:
        header = sealing.seal(with_key[key], value)
        return {"application": "shop", "name": name, "stages": [{"type": "webhook", "customHeaders": {"A": header}}]}

    store = Store(f"sqlite:///{tmp_path / 'gennaker.db'}")
    store.migrate()
    rotated = store.pipelines.save(hooked("rotated", old), "alice")
    strategy = store.pipelines.save(hooked("strategy", old), "alice", kind="strategy")
    current = store.pipelines.save(hooked("current", new), "alice")
    orphan = store.pipelines.save(hooked("orphan", lost), "alice")
    store.pipelines.save({"application": "shop", "name": "plain", "stages": []}, "alice")
    monkeypatch.setenv("GENNAKER_AUTH__SEAL_KEY", new)
    monkeypatch.setenv("GENNAKER_AUTH__PREVIOUS_SEAL_KEYS", f'["{old}"]')

    assert run(["auth", "reseal", "--dry-run", "-o", "json"]) == 1  # a value no key opens: the admin must act
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["dryRun"] and report["checked"] == 4 and report["resealed"] == 2
    assert {c["name"] for c in report["configs"]} == {"rotated", "strategy"}
    assert [c["id"] for c in report["unopenable"]] == [orphan["id"]] and "save it again" in out.err
    assert store.pipelines.get(rotated["id"]) == rotated  # a dry run saves nothing

    assert run(["auth", "reseal"]) == 1
    text = capsys.readouterr().out
    assert "4 sealed values checked; sealed again: 2 in 2 configs" in text and "hunter2" not in text
    for saved, kind in ((rotated, "pipeline"), (strategy, "strategy")):
        stored = store.pipelines.get(saved["id"], kind)
        header = stored["stages"][0]["customHeaders"]["A"]
        assert sealing.unseal(with_key[new], header) == "Bearer hunter2"  # the new key alone opens it now
        assert stored["lastModifiedBy"] == "gennaker-reseal"
    assert store.pipelines.get(current["id"]) == current  # already current: untouched
    assert store.pipelines.get(orphan["id"]) == orphan
    assert [e["detail"] for e in store.audit.query({"action": "seal.reseal"}, 10)] == [
        "resealed=2; configs=2; unopenable=1"
    ]

    assert run(["auth", "reseal", "-o", "json"]) == 1  # again: nothing left to move
    assert json.loads(capsys.readouterr().out)["resealed"] == 0
    store.close()
