"""Pairing as Kayenta pairs: the cases of spinnaker/kayenta@a69573be
kayenta-core/src/test/groovy/com/netflix/kayenta/metrics/MetricSetMixerServiceSpec.groovy, restated as data."""

from __future__ import annotations

import math
from typing import Any

import pytest

from canary.mixer import MixError, mix_all, mix_one


def ms(name: str | None, values: list[float] | None = None, **tags: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "tags": dict(tags),
        "values": values or [],
        "attributes": {"attributeName": "attributeValue"},
    }
    return {**doc, "name": name} if name is not None else doc


CONTROL_CPU = ms("cpu", [1, 3, 5, 7], tagName="tagValue")
EXPERIMENT_CPU = ms("cpu", [2, 4, 6, 8], tagName="tagValue")
EXPERIMENT_REQUESTS = ms("requests")
EXPERIMENT_CPU_WRONG_TAGS = ms("cpu", differentTagName="differentTagValue")
CONTROL_NULL_NAME = ms(None, [1, 3, 5, 7], tagName="tagValue")
CONTROL_EMPTY_NAME = ms("", [1, 3, 5, 7], tagName="tagValue")
EXPERIMENT_CPU_EMPTY = ms("cpu", [], tagName="tagValue")
CONTROL_ERRORS = ms("errors", [10, 20, 30], tagNameA="tagValueA", tagNameB="tagValueB")
EXPERIMENT_ERRORS = ms("errors", [60, 70, 80], tagNameA="tagValueA", tagNameB="tagValueB")
EXPERIMENT_ERRORS_NO_TAGS = ms("errors", [70, 80, 90])
CPU_TAGS, ERRORS_TAGS = {"tagName": "tagValue"}, {"tagNameA": "tagValueA", "tagNameB": "tagValueB"}


@pytest.mark.parametrize(
    ("control", "experiment", "message"),
    [
        (CONTROL_CPU, EXPERIMENT_REQUESTS, "does not match experiment metric set name"),
        (CONTROL_CPU, EXPERIMENT_CPU_WRONG_TAGS, "do not match experiment metric set tags"),
        (CONTROL_NULL_NAME, EXPERIMENT_CPU, "Control metric set name was not set."),
        (CONTROL_EMPTY_NAME, EXPERIMENT_CPU, "Control metric set name was not set."),
        (EXPERIMENT_CPU, CONTROL_EMPTY_NAME, "Experiment metric set name was not set."),
    ],
)
def test_mixing_fails(control: Any, experiment: Any, message: str) -> None:
    with pytest.raises(MixError, match=message.replace(".", r"\.")):
        mix_one(control, experiment)


def test_mixing_succeeds_when_names_tags_and_values_match() -> None:
    pair = mix_one(CONTROL_CPU, EXPERIMENT_CPU)
    assert pair["name"] == "cpu" and pair["tags"] == CPU_TAGS and pair["id"]
    assert pair["values"] == {"control": [1, 3, 5, 7], "experiment": [2, 4, 6, 8]}
    assert pair["attributes"] == {"control": {"attributeName": "attributeValue"},
                                  "experiment": {"attributeName": "attributeValue"}}  # fmt: skip


def test_sets_without_data_are_back_filled_with_nans() -> None:
    timed = {**EXPERIMENT_CPU_EMPTY, "startTimeMillis": 0, "endTimeMillis": 60000 * 4, "stepMillis": 60000}
    pair = mix_one(timed, timed)
    assert len(pair["values"]["control"]) == len(pair["values"]["experiment"]) == 4
    assert all(math.isnan(v) for v in pair["values"]["control"] + pair["values"]["experiment"])


@pytest.mark.parametrize(
    ("names", "control", "experiment", "expected"),
    [
        (["cpu"], [CONTROL_CPU], [EXPERIMENT_CPU_EMPTY], [("cpu", CPU_TAGS, [1, 3, 5, 7], [])]),
        (["errors"], [CONTROL_ERRORS], [EXPERIMENT_ERRORS], [("errors", ERRORS_TAGS, [10, 20, 30], [60, 70, 80])]),
        (["errors"], [CONTROL_ERRORS], [EXPERIMENT_ERRORS_NO_TAGS], [("errors", ERRORS_TAGS, [10, 20, 30], [])]),
        (["errors"], [EXPERIMENT_ERRORS_NO_TAGS], [CONTROL_ERRORS], [("errors", ERRORS_TAGS, [], [10, 20, 30])]),
        (
            ["cpu", "errors"],
            [CONTROL_CPU, CONTROL_ERRORS],
            [EXPERIMENT_CPU_EMPTY, EXPERIMENT_ERRORS],
            [("cpu", CPU_TAGS, [1, 3, 5, 7], []), ("errors", ERRORS_TAGS, [10, 20, 30], [60, 70, 80])],
        ),
        (
            ["cpu", "errors"],
            [CONTROL_ERRORS, CONTROL_CPU],
            [EXPERIMENT_CPU_EMPTY, EXPERIMENT_ERRORS],
            [("cpu", CPU_TAGS, [1, 3, 5, 7], []), ("errors", ERRORS_TAGS, [10, 20, 30], [60, 70, 80])],
        ),
        (
            ["cpu", "errors"],
            [CONTROL_CPU, CONTROL_ERRORS],
            [EXPERIMENT_ERRORS, EXPERIMENT_CPU],
            [("cpu", CPU_TAGS, [1, 3, 5, 7], [2, 4, 6, 8]), ("errors", ERRORS_TAGS, [10, 20, 30], [60, 70, 80])],
        ),
    ],
)
def test_lists_of_metric_sets_are_paired(names: list[str], control: Any, experiment: Any, expected: Any) -> None:
    pairs = mix_all([{"name": n} for n in names], control, experiment)
    got = [(p["name"], p["tags"], p["values"]["control"], p["values"]["experiment"]) for p in pairs]
    assert got == expected


def test_missing_sides_and_different_tag_keys() -> None:
    with pytest.raises(MixError, match="No control metrics found for cpu"):
        mix_all([{"name": "cpu"}], [], [EXPERIMENT_CPU])
    with pytest.raises(MixError, match="No experiment metrics found for cpu"):
        mix_all([{"name": "cpu"}], [CONTROL_CPU], [])
    with pytest.raises(MixError, match="different tag keys"):
        mix_all([{"name": "cpu"}], [CONTROL_CPU], [EXPERIMENT_CPU_WRONG_TAGS])
