"""The wheel's layout (docs/install.md): the application's folders go under one private directory.

The repository keeps the design's top-level folders (core/, api/, workflows/, ...; docs/architecture.md), and
`pip install -e .` maps them as they are. A built wheel would put each of them on every user's path as a top-level
package (`api`, `core`, `worker`), where they collide with a user's own. So the build moves them, unchanged, into
`site-packages/gennaker_app/`, which is not on sys.path: `gennaker._app_path` adds it for our entry points and the
SDK. Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PRIVATE_DIR = "gennaker_app"
#: the one public package; every other package and module the build produces (core, api, workflows, ..., worker.py,
#: and any added to pyproject.toml's list later) moves under PRIVATE_DIR
PUBLIC = "gennaker"


class BuildPyPrivate(build_py):
    """build_py, then the application's folders moved under PRIVATE_DIR (not for editable installs)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        root = Path(self.build_lib)
        private = root / PRIVATE_DIR
        private.mkdir(exist_ok=True)
        for source in sorted(root.iterdir()):
            if source.name in {PUBLIC, PRIVATE_DIR}:
                continue
            target = private / source.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            shutil.move(str(source), str(target))


setup(cmdclass={"build_py": BuildPyPrivate})
