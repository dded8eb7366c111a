"""The light footprint's import rule: a process loads a cloud or chat SDK only when it has something to call with it.

The API and ``gennaker up`` (the supervisor) import none of them; the worker imports a provider's client library
only when an account of that provider is configured (with no accounts, none), also when it serves the API and the
UI (``gennaker up``'s one process). ``gennaker up`` does not import the app, the store or the Temporal SDK at all,
and once it has planned the stack it execs into a supervisor without the settings (and pydantic). Each case runs
in a fresh interpreter, since this test process has imported everything long ago. The megabytes themselves are
measured by ``make footprint`` (docs/performance.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the client libraries of the clouds (Clouddriver's), of Jenkins and GitLab (Igor's) and of Slack and Twilio (Echo's)
SDKS = ("boto3", "google.cloud", "google.api_core", "kubernetes", "jenkins", "slack_sdk", "gitlab", "twilio")
#: what the supervisor never needs: the app, the store and the Temporal SDK run in its children
APP = ("api.main", "fastapi", "sqlalchemy", "temporalio", "workflows", "activities")
#: what the supervisor leaves behind when it execs into its lean self: the settings and their libraries
SETTINGS = ("core.settings", "pydantic", "pydantic_settings", "yaml")


def loaded_after(code: str, tmp_path: Path) -> set[str]:
    """The top-level names (and ``google.cloud``/``google.api_core``) in ``sys.modules`` after ``code`` runs in a
    fresh interpreter with no GENNAKER_* settings but a state directory of its own."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")}
    env.update(PYTHONPATH=str(ROOT), GENNAKER_STATE_DIR=str(tmp_path / "state"))
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    prefixes = (*SDKS, *APP, *SETTINGS)
    return {name for name in modules for prefix in prefixes if name == prefix or name.startswith(prefix + ".")}


def roots(loaded: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {p for p in prefixes if any(name == p or name.startswith(p + ".") for name in loaded)}


def test_the_api_imports_no_cloud_or_chat_sdk(tmp_path: Path) -> None:
    loaded = loaded_after("import api.main\napi.main.create_app()", tmp_path)
    assert "api.main" in loaded  # the probe works
    assert roots(loaded, SDKS) == set()


def test_gennaker_up_imports_neither_an_sdk_nor_the_app(tmp_path: Path) -> None:
    code = (
        "from core.settings import load_settings\n"
        "from gennaker import cli, devserver, supervisor\n"
        "cli.build_parser()\n"
        "devserver.dev_server_command(load_settings(), headless=True)\n"
        "cli.worker_command(); cli.api_command(load_settings())"
    )
    loaded = loaded_after(code, tmp_path)
    assert roots(loaded, SDKS) == set()
    assert roots(loaded, APP) == set()


def test_the_supervisor_after_its_exec_loads_no_settings(tmp_path: Path) -> None:
    """``gennaker up`` plans the stack with the settings, then execs ``up.lean_command`` (about 20 MB
    instead of about 40): what that process runs, the dev server built from the plan, loads no pydantic."""
    from core.settings import Settings
    from gennaker import cli, up

    plan = cli.up_plan(Settings(state_dir=tmp_path / "state"))
    assert [c["name"] for c in plan["children"]] == ["worker"] and "--with-api" in plan["children"][0]["cmd"]
    command = up.lean_command(ROOT)
    assert command[:3] == [sys.executable, "-P", "-c"] and command[-1] == "up"
    code = (
        f"import sys; sys.path.append({str(ROOT)!r})\n"
        "from gennaker import up\n"
        f"server = up._dev_server({json.dumps(plan['dev'])})\n"
        f"assert server.command == {json.dumps(plan['dev']['command'])}, server.command\n"
        "assert server.address.endswith(':7233')"
    )
    probe = f"{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))"
    env = {"PATH": os.environ.get("PATH", "")}  # no PYTHONPATH: the path is the lean command's own
    done = subprocess.run(
        [sys.executable, "-P", "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "gennaker.devserver" in loaded  # the probe works
    assert roots(loaded, (*SETTINGS, *APP, *SDKS)) == set()


@pytest.mark.timeout(200)
def test_a_worker_without_accounts_imports_no_provider_library(tmp_path: Path) -> None:
    code = (
        "import worker\n"
        "from core.settings import load_settings\n"
        "from activities.all import build_activities\n"
        "from workflows.all import WORKFLOWS\n"
        "assert build_activities(load_settings(), None) and WORKFLOWS"
    )
    loaded = loaded_after(code, tmp_path)
    assert "activities" in loaded  # the probe works
    assert roots(loaded, SDKS) == set()


@pytest.mark.timeout(200)
def test_the_one_process_stack_without_accounts_imports_no_provider_library(tmp_path: Path) -> None:
    """``gennaker up``'s shared process (``worker.py --with-api``) builds the worker's activities, the API and the UI
    app in one interpreter: still no cloud or chat SDK when no account names one."""
    code = (
        "import worker\n"
        "from core.settings import load_settings\n"
        "from activities.all import build_activities\n"
        "from api.main import create_app\n"
        "from gennaker import localstack\n"
        "from ui.server import app_from_settings\n"
        "settings = load_settings()\n"
        "assert build_activities(settings, None) and create_app(settings) and app_from_settings(settings)\n"
        "assert localstack.serve_with_api"
    )
    loaded = loaded_after(code, tmp_path)
    assert {"activities", "api.main"} <= loaded  # the probe works
    assert roots(loaded, SDKS) == set()
