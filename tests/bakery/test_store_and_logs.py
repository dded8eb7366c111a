"""Bake records and bake logs as the API serves them (the bakes table itself: tests/store/test_bakes.py);
the install recipe run with stand-in package managers."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from bakery import api
from bakery.errors import BakeNotFoundError, BakeOptionsNotFoundError
from bakery.logs import gate_logs, log_path, read_log, tail
from bakery.store import COMPLETED, RUNNING, SUCCESS, BakeRecord, BakeStore
from core.settings.bakery import SHIPPED_TEMPLATES, BakerySettings
from core.store import Store


def record(bake_id: str, key: str = "k", created: int = 1, **fields: object) -> BakeRecord:
    return BakeRecord(
        id=bake_id,
        key=key,
        workflow_id=f"bake-{key}",
        region="us-east-1",
        cloud_provider="aws",
        created_ms=created,
        **fields,
    )  # type: ignore[arg-type]


def test_record_json_shapes() -> None:
    done = record(
        "r1",
        state=COMPLETED,
        result=SUCCESS,
        ami="ami-9",
        image_name="myapp-all-1-xenial",
        images={"us-east-1": "ami-9"},
        base_ami="ami-1",
    )
    assert done.status_json() == {"id": "r1", "state": "COMPLETED", "result": "SUCCESS", "resourceId": "r1"}
    assert done.bake_json() == {
        "id": "r1",
        "ami": "ami-9",
        "image_name": "myapp-all-1-xenial",
        "regions": ["us-east-1"],
        "artifact": {
            "type": "aws/image",
            "name": "myapp-all-1-xenial",
            "location": "us-east-1",
            "reference": "ami-9",
            "uuid": "r1",
        },
        "base_ami": "ami-1",
    }
    assert record("r2").status_json()["state"] == RUNNING


def test_logs_by_offset_and_as_gate_serves_them(tmp_path: Path) -> None:
    path = log_path(tmp_path, "bake-1")
    path.parent.mkdir(parents=True)
    path.write_text("==> amazon-ebs: one\n<script>alert(1)</script>\nthree\n")
    whole = read_log(tmp_path, "bake-1")
    assert (whole.offset, whole.next_offset, whole.size) == (0, whole.size, path.stat().st_size)
    part = read_log(tmp_path, "bake-1", offset=0, limit=25)
    assert part.text == "==> amazon-ebs: one\n"  # ends on a whole line
    rest = read_log(tmp_path, "bake-1", offset=part.next_offset)
    assert part.text + rest.text == whole.text and rest.next_offset == whole.size
    assert read_log(tmp_path, "bake-1", offset=10_000).text == ""
    assert whole.to_json()["logsContent"] == whole.text
    body = gate_logs(tmp_path, "bake-1")
    assert body.startswith("<pre>==&gt; amazon-ebs: one\n&lt;script&gt;alert(1)") and body.endswith("three\n</pre>")
    assert tail(tmp_path, "bake-1", 2) == ["<script>alert(1)</script>", "three"]
    assert tail(tmp_path, "missing") == [] and tail(tmp_path, "../etc") == []
    for bad in ("../../etc/passwd", "a/b", "", ".hidden"):
        with pytest.raises(BakeNotFoundError):
            read_log(tmp_path, bad)
    with pytest.raises(BakeNotFoundError, match="no bake log for 'nope'"):
        gate_logs(tmp_path, "nope")


def test_the_install_recipe_installs_each_package_literally(tmp_path: Path) -> None:
    """install_packages.sh with stand-ins for sudo/apt-get/yum/tee that record their arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec env "$@"\n')  # sudo takes VAR=value too
    for tool in ("apt-get", "yum"):
        record_args = f'for a in "$@"; do printf " [%s]" "$a" >> "{calls}"; done; echo >> "{calls}"'
        (bin_dir / tool).write_text(f'#!/bin/sh\nprintf "{tool}" >> "{calls}"; {record_args}\n')
    (bin_dir / "tee").write_text(f'#!/bin/sh\nfor last; do :; done\ncat >> "{tmp_path}/tee-$(basename "$last")"\n')
    (bin_dir / "rm").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    script = SHIPPED_TEMPLATES / "install_packages.sh"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "package_type": "deb",
        "packages": "myapp=1.0.0-h12 $(touch$IFS/tmp/pwned) *",
        "repository": "https://u:secret@repo/apt stable main",
        "upgrade": "true",
    }
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "repository=https://repo/apt stable main" in done.stdout and "secret" not in done.stdout
    assert calls.read_text().splitlines() == [
        "apt-get [-y] [update]",
        "apt-get [-y] [upgrade]",
        "apt-get [-y] [install] [--] [myapp=1.0.0-h12]",
        "apt-get [-y] [install] [--] [$(touch$IFS/tmp/pwned)]",
        "apt-get [-y] [install] [--] [*]",
    ]
    assert (tmp_path / "tee-gennaker.list").read_text() == "deb https://u:secret@repo/apt stable main\n"
    calls.unlink()
    env.update(package_type="rpm", packages="a-1.0-1 b", repository="https://r1/x;https://r2/y", upgrade="false")
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert calls.read_text().splitlines() == ["yum [-y] [install] [--] [a-1.0-1]", "yum [-y] [install] [--] [b]"]
    assert "baseurl=https://r2/y" in (tmp_path / "tee-gennaker-2.repo").read_text()
    env["package_type"] = "nupkg"
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 1 and "unknown package_type 'nupkg'" in done.stderr


