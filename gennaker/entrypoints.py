"""The console scripts (pyproject.toml [project.scripts]); each puts the application's modules first on sys.path.

`gennaker` is the CLI; `gennaker-api` and `gennaker-worker` are what a container or a Kubernetes Deployment runs
(Dockerfile, deploy/kubernetes): the API under uvicorn with the settings' host, port and process count, and the
workers of every queue (or those named with --queue).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from gennaker import _app_path


def cli(argv: Sequence[str] | None = None) -> None:
    """`gennaker ...` (gennaker/cli.py)."""
    _app_path.add_for_process()
    from gennaker.cli import main

    main(argv)


def api(argv: Sequence[str] | None = None) -> None:
    """`gennaker-api`: uvicorn serving api.main:app as `gennaker up` does (settings api.host, api.port, api.workers)."""
    _app_path.add_for_process()
    from gennaker.cli import _load, api_command

    settings = _load()
    if settings is None:
        raise SystemExit(2)
    command = api_command(settings)
    if command is None:
        raise SystemExit("gennaker-api: api/main.py is missing from this install")
    command += list(argv if argv is not None else sys.argv[1:])
    # uvicorn takes this process's place, so a container's SIGTERM (to PID 1) reaches it directly
    os.execv(command[0], command)


def worker(argv: Sequence[str] | None = None) -> None:
    """`gennaker-worker [--queue NAME ...]`: the Temporal workers (worker.py)."""
    _app_path.add_for_process()
    import worker as worker_module

    raise SystemExit(worker_module.main(list(argv if argv is not None else sys.argv[1:])))
