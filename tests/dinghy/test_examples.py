"""The examples of armory/dinghy and Armory's Pipelines-as-Code docs, restated as data, render to the pipelines they
describe. Sources:

- DNG-EX: armory/dinghy ``example/dinghyfile`` (commit 1b6b84a6), ``example/wait.stage.module`` (5117c760),
  ``example/simple.pipeline.module`` (3b24d9a8). The stored module writes ``{{ module wait.stage.module }}``
  without quotes, which Go's parser refuses; restated with quotes.
- ADOCS: armory/docs ``content/en/plugins/pipelines-as-code/use.md`` (commit 809f5332): sections "Basic format",
  "Stage dependency graph" (its trailing comma, invalid JSON, dropped), "Template variables and substitution"
  (the ``// ...`` remarks are prose, dropped), "Newlines", "Top-level variables", "Nested variables",
  "Conditionals", "Iterating over a map" (with its stated result), "Triggering other pipelines with a stage".
"""

from __future__ import annotations

from typing import Any

from integrations.dinghy.render import Context, render
from integrations.dinghy.sync import check_document


def _render(text: str, modules: dict[str, str], **kw: Any) -> Any:
    return render("dinghyfile", text, Context(load_module=modules.get, load_local=lambda p: None, **kw)).document


WAIT_DNG = '{\n    "name": "Wait",\n    "refId": "1",\n    "requisiteStageRefIds": [],\n    "type": "wait",\n    "waitTime": 120\n}'  # noqa: E501
SIMPLE_DNG = (
    '{\n    "application": "dinghy",\n    "keepWaitingPipelines": false,\n    "limitConcurrent": true,\n'
    '    "name": "Simple",\n    "stages": [\n        {{ module "wait.stage.module" }}\n    ],\n    "triggers": []\n}'
)
DINGHYFILE_DNG = (
    '{\n  "application": "test-dinghy",\n  "pipelines": [\n    {\n      "application": "test-dinghy",\n'
    '      "keepWaitingPipelines": false,\n      "limitConcurrent": true,\n      "name": "test",\n'
    '      "stages": [\n        {{ module "wait.stage.module" }}\n      ],\n      "triggers": []\n    },\n'
    '    {{ module "simple.pipeline.module" }}\n  ]\n}\n'
)
WAIT_STAGE = {"name": "Wait", "refId": "1", "requisiteStageRefIds": [], "type": "wait", "waitTime": 120}


def test_dinghy_repository_example() -> None:
    doc = _render(DINGHYFILE_DNG, {"wait.stage.module": WAIT_DNG, "simple.pipeline.module": SIMPLE_DNG})
    common = {"keepWaitingPipelines": False, "limitConcurrent": True, "stages": [WAIT_STAGE], "triggers": []}
    assert doc == {
        "application": "test-dinghy",
        "pipelines": [
            {"application": "test-dinghy", "name": "test", **common},
            {"application": "dinghy", "name": "Simple", **common},
        ],
    }


def test_basic_format_example_with_spec_and_save_app_on_update() -> None:
    text = """{
  "application": "helloworldapp",
  "globals": {"save_app_on_update": true},
  "spec": {"appmetadata": {"dataSources": {"enabled": ["securityGroups", "loadBalancers", "executions", "serverGroups"],
    "disabled": ["canaryConfigs"]}, "cloudProviders": ["kubernetes", "aws"]}},
  "pipelines": [{"application": "helloworldapp", "name": "my-pipeline-name",
    "stages": [{"name": "one", "type": "wait", "waitTime": 10}]}]
}"""
    checked, errors = check_document("dinghyfile", _render(text, {}))
    assert errors == []
    assert checked["saveApp"] is True and checked["application"] == "helloworldapp"
    assert checked["spec"]["appmetadata"]["cloudProviders"] == ["kubernetes", "aws"]
    assert checked["pipelines"] == [{"application": "helloworldapp", "name": "my-pipeline-name",
                                     "stages": [{"name": "one", "type": "wait", "waitTime": 10}]}]  # fmt: skip


