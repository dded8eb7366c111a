"""The ``runJobManifest`` stage's activities: create the Job once, wait for it, read its properties, delete it on
cancel.

Behaviour follows Orca's ``RunJobTask`` / ``WaitOnJobCompletion`` / ``JobUtils.cancelWait`` over Clouddriver's
``KubernetesRunJobOperation`` and ``KubernetesJobProvider`` (``collectJob``, ``getFileContents``, ``cancelJob``),
which here are :class:`providers.kubernetes_jobs.KubernetesJobs` calls on the account's ``ApiClient``.

Creating exactly once: the first ``runJob`` call checks the manifest and decides the Job's name (its
``generateName`` or ``name`` plus 5 random characters) and records it as ``jobName`` in the stage context, which the
workflow keeps durably; the second creates the Job under that name, annotated with the stage id. When Temporal runs
that call again (its result was lost), the API server answers 409 and the Job carrying our stage id is adopted.

Errors: an unreachable API server, 429 and 5xx answers raise a retryable ``ApplicationError`` (type
``KubernetesRetryable``); a refused manifest (4xx) or an unknown account is a TERMINAL result whose message names the
field or the account. No credentials appear in messages or logs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import manifest_sources
from core.tasks import DELETE_KUBERNETES_JOB, JSON, RUN_KUBERNETES_JOB, WAIT_ON_KUBERNETES_JOB, TaskInput, TaskResult
from providers import kubernetes_jobs as kj
from providers.kubernetes_manifest import ManifestError

RETRYABLE_ERROR = "KubernetesRetryable"
#: WaitOnJobCompletion retries the property file 6 times, 5 s apart
PROPERTY_ATTEMPTS = 6
PROPERTY_RETRY = timedelta(seconds=5)
#: the first runJob call only decides the name; the second follows at once
NAME_STEP_BACKOFF_MS = 1

ApiClientFactory = Callable[[str], Any]


def job_manifest_of(context: JSON, trigger: JSON | None) -> JSON:
    """The stage's Job manifest. An artifact source is read as deployManifest reads it (embedded/base64, bound by
    id from the trigger or ``expectedArtifacts``, expressions evaluated unless ``skipExpressionEvaluation``)."""
    docs = None
    if kj.is_artifact_source(context):
        try:
            docs, _ = manifest_sources.manifests_of({**context, "source": "artifact"}, trigger or {})
        except ManifestError as err:
            field, _, message = str(err).partition(": ")
            raise kj.JobManifestError(message, field) from None
    return kj.job_manifest(context, docs)


def account_of(context: Mapping[str, Any]) -> str | None:
    for key in ("account", "credentials"):
        value = context.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def job_location(context: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, name) from Orca's ``deploy.jobs`` (``{namespace: ["job <name>"]}``)."""
    jobs = context.get("deploy.jobs")
    if not isinstance(jobs, Mapping) or len(jobs) != 1:
        return None
    namespace, names = next(iter(jobs.items()))
    if not isinstance(names, list) or len(names) != 1 or not isinstance(names[0], str):
        return None
    return str(namespace), names[0].removeprefix("job ").strip()


def _api_error(err: Exception) -> tuple[bool, str]:
    """(retryable, message) for a failed Kubernetes call."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(err, ApiException):
        status = int(err.status or 0)
        message = str(err.reason or "")
        try:
            import json

            message = json.loads(err.body or "{}").get("message") or message
        except (ValueError, AttributeError):
            pass
        return status == 0 or status == 429 or status >= 500, f"Kubernetes API {status}: {message}"
    return True, f"Kubernetes API unreachable: {err.__class__.__name__}"


def _pod_for_logs(pods: list[JSON]) -> JSON | None:
    """The pod whose log is read: the newest that succeeded, else the newest."""
    pods = sorted(pods, key=lambda p: str(p.get("metadata", {}).get("creationTimestamp") or ""))
    done = [p for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"]
    found = done or pods
    return found[-1] if found else None


def job_status(job: JSON, pods: list[JSON], account: str, details: Mapping[str, str]) -> JSON:
    """Clouddriver's ``KubernetesJobStatus`` as Orca keeps it in ``jobStatus`` (pods by name and phase only)."""
    meta = job.get("metadata") or {}
    return {
        "name": meta.get("name"),
        "account": account,
        "location": meta.get("namespace"),
        "provider": "kubernetes",
        "jobState": kj.job_state(job),
        "completionDetails": dict(details),
        "createdTime": meta.get("creationTimestamp"),
        "pods": [
            {"name": (p.get("metadata") or {}).get("name"), "status": {"phase": (p.get("status") or {}).get("phase")}}
            for p in pods
        ],
    }


