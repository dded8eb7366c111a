"""MPTv2 rendering, table-tested with Orca's own cases restated as data.

Sources (spinnaker/orca @ the snapshot fetched for this work):
- INJECTION, REPLACE, CYCLE, DEDUPE: orca-pipelinetemplate/src/test/groovy/.../v2schema/graph/transform/
  V2ConfigStageInjectionTransformSpec.groovy (the same five-stage template, one case per ``when:`` block).
- CONFIG_VARIABLES: .../v1schema/graph/v2/transform/V2DefaultVariableAssignmentTransformTest.groovy (both tables).
- VARIABLE_ERRORS: the messages of V2DefaultVariableAssignmentTransform.java (missing, null, wrong type; ``int``
  lets a whole-number double through).
- INHERITANCE: V2SchemaExecutionGenerator.java (``exclude``, ``inherited: true``, mergeDistinct).
- TEMPLATE_ERRORS: SaveV2PipelineTemplateTask.validate and V2TemplateSchemaValidator (protect).
"""

from __future__ import annotations

from typing import Any

import pytest

from templates import Reference, TemplateError, digest, parse_reference, render, validate_template
from templates.graph import transform
from templates.render import configuration_variables, resolve_variables

# s1 <- s2 <- s4
#     \- s3 <- s5
FIVE = [
    {"refId": "s1", "type": "findImageFromTags"},
    {"refId": "s2", "type": "deploy", "requisiteStageRefIds": ["s1"]},
    {"refId": "s3", "type": "jenkins", "requisiteStageRefIds": ["s1"]},
    {"refId": "s4", "type": "wait", "requisiteStageRefIds": ["s2"]},
    {"refId": "s5", "type": "wait", "requisiteStageRefIds": ["s3"]},
]

# inject rule of a config stage 'injected' -> {refId: expected requisites} (only the stages Orca's spec checks)
INJECTION = [
    pytest.param({"first": True}, {"s1": {"injected"}}, id="first"),
    pytest.param({"last": True}, {"injected": {"s4", "s5"}}, id="last"),
    pytest.param(
        {"before": ["s2"]}, {"s1": set(), "s2": {"injected"}, "s3": {"s1"}, "injected": {"s1"}}, id="before-one"
    ),
    pytest.param(
        {"before": ["s2", "s3"]},
        {"s1": set(), "s2": {"injected"}, "s3": {"injected"}, "injected": {"s1"}},
        id="before-list",
    ),
    pytest.param({"after": ["s2"]}, {"s2": {"s1"}, "s4": {"injected"}, "injected": {"s2"}}, id="after-one"),
    pytest.param(
        {"after": ["s2", "s3"]},
        {"s2": {"s1"}, "s3": {"s1"}, "s4": {"injected"}, "injected": {"s2", "s3"}},
        id="after-list",
    ),
]


def requisites(stages: list[dict[str, Any]]) -> dict[str, set[str]]:
    return {s["refId"]: set(s["requisiteStageRefIds"]) for s in stages}


@pytest.mark.parametrize(("rule", "expected"), INJECTION)
def test_injection(rule: dict[str, Any], expected: dict[str, set[str]]) -> None:
    stages = transform(FIVE, [{"refId": "injected", "type": "manualJudgment", "inject": rule}])
    got = requisites(stages)
    assert {k: got[k] for k in expected} == expected
    assert len(stages) == 6


def test_the_template_is_not_changed_by_rendering() -> None:
    before = [dict(s) for s in FIVE]
    transform(FIVE, [{"refId": "injected", "type": "wait", "inject": {"first": True}}])
    assert before == FIVE


def test_replace_stage_by_ref_id() -> None:
    stages = transform(
        [{"refId": "s1", "type": "findImageFromTags"}, {"refId": "s2", "type": "deploy"}],
        [{"refId": "s1", "type": "findImageFromCluster"}],
    )
    assert [s["refId"] for s in stages] == ["s1", "s2"]
    assert stages[0]["type"] == "findImageFromCluster"


DAG = [
    ("s1", set()),
    ("s2", {"s1"}),
    ("s3", {"s1"}),
    ("s4", {"s2"}),
    ("s5", {"s3"}),
]


