"""The five actions, once the working directory is checked out and ``terraform init`` has run.

Each takes a :class:`Run` (what the run knows) and returns a :class:`RunResult` with Armory's ``status``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import plans, workdir
from .context import PLAN_ARTIFACT, PLANFILE, TerraformJob
from .process import Completed

#: the holder's id: the http backend says "already locked: ID=<holder>" (its "Lock Info" is terraform's own
#: attempt); other backends print the holder's "Lock Info" with "ID: <holder>"
_LOCK_ID = re.compile(r"already locked:\s*ID=(\S+)|ID:\s+([0-9a-fA-F-]{8,})")

#: ``step(phase, argv, data=False)``: run one command; ``data`` ones (JSON read by Gennaker) are not capped
Step = Callable[..., Awaitable[Completed]]


@dataclass
class RunRequest:
    execution_id: str
    application: str
    stage_id: str
    attempt: int = 1


@dataclass
class RunResult:
    ok: bool
    status: dict[str, Any]
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def state_path(app: str, workspace: str) -> str:
    return f"/terraform/state/{quote(app.lower(), safe='')}/{quote(workspace, safe='')}"


def force_unlock_hint(app: str, workspace: str, lock_id: str) -> str:
    return (
        f"once the state is checked, an operator can release it: "
        f'POST {state_path(app, workspace)}/force-unlock with {{"id": "{lock_id}"}}'
    )


@dataclass
class Run:
    job: TerraformJob
    request: RunRequest
    status: dict[str, Any]
    step: Step
    tf: str
    dirs: workdir.WorkDir
    common: list[str]
    store: Any

    def fail(self, error: str, code: int | None) -> RunResult:
        self.status.update(state="FAILED", error=error, code=code)
        return RunResult(False, self.status, error=error)

    def ok(self, code: int, artifacts: list[dict[str, Any]] | None = None) -> RunResult:
        self.status.update(state="SUCCEEDED", code=code)
        return RunResult(True, self.status, artifacts or [])

    def failed(self, phase: str, done: Completed) -> RunResult:
        return self.fail(error_of(phase, done, self.request.application, self.job.workspace), done.code)


def error_of(phase: str, done: Completed, app: str, workspace: str) -> str:
    """A failed command's message: the state's lock holder when it is locked, else terraform's last lines."""
    text = done.stderr.strip() or done.stdout.strip()
    if "Error acquiring the state lock" in text:
        found = _LOCK_ID.search(text)
        lock_id = (found.group(1) or found.group(2)) if found else "?"
        return (
            f"terraform {phase}: the state {app}/{workspace} is locked (lock id {lock_id}); "
            f"{force_unlock_hint(app, workspace, lock_id)}"
        )
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(("╷", "╵"))]
    tail = " ".join(line.strip("│ ").strip() for line in lines[-6:])
    return f"terraform {phase} failed (exit code {done.code}): {tail}"[:2000]


async def _outputs(run: Run) -> dict[str, Any]:
    done = await run.step("output", [run.tf, "output", "-json", "-no-color"], data=True)
    if done.code != 0 or not done.stdout.strip():
        return {}
    try:
        return plans.outputs(json.loads(done.stdout))
    except ValueError:
        return {}


def _planfile(run: Run) -> tuple[Path, bytes]:
    """The plan file: kept by Gennaker (only for the application whose pipeline planned it, and unchanged
    since: its sha256 is the artifact's), or embedded in the artifact as Armory does."""
    job, application = run.job, run.request.application
    assert job.planfile is not None
    if job.planfile["type"] == PLAN_ARTIFACT:
        from core.store import NotFoundError

        reference = job.planfile["reference"]
        try:
            plan = run.store.terraform.get_plan(reference)
        except NotFoundError:
            raise workdir.CheckoutError(f"artifacts: no plan file {reference!r} is kept") from None
        if plan["application"] != application:
            raise workdir.CheckoutError(
                f"artifacts: plan file {reference!r} was made by application {plan['application']!r}, "
                f"not {application!r}"
            )
        metadata = job.planfile.get("metadata") if isinstance(job.planfile.get("metadata"), dict) else {}
        expected = (metadata or {}).get("sha256")
        if expected and expected != plan["sha256"]:
            raise workdir.CheckoutError(f"artifacts: plan file {reference!r} does not match its sha256")
        data = plan["planfile"]
    else:
        data = workdir.decode(job.planfile, "artifacts (planfile)")
    path = run.dirs.files / "saved.tfplan"
    path.write_bytes(data)
    return path, data


