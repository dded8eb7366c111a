"""Kayenta's custom filter templates: ``${name}`` substitution (Apache StringSubstitutor's rules: ``$${x}`` stays
literal, ``${x:-default}``, an undefined variable is an error) and the bindings Kayenta gives a template."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.errors import CanaryError

_VARIABLE = re.compile(r"\$(\$?)\{([^{}]*)\}")
#: scope properties a Prometheus template sees (PrometheusCanaryScope's bean properties Kayenta copies)
BASE_ATTRIBUTES = ("project", "resourceType", "scope", "location")


class FilterTemplateError(CanaryError, ValueError):
    """A template that cannot be expanded (missing, undefined variable)."""


def unescape(template: str) -> str:
    """Kayenta escapes ``${`` as ``$\\{`` while a config travels through Orca; undo it before expanding."""
    return template.replace("$\\{", "${")


def expand(template: str, bindings: Mapping[str, str]) -> str:
    """Replace every ``${name}`` (and ``${name:-default}``); an undefined name fails, naming it."""

    def one(match: re.Match[str]) -> str:
        if match.group(1):  # $${x}: escaped
            return "${" + match.group(2) + "}"
        name, _, default = match.group(2).partition(":-")
        if name in bindings:
            return bindings[name]
        if ":-" in match.group(2):
            return default
        raise FilterTemplateError(
            f"Problem evaluating custom filter template: {template} (undefined variable '{name}')"
        )

    return _VARIABLE.sub(one, template)


def bindings(scope: Mapping[str, Any], query: Mapping[str, Any]) -> dict[str, str]:
    """Later wins: the scope's project/resourceType/scope/location (non-empty only), the query config's
    resourceType, then every ``extendedScopeParams`` entry."""
    extended = scope.get("extendedScopeParams") or {}
    values: dict[str, str] = {}
    prometheus_scope = {
        "scope": scope.get("scope"),
        "location": scope.get("location"),
        "project": extended.get("project"),
        "resourceType": extended.get("resourceType"),
    }
    for attribute in BASE_ATTRIBUTES:
        if prometheus_scope.get(attribute) not in (None, ""):
            values[attribute] = str(prometheus_scope[attribute])
    if query.get("resourceType") not in (None, ""):
        values["resourceType"] = str(query["resourceType"])
    values.update({str(k): str(v) for k, v in extended.items()})
    return values


def custom_filter(config: Mapping[str, Any], query: Mapping[str, Any], scope: Mapping[str, Any]) -> str | None:
    """The expanded ``customInlineTemplate`` or ``templates[customFilterTemplate]``; None when neither is set."""
    if query.get("customFilter") is not None:
        raise FilterTemplateError(
            "CanaryMetricSetQueryConfig.customFilter is deprecated, use "
            "CanaryMetricSetQueryConfig.customInlineTemplate instead."
        )
    inline, named = query.get("customInlineTemplate"), query.get("customFilterTemplate")
    if not inline and not named:
        return None
    if inline:
        template = unescape(str(inline))
    else:
        templates = config.get("templates") or {}
        if not templates:
            raise FilterTemplateError(
                f"Custom filter template '{named}' was referenced, but no templates were defined."
            )
        if named not in templates:
            raise FilterTemplateError(f"Custom filter template '{named}' was not found.")
        template = unescape(str(templates[named]))
    return expand(template, bindings(scope, query))


def raw_template(config: Mapping[str, Any], query: Mapping[str, Any]) -> str | None:
    """The template text before expansion (for the warnings Kayenta does not give)."""
    if query.get("customInlineTemplate"):
        return unescape(str(query["customInlineTemplate"]))
    named = query.get("customFilterTemplate")
    templates = config.get("templates") or {}
    return unescape(str(templates[named])) if named and named in templates else None
