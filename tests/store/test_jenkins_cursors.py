"""The Jenkins build monitor's cursors (``jenkins_build_cursors``) on every backend."""

from __future__ import annotations

import pytest

from core.store import Store, ValidationError


def test_cursors_are_saved_replaced_and_forgotten_per_master(store: Store) -> None:
    assert store.jenkins_cursors.get("ci") == {}
    store.jenkins_cursors.save("ci", {"build": {"lastBuild": 3, "posted": [5]}, "team/job/app": {"lastBuild": 1}})
    store.jenkins_cursors.save("other", {"build": {"lastBuild": 9, "posted": []}})
    store.jenkins_cursors.save("ci", {"build": {"lastBuild": 5, "posted": [7, 6, 7]}})
    assert store.jenkins_cursors.get("ci") == {
        "build": {"lastBuild": 5, "posted": [6, 7]},
        "team/job/app": {"lastBuild": 1, "posted": []},
    }
    assert store.jenkins_cursors.delete("ci") == 2
    assert store.jenkins_cursors.get("ci") == {}
    assert store.jenkins_cursors.get("other") == {"build": {"lastBuild": 9, "posted": []}}


def test_a_cursor_without_a_number_is_refused(store: Store) -> None:
    with pytest.raises(ValidationError, match="lastBuild"):
        store.jenkins_cursors.save("ci", {"build": {"lastBuild": "x"}})
    assert store.jenkins_cursors.get("ci") == {}
