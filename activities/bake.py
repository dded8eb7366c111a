"""The bake stage's activities (Orca's bake tasks talking to Rosco) and the packer activity (Rosco's job).

* ``create_bake``: read the request, decide the recipe (``bakery/recipe.py``), then reuse the cache
  (Rosco's bake store) unless ``rebake``, else signal-with-start the bake workflow ``bake-<key>``;
  identical bakes join one workflow (``bakery/workflow.py``).
* ``monitor_bake``: one look at the bake workflow; RUNNING until it ends. A bake abandoned by the
  stages that shared it is started again (Orca's MonitorBakeTask re-bakes a canceled bake).
* ``completed_bake``: the image from the bake store (Rosco's ``lookupBake``).
* ``cancel_bake``: detach the stage from its bake (packer stops when nobody waits any more).
* ``run_packer``: the packer process for one bake, heartbeating its log offset (``bakery/runner.py``).

Request errors are TERMINAL results naming the field; Temporal and cloud hiccups raise and are retried.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.service import RPCError, RPCStatusCode

from bakery import logs
from bakery.accounts import BakeAccounts
from bakery.command import check_variables, effective_template, find_packer, packer_command, packer_env
from bakery.errors import BakeRequestError, PackerUnavailableError
from bakery.images import ImageConfig, load_images
from bakery.machine_readable import Transcript, amazon_images
from bakery.messages import BAKE_WORKFLOW, RUN_PACKER, BakeRecipe, RunBakeInput, RunBakeResult
from bakery.recipe import ami_suffix, plan_bake
from bakery.request import bake_request
from bakery.runner import CANCELED as STOPPED_CANCELED
from bakery.runner import reap_stale, run_packer
from bakery.store import CANCELED, COMPLETED, FAILURE, RUNNING, SUCCESS, BakeRecord, BakeStore
from core.settings.bakery import BakerySettings
from core.status import ExecutionStatus
from core.tasks import CANCEL_BAKE, COMPLETED_BAKE, CREATE_BAKE, JSON, MONITOR_BAKE, TaskInput, TaskResult

#: ``detach`` signal of the bake workflow
DETACH = "detach"


def requester_of(inp: TaskInput) -> str:
    """Who waits for a bake: this run of this stage (a restarted stage is a new requester)."""
    return f"{inp.execution_id}/{inp.stage_id}/{inp.stage_start_time_ms}"


def status_of(context: JSON) -> JSON:
    """The stage's ``status`` (Orca's BakeStatus), or an empty one."""
    status = context.get("status")
    return status if isinstance(status, dict) else {}


def workflow_id_for(key: str) -> str:
    return f"bake-{key}"


def failure_message(outcome_error: str | None, bake_id: str, region: str) -> str:
    text = outcome_error or "packer failed"
    return f"{text}\n(bake log: GET /bakery/logs/{region}/{bake_id})"


class BakeActivities:
    """The bake activities around the Temporal client, the image config, the accounts and the store."""

    def __init__(
        self,
        client: Client,
        settings: BakerySettings,
        images: ImageConfig,
        accounts: BakeAccounts,
        store: BakeStore,
        state_dir: Path,
        workflow_queue: str,
        packer_queue: str | None = None,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.client = client
        self.settings = settings
        self.images = images
        self.accounts = accounts
        self.store = store
        self.state_dir = Path(state_dir)
        self.workflow_queue = workflow_queue
        self.packer_queue = packer_queue
        self.clock_ms = clock_ms

    # ---- createBake --------------------------------------------------------------------------

    @activity.defn(name=CREATE_BAKE)
    async def create_bake(self, inp: TaskInput) -> TaskResult:
        """Orca's ``CreateBakeTask`` + Rosco's ``createBake``: a cached bake, or the bake workflow started/joined."""
        ctx = inp.context
        region = ctx.get("region")
        if not isinstance(region, str) or not region:
            return TaskResult.terminal("region: the region to bake in")
        suffix = ctx.get("amiSuffix") or ami_suffix(inp.stage_start_time_ms)
        try:
            request = bake_request({**ctx, "amiSuffix": suffix}, region, inp.trigger)
            recipe = await asyncio.to_thread(
                plan_bake, request, self.images, self.settings.templates_dir, self.accounts, self.clock_ms()
            )
            check_variables(recipe.variables)
        except BakeRequestError as err:
            activity.logger.info("bake request of stage %s refused: %s", inp.stage_id, err)
            return TaskResult.terminal(str(err))
        requester = requester_of(inp)
        context: JSON = {
            "amiSuffix": suffix,
            "packageType": recipe.package_type,
            "bakePackageName": recipe.packages,
            "cloudProviderType": recipe.cloud_provider,
            "bakeKey": recipe.key,
            **{k: v for k, v in _build_fields(recipe).items() if v},
        }
        if request.rebake:
            bakes = await asyncio.to_thread(self.store.for_key, recipe.key)
            mine = [r for r in bakes if requester in r.requested_by and (r.state == RUNNING or r.succeeded)]
            if mine:  # this stage's own bake: createBake is being retried
                return self._created(context, mine[0], previously_baked=False)
            await asyncio.to_thread(self.store.retire, recipe.key)
        else:
            cached = await asyncio.to_thread(self.store.cached, recipe.key)
            if cached is not None:
                await asyncio.to_thread(self.store.add_requester, cached.id, requester)
                activity.logger.info("bake %s reused for stage %s (cache key %s)", cached.id, inp.stage_id, recipe.key)
                return self._created(context, cached, previously_baked=True)
        record = await self.start_bake(recipe, requester)
        return self._created(context, record, previously_baked=False)

    async def start_bake(self, recipe: BakeRecipe, requester: str) -> BakeRecord:
        """Start the bake workflow for ``recipe``, or join the one running (signal-with-start)."""
        workflow_id = workflow_id_for(recipe.key)
        inp = RunBakeInput(
            recipe=recipe,
            timeout_s=self.settings.bake_timeout_s,
            heartbeat_timeout_s=self.settings.heartbeat_timeout_s,
            kill_grace_s=self.settings.kill_grace_s,
            activity_queue=self.packer_queue,
        )
        handle = await self.client.start_workflow(
            BAKE_WORKFLOW,
            inp,
            id=workflow_id,
            task_queue=self.workflow_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            start_signal="attach",
            start_signal_args=[requester],
            static_summary=f"bake {recipe.image_name} in {recipe.region}",
        )
        bake_id = handle.result_run_id or handle.run_id
        assert bake_id is not None
        record = _new_record(bake_id, workflow_id, recipe, self.clock_ms())
        record.requested_by = [requester]
        if not await asyncio.to_thread(self.store.create, record):
            await asyncio.to_thread(self.store.add_requester, bake_id, requester)
            stored = await asyncio.to_thread(self.store.get, bake_id)
            record = stored if stored is not None else record
        activity.logger.info("bake %s (%s) for %s", bake_id, workflow_id, requester)
        return record

    @staticmethod
    def _created(context: JSON, record: BakeRecord, previously_baked: bool) -> TaskResult:
        return TaskResult.succeeded(
            {
                **context,
                "status": record.status_json(),
                "bakeWorkflowId": record.workflow_id,
                "previouslyBaked": previously_baked,
            }
        )

    # ---- monitorBake -------------------------------------------------------------------------

    @activity.defn(name=MONITOR_BAKE)
    async def monitor_bake(self, inp: TaskInput) -> TaskResult:
        """Orca's ``MonitorBakeTask``: RUNNING while the bake runs, then SUCCEEDED or TERMINAL."""
        ctx = inp.context
        status = status_of(ctx)
        bake_id, workflow_id = status.get("id"), ctx.get("bakeWorkflowId")
        if not bake_id or not workflow_id:
            return TaskResult.terminal("status: no bake was created for this stage")
        region = str(ctx.get("region"))
        if status.get("state") == COMPLETED:  # previously baked
            return self._finished(status, region, None)
        handle = self.client.get_workflow_handle(workflow_id, run_id=bake_id, result_type=RunBakeResult)
        try:
            described = await handle.describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            record = await asyncio.to_thread(self.store.get, bake_id)
            if record is None or record.state == RUNNING:
                return TaskResult.terminal(f"bake {bake_id} is not known to Temporal or the bakery")
            return self._finished(record.status_json(), region, record.error)
        if described.status == WorkflowExecutionStatus.RUNNING:
            return TaskResult(
                ExecutionStatus.RUNNING,
                context={"status": {**status, "state": RUNNING}, "bakeLog": self._log_view(region, bake_id)},
                backoff_ms=int(self.settings.poll_interval_s * 1000),
            )
        if described.status == WorkflowExecutionStatus.COMPLETED:
            result: RunBakeResult = await handle.result()
            if result.abandoned:
                # Orca re-bakes a bake Rosco canceled under it: the stages that shared it were canceled
                activity.logger.info("bake %s was abandoned by the stages sharing it; baking again", bake_id)
                created = await self.create_bake(replace(inp, context={**ctx, "status": None, "rebake": False}))
                if created.status != ExecutionStatus.SUCCEEDED:
                    return created
                return TaskResult(ExecutionStatus.RUNNING, context=created.context, backoff_ms=1)
            new_status = {"id": bake_id, "state": result.state, "result": result.result, "resourceId": bake_id}
            return self._finished(new_status, region, result.error, {"bakeLog": self._log_view(region, bake_id)})
        return TaskResult.terminal(
            f"bake {bake_id} ended {described.status.name if described.status else 'UNKNOWN'}",
            {"status": {**status, "state": CANCELED, "result": FAILURE}},
        )

    def _log_view(self, region: str, bake_id: str) -> JSON:
        return {
            "url": f"/bakery/logs/{region}/{bake_id}",
            "tail": "\n".join(logs.tail(self.state_dir, bake_id)),
        }

    @staticmethod
    def _finished(status: JSON, region: str, error: str | None, extra: JSON | None = None) -> TaskResult:
        context = {"status": status, **(extra or {})}
        if status.get("state") == COMPLETED and status.get("result") == SUCCESS:
            return TaskResult.succeeded(context)
        return TaskResult.terminal(failure_message(error, str(status.get("id")), region), context)

    # ---- completedBake -----------------------------------------------------------------------

    @activity.defn(name=COMPLETED_BAKE)
    async def completed_bake(self, inp: TaskInput) -> TaskResult:
        """Orca's ``CompletedBakeTask``: ``ami``/``imageId``/``imageName`` and the image artifact."""
        status = status_of(inp.context)
        bake_id = status.get("resourceId") or status.get("id")
        record = await asyncio.to_thread(self.store.get, str(bake_id)) if bake_id else None
        if record is None or not record.succeeded:
            return TaskResult.terminal(f"status: no completed bake '{bake_id}' in the bakery's store")
        bake = record.bake_json()
        image = record.ami or record.image_name
        results: JSON = {"ami": image, "imageId": image, "artifacts": [bake["artifact"]]}
        if record.image_name:
            results["imageName"] = record.image_name
        if record.base_ami:
            results["baseAmiId"] = record.base_ami
        if inp.context.get("cloudProvider"):
            results["cloudProvider"] = inp.context["cloudProvider"]
        return TaskResult.succeeded(results)

    # ---- cancel ------------------------------------------------------------------------------

    @activity.defn(name=CANCEL_BAKE)
    async def cancel_bake(self, inp: TaskInput) -> TaskResult:
        """The stage was canceled: leave its bake (best effort; never fails the cancel)."""
        status = status_of(inp.context)
        workflow_id, bake_id = inp.context.get("bakeWorkflowId"), status.get("id")
        if workflow_id and bake_id and status.get("state") != COMPLETED:
            try:
                await self.client.get_workflow_handle(workflow_id, run_id=bake_id).signal(DETACH, requester_of(inp))
            except RPCError as err:
                activity.logger.info("detaching from bake %s failed (it has ended?): %s", bake_id, err)
        return TaskResult(ExecutionStatus.SUCCEEDED)

    # ---- the packer run ----------------------------------------------------------------------

    @activity.defn(name=RUN_PACKER, no_thread_cancel_exception=True)
    def run_packer(self, inp: RunBakeInput) -> RunBakeResult:
        """Rosco's local job: ``packer build`` for one bake, killed on cancel, timeout or heartbeat loss."""
        info = activity.info()
        assert info.workflow_run_id and info.workflow_id, "run_packer runs in the bake workflow"
        bake_id, recipe = info.workflow_run_id, inp.recipe
        log_ref = self.log_ref(recipe.region, bake_id)
        record = _new_record(bake_id, info.workflow_id, recipe, self.clock_ms())
        record.log_ref = log_ref
        if not self.store.create(record):
            self.store.update(
                bake_id, state=RUNNING, result=None, error=None, log_ref=log_ref, updated_ms=self.clock_ms()
            )
        home = logs.bakery_dir(self.state_dir).resolve()
        workdir, pidfile = home / "work" / bake_id, home / "run" / f"{bake_id}.pid"
        if reap_stale(pidfile, inp.kill_grace_s):
            activity.logger.warning("bake %s: stopped the packer an earlier attempt left running", bake_id)
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        tmp = Path(tempfile.mkdtemp(prefix="gnk-packer-"))  # short: packer's plugin sockets live there
        try:
            packer = find_packer(self.settings.packer_path)
            template = effective_template(recipe, workdir)
            command = packer_command(packer, recipe, template)
            env = packer_env(workdir, self.accounts.packer_env(recipe.cloud_provider, recipe.account, workdir), tmp)
            outcome = run_packer(
                command,
                workdir,
                env,
                logs.log_path(self.state_dir, bake_id),
                timeout_s=inp.timeout_s,
                kill_grace_s=inp.kill_grace_s,
                tick=_heartbeat,
                pidfile=pidfile,
                max_log_bytes=self.settings.max_log_bytes,
                first_lines=_preamble(info, recipe),
            )
        except (BakeRequestError, PackerUnavailableError) as err:
            self._ended(bake_id, COMPLETED, FAILURE, error=str(err))
            kind = "BakeRequestError" if isinstance(err, BakeRequestError) else "PackerUnavailable"
            raise ApplicationError(str(err), type=kind, non_retryable=True) from None
        except Exception as err:
            self._ended(bake_id, COMPLETED, FAILURE, error=f"the bakery failed to run packer: {err}")
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            shutil.rmtree(tmp, ignore_errors=True)
        if outcome.stopped == STOPPED_CANCELED:
            self._ended(bake_id, CANCELED, FAILURE, error="bake canceled")
            raise CancelledError("bake canceled: packer stopped")
        result = bake_result(bake_id, recipe, outcome.exit_code, outcome.stopped, outcome.transcript, inp.timeout_s)
        if result.error and not outcome.transcript.errors and outcome.log_lines:
            result.error += "\n" + "\n".join(outcome.log_lines[-10:])
        self._ended(
            bake_id,
            result.state,
            result.result,
            error=result.error,
            ami=result.ami,
            image_name=result.image_name,
            images=result.images,
        )
        return result

    def log_ref(self, region: str, bake_id: str) -> dict[str, str]:
        """Where this worker writes a bake's log: its host and path, and the API's address for it."""
        return {
            "host": socket.gethostname(),
            "path": str(logs.log_path(self.state_dir, bake_id).resolve()),
            "url": f"/bakery/logs/{region}/{bake_id}",
        }

    def _ended(self, bake_id: str, state: str, result: str | None, **changes: Any) -> None:
        self.store.update(bake_id, state=state, result=result, updated_ms=self.clock_ms(), **changes)


