"""The git reader against real repositories: files at a commit (not the branch's later state), changes between
commits, new branches, and errors that never show credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.dinghy.gitrepo import GitError, Repo, redact
from tests.dinghy.gitrepos import GitRepo


def test_reads_commits_and_changes(tmp_path: Path) -> None:
    origin = GitRepo(tmp_path / "origin")
    c1 = origin.commit({"dinghyfile": "one", "a/dinghyfile": "a1"})
    c2 = origin.commit({"dinghyfile": "two", "a/dinghyfile": None, "b/mod": "m"})
    repo = Repo(f"file://{origin.path}", tmp_path / "cache")
    repo.sync()
    assert repo.head("main") == c2 and repo.head("nope") is None
    assert repo.read(c1, "dinghyfile") == "one" and repo.read(c2, "dinghyfile") == "two"
    assert repo.read(c2, "a/dinghyfile") is None and repo.read(c2, "../etc/passwd") is None
    assert sorted(repo.files(c1)) == ["a/dinghyfile", "dinghyfile"]
    changes = repo.changes(c1, c2)
    assert changes is not None
    assert sorted((c.status, c.path) for c in changes) == [("A", "b/mod"), ("D", "a/dinghyfile"), ("M", "dinghyfile")]
    assert repo.changes("0" * 40, c2) is None and repo.changes("", c2) is None
    c3 = origin.commit({"dinghyfile": "three"})
    repo.sync()  # a fetch brings the new commit; the old ones stay readable
    assert repo.head("main") == c3 and repo.read(c1, "dinghyfile") == "one"


def test_errors_hide_credentials(tmp_path: Path) -> None:
    assert redact("clone https://bob:t0k@example.org/x.git") == "clone https://***@example.org/x.git"
    with pytest.raises(GitError) as err:
        Repo(f"file://bob:t0k@{tmp_path}/missing", tmp_path / "cache").sync()
    assert "t0k" not in str(err.value) and "git clone failed" in str(err.value)