def test_what_the_routes_call(tmp_path: Path, bakery_settings: BakerySettings) -> None:
    assert [o["cloudProvider"] for o in api.options(bakery_settings)] == ["aws", "gce"]  # type: ignore[index]
    assert api.options(bakery_settings, "gce")["baseImages"][0]["id"] == "bookworm"  # type: ignore[call-overload]
    with pytest.raises(BakeOptionsNotFoundError):
        api.options(bakery_settings, "docker")
    assert api.options(BakerySettings(), "aws")["baseImages"][0]["id"] == "noble"  # type: ignore[call-overload]
    store = Store(f"sqlite:///{tmp_path / 'gennaker.db'}")
    store.migrate()
    with pytest.raises(BakeNotFoundError):
        api.logs(tmp_path, "nope")
    with pytest.raises(BakeNotFoundError, match="no bake log for 'nope'"):
        api.logs(tmp_path, "nope", store)
    with pytest.raises(BakeNotFoundError, match="Unable to retrieve status for 'nope'"):
        api.bake_status(store, "nope")
    BakeStore(store).create(record("b1", state=COMPLETED, result=SUCCESS, ami="ami-1", image_name="img"))
    status = api.bake_status(store, "b1")
    assert status["state"] == "COMPLETED" and status["bake"]["ami"] == "ami-1" and status["error"] is None
    path = log_path(tmp_path, "b1")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("line 1\nline 2\n")
    assert api.logs(tmp_path, "b1") == "<pre>line 1\nline 2\n</pre>"
    chunk = api.logs_from(tmp_path, "b1", 7)
    assert chunk.to_json() == {"id": "b1", "offset": 7, "nextOffset": 14, "size": 14, "logsContent": "line 2\n"}
    store.close()


def test_logs_follow_the_bake_s_log_reference(tmp_path: Path) -> None:
    """A worker on this host with another state dir baked it: its log reference says where the log is."""
    store = Store(f"sqlite:///{tmp_path / 'gennaker.db'}")
    store.migrate()
    worker_state, api_state = tmp_path / "worker", tmp_path / "api"
    path = log_path(worker_state, "b2")
    path.parent.mkdir(parents=True)
    path.write_text("==> amazon-ebs: AMIs were created\n")
    here = {"host": socket.gethostname(), "path": str(path), "url": "/bakery/logs/us-east-1/b2"}
    BakeStore(store).create(record("b2", log_ref=here))
    assert api.logs(api_state, "b2", store) == "<pre>==&gt; amazon-ebs: AMIs were created\n</pre>"
    with pytest.raises(BakeNotFoundError):
        api.logs(api_state, "b2")  # without the store: not under this state dir
    elsewhere = {**here, "host": "bakery-7"}
    BakeStore(store).create(record("b3", log_ref={**elsewhere, "path": str(log_path(worker_state, "b3"))}))
    with pytest.raises(BakeNotFoundError, match="kept by the bakery worker on bakery-7"):
        api.logs(api_state, "b3", store)
    # a reference whose file is not this bake's log is not followed
    BakeStore(store).create(record("b4", log_ref=here))
    with pytest.raises(BakeNotFoundError, match="no bake log for 'b4'"):
        api.logs(api_state, "b4", store)
    store.close()