def _heartbeat(offset: int) -> bool:
    """Heartbeat the log offset; True once Temporal asks the activity to stop."""
    activity.heartbeat(offset)
    return activity.is_cancelled()


def _preamble(info: activity.Info, recipe: BakeRecipe) -> list[str]:
    lines = [
        f"==> gennaker: bake {info.workflow_run_id} attempt {info.attempt}: {recipe.image_name} "
        f"({recipe.cloud_provider} {recipe.region}, base {recipe.source_image}, packages '{recipe.packages}')"
    ]
    if info.heartbeat_details:
        lines.append(f"==> gennaker: the previous attempt's log ended at offset {info.heartbeat_details[0]}")
    if recipe.communicator == "none":
        lines.append("==> gennaker: communicator none: provisioners that run on the instance are skipped")
    return lines


def bake_result(
    bake_id: str,
    recipe: BakeRecipe,
    exit_code: int | None,
    stopped: str | None,
    transcript: Transcript,
    timeout_s: float,
) -> RunBakeResult:
    """How a finished packer run turns into a bake: the image in the recipe's region, or why there is none."""
    if stopped:
        return RunBakeResult(
            bake_id, COMPLETED, FAILURE, error=f"Bake {stopped} after {_human(timeout_s)}: packer was stopped"
        )
    if exit_code != 0:
        detail = transcript.error_summary()
        return RunBakeResult(
            bake_id,
            COMPLETED,
            FAILURE,
            error=f"packer build failed (exit code {exit_code})" + (f": {detail}" if detail else ""),
        )
    images: dict[str, str] = {}
    for artifact in transcript.artifacts.values():
        if not artifact.id:
            continue
        if recipe.cloud_provider == "aws":
            images.update(amazon_images(artifact.id))
        else:
            images[recipe.region] = artifact.id
    image = images.get(recipe.region) or next(iter(images.values()), None)
    if image is None:
        return RunBakeResult(bake_id, COMPLETED, FAILURE, error="packer finished without creating an image")
    name = transcript.image_name or recipe.image_name
    return RunBakeResult(bake_id, COMPLETED, SUCCESS, ami=image, image_name=name, images=images)


