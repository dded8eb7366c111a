"""One run of the ``terraform`` stage: a fresh working directory, ``terraform init``, the action, its outputs.

The answer is Armory's ``status`` (``id``, ``state``, ``code``, ``error``, ``outputs``, ``logs`` per phase) plus
Gennaker's ``planSummary`` and, for a plan, the ``planfile`` artifact naming the plan file kept in the store.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from integrations.outbound import OutboundPolicy

from . import plans, workdir
from .context import MUTATING, PLAN_ARTIFACT, PLANFILE, InvalidTerraformStage, TerraformJob
from .process import Completed, redactor, run
from .settings import TerraformSettings

_HTTP_BACKEND = re.compile(r'backend\s+"http"\s*\{')
#: the holder's id: the http backend says "already locked: ID=<holder>" (its "Lock Info" is terraform's own
#: attempt); other backends print the holder's "Lock Info" with "ID: <holder>"
_LOCK_ID = re.compile(r"already locked:\s*ID=(\S+)|ID:\s+([0-9a-fA-F-]{8,})")


class RunFailed(Exception):
    """The run could not be made (bad input the context check cannot see, a refused URL); names the field."""


@dataclass
class RunRequest:
    execution_id: str
    application: str
    stage_id: str
    attempt: int = 1
    user: str = "anonymous"


@dataclass
class RunResult:
    ok: bool
    status: dict[str, Any]
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def state_path(app: str, workspace: str) -> str:
    return f"/terraform/state/{quote(app, safe='')}/{quote(workspace, safe='')}"


def force_unlock_hint(app: str, workspace: str, lock_id: str) -> str:
    return (
        f"once the state is checked, an operator can release it: "
        f'POST {state_path(app, workspace)}/force-unlock with {{"id": "{lock_id}"}}'
    )


class TerraformRunner:
    """Runs actions for the worker's activities, with the operator's settings, store and outbound policy."""

    def __init__(self, settings: TerraformSettings, store: Any, policy: OutboundPolicy, state_dir: Path) -> None:
        self.settings = settings
        self.store = store
        self.policy = policy
        self.root = settings.work_root or (Path(state_dir) / "terraform")

    # ---- the pieces --------------------------------------------------------------------------------------------

    def binary(self, job: TerraformJob) -> str:
        path = self.settings.binary(job.version)
        if path is None:
            known = ", ".join(sorted(self.settings.versions)) or "none; only the default terraform is installed"
            raise InvalidTerraformStage(
                "terraformVersion", f"version {job.version!r} is not installed (installed: {known})"
            )
        found = shutil.which(path)
        if found is None:
            raise InvalidTerraformStage(
                "terraformVersion", f"the terraform binary {path!r} is not installed on the worker"
            )
        return found

    def env(self, job: TerraformJob, request: RunRequest, home: Path) -> tuple[dict[str, str], list[str]]:
        """The whole environment terraform gets, and the secret values to redact from its output."""
        env = {
            "PATH": self.settings.path,
            "HOME": str(home),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": str(home / ".terraformrc"),
        }
        secrets: list[str] = []
        for name, value in self.settings.env.items():
            env[name] = value.get_secret_value()
        if job.profile is not None:
            profile = self.settings.profile(job.profile)
            if profile is None:
                known = ", ".join(p.name for p in self.settings.profiles) or "none"
                raise InvalidTerraformStage("profile", f"unknown profile {job.profile!r} (known: {known})")
            if not profile.allows(request.application):
                raise InvalidTerraformStage(
                    "profile", f"application {request.application!r} may not use profile {job.profile!r}"
                )
            env.update({k: v.get_secret_value() for k, v in profile.env.items()})
            env.update({f"TF_VAR_{k}": v.get_secret_value() for k, v in profile.variables.items()})
            secrets += profile.secrets()
        if self.settings.state_token is not None:
            env["TF_HTTP_USERNAME"] = "gennaker"
            env["TF_HTTP_PASSWORD"] = self.settings.state_token.get_secret_value()
            secrets.append(env["TF_HTTP_PASSWORD"])
        return env, secrets

    def git_token(self, job: TerraformJob) -> str | None:
        profile = self.settings.profile(job.profile) if job.profile else None
        return profile.git_token.get_secret_value() if profile and profile.git_token else None

    def gennaker_backend(self, job: TerraformJob, where: Path) -> bool:
        """Does Gennaker serve this configuration's state (an empty ``backend "http"`` and a ``state_url``)?"""
        if self.settings.state_url is None or job.backend is not None:
            return False
        return any(_HTTP_BACKEND.search(p.read_text(errors="replace")) for p in sorted(where.glob("*.tf")))

    def backend_args(self, request: RunRequest, job: TerraformJob) -> list[str]:
        assert self.settings.state_url is not None
        address = f"{self.settings.state_url}{state_path(request.application, job.workspace)}"
        with_execution = f"{address}?execution={quote(request.execution_id, safe='')}"
        return [
            f"-backend-config=address={with_execution}",
            f"-backend-config=lock_address={address}",
            f"-backend-config=unlock_address={address}",
        ]

    def interrupted(self, job: TerraformJob, request: RunRequest) -> str:
        """The message for a second attempt of an apply or destroy: Gennaker never applies twice silently."""
        text = (
            f"terraform {job.action} was interrupted: attempt {request.attempt - 1} stopped with its worker, "
            "so Gennaker does not run it again."
        )
        lock = None
        if self.store is not None:
            from api.store.terraform import TerraformStore

            lock = TerraformStore(self.store).get_lock(request.application.lower(), job.workspace)
        if lock:
            lock_id = str(lock.get("ID"))
            who, op = lock.get("Who", "?"), lock.get("Operation", "?")
            return (
                f"{text} The state {request.application}/{job.workspace} is locked (lock id {lock_id}, "
                f"{op} by {who}); {force_unlock_hint(request.application, job.workspace, lock_id)}."
            )
        return f"{text} Check the state before running the stage again."

    # ---- a run --------------------------------------------------------------------------------------------------

    async def run(
        self, job: TerraformJob, request: RunRequest, progress: Callable[[str, str, str], None] | None = None
    ) -> RunResult:
        run_id = f"{request.execution_id}-{request.stage_id}-{uuid.uuid4().hex[:8]}"
        status: dict[str, Any] = {
            "id": run_id,
            "state": "RUNNING",
            "code": None,
            "error": None,
            "outputs": {},
            "logs": {},
        }
        if request.attempt > 1 and job.action in MUTATING:
            return self._fail(status, self.interrupted(job, request), code=1)
        tf = self.binary(job)
        self.root.mkdir(parents=True, exist_ok=True)
        dirs = workdir.create(self.root, run_id)
        try:
            env, secrets = self.env(job, request, dirs.home)
            redact = redactor(secrets)
            cap = self.settings.log_cap_bytes

            async def step(phase: str, argv: list[str], cwd: Path) -> Completed:
                if progress is not None:
                    progress(phase, "start", " ".join(argv[1:3]))
                done = await run(
                    argv,
                    cwd=str(cwd),
                    env=env,
                    cap=cap,
                    redact=redact,
                    on_line=(lambda s, line: progress(phase, s, line)) if progress else None,
                )
                status["logs"][f"{phase}_stdout"] = done.stdout
                status["logs"][f"{phase}_stderr"] = done.stderr
                return done

            workdir.check_repository_url(job.repo["reference"], self.policy)
            git_env = workdir.git_env(
                env, dirs.home, self.git_token(job), allow_file="file" in self.policy.settings.allowed_schemes
            )
            await workdir.checkout(dirs, job.repo, git=self.settings.git_binary, env=git_env, cap=cap, redact=redact)
            where = workdir.run_dir(dirs, job)
            var_files = workdir.write_var_files(dirs, job)
            init = [tf, "init", "-input=false", "-no-color"]
            ours = self.gennaker_backend(job, where)
            if ours:
                init += self.backend_args(request, job)
            if job.backend is not None:
                backend_file = dirs.files / "backend.hcl"
                backend_file.write_bytes(workdir.decode(job.backend, "backendArtifact"))
                init.append(f"-backend-config={backend_file}")
            done = await step("init", init, where)
            if done.code != 0:
                return self._fail(status, self._error("init", done, request, job), done.code)
            if job.workspace != "default" and not ours:
                done = await step(
                    "workspace", [tf, "workspace", "select", "-or-create", "-no-color", job.workspace], where
                )
                if done.code != 0:
                    return self._fail(status, self._error("workspace", done, request, job), done.code)
            common = [arg for f in var_files for arg in ("-var-file", str(f))]
            common += [arg for k, v in job.overrides.items() for arg in ("-var", f"{k}={v}")]
            common += [arg for t in job.targets for arg in ("-target", t)]
            if not job.lock:
                common.append("-lock=false")
            return await getattr(self, f"_{job.action}")(job, request, status, step, tf, where, dirs, common)
        except workdir.CheckoutError as err:
            return self._fail(status, str(err), 1)
        finally:
            dirs.remove()

    def _fail(self, status: dict[str, Any], error: str, code: int | None) -> RunResult:
        status.update(state="FAILED", error=error, code=code)
        return RunResult(False, status, error=error)

    def _ok(self, status: dict[str, Any], code: int, artifacts: list[dict[str, Any]] | None = None) -> RunResult:
        status.update(state="SUCCEEDED", code=code)
        return RunResult(True, status, artifacts or [])

    def _error(self, phase: str, done: Completed, request: RunRequest, job: TerraformJob) -> str:
        text = done.stderr.strip() or done.stdout.strip()
        if "Error acquiring the state lock" in text:
            found = _LOCK_ID.search(text)
            lock_id = (found.group(1) or found.group(2)) if found else "?"
            return (
                f"terraform {phase}: the state {request.application}/{job.workspace} is locked (lock id {lock_id}); "
                f"{force_unlock_hint(request.application, job.workspace, lock_id)}"
            )
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith(("╷", "╵"))]
        tail = " ".join(line.strip("│ ").strip() for line in lines[-6:])
        return f"terraform {phase} failed (exit code {done.code}): {tail}"[:2000]

    async def _outputs(self, step: Any, tf: str, where: Path) -> dict[str, Any]:
        done = await step("output", [tf, "output", "-json", "-no-color"], where)
        if done.code != 0 or not done.stdout.strip():
            return {}
        try:
            return plans.outputs(json.loads(done.stdout))
        except ValueError:
            return {}

    async def _show(self, job, request, status, step, tf, where, dirs, common):  # type: ignore[no-untyped-def]
        planfile, _plan = self._planfile(job, dirs, request.application)
        done = await step("show", [tf, "show", "-json", "-no-color", str(planfile)], where)
        if done.code != 0:
            return self._fail(status, self._error("show", done, request, job), done.code)
        shown = json.loads(done.stdout)
        status["outputs"] = {"show": {"planfile_json": shown}}
        status["planSummary"] = plans.summary(shown)
        return self._ok(status, 0)

    async def _output(self, job, request, status, step, tf, where, dirs, common):  # type: ignore[no-untyped-def]
        status["outputs"] = await self._outputs(step, tf, where)
        return self._ok(status, 0)

    async def _plan(self, job, request, status, step, tf, where, dirs, common):  # type: ignore[no-untyped-def]
        out = dirs.files / "plan.tfplan"
        argv = [tf, "plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={out}", *common]
        if job.plan_for_destroy:
            argv.append("-destroy")
        done = await step("plan", argv, where)
        status["planExitCode"] = done.code
        if done.code not in (0, 2):
            return self._fail(status, self._error("plan", done, request, job), done.code)
        shown = await step("show", [tf, "show", "-json", "-no-color", str(out)], where)
        summary = plans.summary(json.loads(shown.stdout)) if shown.code == 0 else {}
        status["planSummary"] = summary
        data = out.read_bytes()
        mark = plans.plan_state_mark(data)
        from api.store.terraform import TerraformStore

        saved = TerraformStore(self.store).save_plan(
            request.application, request.execution_id, request.stage_id, data, summary
        )
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
        status["planfile"] = artifact
        return self._ok(status, done.code, [artifact])

    def _planfile(self, job: TerraformJob, dirs: workdir.WorkDir, application: str) -> tuple[Path, bytes]:
        """The plan file: kept by Gennaker (only for the application whose pipeline planned it, and unchanged
        since: its sha256 is the artifact's), or embedded in the artifact as Armory does."""
        assert job.planfile is not None
        if job.planfile["type"] == PLAN_ARTIFACT:
            from api.store import NotFoundError
            from api.store.terraform import TerraformStore

            reference = job.planfile["reference"]
            try:
                plan = TerraformStore(self.store).get_plan(reference)
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
        path = dirs.files / "saved.tfplan"
        path.write_bytes(data)
        return path, data

    async def _apply(self, job, request, status, step, tf, where, dirs, common):  # type: ignore[no-untyped-def]
        return await self._change(job, request, status, step, tf, where, dirs, common, destroy=False)

    async def _destroy(self, job, request, status, step, tf, where, dirs, common):  # type: ignore[no-untyped-def]
        return await self._change(job, request, status, step, tf, where, dirs, common, destroy=True)

    async def _change(self, job, request, status, step, tf, where, dirs, common, *, destroy):  # type: ignore[no-untyped-def]
        phase = "destroy" if destroy else "apply"
        if job.planfile is not None:
            path, data = self._planfile(job, dirs, request.application)
            try:
                planned = plans.plan_state_mark(data)
            except (KeyError, ValueError, OSError):
                return self._fail(status, "artifacts: the planfile artifact is not a terraform plan file", 1)
            pulled = await step("state", [tf, "state", "pull"], where)
            if pulled.code != 0:
                return self._fail(status, self._error("state pull", pulled, request, job), pulled.code)
            current = plans.state_mark(pulled.stdout)
            status["logs"].pop("state_stdout", None)  # the state itself is not a log
            if current != planned:
                error = (
                    f"the state moved since the plan: the plan was made against {planned.describe()}, "
                    f"the state is now at {current.describe()}; plan again and review the new plan"
                )
                return self._fail(status, error, 1)
            argv = [tf, "apply", "-input=false", "-no-color", "-auto-approve"]
            if not job.lock:
                argv.append("-lock=false")
            argv.append(str(path))
        else:
            argv = [tf, phase, "-input=false", "-no-color", "-auto-approve", *common]
        done = await step(phase, argv, where)
        if done.code != 0:
            return self._fail(status, self._error(phase, done, request, job), done.code)
        status["outputs"] = await self._outputs(step, tf, where)
        return self._ok(status, 0)
