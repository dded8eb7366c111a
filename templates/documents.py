"""Template documents and templated pipeline configs: their checks (with Orca's and Front50's messages),
the ``spinnaker://id[:tag|@sha256:digest]`` reference grammar, and Front50's digest."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInputError

JSON = dict[str, Any]

#: Front50's accepted tags (V2PipelineTemplateController.VALID_TEMPLATE_TAGS).
TAGS = ("latest", "stable", "unstable", "experimental", "test", "canary")
SCHEMA = "v2"
TEMPLATED = "templatedPipeline"
PREFIX = "spinnaker://"
#: Orca's regexes, as written (``A-z`` also lets ``[\]^_`` and the backtick through, as in Orca).
NAME_REGEX = r"^[a-zA-z0-9-&\s]+$"
VARIABLE_NAME_REGEX = r"^[a-zA-Z0-9_]+$"
EXCLUDABLE = ("triggers", "notifications", "parameters")
#: Front50's bookkeeping keys, left out of the digest.
BOOKKEEPING = ("digest", "lastModified", "lastModifiedBy")
_JAVA_WHITESPACE = re.compile(r"[ \t\n\x0b\f\r]+")


class TemplateError(InvalidInputError, ValueError):
    """A template or templated config that cannot be saved or rendered; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None, errors: list[JSON] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or [{"message": message, **({"location": field} if field else {})}]


@dataclass(frozen=True)
class Reference:
    """A parsed ``spinnaker://`` reference: the template id and at most one of tag and digest."""

    id: str
    tag: str | None = None
    digest: str | None = None

    @property
    def key(self) -> str:
        """The id Front50 stores this version under."""
        if self.digest:
            return f"{self.id}@sha256:{self.digest}"
        if self.tag:
            return f"{self.id}:{self.tag}"
        return self.id


