"""Dinghy's template language: Go text/template as dinghyfiles use it, the pre-pass, Dinghy's functions, Sprig,
errors located in the source, and the limits. Pure: no servers."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.dinghy.gotemplate import DinghyTemplateError, Limits
from integrations.dinghy.render import Context, render

WAIT = '{\n  "name": "{{ var "name" ?: "defaultname" }}",\n  "refId": "1",\n  "requisiteStageRefIds": [],\n  "type": "wait",\n  "waitTime": {{ var "waitTime" ?: 10 }}\n}'  # noqa: E501


def _render(text: str, modules: dict[str, str] | None = None, local: dict[str, str] | None = None, **kw: Any) -> Any:
    ctx = Context(load_module=(modules or {}).get, load_local=(local or {}).get, **kw)
    return render("dinghyfile", text, ctx)


def _doc(text: str, modules: dict[str, str] | None = None, **kw: Any) -> Any:
    return _render(text, modules, **kw).document


def _one_pipeline(stages: str, app: str = "app", globals_: str = "") -> str:
    head = f'"globals": {globals_},' if globals_ else ""
    return f'{{"application": "{app}", {head} "pipelines": [{{"application": "{app}", "name": "p", "stages": [{stages}]}}]}}'  # noqa: E501


def test_module_with_arguments_defaults_and_globals() -> None:
    mods = {"wait.stage.module": WAIT}
    doc = _doc(_one_pipeline('{{ module "wait.stage.module" "waitTime" 200 }}'), mods)
    assert doc["pipelines"][0]["stages"] == [
        {"name": "defaultname", "refId": "1", "requisiteStageRefIds": [], "type": "wait", "waitTime": 200}
    ]
    # globals fill what the call does not pass; the call's arguments win over globals
    doc = _doc(
        _one_pipeline('{{ module "wait.stage.module" "waitTime" 43 }}', globals_='{"waitTime": 42, "name": "g"}'), mods
    )
    assert doc["pipelines"][0]["stages"][0] | {} == {**doc["pipelines"][0]["stages"][0], "name": "g", "waitTime": 43}


def test_var_at_fallback_and_missing_var() -> None:
    mods = {"m": '{"name": "{{ var "name" ?: "@different_var" }}", "x": "{{ var "nothing" }}", "d": {{ var "d" 5 }}}'}
    doc = _doc(_one_pipeline('{{ module "m" "different_var" "from-at" }}'), mods)
    assert doc["pipelines"][0]["stages"] == [{"name": "from-at", "x": "", "d": 5}]


def test_json_literal_arguments_are_decoded_and_lists_come_back_as_json() -> None:
    mods = {"m": '{"tags": {{ var "tags" }}, "cfg": {{ var "cfg" }}, "n": {{ var "cfg" | len }}}'}
    doc = _doc(_one_pipeline('{{ module "m" "tags" ["a", "b"] "cfg" {"k": [1, 2]} }}'), mods)
    assert doc["pipelines"][0]["stages"] == [{"tags": ["a", "b"], "cfg": {"k": [1, 2]}, "n": 11}]


def test_deep_variable_passes_the_callers_value_down() -> None:
    mods = {"outer": '{{ module "inner" "who" "{{var who}}" }}', "inner": '{"who": "{{ var "who" }}"}'}
    doc = _doc(_one_pipeline('{{ module "outer" "who" "deep" }}'), mods)
    assert doc["pipelines"][0]["stages"] == [{"who": "deep"}]


def test_app_module_emits_top_level_keys() -> None:
    mods = {"app.module": '"spec": {"email": "{{ var "email" ?: "x@y.z" }}"}'}
    doc = _doc('{"application": "a", {{ appModule "app.module" "email" "team@corp.example" }}, "pipelines": []}', mods)
    assert doc["spec"] == {"email": "team@corp.example"}


def test_local_module_and_its_refusal_from_a_template_repo_module() -> None:
    local = {"local/wait": '{"name": "local"}'}
    doc = _render(_one_pipeline('{{ local_module "local/wait" }}'), {}, local).document
    assert doc["pipelines"][0]["stages"] == [{"name": "local"}]
    mods = {"m": '{{ local_module "local/wait" }}'}
    with pytest.raises(DinghyTemplateError, match="calling local_module from a module is not allowed") as err:
        _render(_one_pipeline('{{ module "m" }}'), mods, local)
    assert (err.value.file, err.value.line, err.value.column) == ("m", 1, 4)


def test_pipeline_id_with_trigger_overrides() -> None:
    mods = {"pipe": '{"type": "pipeline", "pipeline": "{{ pipelineID "default-app" "default-pipeline" }}"}'}
    ids = {("pipelineidtest", "testpipelinename"): "id-1", ("default-app", "default-pipeline"): "id-0"}
    text = _one_pipeline(
        '{{ module "pipe" }}, {{ module "pipe" "triggerApp" "pipelineidtest" "triggerPipeline" "testpipelinename" }}'
    )
    doc = _doc(text, mods, pipeline_id=lambda a, n: ids[(a, n)])
    assert [s["pipeline"] for s in doc["pipelines"][0]["stages"]] == ["id-0", "id-1"]


def test_go_template_features() -> None:
    text = (
        '{{/* a comment */}}{"a": [ {{- range $i, $x := makeSlice 1 2 3 }}{{ if $i }},{{ end }}{{ $x }}{{- end }} ], '
        '{{ $d := dict "k" "v" "n" 2 }}"k": "{{ $d.k }}", "n": {{ index $d "n" }}, "j": {{ toJson $d }}, '
        '"w": {{ with .RawData.pusher }}"{{ .name }}"{{ else }}"nobody"{{ end }}, '
        '"s": "{{ "a,b" | splitList "," | join "-" | upper }}", "q": {{ printf "%q" "x" }}, '
        '"e": {{ if eq 1 2 }}1{{ else if eq 2 2 }}2{{ else }}3{{ end }}, "and": {{ and 1 0 }}, "or": {{ or 0 "" 5 }}, '
        '"t": "{{ trimPrefix "v" "v1.2" }}-{{ replace "." "_" "a.b" }}-{{ default "d" "" }}-{{ lower "X" | title }}", '
        '"l": {{ len (list 1 2 3) }}, "h": {{ hasKey $d "k" }}, "x": {{ $v := 1 }}{{ $v = 7 }}{{ $v }}}'
    )
    doc = _doc(text, dot={"RawData": {"pusher": {"name": "ann"}}})
    assert doc == {
        "a": [1, 2, 3], "k": "v", "n": 2, "j": {"k": "v", "n": 2}, "w": "ann", "s": "A-B", "q": "x", "e": 2,
        "and": 0, "or": 5, "t": "1.2-a_b-d-X", "l": 3, "h": True, "x": 7,
    }  # fmt: skip


def test_elvis_and_json_literals_keep_positions_for_errors() -> None:
    # an error after a pre-pass token is still reported at its source column
    text = '{"a": {{ var "x" ?: ["1","2"] }}, "b": {{ nosuch 1 }}}'
    with pytest.raises(DinghyTemplateError) as err:
        _render(text)
    assert err.value.message == 'function "nosuch" not defined'
    assert (err.value.line, err.value.column) == (1, text.index("nosuch") + 1)


def test_json_error_in_a_module_names_the_module_line_and_column() -> None:
    mods = {"bad.module": '{\n  "name": "x"\n  "type": "wait"\n}'}
    with pytest.raises(DinghyTemplateError) as err:
        _render(_one_pipeline('{{ module "bad.module" }}'))
    assert "not found" in err.value.message
    with pytest.raises(DinghyTemplateError) as err:
        _render(_one_pipeline('{{ module "bad.module" }}'), mods)
    assert (err.value.file, err.value.line, err.value.column) == ("bad.module", 3, 3)
    assert "invalid JSON" in err.value.message


def test_json_error_in_the_dinghyfile_points_at_the_source_line() -> None:
    text = '{\n  "application": "a",\n  "pipelines": [\n    {{ if true }}{"name": "p",}{{ end }}\n  ]\n}'
    with pytest.raises(DinghyTemplateError) as err:
        _render(text)
    assert (err.value.file, err.value.line) == ("dinghyfile", 4)
    assert err.value.column == text.splitlines()[3].index(",}") + 2


def test_parse_errors_are_located() -> None:
    with pytest.raises(DinghyTemplateError, match="a '}}' may be missing") as err:
        _render('{\n  "a": {{ var "x" \n}')
    assert err.value.line == 2
    with pytest.raises(DinghyTemplateError, match=r"an \{\{end\}\} is missing"):
        _render('{"a": {{ if true }}1}')
    with pytest.raises(DinghyTemplateError, match="not supported"):
        _render('{{ define "x" }}{{ end }}{}')


def test_globals_need_json_once_blanked() -> None:
    with pytest.raises(DinghyTemplateError, match="globals: the file is not JSON once its actions are blanked"):
        _render('{"application": "a", "globals": {"x": 1}, "pipelines": [ {{ var "x" }} {{ var "x" }} ]}')


def test_recursion_and_expansion_stop_at_the_limits() -> None:
    mods = {"loop": '{{ module "loop" }}', "a": '{{ module "b" }}', "b": '{{ module "a" }}'}
    with pytest.raises(DinghyTemplateError, match="calls itself"):
        _render(_one_pipeline('{{ module "loop" }}'), mods)
    with pytest.raises(DinghyTemplateError, match="calls itself"):
        _render(_one_pipeline('{{ module "a" }}'), mods)
    deep = {f"m{i}": f'{{{{ module "m{i + 1}" }}}}' for i in range(40)}
    with pytest.raises(DinghyTemplateError, match="depth limit"):
        _render(_one_pipeline('{{ module "m0" }}'), deep)
    with pytest.raises(DinghyTemplateError, match="step limit"):
        _render("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}{}", limits=Limits(max_steps=10_000))
    with pytest.raises(DinghyTemplateError, match="output limit"):
        _render('{{ range until 1000 }}{{ repeat 1000 "x" }}{{ end }}{}', limits=Limits(max_output=100_000))


def test_yaml_format() -> None:
    mods = {"some.stage.module": '- name: "{{ var "something" ?: "dflt" }}"\n    type: wait'}
    text = (
        "---\napplication: app\nglobals:\n  waitTime: 42\npipelines:\n- application: app\n  name: p\n  stages:\n"
        '  - name: Wait For It...\n    type: wait\n    waitTime: {{ var "waitTime" }}\n'
        '  {{ module "some.stage.module" "something" "yes" }}\n'
    )
    doc = _doc(text, mods, format="yaml")
    assert doc["pipelines"][0]["stages"] == [
        {"name": "Wait For It...", "type": "wait", "waitTime": 42},
        {"name": "yes", "type": "wait"},
    ]
    with pytest.raises(DinghyTemplateError, match="invalid YAML") as err:
        _doc("application: [a\n", format="yaml")
    assert err.value.file == "dinghyfile"
