"""What a stage type declares, and the objects its tasks receive and return.

A stage type says which tasks it runs (and which synthetic stages it adds); the generic stage
runner (``workflows/stage.py``) runs them. Tasks come in two kinds:

* activity tasks name an activity; the runner calls it with a :class:`TaskInput` and, while it
  answers RUNNING, calls it again after the task's backoff (a check-once activity plus a durable
  timer, as Orca's ``RetryableTask`` does);
* workflow tasks are ``async`` functions run inside the stage workflow against a
  :class:`TaskRuntime`, for work that is only waiting or pure computation (timers, judgments,
  expression evaluation), so they cost no activity round trip.

Stage modules never call Temporal's APIs themselves; the runtime does that for them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.status import ExecutionStatus

# re-exported: stage modules and the stage workflow name the task contract from here
from core.tasks import JSON as JSON
from core.tasks import TaskInput as TaskInput
from core.tasks import TaskResult as TaskResult

from ..authorization import KUBERNETES_MUTATING_TYPES, context_accounts


class TaskRuntime(Protocol):
    """What a workflow task may do. Implemented by the stage workflow."""

    @property
    def context(self) -> JSON: ...

    @property
    def outputs(self) -> JSON: ...

    @property
    def stage_start(self) -> datetime: ...

    def now(self) -> datetime: ...

    async def wait_for(self, predicate: Callable[[], bool], timeout: timedelta | None, summary: str) -> bool:
        """Wait until ``predicate()`` holds (True) or the timeout passes (False). Paused time is not skipped."""
        ...

    def execution(self) -> JSON:
        """The execution as Gate shows it, for expressions such as ``#stage('x')``."""
        ...

    def evaluate(self, value: Any) -> tuple[Any, JSON]:
        """Evaluate ``${...}`` in ``value``; returns the result and Spinnaker's expressionEvaluationSummary."""
        ...

    def evaluate_condition(self, expression: str) -> bool: ...

    @property
    def task_timeout(self) -> timedelta | None:
        """The running task's timeout (its default, or a longer ``stageTimeoutMs`` where Orca allows that)."""
        ...

    @property
    def stage_id(self) -> str: ...

    async def activity(self, name: str, arg: Any, summary: str) -> Any:
        """Call a one-shot activity (retried on transient errors; a non-retryable error is raised)."""
        ...

    async def start_pipeline(self, config: JSON, trigger: JSON, wait: bool) -> str:
        """Start a child pipeline execution; returns its execution id."""
        ...

    async def wait_pipeline(self) -> JSON:
        """Wait for the child pipeline this stage started; returns its execution JSON."""
        ...


WorkflowTaskFn = Callable[[TaskRuntime], Awaitable[TaskResult]]


@dataclass(frozen=True)
class TaskSpec:
    """One task of a stage, as Orca's ``TaskNode``: a name, how it runs, and its polling rules."""

    name: str
    implementing_class: str
    activity: str | None = None
    run: WorkflowTaskFn | None = None
    polling: bool = False
    backoff: timedelta = timedelta(seconds=1)
    timeout: timedelta | None = None
    #: activity to call (once, best effort) when the stage is canceled while this task runs.
    on_cancel: str | None = None
    #: task queue for the activity; None = the engine's default activity queue.
    queue: str | None = None
    start_to_close: timedelta = timedelta(minutes=5)
    #: long activities heartbeat; this is how quickly a dead worker or a cancel is noticed.
    heartbeat_timeout: timedelta | None = None
    #: the activity reads upstream stages' outputs (``TaskInput.ancestor_outputs``), e.g. baked images
    needs_ancestors: bool = False
    #: the workflow task reads the execution (``runtime.execution()``, ``runtime.evaluate``): the stage
    #: loads the store's view of it before the task runs
    needs_execution: bool = False
    #: Orca's ``OverridableTimeoutRetryableTask``: a ``stageTimeoutMs`` longer than :attr:`timeout` extends it
    overridable_timeout: bool = False

    def timeout_in(self, context: JSON) -> timedelta | None:
        """The task's timeout in a stage with ``context``: extended by a longer ``stageTimeoutMs``
        for tasks that allow it (judgments, webhook and Jenkins monitors), as Orca's RunTaskHandler does."""
        ms = context.get("stageTimeoutMs")
        if not self.overridable_timeout or isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms <= 0:
            return self.timeout
        stage = timedelta(milliseconds=ms)
        return stage if self.timeout is None or stage > self.timeout else self.timeout


@dataclass
class PatchRequest:
    """A ``PATCH /pipelines/{id}/stages/{stageId}`` body, with which stage it is for and who sent it."""

    stage_id: str
    context: JSON
    user: str = "anonymous"
    roles: list[str] = field(default_factory=list)
    #: the accounts the sender may write to (recorded as the stage's ``lastModified.allowedAccounts``)
    allowed_accounts: list[str] = field(default_factory=list)
    #: a Fiat admin may judge any stage, whatever roles it names
    admin: bool = False


@dataclass
class SyntheticStage:
    """A stage a stage adds around itself (Orca's before/after/onFailure stages)."""

    type: str
    name: str
    context: JSON
    owner: str = "STAGE_BEFORE"  # or STAGE_AFTER
    #: synthetic stages with the same group run in parallel with each other
    parallel_group: str | None = None


class StageDefinition:
    """Base of every stage type. Subclasses set ``type``/``aliases`` and override what they need."""

    type: str = ""
    aliases: tuple[str, ...] = ()
    #: may a user skip this stage while it runs (``manualSkip`` in a PATCH)?
    manual_skip_allowed: bool = False
    #: evaluate ``${...}`` in the context when the stage starts (v4); off for stages that do it themselves.
    evaluate_context: bool = True
    #: the stage acts on the account its context names (``credentials`` or ``account``); see
    #: ``workflows/authorization.py``. Stages acting on several accounts override ``mutates_accounts``.
    mutates_account: bool = False

    def tasks(self, context: JSON) -> list[TaskSpec]:
        raise NotImplementedError

    def mutates_accounts(self, context: JSON) -> list[str]:
        """The accounts this stage changes (its evaluated context); checked against the execution's
        ``allowedAccounts`` before its first task when permissions are enforced."""
        if not (self.mutates_account or self.type in KUBERNETES_MUTATING_TYPES):
            return []
        return context_accounts(context)

    def required_permissions(self, context: JSON) -> list[tuple[str, str, str]]:
        """What else the stage uses, as ``(kind, name, authorization)`` (an application's EXECUTE, a Jenkins
        master's WRITE); checked like the accounts when permissions are enforced (workflows/authorization.py)."""
        return []

    def before_stages(self, context: JSON) -> list[SyntheticStage]:
        return []

    def after_stages(self, context: JSON) -> list[SyntheticStage]:
        return []

    def prepare_for_restart(self, context: JSON) -> None:
        """Forget what a restart must not reuse (a Jenkins stage's build); the context is the stage's own."""

    def on_failure_stages(self, context: JSON) -> list[SyntheticStage]:
        """Stages to run when this stage's tasks fail (Orca's ``onFailureStages``); the stage stays failed."""
        return []

    def validate_patch(self, context: JSON, status: ExecutionStatus, patch: PatchRequest) -> None:
        """Raise ``ValueError`` to refuse a PATCH. Default: only a running stage may be patched."""
        if status not in (ExecutionStatus.RUNNING, ExecutionStatus.SUSPENDED, ExecutionStatus.PAUSED):
            raise ValueError(f"stage is {status.value}, not running")
