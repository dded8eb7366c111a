"""A pip install of Gennaker's wheel puts one public package on the path and keeps a user's `api` theirs.

The wheel is installed into a fresh virtualenv whose dependencies come from this virtualenv's site-packages (a
.pth line), so nothing is downloaded; a user's project next to it has its own package `api` and module `worker`.
(A user's own top-level `core` or `integrations` is the known limit: it wins, and the SDK, which imports ours by
those names, fails. docs/install.md says so.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import uuid
import venv
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.install.conftest import console_scripts, wheel_names
from tests.ops.procs import Running, cmdline, free_port, wait_until

APP = {"core", "workflows", "activities", "api", "providers", "bakery", "integrations", "canary", "templates", "ui"}


def test_the_wheel_has_one_public_package_and_the_app_under_a_private_directory(wheel: Path) -> None:
    names = wheel_names(wheel)
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"gennaker", "gennaker_app"}
    assert {n.split("/")[1] for n in names if n.startswith("gennaker_app/")} >= APP | {"worker.py"}
    assert "gennaker_app/core/store/alembic.ini" in names  # package data moves along
    assert any(n.startswith("gennaker_app/core/store/migrations/versions/0001") for n in names)
    assert "gennaker_app/bakery/images.yml" in names
    assert "gennaker_app/ui/static/index.html" in names and "gennaker_app/ui/static/js/pages/executions.js" in names
    assert console_scripts(wheel) == {
        "gennaker": "gennaker.entrypoints:cli",
        "gennaker-api": "gennaker.entrypoints:api",
        "gennaker-worker": "gennaker.entrypoints:worker",
    }


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed (--no-deps --no-index); the dependencies by a .pth line."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    Path(site.decode().strip(), "gennaker-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return env_dir


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """A user's project with its own `api` package and `worker` module."""
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "__init__.py").write_text("OWNER = 'user'\n")
    (tmp_path / "worker.py").write_text("OWNER = 'user'\n")
    return tmp_path


def run(env_dir: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GENNAKER_", "VIRTUAL_ENV"))}
    clean["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{clean.get('PATH', '')}"
    done = subprocess.run(args, cwd=cwd, env=clean, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_site_packages_holds_no_top_level_app_module(installed: Path) -> None:
    site = next(installed.glob("lib/python3*/site-packages"))
    assert not (APP | {"worker.py"}) & {p.name for p in site.iterdir()}
    assert (site / "gennaker_app" / "api" / "main.py").is_file()


def test_a_users_api_stays_theirs_next_to_the_sdk(installed: Path, user_project: Path) -> None:
    python = str(installed / "bin" / "python")
    code = (
        "import api, worker; assert api.OWNER == 'user' and worker.OWNER == 'user'\n"
        "import gennaker.pipelines\n"
        "from gennaker.pipelines import Pipeline\n"
        "import api as again; assert again.OWNER == 'user'\n"
        "print(gennaker.pipelines.__file__)\n"
    )
    done = run(installed, [python, "-c", code], user_project)
    assert str(installed) in done.stdout  # the SDK came from the fresh install, not from this checkout


def test_importing_the_sdk_first_leaves_the_users_api_alone(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "__init__.py").write_text("OWNER = 'user'\n")
    python = str(installed / "bin" / "python")
    code = "import gennaker.pipelines, api; assert api.OWNER == 'user', api.__file__"
    run(installed, [python, "-c", code], tmp_path)


def test_the_commands_run_from_the_private_directory(installed: Path, user_project: Path) -> None:
    assert "usage: gennaker" in run(installed, [str(installed / "bin" / "gennaker"), "--help"], user_project).stdout
    assert "--queue" in run(installed, [str(installed / "bin" / "gennaker-worker"), "--help"], user_project).stdout
    # gennaker-api builds `gennaker up`'s uvicorn command (api.main:app from the private directory); uvicorn's --help
    assert "--app-dir" in run(installed, [str(installed / "bin" / "gennaker-api"), "--help"], user_project).stdout
    python = str(installed / "bin" / "python")
    code = "from gennaker import _app_path; _app_path.add_for_process()\nimport os, api.main, worker, ui.server\n"
    code += "assert (ui.server.STATIC / 'index.html').is_file(); print(ui.server.__file__)\n"
    code += "print(api.main.__file__); print(worker.__file__); print(os.environ['PYTHONPATH'])\n"
    lines = run(installed, [python, "-c", code], user_project).stdout.splitlines()
    assert all("/site-packages/gennaker_app" in line for line in lines), lines


def test_gennaker_up_finds_the_worker_and_the_api_in_the_install(installed: Path, user_project: Path) -> None:
    python = str(installed / "bin" / "python")
    code = (
        "from gennaker import cli; from types import SimpleNamespace as S\n"
        "print(cli.worker_command()[-1])\n"
        "api = S(api=S(workers=2, host='127.0.0.1', port=8084))\n"
        "print(cli.api_command(api)[cli.api_command(api).index('--app-dir') + 1])\n"
    )
    worker_path, app_dir = run(installed, [python, "-c", code], user_project).stdout.split()
    assert worker_path.endswith("gennaker_app/worker.py") and app_dir.endswith("gennaker_app")


@pytest.mark.temporal
@pytest.mark.slow
def test_the_installed_api_and_worker_answer_the_probes_the_manifests_use(
    installed: Path, user_project: Path, temporal_env: WorkflowEnvironment
) -> None:
    """`gennaker-api` (migrating a fresh store from the private directory's alembic files) answers /health and
    `gennaker-worker` answers /metrics on its metrics port: the probes of deploy/kubernetes, on the wheel's install."""
    api_port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GENNAKER_", "VIRTUAL_ENV"))}
    env |= {
        "PATH": f"{installed / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "GENNAKER_TEMPORAL__ADDRESS": temporal_env.client.service_client.config.target_host,
        "GENNAKER_STATE_DIR": str(user_project / "state"),
        "GENNAKER_API__PORT": str(api_port),
        "GENNAKER_API__WORKERS": "1",
        "GENNAKER_TASK_QUEUE": f"install-{uuid.uuid4().hex[:8]}",
        "GENNAKER_DEPLOYMENT__VERSIONING": "false",  # never touch the shared dev server's worker deployment
        "GENNAKER_OBSERVABILITY__WORKER_METRICS_PORT": str(metrics_port),
    }
    api = Running([str(installed / "bin" / "gennaker-api")], env, user_project, name="gennaker-api")
    worker = Running([str(installed / "bin" / "gennaker-worker")], env, user_project, name="gennaker-worker")
    try:
        assert wait_until(lambda: _answers(f"http://127.0.0.1:{api_port}/health"), 90), api.output
        assert wait_until(lambda: _answers(f"http://127.0.0.1:{metrics_port}/metrics"), 90), worker.output
        assert "--app-dir" in cmdline(api.process.pid)  # exec'd: uvicorn is the process a SIGTERM reaches
        assert "site-packages/gennaker_app" in cmdline(api.process.pid)
        for process in (api, worker):  # SIGTERM, as Kubernetes stops a pod: both leave within their grace
            os.killpg(process.process.pid, signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught (newer uvicorns): both mean a clean stop
        assert api.finish(30) in (0, -signal.SIGTERM), api.output
        assert worker.finish(30) == 0, worker.output
    finally:
        api.kill()
        worker.kill()
    assert (user_project / "state" / "gennaker.db").is_file()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