class RunJobActivities:
    """The activities of ``runJobManifest`` around a factory account name → ``kubernetes.client.ApiClient``."""

    def __init__(
        self,
        api_client_for: ApiClientFactory,
        *,
        namespace_allowed: Callable[[str, str], bool] | None = None,
        poll_interval: timedelta = timedelta(seconds=10),
        property_retry: timedelta = PROPERTY_RETRY,
    ) -> None:
        self.api_client_for = api_client_for
        self.namespace_allowed = namespace_allowed
        self.poll_ms = max(1, int(poll_interval.total_seconds() * 1000))
        self.property_retry_ms = max(1, int(property_retry.total_seconds() * 1000))

    def _jobs(self, context: Mapping[str, Any]) -> tuple[str, kj.KubernetesJobs]:
        account = account_of(context)
        if account is None:
            raise kj.JobManifestError("the stage needs a Kubernetes account", "account")
        try:
            api = self.api_client_for(account)
        except LookupError as err:
            raise kj.JobManifestError(f"no Kubernetes account named {account!r}", "account") from err
        except ValueError as err:  # the account's kubeconfig cannot be loaded; the message names no secret
            raise kj.JobManifestError(str(err), "account") from err
        return account, kj.KubernetesJobs(api)

    def _failed(self, err: Exception, what: str) -> TaskResult:
        retryable, message = _api_error(err)
        if retryable:
            activity.logger.warning("%s: %s (retryable)", what, message)
            raise ApplicationError(f"{what}: {message}", type=RETRYABLE_ERROR)
        return TaskResult.terminal(f"{what}: {message}")

    # -- runJob

    @activity.defn(name=RUN_KUBERNETES_JOB)
    def run_kubernetes_job(self, inp: TaskInput) -> TaskResult:
        """``RunJobTask``: create the stage's Job (name decided by the first call, created by the second)."""
        ctx = inp.context
        if job_location(ctx) is not None:
            return TaskResult.succeeded()
        try:
            manifest = job_manifest_of(ctx, inp.trigger)
            account, jobs = self._jobs(ctx)
        except kj.JobManifestError as err:
            return TaskResult.terminal(str(err))
        namespace = kj.namespace_of(manifest, ctx)
        if self.namespace_allowed is not None and not self.namespace_allowed(account, namespace):
            return TaskResult.terminal(f"namespace: account {account} may not use namespace {namespace!r}")
        name = ctx.get("jobName")
        if not isinstance(name, str) or not name:
            return TaskResult.running(NAME_STEP_BACKOFF_MS, jobName=kj.job_name(manifest))
        metadata = manifest.setdefault("metadata", {})
        metadata.pop("generateName", None)
        metadata.update(name=name, namespace=namespace)
        annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
        metadata["annotations"] = {
            **annotations,
            kj.STAGE_ANNOTATION: inp.stage_id,
            kj.EXECUTION_ANNOTATION: inp.execution_id,
        }
        try:
            created = jobs.create(namespace, manifest, inp.stage_id)
        except kj.JobManifestError as err:
            return TaskResult.terminal(str(err))
        except Exception as err:  # noqa: BLE001 - translated at this boundary
            return self._failed(err, f"creating Job {name} in {namespace} ({account})")
        activity.logger.info(
            "Job %s in %s %s", name, namespace, "adopted from an earlier attempt" if created.adopted else "created"
        )
        return TaskResult.succeeded(
            {"deploy.jobs": {namespace: [f"job {name}"]}, "jobUid": created.uid, "deploy.account.name": account}
        )

    # -- waitOnJobCompletion

    @activity.defn(name=WAIT_ON_KUBERNETES_JOB)
    def wait_on_kubernetes_job(self, inp: TaskInput) -> TaskResult:
        """``WaitOnJobCompletion``: check the Job once; when it succeeded, read the ``propertyFile`` container's log."""
        ctx = inp.context
        where = job_location(ctx)
        if where is None:
            return TaskResult.terminal("No jobs in stage context (deploy.jobs).")
        namespace, name = where
        try:
            account, jobs = self._jobs(ctx)
        except kj.JobManifestError as err:
            return TaskResult.terminal(str(err))
        try:
            job = jobs.read(namespace, name)
            if job is None:
                return TaskResult.terminal(f"Job {name} in {namespace} not found (deleted?)")
            pods = jobs.pods(namespace, job)
        except Exception as err:  # noqa: BLE001
            return self._failed(err, f"reading Job {name} in {namespace}")
        details = kj.completion_details(job, pods)
        status = job_status(job, pods, account, details)
        found: JSON = {"jobStatus": status, "completionDetails": details}
        state = kj.execution_status(status["jobState"])
        if state.value == "RUNNING":
            return TaskResult(state, context=found, outputs=found, backoff_ms=self.poll_ms)
        if state.value == "TERMINAL":
            return TaskResult(state, context=found, outputs=found, error=kj.failure_message(name, details))
        container = ctx.get("propertyFile")
        if isinstance(container, str) and container.strip():
            return self._properties(inp, jobs, namespace, name, pods, container.strip(), found)
        return TaskResult.succeeded(found, found)

    def _properties(
        self, inp: TaskInput, jobs: kj.KubernetesJobs, namespace: str, name: str, pods: list[JSON], container: str,
        found: JSON,
    ) -> TaskResult:  # fmt: skip
        attempt = int(inp.context.get("propertyFileAttempts") or 0) + 1
        pod = _pod_for_logs(pods)
        reason = None
        properties: JSON = {}
        if pod is None:
            reason = "the job has no pods"
        else:
            pod_name = pod["metadata"]["name"]
            try:
                properties = kj.extract_properties_from_log(jobs.log(namespace, pod_name, container))
            except kj.PropertyParseError as err:
                reason = str(err)
            except Exception as err:  # noqa: BLE001 - logs not there yet: Orca retries too
                reason = _api_error(err)[1]
            if not properties and reason is None:
                reason = f"no SPINNAKER_PROPERTY_ or SPINNAKER_CONFIG_JSON lines in {pod_name}/{container}"
        if reason is not None:
            if attempt < PROPERTY_ATTEMPTS:
                activity.logger.info("properties of Job %s not read yet (%s)", name, reason)
                return TaskResult.running(self.property_retry_ms, propertyFileAttempts=attempt, **found)
            message = (
                f"Expected properties file {container} but it was either missing, empty or contained invalid syntax"
                f" ({reason})"
            )
            return TaskResult.terminal(message, {**found, "propertyFileAttempts": attempt})
        out = {**found, **properties, "propertyFileContents": properties}
        return TaskResult.succeeded(out, out)

    # -- cancel

    @activity.defn(name=DELETE_KUBERNETES_JOB)
    def delete_kubernetes_job(self, inp: TaskInput) -> TaskResult:
        """The stage's cancel (``JobUtils.cancelWait`` → Clouddriver ``cancelJob``): delete the Job."""
        ctx = inp.context
        where = job_location(ctx)
        if where is None and isinstance(ctx.get("jobName"), str):  # the create may have happened, unreported
            try:
                where = (kj.namespace_of(job_manifest_of(ctx, inp.trigger), ctx), ctx["jobName"])
            except kj.JobManifestError:
                where = None
        if where is None:
            return TaskResult.succeeded({"jobDeleted": False})
        namespace, name = where
        try:
            _, jobs = self._jobs(ctx)
            deleted = jobs.delete(namespace, name)
        except kj.JobManifestError as err:
            return TaskResult.terminal(str(err))
        except Exception as err:  # noqa: BLE001
            return self._failed(err, f"deleting Job {name} in {namespace}")
        activity.logger.info("Job %s in %s %s", name, namespace, "deleted" if deleted else "was already gone")
        return TaskResult.succeeded({"jobDeleted": deleted})


def activities_of(acts: RunJobActivities) -> list[Callable[..., Any]]:
    return [acts.run_kubernetes_job, acts.wait_on_kubernetes_job, acts.delete_kubernetes_job]


def build(settings: Any) -> list[Callable[..., Any]]:
    """The activities on the Kubernetes accounts of the settings (``providers/kubernetes_accounts.py``; the
    composition root registers them through ``build_clouds``)."""
    from providers.kubernetes_accounts import account_named, api_client_for

    def namespace_allowed(account: str, namespace: str) -> bool:
        return account_named(account).allows(namespace)

    return activities_of(RunJobActivities(api_client_for, namespace_allowed=namespace_allowed))
