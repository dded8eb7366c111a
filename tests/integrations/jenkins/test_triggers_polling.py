"""Igor's build monitor as tables: the job tree flattened, and per job which finished builds a poll posts
and where the cursor goes (``integrations/jenkins/polling.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.jenkins.polling import Cursor, JobDelta, delta_with_builds, delta_without_builds, flatten_jobs


def b(number: int, result: str | None = "SUCCESS", building: bool = False) -> dict[str, Any]:
    return {"number": number, "result": None if building else result, "building": building}


def test_flatten_jobs_walks_folders_and_names_them_as_igor_does() -> None:
    tree = [
        {"name": "plain", "lastBuild": {"number": 3}},
        {"name": "never-built", "lastBuild": None},
        {
            "name": "team",
            "jobs": [
                {"name": "app", "lastBuild": {"number": 7}},
                {"name": "nested", "jobs": [{"name": "deep", "lastBuild": {"number": 1}}]},
                {"name": "empty-folder", "jobs": []},
            ],
        },
        {"no": "name"},
        "junk",
    ]
    assert flatten_jobs(tree) == [
        ("plain", {"number": 3}),
        ("never-built", None),
        ("team/job/app", {"number": 7}),
        ("team/job/nested/job/deep", {"number": 1}),
    ]


# last build, cursor, handle_first_builds → the delta (None: the builds must be read)
WITHOUT_BUILDS = [
    pytest.param(None, None, False, JobDelta("j"), id="no-builds-yet"),
    pytest.param({"number": 5}, None, False, JobDelta("j", cursor=Cursor(5)), id="first-sight-records-the-cursor"),
    pytest.param({"number": 5}, None, True, None, id="first-sight-with-handle-first-builds-reads-them"),
    pytest.param({"number": 5}, Cursor(5), False, JobDelta("j"), id="up-to-date"),
    pytest.param({"number": 5}, Cursor(5, frozenset({7})), False, JobDelta("j"), id="up-to-date-ignores-markers"),
    pytest.param({"number": 2}, Cursor(9), False, JobDelta("j", cursor=Cursor(2)), id="job-recreated-starts-over"),
    pytest.param({"number": 6}, Cursor(5), False, None, id="newer-builds-are-read"),
    pytest.param({"number": "6"}, Cursor(5), False, JobDelta("j"), id="a-number-that-is-no-number"),
]


@pytest.mark.parametrize(("last", "cursor", "first", "expected"), WITHOUT_BUILDS)
def test_delta_without_builds(last: Any, cursor: Cursor | None, first: bool, expected: JobDelta | None) -> None:
    assert delta_without_builds("j", last, cursor, handle_first_builds=first) == expected


# newest, cursor, the job's builds → posted numbers, the cursor after (None: unchanged)
WITH_BUILDS = [
    pytest.param(7, Cursor(5), [b(7), b(6, "FAILURE"), b(5), b(4)], [6, 7], Cursor(7), id="two-new-finished"),
    pytest.param(
        8, Cursor(5), [b(8), b(7, building=True), b(6)], [6, 8], Cursor(6, frozenset({8})), id="cursor-waits-at-running"
    ),
    pytest.param(
        8, Cursor(6, frozenset({8})), [b(8), b(7, building=True), b(6)], [], None, id="running-still-nothing-again"
    ),
    pytest.param(8, Cursor(6, frozenset({8})), [b(8), b(7, "ABORTED"), b(6)], [7], Cursor(8), id="running-finished"),
    pytest.param(9, Cursor(5), [b(9), b(8)], [8, 9], Cursor(9), id="builds-missing-from-the-list"),
    pytest.param(6, Cursor(5), [b(7), b(6)], [6], Cursor(6), id="builds-above-the-listed-last-wait"),
    pytest.param(3, None, [b(3), b(2, "UNSTABLE"), b(1)], [1, 2, 3], Cursor(3), id="handle-first-builds"),
    pytest.param(
        6, Cursor(5), [{"number": 6, "building": False, "result": None}], [], None, id="done-without-result-waits"
    ),
    pytest.param(6, Cursor(5), [b(6, building=True)], [], None, id="only-running"),
]


@pytest.mark.parametrize(("newest", "cursor", "listed", "posted", "after"), WITH_BUILDS)
def test_delta_with_builds(
    newest: int, cursor: Cursor | None, listed: list[Any], posted: list[int], after: Cursor | None
) -> None:
    delta = delta_with_builds("j", newest, cursor, [*listed, "junk", {"number": True}])
    assert [f["number"] for f in delta.finished] == posted
    assert delta.cursor == after


def test_cursor_json_round_trip() -> None:
    cursor = Cursor(4, frozenset({9, 6}))
    assert cursor.to_json() == {"lastBuild": 4, "posted": [6, 9]}
    assert Cursor.from_json(cursor.to_json()) == cursor
    assert Cursor.from_json(None) is None


def test_polling_settings_defaults_and_refusals() -> None:
    from pydantic import ValidationError

    from core.settings.jenkins import JenkinsSettings

    polling = JenkinsSettings().polling
    assert (polling.enabled, polling.interval_s, polling.handle_first_builds) == (True, 60.0, False)
    assert (
        JenkinsSettings.model_validate({"polling": {"intervalS": 30, "handleFirstBuilds": True}}).polling.interval_s
        == 30
    )
    with pytest.raises(ValidationError, match="polling.interval_s"):
        JenkinsSettings.model_validate({"polling": {"interval_s": 1}})
    with pytest.raises(ValidationError, match="polling.lookback"):
        JenkinsSettings.model_validate({"polling": {"lookback": 1}})
