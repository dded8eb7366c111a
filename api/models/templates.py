"""Managed pipeline templates v2 (MPTv2) as Gate and Front50 take and answer them, and the answers around them.

A template is handed on as the client sent it (``document``); the template rules (templates/) answer what does not
fit, naming the field. Templated pipeline configs are H1's ``PipelineConfig`` (``schema: v2`` and ``template``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import SpinnakerDocument

Json = dict[str, Any]


class TemplateMetadata(SpinnakerDocument):
    name: str | None = None
    description: str | None = None
    owner: str | None = None
    scopes: list[str] | None = None


class TemplateVariable(SpinnakerDocument):
    """A variable a templated config fills in (``type``: string, int, float, boolean, list, object)."""

    name: str
    type: str | None = None
    description: str | None = None
    default_value: Any = None
    nullable: bool | None = None


class PipelineTemplate(SpinnakerDocument):
    """An MPTv2 template: its ``pipeline`` with ``${templateVariables.x}`` holes, the variables, who may use it."""

    id: str | None = None
    schema_: str | None = Field(None, alias="schema")
    metadata: TemplateMetadata | None = None
    variables: list[TemplateVariable] | None = None
    pipeline: Json | None = None
    protect: bool | None = None
    tag: str | None = None
    digest: str | None = None
    last_modified: int | None = None
    last_modified_by: str | None = None


class DependentError(SpinnakerDocument):
    """A dependent pipeline that no longer renders against the updated template, and why."""

    application: str | None = None
    id: str | None = None
    name: str | None = None
    message: str | None = None
    field: str | None = None


class SavedTemplate(PipelineTemplate):
    """The stored template with its ``digest``; an update lists its broken dependents (``dependentErrors``)."""

    dependent_errors: list[DependentError] | None = None


class TemplateDeleted(SpinnakerDocument):
    deleted: str


class Dependent(SpinnakerDocument):
    """Gate's view of a pipeline that uses a template."""

    application: str | None
    id: str | None
    name: str | None
