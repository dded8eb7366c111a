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