def parse_reference(reference: Any, field: str = "template.reference") -> Reference:
    """Clouddriver's split: ``@sha256:`` first (digest), then ``:`` (tag), else a bare id."""
    if not isinstance(reference, str) or not reference.startswith(PREFIX):
        raise TemplateError(f"{field} must be a 'spinnaker://<id>[:<tag>|@sha256:<digest>]' reference", field)
    rest = reference[len(PREFIX) :]
    if "@sha256:" in rest:
        ident, dig = rest.split("@sha256:", 1)
        if not ident or not re.fullmatch(r"[0-9a-fA-F]{64}", dig):
            raise TemplateError(f"{field}: '{reference}' has no id or its digest is not 64 hex digits", field)
        return Reference(ident, digest=dig.lower())
    if ":" in rest:
        ident, tag = rest.split(":", 1)
        if not ident or not tag:
            raise TemplateError(f"{field}: '{reference}' has an empty id or tag", field)
        return Reference(ident, tag=tag)
    if not rest:
        raise TemplateError(f"{field}: '{reference}' names no template", field)
    return Reference(rest)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def digest(template: JSON) -> str:
    """Front50's digest: SHA-256 hex of the JSON with keys sorted at every level, Java's whitespace removed
    everywhere (inside strings too, as Front50 does), without ``digest``/``lastModified``/``lastModifiedBy``."""
    body = {k: v for k, v in template.items() if k not in BOOKKEEPING}
    text = json.dumps(_sorted(body), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(_JAVA_WHITESPACE.sub("", text).encode("utf-8")).hexdigest()


def validate_template(template: Any) -> JSON:
    """Orca's ``SaveV2PipelineTemplateTask.validate`` with its messages; Gate fills a missing ``schema`` with v2."""
    if not isinstance(template, dict):
        raise TemplateError("a pipeline template must be a JSON object", "pipelineTemplate")
    doc = dict(template)
    doc.setdefault("schema", SCHEMA)
    ident = doc.get("id")
    if not isinstance(ident, str) or not ident.strip():
        raise TemplateError("A pipeline template requires an id", "id")
    if "." in ident:
        raise TemplateError("Pipeline Template IDs cannot have dots", "id")
    if any(c in ident for c in ":@/") or len(ident) > 180:
        raise TemplateError("id: a template id cannot hold ':', '@' or '/' (they mark tags and digests)", "id")
    given = doc.get("metadata")
    metadata: JSON = given if isinstance(given, dict) else {}
    missing = [
        f"metadata.{k}" for k in ("name", "description") if not isinstance(metadata.get(k), str) or not metadata[k]
    ]
    scopes = metadata.get("scopes")
    if not isinstance(scopes, list) or not scopes:
        missing.append("metadata.scopes")
    if not isinstance(doc.get("schema"), str) or not doc["schema"]:
        missing.append("schema")
    if missing:
        raise TemplateError("Missing required fields: " + ",".join(missing), missing[0])
    if doc["schema"] != SCHEMA:
        raise TemplateError(f"Invalid schema version: {doc['schema']}", "schema")
    if not re.match(NAME_REGEX, metadata["name"]):
        raise TemplateError(
            f"Illegal template name: {metadata['name']}. Name must match the regex: {NAME_REGEX}", "metadata.name"
        )
    variables = doc.get("variables")
    if variables is not None:
        if not isinstance(variables, list) or not all(isinstance(v, dict) for v in variables):
            raise TemplateError("variables must be a list of objects", "variables")
        bad = [
            v["name"]
            for v in variables
            if isinstance(v.get("name"), str) and not re.match(VARIABLE_NAME_REGEX, v["name"])
        ]
        if bad:
            raise TemplateError(
                f"Illegal variable names: {', '.join(bad)}. Variable names must match the regex: {VARIABLE_NAME_REGEX}",
                "variables",
            )
        for i, v in enumerate(variables):
            if not isinstance(v.get("name"), str) or not v["name"]:
                raise TemplateError(f"variables[{i}].name is required", f"variables[{i}].name")
    pipeline = doc.get("pipeline")
    if pipeline is not None and not isinstance(pipeline, dict):
        raise TemplateError("pipeline must be an object (a pipeline's JSON)", "pipeline")
    stages = (pipeline or {}).get("stages")
    if stages is not None and (not isinstance(stages, list) or not all(isinstance(s, dict) for s in stages)):
        raise TemplateError("pipeline.stages must be a list of stage objects", "pipeline.stages")
    for i, stage in enumerate(stages or []):
        if not isinstance(stage.get("refId"), str | int) or stage.get("refId") in ("", None):
            raise TemplateError(f"pipeline.stages[{i}].refId is required in a template", f"pipeline.stages[{i}].refId")
    return doc


def is_templated(config: Any) -> bool:
    """``schema: v2`` with ``type: templatedPipeline`` (Orca's ``V2Util.isV2Pipeline``) or with a ``template``
    (what Orca's ``PipelineTemplatePreprocessor`` renders at start; spin's ``use`` prints no ``type``)."""
    if not isinstance(config, dict) or config.get("schema") != SCHEMA:
        return False
    return config.get("type") == TEMPLATED or isinstance(config.get("template"), dict)


def validate_config(config: JSON) -> Reference:
    """The checks a templated config gets on save whatever its template: the reference, ``variables``,
    ``exclude``, the list fields and each stage's ``inject``. Returns the parsed reference."""
    template = config.get("template")
    if not isinstance(template, dict):
        raise TemplateError("template is required: an artifact with a 'reference'", "template")
    ref = parse_reference(template.get("reference"))
    if config.get("variables") is not None and not isinstance(config.get("variables"), dict):
        raise TemplateError("variables must be an object (name → value)", "variables")
    exclude = config.get("exclude")
    if exclude is not None:
        if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
            raise TemplateError("exclude must be a list of strings", "exclude")
        unknown = [e for e in exclude if e not in EXCLUDABLE]
        if unknown:
            raise TemplateError(f"exclude: {unknown[0]!r} is not one of {', '.join(EXCLUDABLE)}", "exclude")
    for key in ("triggers", "parameters", "notifications", "stages"):
        value = config.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, dict) for v in value)):
            raise TemplateError(f"{key} must be a list of objects", key)
    for i, stage in enumerate(config.get("stages") or []):
        if stage.get("refId") in (None, ""):
            raise TemplateError(f"stages[{i}].refId is required", f"stages[{i}].refId")
        inject = stage.get("inject")
        if inject is not None and not isinstance(inject, dict):
            raise TemplateError(f"stages[{i}].inject must be an object", f"stages[{i}].inject")
        for key in ("before", "after"):
            targets = (inject or {}).get(key)
            if targets is not None and (not isinstance(targets, list) or not all(isinstance(t, str) for t in targets)):
                raise TemplateError(f"stages[{i}].inject.{key} must be a list of refIds", f"stages[{i}].inject.{key}")
    return ref


def in_scopes(template: JSON, scopes: list[str]) -> bool:
    """Front50's ``containsAnyScope``: a given scope equals one of the template's (ignoring case) or matches it
    whole as a Java regex (run by RE2, in linear time; a pattern that cannot be used never matches)."""
    from workflows.expressions.jregex import compile_java, pattern_error

    metadata = template.get("metadata")
    have = [str(s) for s in (metadata.get("scopes") if isinstance(metadata, dict) else None) or []]
    for given in scopes:
        for scope in have:
            if given.lower() == scope.lower():
                return True
            if pattern_error(scope) is None and compile_java(scope).fullmatch(given) is not None:
                return True
    return False
