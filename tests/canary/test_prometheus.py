"""PromQL built as Kayenta builds it (table restated from spinnaker/kayenta@a69573be
kayenta-prometheus/src/test/groovy/com/netflix/kayenta/prometheus/metrics/PrometheusMetricsServiceSpec.groovy),
fetched from a real Prometheus, paired as Kayenta's mixer pairs, with our warnings."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from canary import mixer
from canary import prometheus as prom
from canary.prometheus import PrometheusError, QueryError
from canary.templates import FilterTemplateError
from tests.canary.prometheus_server import END_ISO, START_ISO, Prometheus

TEMPLATES = {"someTemplate": "some-label=${scope}", "anotherTemplate": "my-server-group=${scope}"}
PROMQL_FIXED = 'PromQL:histogram_quantile(0.5, prometheus_http_response_size_bytes_bucket{instance="localhost:9090",handler="/graph"})'  # noqa: E501
PROMQL_SCOPE = 'PromQL:histogram_quantile(0.5, prometheus_http_response_size_bytes_bucket{instance="localhost:9090",handler="${scope}"})'  # noqa: E501
PROMQL_BOTH = 'PromQL:histogram_quantile(${quantile}, prometheus_http_response_size_bytes_bucket{instance="localhost:9090",handler="${scope}"})'  # noqa: E501
HQ = 'histogram_quantile({q}, prometheus_http_response_size_bytes_bucket{{instance="localhost:9090",handler="/graph"}})'
GCE = 'avg(some-metric-name{a=b,instance=~"some-server-group-.{4}",zone=~".+/zones/us-central1-.{1}"})'
EC2 = 'avg(some-metric-name{a=b,asg_groupName="some-server-group",zone=~"us-central1.{1}"})'
CUSTOM = "avg(some-metric-name{customFilter=something,andSomething=else,a=b})"
INLINE = "customFilter=something,andSomething=else"

# labelBindings, customFilterTemplate, customInlineTemplate, resourceType, scope, extendedScopeParams, expected
SPEC = [
    (["a=b"], None, None, "gce_instance", "some-server-group", None, GCE),
    (["a=b"], None, "", "gce_instance", "some-server-group", None, GCE),
    (["a=b"], None, None, "aws_ec2_instance", "some-server-group", None, EC2),
    (["a=b"], None, "", "aws_ec2_instance", "some-server-group", None, EC2),
    (
        ["a=b"],
        "someTemplate",
        None,
        "gce_instance",
        "some-app-canary",
        None,
        "avg(some-metric-name{some-label=some-app-canary,a=b})",
    ),  # noqa: E501
    (["a=b"], "someTemplate", INLINE, "gce_instance", None, None, CUSTOM),
    (["a=b"], None, INLINE, "gce_instance", None, None, CUSTOM),
    (["a=b"], None, INLINE, "aws_ec2_instance", None, None, CUSTOM),
    (["a=b"], None, INLINE, "anything_else", None, None, CUSTOM),
    (
        ["a=b"],
        "anotherTemplate",
        None,
        None,
        "some-baseline",
        None,
        "avg(some-metric-name{my-server-group=some-baseline,a=b})",
    ),  # noqa: E501
    (
        ["a=b"],
        "anotherTemplate",
        None,
        "",
        "some-canary",
        None,
        "avg(some-metric-name{my-server-group=some-canary,a=b})",
    ),  # noqa: E501
    (None, None, PROMQL_FIXED, None, None, None, HQ.format(q="0.5")),
    (None, None, PROMQL_SCOPE, None, "/graph", None, HQ.format(q="0.5")),
    (None, None, PROMQL_BOTH, None, "/graph", {"quantile": "0.99"}, HQ.format(q="0.99")),
]


@pytest.mark.parametrize(("bindings", "template", "inline", "resource", "scope", "extended", "expected"), SPEC)
def test_kayenta_query_spec(
    bindings: Any, template: Any, inline: Any, resource: Any, scope: Any, extended: Any, expected: str
) -> None:
    query = {"type": "prometheus", "metricName": "some-metric-name", "labelBindings": bindings,
             "customFilterTemplate": template, "customInlineTemplate": inline, "resourceType": resource}  # fmt: skip
    metric = {"name": "m", "query": query}
    config = {"templates": TEMPLATES, "metrics": [metric]}
    side = {"scope": scope, "location": "us-central1", "extendedScopeParams": extended}
    assert prom.build_query(config, metric, side, "instance") == expected


def test_group_by_and_extended_params_win() -> None:
    query = {"metricName": "http_requests_total", "labelBindings": ['job="api"'], "groupByFields": ["pod", "code"],
             "customInlineTemplate": 'pod=~"${scope}.*", namespace="${location}"'}  # fmt: skip
    metric = {"name": "m", "query": query}
    side = {"scope": "api-canary", "location": "prod", "extendedScopeParams": {"location": "staging"}}
    assert prom.build_query({}, metric, side) == (
        'avg(http_requests_total{pod=~"api-canary.*", namespace="staging",job="api"}) by (pod,code)'
    )


@pytest.mark.parametrize(
    ("query", "scope", "error", "message"),
    [
        ({"metricName": "m"}, {"scope": "s"}, QueryError, "Either a resource type or a custom filter is required."),
        (
            {"metricName": "m", "resourceType": "k8s"},
            {"scope": "s"},
            QueryError,
            "no explicit support for resourceType 'k8s'",
        ),  # noqa: E501
        ({"metricName": "m", "resourceType": "gce_instance"}, {"scope": "s"}, QueryError, "Location"),
        ({"customInlineTemplate": "a=${scope}"}, {"scope": "s"}, QueryError, "Metric Name is required"),
        ({"metricName": "m", "customInlineTemplate": "a=${nope}"}, {"scope": "s"}, FilterTemplateError, "'nope'"),
        (
            {"metricName": "m", "customFilterTemplate": "t"},
            {"scope": "s"},
            FilterTemplateError,
            "no templates were defined",
        ),
        ({"metricName": "m", "customFilter": "x"}, {"scope": "s"}, FilterTemplateError, "customFilter is deprecated"),
    ],
)
def test_query_errors_name_the_problem(query: Any, scope: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        prom.build_query({}, {"name": "m", "query": query}, scope)


def test_templates_unescape_and_defaults() -> None:
    metric = {"name": "m", "query": {"metricName": "m", "customInlineTemplate": "a=$\\{scope},b=${x:-d},c=$${y}"}}
    assert prom.build_query({}, metric, {"scope": "s"}) == "avg(m{a=s,b=d,c=${y}})"


# ---- against a real Prometheus --------------------------------------------------------------------------------
def _account(server: Prometheus) -> dict[str, Any]:
    return {"name": "prom", "base_url": server.url}


def _scope(scope: str) -> dict[str, Any]:
    return {"scope": scope, "location": "", "start": START_ISO, "end": END_ISO, "step": 10}


def _fetch(server: Prometheus, metric: dict[str, Any], scope: str) -> list[dict[str, Any]]:
    query = prom.build_query({}, metric, _scope(scope))
    body = prom.query_range(_account(server), query, _scope(scope))
    return prom.to_metric_sets(body, metric["name"], query, _scope(scope))


ERRORS: dict[str, Any] = {"name": "errors", "query": {"metricName": "shop_error_rate", "labelBindings": ['app="shop"'],
                                     "customInlineTemplate": 'build="${scope}"'}}  # fmt: skip


def test_fetch_and_pair_one_series_per_side(prometheus: Prometheus) -> None:
    control, experiment = _fetch(prometheus, ERRORS, "baseline"), _fetch(prometheus, ERRORS, "canary-good")
    assert len(control) == 1 and control[0]["tags"] == {}
    assert len(control[0]["values"]) == 361 and control[0]["stepMillis"] == 10_000
    assert control[0]["startTimeIso"] == START_ISO
    assert control[0]["attributes"] == {"query": 'avg(shop_error_rate{build="baseline",app="shop"})'}
    pairs = mixer.mix_all([ERRORS], control, experiment)
    assert len(pairs) == 1 and pairs[0]["name"] == "errors"
    assert pairs[0]["values"]["control"] == control[0]["values"]
    assert pairs[0]["scopes"]["experiment"]["stepMillis"] == 10_000
    assert mixer.warnings({"metrics": [ERRORS]}, pairs) == []


def test_empty_answer_is_a_placeholder_of_nans(prometheus: Prometheus) -> None:
    control, experiment = _fetch(prometheus, ERRORS, "no-such-build"), _fetch(prometheus, ERRORS, "baseline")
    assert control[0]["values"] == [] and control[0]["tags"] == {}
    pair = mixer.mix_all([ERRORS], control, experiment)[0]
    assert len(pair["values"]["control"]) == 360 and all(math.isnan(v) for v in pair["values"]["control"])


def test_labels_that_never_pair_are_judged_against_nans_and_warned(prometheus: Prometheus) -> None:
    latency = {"name": "latency", "query": {"metricName": "shop_latency_seconds", "groupByFields": ["pod"],
                                           "customInlineTemplate": 'build="${scope}"'}}  # fmt: skip
    pairs = mixer.mix_all(
        [latency], _fetch(prometheus, latency, "baseline"), _fetch(prometheus, latency, "canary-good")
    )
    assert sorted(p["tags"]["pod"] for p in pairs) == ["baseline-a1", "canary-b2"]
    kinds = [w["kind"] for w in mixer.warnings({"metrics": [latency]}, pairs)]
    assert kinds == ["unpaired", "unpaired"]


def test_promql_without_scope_and_few_points_are_warned(prometheus: Prometheus) -> None:
    fixed = {"name": "fixed", "query": {"customInlineTemplate": 'PromQL:avg(shop_error_rate{build="baseline"})'}}
    short = {**_scope("baseline"), "end": "2025-01-01T00:05:00Z"}
    query = prom.build_query({}, fixed, short)
    sets = prom.to_metric_sets(prom.query_range(_account(prometheus), query, short), "fixed", query, short)
    pairs = mixer.mix_all([fixed], sets, sets)
    warnings = mixer.warnings({"metrics": [fixed]}, pairs)
    assert [w["kind"] for w in warnings] == ["queryWithoutScope", "fewPoints"]
    assert "31 control and 31 experiment data points" in warnings[1]["message"]


def test_tag_keys_must_agree() -> None:
    base = {"name": "m", "values": [1.0], "startTimeMillis": 0, "endTimeMillis": 1000, "stepMillis": 1000}
    with pytest.raises(mixer.MixError, match="different tag keys"):
        mixer.mix_all([{"name": "m"}], [{**base, "tags": {"a": "1"}}], [{**base, "tags": {"b": "1"}}])


def test_prometheus_errors_are_reported(prometheus: Prometheus) -> None:
    with pytest.raises(PrometheusError, match="HTTP 400") as bad:
        prom.query_range(_account(prometheus), "avg(", _scope("baseline"))
    assert bad.value.retryable is False
    with pytest.raises(PrometheusError, match="larger than 100 bytes"):
        prom.query_range({**_account(prometheus), "max_response_bytes": 100}, "shop_error_rate", _scope("x"))
    closed = httpx.URL(prometheus.url).copy_with(port=1)
    with pytest.raises(PrometheusError) as down:
        prom.query_range({"base_url": str(closed)}, "up", _scope("x"))
    assert down.value.retryable is True
    assert prom.metric_names(_account(prometheus), "latency") == [{"name": "shop_latency_seconds"}]


# ---- QueryConfigUtilsTest (spinnaker/kayenta@a69573be kayenta-core/src/test/groovy/.../QueryConfigUtilsTest.java) --
def test_query_config_utils_cases() -> None:
    from canary.templates import custom_filter

    scope = {"extendedScopeParams": {"p1": "v1", "p2": "v2"}}
    assert custom_filter({}, {}, {}) is None
    named = {"templates": {"test-template": "test template ${p1} ${p2} $\\{p1} $\\{p2}"}}
    assert custom_filter(named, {"customFilterTemplate": "test-template"}, scope) == "test template v1 v2 v1 v2"
    inline = {"customInlineTemplate": "test template ${p1} ${p2} $\\{p1} $\\{p2}"}
    assert custom_filter({}, inline, scope) == "test template v1 v2 v1 v2"
    with pytest.raises(FilterTemplateError) as missing:
        custom_filter({}, {"customInlineTemplate": "test template ${unknown-param} ${p2}"}, scope)
    assert str(missing.value).startswith(
        "Problem evaluating custom filter template: test template ${unknown-param} ${p2}"
    )
