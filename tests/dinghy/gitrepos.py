"""Real git repositories in temporary directories, driven with the git program (argument lists)."""

from __future__ import annotations

import subprocess
from pathlib import Path


class GitRepo:
    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)
        self.git("config", "user.email", "dev@example.org")
        self.git("config", "user.name", "Dev")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Write (or, for None, delete) files and commit them; returns the new commit's sha."""
        for name, text in files.items():
            target = self.path / name
            if text is None:
                self.git("rm", "-q", "--", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            self.git("add", "--", name)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def checkout(self, branch: str, create: bool = False) -> None:
        self.git("checkout", "-q", *(["-b"] if create else []), branch)


def github_push(project: str, slug: str, branch: str, before: str, after: str, pusher: str = "ann",
                changed: list[str] | None = None) -> dict[str, object]:  # fmt: skip
    """A GitHub ``push`` webhook body (the fields Echo and Dinghy read)."""
    return {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": after,
        "repository": {"name": slug, "full_name": f"{project}/{slug}", "owner": {"name": project, "login": project}},
        "pusher": {"name": pusher},
        "commits": [{"id": after, "added": [], "modified": changed or [], "removed": []}],
    }
