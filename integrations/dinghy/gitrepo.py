"""A source's git repository, read through the ``git`` program (argument lists, never a shell).

Each repository is kept as a bare clone under the cache directory and refreshed with ``git fetch``; files are
read from commits (``git show sha:path``), so what is rendered is exactly what was pushed, whatever the branch
has moved to since. Any URL git can clone works, local paths and ``file://`` included.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.errors import IntegrationError

TIMEOUT_S = 120
ZERO_SHA = re.compile(r"^0+$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")


def redact(text: str) -> str:
    """URLs with their user and password (``https://user:token@host``) shown as ``https://***@host``."""
    return _CREDENTIALS.sub(r"\1***@", text)


class GitError(IntegrationError):
    """A git command that failed; the message has git's own words (never credentials: URLs are not echoed)."""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
    return env


def _run(args: list[str], cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(  # noqa: S603 - an argument list, no shell
            ["git", *args], cwd=cwd, env=_env(), capture_output=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {TIMEOUT_S}s") from None
    except FileNotFoundError:
        raise GitError("the git program is not installed") from None
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(redact(f"git {args[0]} failed: {message[-1] if message else done.returncode}"))
    return done


@dataclass
class Change:
    status: str  # A, M, D
    path: str


class Repo:
    """A bare clone of ``url`` in ``cache_dir``; ``sync()`` fetches every branch."""

    def __init__(self, url: str, cache_dir: str | Path) -> None:
        self.url = url
        key = hashlib.sha256(url.encode()).hexdigest()[:24]
        self.path = Path(cache_dir).expanduser() / key

    def sync(self) -> None:
        if not (self.path / "HEAD").exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _run(["clone", "--bare", "--quiet", "--", self.url, str(self.path)])
        _run(["fetch", "--quiet", "--prune", "--force", "--", self.url, "+refs/heads/*:refs/heads/*"], cwd=self.path)

    def head(self, branch: str) -> str | None:
        done = _run(["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"], cwd=self.path, check=False)
        return done.stdout.decode().strip() or None if done.returncode == 0 else None

    def has_commit(self, sha: str) -> bool:
        if not _SHA.match(sha or ""):
            return False
        return _run(["cat-file", "-e", f"{sha}^{{commit}}"], cwd=self.path, check=False).returncode == 0

    def read(self, sha: str, path: str) -> str | None:
        """The file's text at ``sha``, or None when it is not there."""
        clean = path.strip().lstrip("/")
        if not clean or ".." in clean.split("/"):
            return None
        done = _run(["show", f"{sha}:{clean}"], cwd=self.path, check=False)
        if done.returncode != 0:
            return None
        return done.stdout.decode("utf-8", "replace")

    def files(self, sha: str) -> list[str]:
        done = _run(["ls-tree", "-r", "--name-only", "-z", sha], cwd=self.path)
        return [p for p in done.stdout.decode("utf-8", "replace").split("\0") if p]

    def changes(self, before: str | None, after: str) -> list[Change] | None:
        """Files added, modified or deleted between two commits; None when ``before`` is unknown (a new branch)."""
        if not before or ZERO_SHA.match(before) or not self.has_commit(before):
            return None
        done = _run(["diff", "--name-status", "--no-renames", "-z", before, after], cwd=self.path)
        parts = [p for p in done.stdout.decode("utf-8", "replace").split("\0") if p]
        return [Change(parts[i][0], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
