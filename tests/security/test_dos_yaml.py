"""YAML from users goes through one loader (core/safe_yaml.py) that caps alias expansion: a billion-laughs
document fails fast naming the limit everywhere users can hand Gennaker YAML (#readYaml, manifest artifacts,
Jenkins property files, and over HTTP through evaluateExpression); ordinary anchors still load."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
import yaml

from activities.manifest_sources import documents
from core import safe_yaml
from integrations.jenkins.properties import PropertyFileError, parse_property_file
from providers.kubernetes_manifest import ManifestError
from tests.conftest import Gate
from tests.security.test_dos_http import finished_execution
from workflows.expressions import EvaluationContext, ExpressionLimitError, evaluate


def laughs(levels: int = 9, width: int = 10) -> str:
    """The classic: each anchor is ``width`` aliases of the previous one (width**levels values once expanded)."""
    text = "a: &a [" + ", ".join(["lol"] * width) + "]\n"
    previous = "a"
    for i in range(1, levels):
        name = f"l{i}"
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * width) + "]\n"
        previous = name
    return text


BOMBS = {
    "billion laughs": laughs(),
    "wide": "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 200) + "]\n",
    "merge keys": "a: &a {"
    + ", ".join(f"k{i}: {i}" for i in range(500))
    + "}\n"
    + "".join(f"m{i}: {{<<: *a}}\n" for i in range(300)),
}
ORDINARY = """
defaults: &defaults
  replicas: 2
  labels: &labels {app: web, tier: front}
staging:
  <<: *defaults
  env: staging
prod:
  <<: *defaults
  replicas: 5
  labels: *labels
list: [*labels, *labels]
"""


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_alias_bombs_are_refused_fast_naming_the_limit(name: str) -> None:
    started = time.monotonic()
    with pytest.raises(safe_yaml.YamlLimitError, match="alias expansion limit") as info:
        safe_yaml.load(BOMBS[name])
    assert "100000" in str(info.value)
    with pytest.raises(safe_yaml.YamlLimitError, match="alias expansion limit"):
        safe_yaml.load_all("ok: 1\n---\n" + BOMBS[name])
    assert time.monotonic() - started < 5  # expanding would take minutes and gigabytes


def test_ordinary_anchors_and_merge_keys_load_as_pyyaml_loads_them() -> None:
    assert safe_yaml.load(ORDINARY) == yaml.safe_load(ORDINARY)
    assert safe_yaml.load(laughs(levels=3)) == yaml.safe_load(laughs(levels=3))  # 1,000 values: fine
    assert safe_yaml.load_all("a: 1\n---\nb: &x [1]\nc: *x\n") == [{"a": 1}, {"b": [1], "c": [1]}]
    with pytest.raises(yaml.constructor.ConstructorError):
        safe_yaml.load("!!python/object/apply:os.system [echo]")


def test_recursive_aliases_and_deep_nesting_are_refused() -> None:
    with pytest.raises(safe_yaml.YamlLimitError, match="recursive alias"):
        safe_yaml.load("&a [x, *a]")
    with pytest.raises(safe_yaml.YamlLimitError, match="nesting limit"):
        safe_yaml.load("[" * 100_000 + "]" * 100_000)
    with pytest.raises(safe_yaml.YamlLimitError, match="nesting limit"):
        safe_yaml.load("".join(f"{'  ' * i}k:\n" for i in range(300)))
    assert safe_yaml.load("[" * 150 + "]" * 150) is not None


def test_every_user_yaml_path_uses_the_loader() -> None:
    bomb = BOMBS["billion laughs"]
    with pytest.raises(ExpressionLimitError, match="alias expansion limit"):
        evaluate("#readYaml(doc)", EvaluationContext(root={"doc": bomb}))
    with pytest.raises(ExpressionLimitError, match="recursive alias"):
        evaluate("#readYaml(doc)", EvaluationContext(root={"doc": "&a [*a]"}))
    with pytest.raises(ManifestError, match="manifestArtifact: .*alias expansion limit"):
        documents(bomb, "manifestArtifact")
    with pytest.raises(PropertyFileError, match="alias expansion limit"):
        parse_property_file("build.yml", bomb.encode())
    assert documents("kind: List\nitems: [{a: 1}, {b: 2}]\n", "m") == [{"a": 1}, {"b": 2}]


@pytest.mark.temporal
def test_read_yaml_over_http_reports_the_limit(gate: Gate) -> None:
    with httpx.Client(base_url=gate.url, timeout=60) as http:
        execution_id = finished_execution(http, gate)
        doc = base64.b64encode(BOMBS["billion laughs"].encode()).decode()
        expression = "${#readYaml(#fromBase64('" + doc + "'))}"
        started = time.monotonic()
        answer = http.post(f"/pipelines/{execution_id}/evaluateExpression", json={"expression": expression})
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == expression
        assert "alias expansion limit" in json.dumps(answer.json()["detail"])
        assert time.monotonic() - started < 30
