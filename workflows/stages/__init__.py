"""The stage registry: Spinnaker's stage type strings (and aliases) → stage definitions.

The registry is built from one explicit tuple, :data:`workflows.stages.catalog.STAGES`; :func:`resolve`
finds a stage for a config's ``type`` (falling back to its ``alias``, as Orca does) or raises an error that
lists every known type. :func:`register` adds a stage type at run time, for the benchmark's and the tests'
own stage types only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from ..errors import UnknownStageTypeError
from .base import StageDefinition
from .catalog import STAGES

_T = TypeVar("_T", bound=type[StageDefinition])


def registry_of(stages: Iterable[type[StageDefinition]]) -> dict[str, StageDefinition]:
    """Each stage type and alias → one instance of its class; a key claimed twice is an error."""
    registry: dict[str, StageDefinition] = {}
    for cls in stages:
        _add(registry, cls)
    return registry


def _add(registry: dict[str, StageDefinition], cls: type[StageDefinition]) -> None:
    instance = cls()
    for key in (cls.type, *cls.aliases):
        known = registry.get(key)
        if known is not None and _name(type(known)) != _name(cls):
            raise RuntimeError(f"stage type {key!r} registered twice ({_name(type(known))} and {_name(cls)})")
        registry[key] = instance


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_REGISTRY: dict[str, StageDefinition] = registry_of(STAGES)


def register(cls: _T) -> _T:
    """Class decorator adding a stage type outside :data:`STAGES` (the benchmark's no-op stage)."""
    _add(_REGISTRY, cls)
    return cls


def known_types() -> list[str]:
    return sorted(_REGISTRY)


def resolve(stage_type: str, alias: str | None = None, *, stage: str | None = None) -> StageDefinition:
    found = _REGISTRY.get(stage_type) or (_REGISTRY.get(alias) if alias else None)
    if found is None:
        raise UnknownStageTypeError(
            f"unknown stage type '{stage_type}'; known types: {', '.join(known_types())}",
            field="type",
            stage=stage,
        )
    return found
