"""One run of the ``terraform`` stage: a fresh working directory, ``terraform init``, the action, its outputs.

The answer is Armory's ``status`` (``id``, ``state``, ``code``, ``error``, ``outputs``, ``logs`` per phase) plus
Gennaker's ``planSummary`` and, for a plan, the ``planfile`` artifact naming the plan file kept in the store.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.settings.terraform import TerraformSettings
from integrations.outbound import OutboundPolicy

from . import workdir
from .actions import ACTIONS, Run, RunRequest, RunResult, error_of, force_unlock_hint, state_path
from .context import MUTATING, InvalidTerraformStage, TerraformJob
from .process import CappedLog, Completed, redactor, run

__all__ = ["RunRequest", "RunResult", "TerraformRunner"]

_HTTP_BACKEND = re.compile(r'backend\s+"http"\s*\{')
#: JSON Gennaker reads (``show -json``, ``output -json``, ``state pull``) is read whole, up to this
DATA_CAP = 256 * 1024 * 1024


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
            lock = self.store.terraform.get_lock(request.application.lower(), job.workspace)
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

            where = dirs.repo

            async def step(phase: str, argv: list[str], data: bool = False) -> Completed:
                if progress is not None:
                    progress(phase, "start", " ".join(argv[1:3]))
                done = await run(
                    argv,
                    cwd=str(where),
                    env=env,
                    cap=DATA_CAP if data else cap,
                    redact=redact,
                    on_line=(lambda s, line: progress(phase, s, line)) if progress else None,
                )
                for stream in ("stdout", "stderr"):
                    kept = CappedLog(cap)
                    kept.add(getattr(done, stream))
                    status["logs"][f"{phase}_{stream}"] = kept.text()
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
            done = await step("init", init)
            if done.code != 0:
                return self._fail(status, error_of("init", done, request.application, job.workspace), done.code)
            if job.workspace != "default" and not ours:
                done = await step("workspace", [tf, "workspace", "select", "-or-create", "-no-color", job.workspace])
                if done.code != 0:
                    error = error_of("workspace", done, request.application, job.workspace)
                    return self._fail(status, error, done.code)
            common = [arg for f in var_files for arg in ("-var-file", str(f))]
            common += [arg for k, v in job.overrides.items() for arg in ("-var", f"{k}={v}")]
            common += [arg for t in job.targets for arg in ("-target", t)]
            if not job.lock:
                common.append("-lock=false")
            return await ACTIONS[job.action](Run(job, request, status, step, tf, dirs, common, self.store))
        except workdir.CheckoutError as err:
            return self._fail(status, str(err), 1)
        finally:
            dirs.remove()

    def _fail(self, status: dict[str, Any], error: str, code: int | None) -> RunResult:
        status.update(state="FAILED", error=error, code=code)
        return RunResult(False, status, error=error)