@pytest.mark.parametrize(("subject", "expected"), DAG)
def test_dag_from_requisites(subject: str, expected: set[str]) -> None:
    assert requisites(transform(FIVE, []))[subject] == expected


@pytest.mark.parametrize(
    ("template", "config", "message"),
    [
        pytest.param(
            [
                {"refId": "s2", "type": "deploy", "requisiteStageRefIds": ["s1"]},
                {"refId": "s1", "type": "wait", "requisiteStageRefIds": ["s2"]},
                {"refId": "s3", "type": "findImageFromTags"},
                {"refId": "s5", "type": "wait", "requisiteStageRefIds": ["s3"]},
            ],
            [],
            "Cycle detected in graph",
            id="cycle-in-template",
        ),
        pytest.param(
            FIVE,
            [{"refId": "injected", "type": "wait", "inject": {"before": ["s1", "s2"]}}],
            "Cycle detected in graph",
            id="injection-makes-a-cycle",
        ),
        pytest.param(
            FIVE,
            [{"refId": "injected", "type": "wait", "inject": {"after": ["nope"]}}],
            "could not inject 'injected' stage: unknown target stage id 'nope'",
            id="unknown-after-target",
        ),
        pytest.param(
            FIVE,
            [{"refId": "injected", "type": "wait", "inject": {"before": ["nope"]}}],
            "could not inject 'injected' stage: unknown target stage id 'nope'",
            id="unknown-before-target",
        ),
    ],
)
def test_graph_errors(template: list[dict[str, Any]], config: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        transform(template, config)


@pytest.mark.parametrize(
    "inject", [pytest.param({"first": True}, id="dedupe"), pytest.param({}, id="empty-inject-ignored")]
)
def test_template_stages_with_inject(inject: dict[str, Any]) -> None:
    stages = transform(
        [{"refId": "s2", "type": "deploy"}, {"refId": "s1", "inject": inject, "type": "findImageFromTags"}], []
    )
    assert sorted(s["refId"] for s in stages) == ["s1", "s2"]
    if inject:
        assert [s["refId"] for s in stages] == ["s1", "s2"]


def var(name: str, default: Any = None, **more: Any) -> dict[str, Any]:
    return {"name": name, **({"defaultValue": default} if default is not None else {}), **more}


CONFIG_VARIABLES = [
    ([var("wait")], {"wait": "OK"}, {"wait": "OK"}),
    ([], {"wait": "OK"}, {}),
    ([var("wait")], {"wait": "OK", "alsoWait": "NO"}, {"wait": "OK"}),
    ([var("wait")], {}, {}),
    ([var("wait", "DEFAULT")], {"wait": "OK"}, {"wait": "OK"}),
    ([var("wait", "DEFAULT")], {"alsoWait": "NO"}, {"wait": "DEFAULT"}),
]


@pytest.mark.parametrize(("declared", "given", "expected"), CONFIG_VARIABLES)
def test_configuration_variables(declared: list[Any], given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert configuration_variables(declared, given) == expected


VARIABLE_ERRORS = [
    ([var("a"), var("b")], {}, "Missing variable values for: a, b"),
    (
        [var("a", type="int")],
        {"a": None},
        "Incorrectly defined variable(s): variable 'a' supplied value is null but variable is not nullable\n",
    ),
    (
        [var("a", type="int")],
        {"a": "5"},
        "Incorrectly defined variable(s): a (expected type 'int' found type 'String')",
    ),
    (
        [var("a", type="int")],
        {"a": 5.5},
        "Incorrectly defined variable(s): a (expected type 'int' found type 'Double')",
    ),
    (
        [var("a", type="bool")],
        {"a": 1},
        "Incorrectly defined variable(s): a (expected type 'bool' found type 'Integer')",
    ),
    ([var("a", type="list")], {"a": {}}, "a (expected type 'list' found type 'LinkedHashMap')"),
    ([var("a", type="string")], {"a": []}, "a (expected type 'string' found type 'ArrayList')"),
    ([var("a", type="float")], {"a": 2}, "a (expected type 'float' found type 'Integer')"),
    (
        [var("a", type="int"), var("b", type="bool")],
        {"a": "x", "b": "y"},
        "a (expected type 'int' found type 'String'), b",
    ),
]


@pytest.mark.parametrize(("declared", "given", "message"), VARIABLE_ERRORS)
def test_variable_errors(declared: list[Any], given: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError) as err:
        resolve_variables(declared, given)
    assert message in err.value.message


VARIABLES_OK = [
    ([var("a", type="int")], {"a": 5}, {"a": 5}),
    ([var("a", type="int")], {"a": 5.0}, {"a": 5.0}),  # Echo loses numeric types: a whole double is an int
    ([var("a", type="INT")], {"a": 7}, {"a": 7}),
    ([var("a", type="float")], {"a": 1.5}, {"a": 1.5}),
    ([var("a", type="bool")], {"a": False}, {"a": False}),
    ([var("a", type="Integer")], {"a": 3}, {"a": 3}),  # an exact Java simple class name
    ([var("a", type="string", nullable=True)], {"a": None}, {"a": None}),
    ([var("a", type="string", nullable=True)], {}, {}),
    ([var("a")], {"a": {"any": ["thing"]}}, {"a": {"any": ["thing"]}}),  # type defaults to object
    ([var("a", "x", type="string")], {}, {"a": "x"}),
]


@pytest.mark.parametrize(("declared", "given", "expected"), VARIABLES_OK)
def test_variables_accepted(declared: list[Any], given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert resolve_variables(declared, given) == expected


TEMPLATE = {
    "schema": "v2",
    "id": "deploy-tpl",
    "metadata": {"name": "Deploy", "description": "d", "owner": "me", "scopes": ["global"]},
    "variables": [
        {"name": "waitTime", "type": "int", "defaultValue": 1},
        {"name": "region", "type": "string"},
    ],
    "pipeline": {
        "triggers": [{"type": "webhook", "source": "tpl", "enabled": True}],
        "parameterConfig": [{"name": "env", "default": "dev"}],
        "notifications": [{"type": "email", "address": "a@b.c", "when": ["pipeline.failed"]}],
        "expectedArtifacts": [{"id": "art", "matchArtifact": {"type": "docker/image"}}],
        "stages": [
            {"refId": "wait1", "type": "wait", "name": "Wait", "waitTime": "${ templateVariables.waitTime }"},
            {
                "refId": "wait2",
                "type": "wait",
                "requisiteStageRefIds": ["wait1"],
                "comments": "in ${templateVariables.region}",
            },
        ],
    },
}


def load(ref: Reference) -> dict[str, Any]:
    if ref.id != TEMPLATE["id"]:
        raise TemplateError(f"no pipeline template spinnaker://{ref.key}", "template.reference")
    return TEMPLATE


def config(**more: Any) -> dict[str, Any]:
    return {
        "schema": "v2",
        "type": "templatedPipeline",
        "application": "app",
        "name": "deploy",
        "id": "p-1",
        "template": {"artifactAccount": "front50ArtifactCredentials", "type": "front50/pipelineTemplate",
                     "reference": "spinnaker://deploy-tpl"},
        "variables": {"region": "eu-west-1", "undeclared": 1},
        **more,
    }  # fmt: skip


def test_render_generates_the_pipeline() -> None:
    out = render(config(), load)
    assert out["id"] == "p-1" and out["application"] == "app" and out["name"] == "deploy"
    assert out["templateVariables"] == {"region": "eu-west-1", "waitTime": 1}  # undeclared dropped, default filled
    assert out["stages"][0]["waitTime"] == 1  # a whole-string expression keeps its type
    assert out["stages"][1]["comments"] == "in eu-west-1"
    assert out["source"] == {"type": "templatedPipeline", "version": "v2"}
    assert out["expectedArtifacts"] == TEMPLATE["pipeline"]["expectedArtifacts"]  # rides in template.pipeline
    assert out["limitConcurrent"] is True and out["keepWaitingPipelines"] is False


INHERITANCE = [
    pytest.param({}, "triggers", [{"type": "webhook", "source": "tpl", "enabled": True, "inherited": True}], id="t"),
    pytest.param(
        {"triggers": [{"type": "webhook", "source": "own", "enabled": True}]},
        "triggers",
        [{"type": "webhook", "source": "tpl", "enabled": True, "inherited": True},
         {"type": "webhook", "source": "own", "enabled": True}],
        id="triggers-added",
    ),
    pytest.param(
        {"exclude": ["triggers"], "triggers": [{"type": "webhook", "source": "own", "enabled": True}]},
        "triggers",
        [{"type": "webhook", "source": "own", "enabled": True}],
        id="triggers-excluded",
    ),
    pytest.param({"exclude": ["triggers"]}, "triggers", [], id="triggers-excluded-none"),
    pytest.param(
        {"parameters": [{"name": "x"}]},
        "parameterConfig",
        [{"name": "env", "default": "dev", "inherited": True}, {"name": "x"}],
        id="parameters-added",
    ),
    pytest.param({"exclude": ["parameters"]}, "parameterConfig", [], id="parameters-excluded"),
    pytest.param(
        {"notifications": [{"type": "slack", "address": "c"}, {"type": "slack", "address": "c"}]},
        "notifications",
        [{"type": "email", "address": "a@b.c", "when": ["pipeline.failed"], "inherited": True},
         {"type": "slack", "address": "c"}],
        id="notifications-distinct",
    ),
    pytest.param({"exclude": ["notifications"]}, "notifications", [], id="notifications-excluded"),
]  # fmt: skip


@pytest.mark.parametrize(("more", "key", "expected"), INHERITANCE)
def test_inheritance(more: dict[str, Any], key: str, expected: list[Any]) -> None:
    assert render(config(**more), load)[key] == expected


def test_config_stages_replace_and_inject() -> None:
    out = render(
        config(
            stages=[
                {"refId": "wait1", "type": "wait", "waitTime": 3},
                {"refId": "judge", "type": "manualJudgment", "inject": {"after": ["wait1"]}},
                {"refId": "orphan", "type": "wait"},  # neither requisites nor inject: Orca drops it
            ]
        ),
        load,
    )
    assert [(s["refId"], s["requisiteStageRefIds"]) for s in out["stages"]] == [
        ("wait1", []),
        ("judge", ["wait1"]),
        ("wait2", ["judge"]),
    ]
    assert out["stages"][0]["waitTime"] == 3 and "inject" not in out["stages"][1]


def test_protect_refuses_config_stages() -> None:
    protected = {**TEMPLATE, "protect": True}
    with pytest.raises(TemplateError, match="Modification of the stage graph"):
        render(config(stages=[{"refId": "x", "type": "wait", "inject": {"first": True}}]), lambda _: protected)
    assert render(config(), lambda _: protected)["stages"]


def test_plan_fails_on_unresolved_template_variables() -> None:
    tpl = {
        **TEMPLATE,
        "pipeline": {"stages": [{"refId": "a", "type": "wait", "waitTime": "${templateVariables.nope}"}]},
    }
    with pytest.raises(TemplateError, match="Missing template variable values for the following variables"):
        render(config(), lambda _: tpl, plan=True)
    assert render(config(), lambda _: tpl)["stages"][0]["waitTime"] == "${templateVariables.nope}"


def test_unknown_template_names_the_reference() -> None:
    with pytest.raises(TemplateError) as err:
        render(config(template={"reference": "spinnaker://other"}), load)
    assert err.value.field == "template.reference"


REFERENCES = [
    ("spinnaker://t", Reference("t")),
    ("spinnaker://t:stable", Reference("t", tag="stable")),
    ("spinnaker://t@sha256:" + "ab" * 32, Reference("t", digest="ab" * 32)),
]


@pytest.mark.parametrize(("text", "expected"), REFERENCES)
def test_references(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize("text", ["t", "http://t", "spinnaker://", "spinnaker://t:", "spinnaker://t@sha256:zz", 5])
def test_bad_references(text: Any) -> None:
    with pytest.raises(TemplateError) as err:
        parse_reference(text)
    assert err.value.field == "template.reference"


TEMPLATE_ERRORS = [
    ({"id": "a.b"}, "Pipeline Template IDs cannot have dots", "id"),
    ({"metadata": {}}, "Missing required fields: metadata.name,metadata.description,metadata.scopes", "metadata.name"),
    ({"metadata": {"name": "n", "description": "d", "scopes": []}}, "Missing required fields: metadata.scopes", None),
    ({"schema": "v1"}, "Invalid schema version: v1", "schema"),
    ({"metadata": {"name": "bad!", "description": "d", "scopes": ["g"]}}, "Illegal template name: bad!", None),
    ({"variables": [{"name": "bad-name"}]}, "Illegal variable names: bad-name.", "variables"),
]


@pytest.mark.parametrize(("change", "message", "field"), TEMPLATE_ERRORS)
def test_template_errors(change: dict[str, Any], message: str, field: str | None) -> None:
    with pytest.raises(TemplateError) as err:
        validate_template({**TEMPLATE, **change})
    assert err.value.message.startswith(message)
    if field:
        assert err.value.field == field


def test_schema_defaults_to_v2() -> None:
    assert validate_template({k: v for k, v in TEMPLATE.items() if k != "schema"})["schema"] == "v2"


def test_digest_ignores_key_order_whitespace_and_bookkeeping() -> None:
    a = {"id": "t", "b": {"y": 1, "x": "a b"}, "lastModified": 1, "digest": "d"}
    b = {"b": {"x": "ab", "y": 1}, "id": "t", "lastModifiedBy": "me"}
    assert digest(a) == digest(b)
    assert digest(a) != digest({**a, "c": 1})
    assert len(digest(a)) == 64


def test_the_trigger_is_seen_with_template_variables() -> None:
    tpl = {
        **TEMPLATE,
        "pipeline": {**TEMPLATE["pipeline"], "description": "${trigger.source} to ${templateVariables.region}"},
    }
    out = render(config(), lambda _: tpl, trigger={"source": "hook"})
    assert out["description"] == "hook to eu-west-1"


def test_variable_declarations_are_rendered() -> None:
    """V2TemplateLoaderHandler: a default may use the application, the trigger and other variables."""
    tpl = {
        **TEMPLATE,
        "variables": [
            {"name": "region", "type": "string"},
            {"name": "cluster", "type": "string", "defaultValue": "${application}-${region}-${trigger.parameters.env}"},
        ],
    }
    out = render(config(), lambda _: tpl, trigger={"parameters": {"env": "prod"}})
    assert out["templateVariables"] == {"region": "eu-west-1", "cluster": "app-eu-west-1-prod"}


def test_the_reference_may_come_from_the_trigger() -> None:
    seen: list[Reference] = []

    def remember(ref: Reference) -> dict[str, Any]:
        seen.append(ref)
        return TEMPLATE

    render(config(template={"reference": "spinnaker://${trigger.parameters.tpl}:stable"}), remember,
           trigger={"parameters": {"tpl": "deploy-tpl"}})  # fmt: skip
    assert seen == [Reference("deploy-tpl", tag="stable")]


@pytest.mark.parametrize(
    ("given", "templated"),
    [
        ({"schema": "v2", "type": "templatedPipeline"}, True),  # Orca's isV2Pipeline
        ({"schema": "v2", "template": {"reference": "spinnaker://t"}}, True),  # spin's `use` prints no type
        ({"type": "templatedPipeline"}, False),
        ({"schema": "v1", "template": {"reference": "spinnaker://t"}}, False),
        ({"schema": "v2", "stages": []}, False),
    ],
)
def test_what_counts_as_templated(given: dict[str, Any], templated: bool) -> None:
    from templates import is_templated

    assert is_templated(given) is templated


@pytest.mark.parametrize(
    ("scopes", "given", "found"),
    [
        (["global"], ["GLOBAL"], True),  # Front50 ignores case
        (["team-.*"], ["team-a"], True),  # a template scope may be a Java regex, matched whole
        (["team-.*"], ["my-team-a"], False),
        (["(a"], ["(a"], True),  # an unusable pattern still matches itself by equality
        (["(a"], ["a"], False),
        ([], ["global"], False),
    ],
)
def test_scopes(scopes: list[str], given: list[str], found: bool) -> None:
    from templates.documents import in_scopes

    assert in_scopes({"metadata": {"scopes": scopes}}, given) is found
