"""Temporal worker versioning: which build a worker is, and which build new executions start on.

Every worker is one version of the worker deployment ``deployment.name``: its build id is :data:`BUILD_ID`
unless the settings say otherwise. Workflows are PINNED: an execution runs to its end on the build it started
on, whatever build is current meanwhile; new executions go to the deployment's *current* version. The rule for
rolling out and back (docs/operations.md, "Upgrades") follows from that: a build's workers keep running until
Temporal reports the version drained (no open execution pinned to it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from core.settings.deployment import BUILD_ID as BUILD_ID  # the build id of this code (re-exported)

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.worker import WorkerDeploymentConfig

log = logging.getLogger("gennaker.versioning")


T = TypeVar("T")


def deployment_config(settings: Any) -> WorkerDeploymentConfig | None:
    """The Worker's ``deployment_config`` for ``settings.deployment``; None when versioning is off."""
    from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
    from temporalio.worker import WorkerDeploymentConfig

    deployment = getattr(settings, "deployment", None)
    if deployment is None or not deployment.versioning:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=deployment.name, build_id=deployment.build_id),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.PINNED,
    )


async def _patiently(call: Callable[[], Awaitable[T]], *, tries: int = 40) -> T:
    """``call()``, again after a pause while the server answers RESOURCE_EXHAUSTED: it limits the requests per
    worker deployment, and a deployment that is changing its current version is briefly busy."""
    from temporalio.service import RPCError, RPCStatusCode

    for attempt in range(tries):
        try:
            return await call()
        except RPCError as err:
            if err.status != RPCStatusCode.RESOURCE_EXHAUSTED or attempt == tries - 1:
                raise
            await asyncio.sleep(min(0.1 * 2**attempt, 1.0))
    raise AssertionError("unreachable")


async def current_build(client: Client, deployment_name: str) -> str | None:
    """The build id new executions start on, None when the deployment has no current version (or none yet)."""
    from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentRequest
    from temporalio.service import RPCError, RPCStatusCode

    request = DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment_name)
    try:
        described = await _patiently(lambda: client.workflow_service.describe_worker_deployment(request))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    routing = described.worker_deployment_info.routing_config
    build = routing.current_deployment_version.build_id
    return build or None


async def set_current(client: Client, deployment_name: str, build_id: str, *, timeout: float = 60) -> None:
    """Make ``build_id`` the current version. Retried until its workers have polled (the server knows a version
    only then) or ``timeout`` seconds pass."""
    from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
    from temporalio.service import RPCError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=deployment_name,
                    build_id=build_id,
                    identity=client.identity,
                )
            )
            return
        except RPCError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def promote_on_start(client: Client, settings: Any) -> str | None:
    """What a starting worker does with ``deployment.promote``; returns the build it made current, if any."""
    deployment = getattr(settings, "deployment", None)
    if deployment is None or not deployment.versioning or deployment.promote == "never":
        return None
    from temporalio.service import RPCError

    try:
        current = await current_build(client, deployment.name)
        if deployment.promote == "if-none" and current is not None:
            if current != deployment.build_id:
                log.warning(
                    "worker deployment %s: this worker is build %s, the current build is %s; it runs only executions "
                    "pinned to %s until an operator makes it current",
                    deployment.name,
                    deployment.build_id,
                    current,
                    deployment.build_id,
                )
            return None
        await set_current(client, deployment.name, deployment.build_id)
    except RPCError as err:
        log.warning(
            "worker deployment %s: could not make build %s current: %s", deployment.name, deployment.build_id, err
        )
        return None
    log.info("worker deployment %s: build %s is current", deployment.name, deployment.build_id)
    return str(deployment.build_id)


async def keep_promoted(client: Client, settings: Any, *, every: float = 30.0) -> None:
    """:func:`promote_on_start`, then, unless ``promote`` is ``never``, again whenever the deployment has lost its
    current build (a dev server started afresh under a running worker): new executions never wait for nobody."""
    await promote_on_start(client, settings)
    deployment = getattr(settings, "deployment", None)
    if deployment is None or not deployment.versioning or deployment.promote == "never":
        return
    from temporalio.service import RPCError

    while True:
        await asyncio.sleep(every)
        try:
            if await current_build(client, deployment.name) is None:
                await set_current(client, deployment.name, deployment.build_id)
                log.info("worker deployment %s had no current build; build %s is", deployment.name, deployment.build_id)
        except RPCError as err:
            log.debug("worker deployment %s: %s", deployment.name, err)


async def drained(client: Client, deployment_name: str, build_id: str) -> bool:
    """True when no open execution is pinned to ``build_id`` (Temporal's drainage status DRAINED), so its
    workers may stop. Temporal refreshes the status periodically (a few minutes on a default server)."""
    from temporalio.api.deployment.v1 import WorkerDeploymentVersion
    from temporalio.api.enums.v1 import VersionDrainageStatus
    from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentVersionRequest

    described = await client.workflow_service.describe_worker_deployment_version(
        DescribeWorkerDeploymentVersionRequest(
            namespace=client.namespace,
            deployment_version=WorkerDeploymentVersion(deployment_name=deployment_name, build_id=build_id),
        )
    )
    info = described.worker_deployment_version_info.drainage_info
    return bool(info.status == VersionDrainageStatus.VERSION_DRAINAGE_STATUS_DRAINED)
