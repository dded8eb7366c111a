"""Gate's small endpoints: health, version, accounts, expression capabilities (the caller: routes/auth.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gennaker import __version__

from ..auth.enforce import READ, GuardDep
from ..deps import SettingsDep
from ..models import CronValidation, ExpressionCapabilities, Health, StageType, Version

router = APIRouter(tags=["misc"])


@router.get("/health", response_model=Health)
def health() -> dict[str, str]:
    return {"status": "UP"}


@router.get("/version", response_model=Version)
def version() -> dict[str, str]:
    return {"version": __version__}


@router.get("/credentials")
def credentials(settings: SettingsDep, guard: GuardDep, expand: bool = False) -> list[dict[str, Any]]:
    """Accounts from settings the caller may READ, without any secret field (``expand``: in full detail)."""
    if expand:
        from .credentials import account_details

        return [
            account_details(a, guard) for a in guard.keep_accounts(settings.accounts, key="name", authorization=READ)
        ]
    secret = ("secret", "password", "token", "key", "credential", "externalid", "jsonpath", "kubeconfig")
    return [
        {k: v for k, v in account.items() if not any(s in k.lower() for s in secret)}
        for account in guard.keep_accounts(settings.accounts, key="name", authorization=READ)
    ]


@router.get("/capabilities/expressions", response_model=ExpressionCapabilities)
def expression_capabilities() -> dict[str, Any]:
    from workflows.expressions import FUNCTION_NAMES

    return {"functions": [{"name": name, "description": ""} for name in FUNCTION_NAMES], "spelEvaluators": ["v4"]}


@router.get("/stageTypes", response_model=list[StageType])
def stage_types() -> list[dict[str, Any]]:
    """The stage types the engine runs, each once with its aliases, sorted by type: the pipeline editor's "Add
    stage" picker. Gennaker's own (Deck builds its list from its registered stage modules); open to everyone."""
    from workflows.stages.catalog import STAGES

    return sorted(({"type": s.type, "aliases": list(s.aliases)} for s in STAGES), key=lambda t: str(t["type"]))


@router.get("/cron/validate", response_model=CronValidation, response_model_exclude_unset=True)
def cron_validate(expression: str, settings: SettingsDep) -> dict[str, Any]:
    """Gate's answer: ``{valid: true, description}`` or ``{valid: false, message}``, always a 200 (Gate
    turns Echo's 400 into ``valid: false``). ``nextRuns`` (the next three, in UTC) is Gennaker's addition."""
    from datetime import UTC, datetime

    from integrations.triggers.cron import next_fire_times, parse_quartz, validate_for_gate

    answer = validate_for_gate(expression, time_zone=settings.cron_timezone)
    if answer.get("valid"):
        runs = next_fire_times(parse_quartz(expression, time_zone=settings.cron_timezone), datetime.now(UTC), 3)
        answer["nextRuns"] = [run.astimezone(UTC).isoformat() for run in runs]
    return answer
