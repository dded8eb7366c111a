"""Pairing control and experiment MetricSets into MetricSetPairs, as Kayenta's ``MetricSetMixerService`` pairs
them, plus the warnings Kayenta never gives (series that never pair, too few points, queries that cannot tell
control from experiment)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import CanaryError

from .templates import raw_template

MIN_POINTS = 50  # Orca's "< 50 data points" warning, per pair here

Json = dict[str, Any]


class MixError(CanaryError, ValueError):
    """Kayenta's IllegalArgumentException from the mixer: the run fails with it."""


def _expected(metric_set: Mapping[str, Any]) -> int:
    step = metric_set.get("stepMillis") or 0
    return 0 if not step else (int(metric_set["endTimeMillis"]) - int(metric_set["startTimeMillis"])) // int(step)


def _padded(metric_set: Mapping[str, Any]) -> list[float]:
    values = list(metric_set.get("values") or [])
    return values + [math.nan] * max(0, _expected(metric_set) - len(values))


def _template(like: Mapping[str, Any], tags: Mapping[str, str]) -> Json:
    return {**like, "tags": dict(tags), "values": [math.nan] * _expected(like), "placeholder": True}


def _scope(metric_set: Mapping[str, Any]) -> Json:
    return {
        "startTimeIso": metric_set.get("startTimeIso"),
        "startTimeMillis": metric_set.get("startTimeMillis"),
        "stepMillis": metric_set.get("stepMillis"),
    }


def mix_one(control: Mapping[str, Any], experiment: Mapping[str, Any]) -> Json:
    """One pair: names and tags must agree; both sides padded with NaN to their expected number of points."""
    if not control.get("name"):
        raise MixError("Control metric set name was not set.")
    if not experiment.get("name"):
        raise MixError("Experiment metric set name was not set.")
    if control["name"] != experiment["name"]:
        raise MixError(f"Control metric set name '{control['name']}' does not match experiment metric set name "
                       f"'{experiment['name']}'.")  # fmt: skip
    if (control.get("tags") or {}) != (experiment.get("tags") or {}):
        raise MixError(f"Control metric set tags {control.get('tags')} do not match experiment metric set tags "
                       f"{experiment.get('tags')}.")  # fmt: skip
    return {
        "name": control["name"],
        "id": str(uuid.uuid4()),
        "tags": dict(control.get("tags") or {}),
        "values": {"control": _padded(control), "experiment": _padded(experiment)},
        "scopes": {"control": _scope(control), "experiment": _scope(experiment)},
        "attributes": {
            "control": dict(control.get("attributes") or {}),
            "experiment": dict(experiment.get("attributes") or {}),
        },  # fmt: skip
    }


def _key(tags: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(tags.items()))


def mix_metric(control: Sequence[Mapping[str, Any]], experiment: Sequence[Mapping[str, Any]]) -> list[Json]:
    """One metric's pairs: equal tag maps pair; a side with only an untagged set lends NaN templates to every
    tagged set of the other; otherwise the union of tag maps, missing partners as NaN templates."""
    control_empty = any(not s.get("tags") for s in control)
    experiment_empty = any(not s.get("tags") for s in experiment)
    if control_empty and not experiment_empty:
        return [mix_one(_template(control[0], s["tags"]), s) for s in experiment]
    if experiment_empty and not control_empty:
        return [mix_one(s, _template(experiment[0], s["tags"])) for s in control]
    keys: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
    for s in [*control, *experiment]:
        keys.setdefault(_key(s.get("tags") or {}), s.get("tags") or {})
    pairs = []
    for key, tags in keys.items():
        c = next((s for s in control if _key(s.get("tags") or {}) == key), None) or _template(control[0], tags)
        e = next((s for s in experiment if _key(s.get("tags") or {}) == key), None) or _template(experiment[0], tags)
        pairs.append(mix_one(c, e))
    return pairs


def mix_all(metrics: Sequence[Mapping[str, Any]], control: Sequence[Json], experiment: Sequence[Json]) -> list[Json]:
    """Every metric's pairs, in the config's order; tag keys must agree across sides."""
    pairs: list[Json] = []
    for metric in metrics:
        name = metric.get("name")
        c = [s for s in control if s.get("name") == name]
        e = [s for s in experiment if s.get("name") == name]
        if not c:
            raise MixError(f"No control metrics found for {name} and the metric service did not create a placeholder.")
        if not e:
            raise MixError(
                f"No experiment metrics found for {name} and the metric service did not create a placeholder."
            )
        c_keys = {k for s in c for k in (s.get("tags") or {})}
        e_keys = {k for s in e for k in (s.get("tags") or {})}
        if c_keys and e_keys and c_keys != e_keys:
            raise MixError(
                f"Control metrics have different tag keys than the experiment tag set ({sorted(c_keys)} != "
                f"{sorted(e_keys)})."
            )
        pairs.extend(mix_metric(c, e))
    return pairs


def _points(values: Sequence[float | None]) -> int:
    return sum(1 for v in values if v is not None and not math.isnan(v))


def warnings(config: Mapping[str, Any], pairs: Sequence[Mapping[str, Any]]) -> list[Json]:
    """What Kayenta never says and users need: ``{metric, tags, kind, message}``."""
    found: list[Json] = []
    for metric in config.get("metrics") or []:
        template = raw_template(config, metric.get("query") or {})
        if template and template.startswith("PromQL:") and "${scope}" not in template:
            found.append({
                "metric": metric.get("name"), "tags": {}, "kind": "queryWithoutScope",
                "message": f"{metric.get('name')}: the PromQL query has no ${{scope}}, so control and experiment "
                           "fetch the same series",
            })  # fmt: skip
    for pair in pairs:
        name, tags = pair.get("name"), pair.get("tags") or {}
        control, experiment = pair["values"]["control"], pair["values"]["experiment"]
        c, e = _points(control), _points(experiment)
        if tags and (c == 0) != (e == 0):
            side, other = ("control", "experiment") if c == 0 else ("experiment", "control")
            found.append({
                "metric": name, "tags": tags, "kind": "unpaired",
                "message": f"{name} {tags}: only the {other} has this label set; the {side} has none with the same "
                           "labels, so it is judged against no data (group by labels both sides share)",
            })  # fmt: skip
        elif min(c, e) < MIN_POINTS:
            found.append({
                "metric": name, "tags": tags, "kind": "fewPoints",
                "message": f"{name} {tags}: {c} control and {e} experiment data points; fewer than {MIN_POINTS} "
                           "make the judgement unreliable",
            })  # fmt: skip
    return found
