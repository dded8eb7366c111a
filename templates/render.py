"""Rendering a templated pipeline config as Orca does (``PipelineTemplatePreprocessor`` and the v2 handlers,
``V2SchemaExecutionGenerator``, then the ``${templateVariables.x}`` pass), for execution start and for plan."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from templates.documents import JSON, Reference, TemplateError, is_templated, validate_config
from templates.graph import transform, without_rules

#: Finds a stored template by reference; raises TemplateError (field ``template.reference``) when there is none.
Loader = Callable[[Reference], JSON]
INT32 = 2**31


def java_type(value: Any) -> str:
    """The Java simple class name Jackson gives a JSON value (Orca's type messages name it)."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer" if -INT32 <= value < INT32 else "Long"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "ArrayList"
    if isinstance(value, dict):
        return "LinkedHashMap"
    return "Object"


def _type_ok(expected: str, value: Any) -> bool:
    e = expected.lower()
    if e == "object":
        return True
    if e == "int" and not isinstance(value, bool):
        if isinstance(value, int) and -INT32 <= value < INT32:
            return True
        if isinstance(value, float) and value % 1 == 0:  # Echo loses numeric types: 5.0 passes as an int
            return True
    return (
        (e == "bool" and isinstance(value, bool))
        or (e == "list" and isinstance(value, list))
        or (e == "string" and isinstance(value, str))
        or (e == "float" and isinstance(value, float))
        or e == java_type(value).lower()
    )


def configuration_variables(declared: list[JSON], given: JSON) -> JSON:
    """Orca's ``configurationVariables``: the config's values for declared names, defaults for the rest."""
    names = [str(v.get("name")) for v in declared]
    out = {k: v for k, v in given.items() if k in names}
    for var in declared:
        if var.get("name") not in out and var.get("defaultValue") is not None:
            out[str(var["name"])] = copy.deepcopy(var["defaultValue"])
    return out


def resolve_variables(declared: list[JSON], given: JSON) -> JSON:
    """``V2DefaultVariableAssignmentTransform`` with its messages: missing, null and wrongly typed values."""
    values = configuration_variables(declared, given)
    if not declared:
        return values
    missing = [str(v["name"]) for v in declared if v["name"] not in values and not v.get("nullable")]
    if missing:
        raise TemplateError("Missing variable values for: " + ", ".join(missing), f"variables.{missing[0]}")
    nulls = [
        f"variable '{v['name']}' supplied value is null but variable is not nullable\n"
        for v in declared
        if not v.get("nullable") and values.get(v["name"]) is None
    ]
    if nulls:
        raise TemplateError("Incorrectly defined variable(s): " + ", ".join(nulls), "variables")
    wrong = []
    for var in declared:
        expected = str(var.get("type") or "object")
        value = values.get(var["name"])
        if expected.lower() == "object" or (var.get("nullable") and value is None):
            continue
        if not _type_ok(expected, value):
            wrong.append(f"{var['name']} (expected type '{expected}' found type '{java_type(value)}')")
    if wrong:
        raise TemplateError("Incorrectly defined variable(s): " + ", ".join(wrong), "variables")
    return values


def _merged(template_items: Any, config_items: Any) -> list[Any]:
    """``TemplateMerge.mergeDistinct`` of the template's items (marked ``inherited``) and the config's."""
    inherited = [{**copy.deepcopy(i), "inherited": True} for i in template_items or [] if isinstance(i, dict)]
    out: list[Any] = []
    for item in inherited + copy.deepcopy(list(config_items or [])):
        if item not in out:
            out.append(item)
    return out


def _cron_ids(pipeline: JSON) -> None:
    """Inherited cron triggers get a stable id (Front50 gives saved configs' cron triggers theirs), so each
    dependent pipeline has one Schedule per inherited cron trigger."""
    for i, trigger in enumerate(pipeline.get("triggers") or []):
        if isinstance(trigger, dict) and trigger.get("type") == "cron" and not trigger.get("id"):
            seed = f"{pipeline.get('id')}:{i}:{trigger.get('cronExpression')}"
            trigger["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def _process(value: Any, root: JSON) -> Any:
    """``value`` with its ``${...}`` evaluated against ``root`` (failures stay as text, as Orca leaves them)."""
    from workflows.expressions import EvaluationContext, process

    return process(value, EvaluationContext(root=root)).value


def _dynamic_reference(config: JSON, trigger: JSON) -> Reference:
    """Orca evaluates the ``template`` artifact against ``{application, trigger}`` before loading it, so a
    reference may name its template from the trigger (``spinnaker://${trigger.parameters.tpl}``)."""
    from templates.documents import parse_reference

    reference = config["template"].get("reference")
    if isinstance(reference, str) and "${" in reference:
        reference = _process(reference, {"application": config.get("application"), "trigger": trigger})
    return parse_reference(reference)


def _rendered_declarations(template: JSON, config: JSON, trigger: JSON) -> list[JSON]:
    """``V2TemplateLoaderHandler.renderTemplateVariables``: each declaration (its ``defaultValue`` above all) is
    evaluated against ``application``, ``pipelineTemplate``, ``trigger``, the defaults and the config's values."""
    declared = [v for v in template.get("variables") or [] if isinstance(v, dict)]
    if not any("${" in str(v) for v in declared):
        return declared
    root: JSON = {"application": config.get("application"), "pipelineTemplate": template, "trigger": trigger}
    root.update(
        {
            str(v["name"]): v.get("defaultValue")
            for v in declared
            if v.get("defaultValue") is not None or v.get("nullable")
        }
    )
    root.update(config.get("variables") or {})
    out = []
    for var in declared:
        if var.get("nullable") and var.get("defaultValue") is None:
            out.append(var)
        else:
            out.append(_process(var, root))
    return out


def _spel(pipeline: JSON, trigger: JSON, plan: bool) -> JSON:
    """Orca's pass over the generated pipeline against ``{trigger, templateVariables}``. Only strings that
    mention ``templateVariables`` are evaluated here; every other expression is left for the stage that runs
    it (Gennaker's v4 evaluation). In plan, a failed ``templateVariables`` expression is an error."""
    from workflows.expressions import EvaluationContext, process, scan_template
    from workflows.expressions.process import Piece

    ctx = EvaluationContext(root={"trigger": trigger, "templateVariables": pipeline.get("templateVariables") or {}})
    failed: list[str] = []

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and "templateVariables" in value:
            pieces = [p for p in scan_template(value) if isinstance(p, Piece)]
            if any("templateVariables" in p.expression for p in pieces):
                result = process(value, ctx)
                failed.extend(k for k in result.summary if "templateVariables" in k)
                return result.value
        return value

    out: JSON = walk({k: v for k, v in pipeline.items() if k not in ("templateVariables", "trigger")})
    out["templateVariables"] = pipeline.get("templateVariables") or {}
    if failed and plan:
        names = sorted({f.split("templateVariables.", 1)[-1].split("}", 1)[0].strip() for f in failed})
        raise TemplateError(f"Missing template variable values for the following variables: {names}", "variables")
    return out


def render(
    config: JSON,
    load: Loader,
    *,
    trigger: JSON | None = None,
    plan: bool = False,
    execution_id: str | None = None,
) -> JSON:
    """The pipeline Orca would run for ``config`` (a non-templated config comes back as it is).

    Raises :class:`TemplateError` naming the field for: a bad reference, a template that cannot be found,
    ``protect`` with config stages, missing or mistyped variables, a cycle, an unknown injection target."""
    if not is_templated(config):
        return config
    validate_config(config)
    ref = _dynamic_reference(config, trigger or {})
    template = copy.deepcopy(load(ref))
    if template.get("schema") != "v2":
        raise TemplateError(
            f"template schema version is unsupported: expected 'v2', got '{template.get('schema')}'", "template"
        )
    config_stages = [s for s in config.get("stages") or [] if isinstance(s, dict)]
    if template.get("protect") is True and config_stages:
        raise TemplateError("Modification of the stage graph (adding, removing, editing) is disallowed", "stages")
    declared = _rendered_declarations(template, config, trigger or {})
    variables = resolve_variables(declared, config.get("variables") or {})
    pipeline: JSON = copy.deepcopy(template.get("pipeline") or {})
    pipeline["stages"] = without_rules(transform(pipeline.get("stages") or [], config_stages))
    pipeline["id"] = config.get("id") or config.get("pipelineConfigId") or "unknown"
    pipeline["application"] = config.get("application")
    if execution_id:
        pipeline["executionId"] = execution_id
    pipeline["name"] = config.get("name") or "Unnamed Execution"
    for key, default in (("limitConcurrent", True), ("maxConcurrentExecutions", 0), ("keepWaitingPipelines", False)):
        if key not in pipeline:
            pipeline[key] = config.get(key, default)
    exclude = config.get("exclude") or []
    for key, ours in (("notifications", "notifications"), ("parameterConfig", "parameters"), ("triggers", "triggers")):
        own = config.get(ours)
        if ours == "parameters" and own is None:
            own = config.get("parameterConfig")  # Deck saves the list under the pipeline's own key
        if ours in exclude:
            pipeline[key] = copy.deepcopy(own or [])
        else:
            pipeline[key] = _merged(pipeline.get(key), own)
    for key in ("disabled", "description", "spelEvaluator", "roles", "lastModifiedBy", "lastModified", "index"):
        if key in config and key not in pipeline:
            pipeline[key] = copy.deepcopy(config[key])
    pipeline["templateVariables"] = variables
    _cron_ids(pipeline)
    out = _spel(pipeline, trigger or {}, plan)
    if isinstance(config.get("trigger"), dict) and config["trigger"]:
        out["trigger"] = copy.deepcopy(config["trigger"])  # the request's trigger, as Orca's generator keeps it
    out.setdefault("source", {"type": "templatedPipeline", "version": "v2"})
    if plan:
        out["plan"] = True
    return out


def trigger_view(config: JSON, load: Loader) -> tuple[JSON, str | None]:
    """The pipeline as trigger matching sees it, and the render error if any.

    A templated config that renders shows its rendered triggers and parameters. One that does not is kept
    (never dropped, unlike Echo's cache) with its own triggers plus the template's when the template loads,
    so a matching event reaches the launcher, which refuses it with the render error for all to see."""
    if not is_templated(config):
        return config, None
    try:
        return render(config, load), None
    except TemplateError as err:
        view = copy.deepcopy(config)
        triggers = list(config.get("triggers") or [])
        try:
            template = load(validate_config(config))
            if "triggers" not in (config.get("exclude") or []):
                triggers = _merged((template.get("pipeline") or {}).get("triggers"), triggers)
        except TemplateError:
            pass
        view["triggers"] = triggers
        view["templateError"] = err.message
        _cron_ids(view)
        return view, err.message
