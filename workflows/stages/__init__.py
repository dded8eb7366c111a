"""The stage registry: Spinnaker's stage type strings (and aliases) → stage definitions.

Stage modules register themselves with :func:`register`; :func:`resolve` finds a stage for a
config's ``type`` (falling back to its ``alias``, as Orca does) or raises an error that lists
every known type.
"""

from __future__ import annotations

from typing import TypeVar

from ..errors import UnknownStageTypeError
from .base import StageDefinition

_REGISTRY: dict[str, StageDefinition] = {}
_T = TypeVar("_T", bound=type[StageDefinition])


def register(cls: _T) -> _T:
    """Class decorator: register a stage definition under its type and aliases."""
    instance = cls()
    for key in (cls.type, *cls.aliases):
        known = _REGISTRY.get(key)
        # the workflow sandbox may import a stage module a second time: the same class is no conflict
        if known is not None and _name(type(known)) != _name(cls):
            raise RuntimeError(f"stage type {key!r} registered twice ({_name(type(known))} and {_name(cls)})")
        _REGISTRY[key] = instance
    return cls


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def known_types() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def resolve(stage_type: str, alias: str | None = None, *, stage: str | None = None) -> StageDefinition:
    _load()
    found = _REGISTRY.get(stage_type) or (_REGISTRY.get(alias) if alias else None)
    if found is None:
        raise UnknownStageTypeError(
            f"unknown stage type '{stage_type}'; known types: {', '.join(known_types())}",
            field="type",
            stage=stage,
        )
    return found


def _load() -> None:
    # Import the stage modules once, so that registering is a side effect of importing the package.
    from . import catalog  # noqa: F401