async def show(run: Run) -> RunResult:
    planfile, _ = _planfile(run)
    done = await run.step("show", [run.tf, "show", "-json", "-no-color", str(planfile)], data=True)
    if done.code != 0:
        return run.failed("show", done)
    shown = json.loads(done.stdout)
    run.status["outputs"] = {"show": {"planfile_json": shown}}
    run.status["planSummary"] = plans.summary(shown)
    return run.ok(0)


async def output(run: Run) -> RunResult:
    run.status["outputs"] = await _outputs(run)
    return run.ok(0)


async def plan(run: Run) -> RunResult:
    job, request = run.job, run.request
    out = run.dirs.files / "plan.tfplan"
    argv = [run.tf, "plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={out}", *run.common]
    if job.plan_for_destroy:
        argv.append("-destroy")
    done = await run.step("plan", argv)
    run.status["planExitCode"] = done.code
    if done.code not in (0, 2):
        return run.failed("plan", done)
    shown = await run.step("show", [run.tf, "show", "-json", "-no-color", str(out)], data=True)
    summary = plans.summary(json.loads(shown.stdout)) if shown.code == 0 else {}
    run.status["planSummary"] = summary
    data = out.read_bytes()
    mark = plans.plan_state_mark(data)

    saved = run.store.terraform.save_plan(request.application, request.execution_id, request.stage_id, data, summary)
    artifact = {
        "type": PLAN_ARTIFACT,
        "name": PLANFILE,
        "reference": saved["id"],
        "version": saved["sha256"],
        "metadata": {
            "sha256": saved["sha256"],
            "workspace": job.workspace,
            "stateLineage": mark.lineage,
            "stateSerial": mark.serial,
            "planForDestroy": job.plan_for_destroy,
            "summary": summary.get("text"),
        },
    }
    run.status["planfile"] = artifact
    return run.ok(done.code, [artifact])


async def apply(run: Run) -> RunResult:
    return await _change(run, "apply")


async def destroy(run: Run) -> RunResult:
    return await _change(run, "destroy")


async def _change(run: Run, phase: str) -> RunResult:
    """Apply (or destroy); with a planfile, only if the state is still the one the plan was made against."""
    if run.job.planfile is not None:
        path, data = _planfile(run)
        try:
            planned = plans.plan_state_mark(data)
        except (KeyError, ValueError, OSError):
            return run.fail("artifacts: the planfile artifact is not a terraform plan file", 1)
        pulled = await run.step("state", [run.tf, "state", "pull"], data=True)
        run.status["logs"].pop("state_stdout", None)  # the state itself is not a log
        if pulled.code != 0:
            return run.failed("state pull", pulled)
        current = plans.state_mark(pulled.stdout)
        if current != planned:
            return run.fail(
                f"the state moved since the plan: the plan was made against {planned.describe()}, "
                f"the state is now at {current.describe()}; plan again and review the new plan",
                1,
            )
        argv = [run.tf, "apply", "-input=false", "-no-color", "-auto-approve"]
        if not run.job.lock:
            argv.append("-lock=false")
        argv.append(str(path))
    else:
        argv = [run.tf, phase, "-input=false", "-no-color", "-auto-approve", *run.common]
    done = await run.step(phase, argv)
    if done.code != 0:
        return run.failed(phase, done)
    run.status["outputs"] = await _outputs(run)
    return run.ok(0)


ACTIONS: dict[str, Callable[[Run], Awaitable[RunResult]]] = {
    "plan": plan,
    "apply": apply,
    "destroy": destroy,
    "output": output,
    "show": show,
}