def _human(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


def _new_record(bake_id: str, workflow_id: str, recipe: BakeRecipe, now_ms: int) -> BakeRecord:
    return BakeRecord(
        id=bake_id,
        key=recipe.key,
        workflow_id=workflow_id,
        region=recipe.region,
        cloud_provider=recipe.cloud_provider,
        image_name=recipe.image_name,
        base_ami=recipe.source_image if recipe.cloud_provider == "aws" else None,
        app_version=recipe.app_version,
        package=recipe.packages,
        base_os=recipe.base_os,
        account=recipe.account,
        created_ms=now_ms,
        updated_ms=now_ms,
    )


def _build_fields(recipe: BakeRecipe) -> JSON:
    v = recipe.variables
    return {"buildInfoUrl": v.get("build_info_url"), "buildHost": v.get("build_host")}


def build(settings: Any, client: Any, store: Any) -> list[Callable[..., Any]]:
    """The bake activities for a worker, keeping bakes in ``store`` (``core.store.Store``, shared by every
    worker). Reads ``settings.bakery`` (a :class:`BakerySettings`), ``settings.accounts``,
    ``settings.state_dir`` (bake logs), ``settings.task_queue`` and ``activity_queues``."""
    bakery = getattr(settings, "bakery", None) or BakerySettings()
    queues = getattr(settings, "activity_queues", None) or {}
    acts = BakeActivities(
        client,
        bakery,
        load_images(bakery.images_path),
        BakeAccounts(list(getattr(settings, "accounts", None) or []), bakery.default_account),
        BakeStore(store),
        Path(getattr(settings, "state_dir", ".gennaker")),
        workflow_queue=settings.task_queue,
        packer_queue=queues.get(RUN_PACKER),
    )
    return [acts.create_bake, acts.monitor_bake, acts.completed_bake, acts.cancel_bake, acts.run_packer]