def test_stage_dependency_graph_example_passes_the_ref_checks() -> None:
    def stage(name: str, wait: int, ref: str, reqs: list[str]) -> str:
        return f'{{"name": "{name}", "type": "wait", "waitTime": {wait}, "refId": "{ref}", "requisiteStageRefIds": {reqs!r}}}'.replace(  # noqa: E501
            "'", '"'
        )

    stages = ", ".join([
        stage("one", 10, "first-stage", []),
        stage("two-a", 15, "my-second-stage", ["first-stage"]),
        stage("two-b", 30, "my-other-second-stage", ["first-stage"]),
        stage("last", 20, "my-final-stage", ["my-second-stage", "my-other-second-stage"]),
    ])  # fmt: skip
    text = f'{{"application": "helloworld", "pipelines": [{{"application": "helloworld", "name": "my-pipeline-name", "stages": [{stages}]}}]}}'  # noqa: E501
    checked, errors = check_document("dinghyfile", _render(text, {}))
    assert errors == [] and [s["name"] for s in checked["pipelines"][0]["stages"]] == ["one", "two-a", "two-b", "last"]
    bad = text.replace(
        '"requisiteStageRefIds": ["first-stage"]}, {"name": "two-b"',
        '"requisiteStageRefIds": ["nope"]}, {"name": "two-b"',
    )
    assert check_document("dinghyfile", _render(bad, {}))[1] == [
        "dinghyfile: pipeline 'my-pipeline-name': stage 'my-second-stage' requires unknown 'nope'"
    ]


WAIT_VARS = (
    '{\n  "name": "{{ var "name" ?: "defaultname" }}",\n  "refId": "1",\n  "requisiteStageRefIds": [],\n'
    '  "type": "wait",\n  "waitTime": {{ var "waitTime" ?: 10 }}\n}'
)


def _app(stages: str, globals_: str = "") -> str:
    g = f'"globals": {globals_},\n' if globals_ else ""
    return (
        f'{{\n  "application": "yourspinnakerapplicationname",\n{g}  "pipelines": [\n    {{\n'
        f'      "application": "yourspinnakerapplicationname",\n      "name": "Made By Armory Pipeline Templates",\n'
        f'      "stages": [\n        {stages}\n      ]\n    }}\n  ]\n}}'
    )


def _stages(doc: Any) -> list[Any]:
    return doc["pipelines"][0]["stages"]  # type: ignore[no-any-return]


def test_module_variables_newlines_and_top_level_variables() -> None:
    mods = {"wait.stage.module": WAIT_VARS}
    assert _stages(_render(_app('{{ module "wait.stage.module" "waitTime" 200 }}'), mods))[0]["waitTime"] == 200
    one_line = _render(_app('{{ module "wait.stage.module" "name" "wait-for-cache-warm-up" "waitTime" 42 }}'), mods)
    multi = _render(
        _app(
            '{{\n           module "wait.stage.module"\n           "name" "wait-for-cache-warm-up"\n           "waitTime" 42\n        }}'  # noqa: E501
        ),
        mods,
    )
    assert one_line == multi and _stages(multi)[0]["name"] == "wait-for-cache-warm-up"
    top = _render(_app('{{ module "wait.stage.module" }}', '{"waitTime": "42", "name": "default-name"}'), mods)
    assert _stages(top)[0] | {} == {**_stages(top)[0], "name": "default-name", "waitTime": 42}
    override = _render(
        _app('{{ module "wait.stage.module" "waitTime" "43" }}', '{"waitTime": "42", "name": "n"}'), mods
    )
    assert _stages(override)[0]["waitTime"] == 43


