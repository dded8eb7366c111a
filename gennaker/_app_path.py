"""Where the application's modules live once installed from a wheel (docs/install.md, "What pip installs").

A wheel puts core/, api/, workflows/, ... and worker.py under `site-packages/gennaker_app/` (setup.py), off
sys.path, so they never shadow a user's own `api` or `core`. This module puts that directory on sys.path:

- at the front for our own processes (the `gennaker`, `gennaker-api` and `gennaker-worker` commands, and the
  children `gennaker up` starts, through PYTHONPATH): there our modules must win;
- at the end when the SDK is imported into a user's program (`import gennaker.pipelines`): the user's modules
  keep their names, ours fill in only the names nobody else has.

In a source checkout (`pip install -e .`, the tests) there is no such directory and nothing changes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PRIVATE_DIR = Path(__file__).resolve().parent.parent / "gennaker_app"


def installed() -> bool:
    """True when running from a wheel's install (the private directory exists next to the package)."""
    return PRIVATE_DIR.is_dir()


def add_for_library() -> None:
    """Append the private directory to sys.path (after everything of the user's), once."""
    path = str(PRIVATE_DIR)
    if installed() and path not in sys.path:
        sys.path.append(path)


def add_for_process() -> None:
    """Put the private directory first on sys.path and on PYTHONPATH, for this process and the ones it starts."""
    if not installed():
        return
    path = str(PRIVATE_DIR)
    if path in sys.path:
        sys.path.remove(path)
    sys.path.insert(0, path)
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != path]
    os.environ["PYTHONPATH"] = os.pathsep.join([path, *inherited])
