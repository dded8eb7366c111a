"""The engine's permission rules as pure functions: who a stage runs as, which accounts it touches."""

from __future__ import annotations

from typing import Any

import pytest

from core.status import ExecutionStatus as S
from workflows.authorization import (
    authentication,
    denial_message,
    denied_accounts,
    effective_authentication,
    is_enforced,
)
from workflows.execution import StageState
from workflows.launch import inherited_authentication, pipeline_start
from workflows.stages import resolve
from workflows.stages.base import StageDefinition

ANN = authentication("ann", ["dev"], enforced=True)
REL = {"user": "rel", "allowedAccounts": ["prod"], "enforced": True}


def judgment(status: S = S.SUCCEEDED, user: str | None = "rel", **context: Any) -> StageState:
    stage = StageState("id", "1", "manualJudgment", "mj", {"judgmentStatus": "continue", **context}, status)
    stage.last_modified = {"user": user, "allowedAccounts": ["prod"]} if user else None
    return stage


def test_authentication_is_orcas_shape_plus_the_flag_only_when_enforced():
    assert authentication("ann", ["b", "a", "a"], enforced=False) == {"user": "ann", "allowedAccounts": ["a", "b"]}
    assert ANN == {"user": "ann", "allowedAccounts": ["dev"], "enforced": True}
    assert not is_enforced({"user": "ann", "allowedAccounts": [], "enforced": "yes"})


def test_denied_accounts():
    assert denied_accounts(ANN, ["dev", "Prod", "prod", "DEV"]) == ["Prod", "prod"]
    assert denied_accounts({"user": "ann", "allowedAccounts": []}, ["prod"]) == []  # not enforced
    assert denied_accounts({"user": "ann", "enforced": True}, ["dev"]) == ["dev"]  # no accounts: nothing allowed
    assert denial_message(["a", "b"]) == "Access denied to account a; Access denied to account b"


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (judgment(propagateAuthenticationContext=True), REL),
        (
            judgment(propagateAuthenticationContext="true"),
            {"user": "rel", "allowedAccounts": ["prod"], "enforced": True},
        ),
        (judgment(), ANN),  # no propagation asked
        (judgment(S.SKIPPED, propagateAuthenticationContext=True), ANN),
        (judgment(user=None, propagateAuthenticationContext=True), ANN),
        (judgment(judgmentStatus="stop", propagateAuthenticationContext=True), ANN),
    ],
)
def test_effective_authentication(stage, expected):
    assert effective_authentication(ANN, [stage]) == expected


def test_the_nearest_propagating_judgment_wins_and_enforcement_stays_the_executions():
    near, far = judgment(propagateAuthenticationContext=True), judgment(propagateAuthenticationContext=True)
    far.last_modified = {"user": "far", "allowedAccounts": []}
    assert effective_authentication(ANN, [near, far])["user"] == "rel"
    off = {"user": "ann", "allowedAccounts": []}
    assert effective_authentication(off, [near]) == {"user": "rel", "allowedAccounts": ["prod"]}


@pytest.mark.parametrize(
    ("stage_type", "context", "accounts"),
    [
        ("deploy", {"clusters": [{"account": "a"}, {"account": "b"}, {"credentials": "a"}]}, ["a", "b"]),
        ("createServerGroup", {"credentials": "c", "account": "c"}, ["c"]),
        ("destroyServerGroup", {"credentials": "d"}, ["d"]),
        ("rollbackServerGroup", {"credentials": "d"}, ["d"]),
        ("rollbackCluster", {"credentials": "d"}, ["d"]),
        ("resizeServerGroup", {"credentials": "d"}, ["d"]),
        ("disableCluster", {"credentials": "e"}, ["e"]),
        ("shrinkCluster", {"credentials": "e"}, ["e"]),
        ("wait", {"account": "x"}, []),
        ("manualJudgment", {"account": "x"}, []),
    ],
)
def test_which_stages_declare_accounts(stage_type, context, accounts):
    assert resolve(stage_type).mutates_accounts(context) == accounts


def test_kubernetes_stage_types_are_checked_even_undeclared():
    class Manifest(StageDefinition):
        type = "deployManifest"

    class Other(StageDefinition):
        type = "somethingElse"

    assert Manifest().mutates_accounts({"account": "k8s"}) == ["k8s"]
    assert Other().mutates_accounts({"account": "k8s"}) == []


def parent(auth: dict[str, Any]) -> dict[str, Any]:
    return {"type": "pipeline", "parentExecution": {"id": "p", "authentication": auth}}


def test_a_triggered_pipeline_never_escapes_its_parents_checks():
    launcher = {"user": "ann", "allowedAccounts": []}  # what the trigger launcher passes today
    assert inherited_authentication(launcher, parent(ANN)) == ANN
    assert inherited_authentication(None, parent(ANN)) == ANN
    run_as = {"user": "svc", "allowedAccounts": ["x"]}
    assert inherited_authentication(run_as, parent(ANN)) == {**run_as, "enforced": True}
    mine = authentication("bo", ["prod"], enforced=True)
    assert inherited_authentication(mine, parent(ANN)) == mine  # the caller's enforced one is kept
    assert inherited_authentication(launcher, parent({"user": "ann", "allowedAccounts": []})) == launcher
    assert inherited_authentication(launcher, {"type": "manual"}) == launcher
    start = pipeline_start("01J", {"application": "a", "stages": []}, parent(ANN), authentication=launcher)
    assert start.input.authentication == ANN
