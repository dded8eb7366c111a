"""The stage registry is the explicit tuple in workflows/stages/catalog.py: every stage class of every stage
module is in it, each type resolves to its class, and a type claimed twice is refused."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import workflows.stages as stages
from workflows.stages import registry_of, resolve
from workflows.stages.base import StageDefinition
from workflows.stages.catalog import STAGES


def _stage_classes() -> set[type[StageDefinition]]:
    """Every concrete stage class defined in a module of workflows/stages/."""
    found: set[type[StageDefinition]] = set()
    for info in pkgutil.iter_modules(stages.__path__):
        module = importlib.import_module(f"workflows.stages.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, StageDefinition) and cls.__module__ == module.__name__ and cls.type:
                found.add(cls)
    return found


def test_every_stage_class_is_in_the_catalog() -> None:
    assert _stage_classes() - set(STAGES) == set()


def test_each_type_and_alias_resolves_to_its_class() -> None:
    for cls in STAGES:
        for key in (cls.type, *cls.aliases):
            assert type(resolve(key)) is cls


def test_a_type_claimed_twice_is_refused() -> None:
    class Wait(StageDefinition):
        type = "wait"

    with pytest.raises(RuntimeError, match="stage type 'wait' registered twice"):
        registry_of((*STAGES, Wait))