def test_nested_variables() -> None:
    mods = {"m": '{"name": "{{ var "name" ?: "@different_var" }}", "type": "wait"}'}
    assert (
        _stages(_render(_app('{{ module "m" }}', '{"different_var": "from-global"}'), mods))[0]["name"] == "from-global"
    )
    assert (
        _stages(_render(_app('{{ module "m" "name" "given" }}', '{"different_var": "g"}'), mods))[0]["name"] == "given"
    )


def test_conditionals_on_raw_data() -> None:
    text = """{
  "application": "conditionals",
  "pipelines": [
    {
      "application": "conditionals",
      "name": "my-pipeline-name",
      "stages": [
          {
            {{ if eq .RawData.pusher.name "Samtribal" }}
              "name": "this_is_true",
            {{ else }}
              "name": "this_is_false",
            {{ end }}
            "waitTime":  10,
            "type": "wait"
          }
      ]
    }
  ]
}"""
    for pusher, name in (("Samtribal", "this_is_true"), ("Octocat", "this_is_false")):
        doc = _render(text, {}, dot={"RawData": {"pusher": {"name": pusher}}})
        assert _stages(doc) == [{"name": name, "waitTime": 10, "type": "wait"}]


def test_iterating_example_renders_the_stated_result() -> None:
    mods = {"stage.minimal.wait.module": '{\n  "name": "{{ var "waitname" ?: "Wait" }}",\n  "type": "wait"\n}'}
    text = """{
  "application": "example",
  "pipelines": [
    {
      "name": "Loop Example",
      "application": "example",
      "stages": [
        {{ $stages := makeSlice "First Wait" "Second Wait" }}
        {{ range $stages }}
          {{
            module "stage.minimal.wait.module"
            "waitname" .
          }},
        {{ end }}
        {{
          module "stage.minimal.wait.module"
          "waitname" "Final Wait"
        }}
      ]
    }
  ]
}"""
    assert _render(text, mods) == {
        "application": "example",
        "pipelines": [
            {
                "name": "Loop Example",
                "application": "example",
                "stages": [
                    {"name": "First Wait", "type": "wait"},
                    {"name": "Second Wait", "type": "wait"},
                    {"name": "Final Wait", "type": "wait"},
                ],
            }
        ],
    }


def test_pipeline_id_example() -> None:
    mods = {
        "pipeline.stage.module": (
            '{\n  "application": "pipelineidexample",\n  "failPipeline": true,\n  "name": "Pipeline",\n'
            '  "pipeline": "{{ pipelineID "default-app" "default-pipeline" }}",\n  "refId": "1",\n'
            '  "requisiteStageRefIds": [],\n  "type": "pipeline",\n  "waitForCompletion": true\n}'
        )
    }
    asked: list[tuple[str, str]] = []

    def ids(app: str, name: str) -> str:
        asked.append((app, name))
        return "0d3c1b2a"

    text = _app(
        '{{ module "pipeline.stage.module" "triggerApp" "pipelineidtest" "triggerPipeline" "testpipelinename" }}'
    )
    assert _stages(_render(text, mods, pipeline_id=ids))[0]["pipeline"] == "0d3c1b2a"
    assert asked == [("pipelineidtest", "testpipelinename")]


def test_document_checks_name_the_field() -> None:
    bad_app = {"application": "no spaces allowed", "pipelines": []}
    assert check_document("x/dinghyfile", bad_app)[1] == [
        "x/dinghyfile: application: 'no spaces allowed' may contain only letters, digits, '.', '_' and '-'"
    ]
    perms = {"application": "a", "spec": {"permissions": {"READ": "team"}}, "pipelines": [{"stages": []}]}
    assert check_document("dinghyfile", perms)[1] == [
        "dinghyfile: pipelines[0].name: required (a non-empty string)",
        "dinghyfile: spec.permissions: must map READ/WRITE/EXECUTE to lists of roles",
    ]
    twice = {"application": "a", "pipelines": [{"name": "p"}, {"name": "P"}]}
    assert check_document("dinghyfile", twice)[1] == ["dinghyfile: pipelines[1].name: 'P' appears twice"]
