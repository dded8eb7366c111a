"""``manualJudgment``: wait for a person to choose continue or stop (a Temporal update, validated).

A judgment arrives as a PATCH of ``judgmentStatus`` (``continue``/``stop``, any case) and
optionally ``judgmentInput`` (one of ``judgmentInputs``). When the stage names roles in
``selectedStageRoles`` (or the older ``requiredJudgmentRoles``), only a user holding one of them
may judge (a Fiat admin always may); the validator refuses others before anything is recorded.
With ``propagateAuthenticationContext: true`` the stages downstream run as the judge (their user and
``allowedAccounts``, recorded in ``lastModified``); see ``workflows/authorization.py``.
"""

from __future__ import annotations

from datetime import timedelta

from core.status import ExecutionStatus

from .base import JSON, PatchRequest, StageDefinition, TaskResult, TaskRuntime, TaskSpec

DEFAULT_TIMEOUT = timedelta(days=3)
DECISIONS = ("continue", "stop")


def judgment(context: JSON) -> str | None:
    value = context.get("judgmentStatus")
    if isinstance(value, str) and value.lower() in DECISIONS:
        return value.lower()
    return None


def required_roles(context: JSON) -> list[str]:
    roles = context.get("selectedStageRoles") or context.get("requiredJudgmentRoles") or []
    return [str(r) for r in roles] if isinstance(roles, list) else []


async def wait_for_judgment(runtime: TaskRuntime) -> TaskResult:
    timeout = runtime.task_timeout or DEFAULT_TIMEOUT
    decided = await runtime.wait_for(
        lambda: judgment(runtime.context) is not None, timeout, "waiting for a manual judgment"
    )
    if not decided:
        return TaskResult.terminal(f"Manual judgment timed out after {_days(timeout)}")
    decision = judgment(runtime.context)
    runtime.context["judgmentStatus"] = decision
    if decision == "continue":
        return TaskResult.succeeded()
    who = runtime.context.get("lastModifiedBy") or "a user"
    return TaskResult.terminal(f"Stopped by {who} at the manual judgment")


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:g} days" if days >= 1 else f"{delta.total_seconds():g}s"


class ManualJudgmentStage(StageDefinition):
    type = "manualJudgment"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            TaskSpec(
                "waitForJudgment",
                "com.netflix.spinnaker.orca.echo.pipeline.ManualJudgmentStage$WaitForManualJudgmentTask",
                run=wait_for_judgment,
                timeout=DEFAULT_TIMEOUT,
                overridable_timeout=True,
            )
        ]

    def validate_patch(self, context: JSON, status: ExecutionStatus, patch: PatchRequest) -> None:
        super().validate_patch(context, status, patch)
        if judgment(context) is not None:
            raise ValueError(f"this judgment was already made ({context.get('judgmentStatus')})")
        raw = patch.context.get("judgmentStatus")
        if raw is not None and (not isinstance(raw, str) or raw.lower() not in DECISIONS):
            raise ValueError(f"judgmentStatus must be 'continue' or 'stop', got {raw!r}")
        choice = patch.context.get("judgmentInput")
        options = [o.get("value") for o in context.get("judgmentInputs") or [] if isinstance(o, dict)]
        if choice not in (None, "") and options and choice not in options:
            raise ValueError(f"judgmentInput must be one of {', '.join(map(str, options))}, got {choice!r}")
        roles = required_roles(context)
        if roles and not patch.admin and not set(roles) & set(patch.roles):
            raise ValueError(
                f"user {patch.user} may not judge this stage: it requires one of the roles {', '.join(roles)}"
            )
