"""GCE network load balancers and autoscalers, as Clouddriver's ``UpsertGoogleLoadBalancerAtomicOperation``
(network: a target pool and a regional forwarding rule of the balancer's name pointing at it, and the pool's
legacy HTTP health check ``<name>-hc`` when the description has a ``healthCheck``) and
``UpsertGoogleAutoscalingPolicyAtomicOperation`` (a regional autoscaler named after the server group).

Target pools take only legacy HTTP health checks (``global/httpHealthChecks``), which google-cloud-compute no
longer has a client for: :class:`LegacyHttpHealthChecks` speaks that collection's REST calls over the
account's authorized session (the transport of its other clients), and waits for the operations the same way.

Safe to repeat: the pool (``<name>-tp``) and the rule are found by name before an insert; a rule whose
protocol or ports changed is deleted and inserted again (forwarding rules cannot be changed in place); an
autoscaler is inserted or updated to the policy given; deletes of what is gone do nothing.
"""

from __future__ import annotations

import json
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import compute_v1

from .base import InvalidRequestError, NotFoundCloudError
from .gce_errors import gce_call
from .gce_lb_http import health_check_spec
from .gce_ops import CALL_TIMEOUT_S
from .gce_view import local_name

JSON = dict[str, Any]
#: the fields of a legacy HTTP health check that an upsert converges
LEGACY_FIELDS = ("port", "requestPath", "checkIntervalSec", "timeoutSec", "healthyThreshold", "unhealthyThreshold")


class LegacyHttpHealthChecks:
    """``projects/{p}/global/httpHealthChecks``: get, list, insert, update, delete (JSON in Compute's names)."""

    def __init__(self, ops: Any) -> None:
        self.ops = ops

    def _call(
        self,
        account: str,
        method: str,
        action: str,
        name: str | None = None,
        body: JSON | None = None,
        params: JSON | None = None,
    ) -> Any:
        transport = self.ops.client(account, "target_pools").transport  # any REST client: same host, same session
        url = f"{transport._host}/compute/v1/projects/{self.ops.project(account)}/global/httpHealthChecks"  # noqa: SLF001
        with gce_call(action):
            answer = transport._session.request(  # noqa: SLF001 - the library's authorized session
                method, url + (f"/{name}" if name else ""), json=body, params=params, timeout=CALL_TIMEOUT_S
            )
            if answer.status_code >= 400:
                raise api_exceptions.from_http_response(answer)
            return answer.json()

    def get(self, account: str, name: str) -> JSON | None:
        try:
            found = self._call(account, "GET", f"reading health check {name} in {account}", name)
        except NotFoundCloudError:
            return None
        return found if isinstance(found, dict) else None

    def list(self, account: str) -> list[JSON]:
        items: list[JSON] = []
        token = None
        while True:
            params = {"pageToken": token} if token else None
            page = self._call(account, "GET", f"listing HTTP health checks in {account}", params=params)
            items += page.get("items") or []
            token = page.get("nextPageToken")
            if not token:
                return items

    def _change(self, account: str, method: str, action: str, name: str | None, body: JSON | None) -> None:
        answer = self._call(account, method, action, name, body)
        operation = compute_v1.Operation.from_json(json.dumps(answer), ignore_unknown_fields=True)
        self.ops.wait(account, None, operation, action)

    def upsert(self, account: str, name: str, spec: JSON) -> str:
        """Insert or update the check to ``spec``; its link."""
        body = {"name": name, **{k: spec[k] for k in LEGACY_FIELDS}}
        found = self.get(account, name)
        if found is None:
            self._change(account, "POST", f"creating health check {name} in {account}", None, body)
        elif any(found.get(k) != body[k] for k in LEGACY_FIELDS):
            self._change(account, "PUT", f"updating health check {name} in {account}", name, body)
        return f"projects/{self.ops.project(account)}/global/httpHealthChecks/{name}"

    def delete(self, account: str, name: str) -> None:
        if self.get(account, name) is None:
            return
        try:
            self._change(account, "DELETE", f"deleting health check {name} in {account}", name, None)
        except NotFoundCloudError:
            return


def legacy_health_check_json(check: JSON) -> JSON:
    """Clouddriver's ``GoogleHealthCheck.View`` of a network load balancer's check."""
    port, path = int(check.get("port") or 80), check.get("requestPath") or "/"
    return {
        "name": check.get("name"),
        "healthCheckType": "HTTP",
        "interval": check.get("checkIntervalSec"),
        "timeout": check.get("timeoutSec"),
        "unhealthyThreshold": check.get("unhealthyThreshold"),
        "healthyThreshold": check.get("healthyThreshold"),
        "port": port,
        "requestPath": path,
        "selfLink": check.get("selfLink"),
        "kind": "httpHealthCheck",
        "target": f"HTTP:{port}{path}",
        "region": None,
    }


class GceLoadBalancerWrites:
    def __init__(self, cloud: Any) -> None:
        self.ops = cloud.ops
        self.checks = LegacyHttpHealthChecks(cloud.ops)

    def _get(self, account: str, region: str, kind: str, **name: str) -> Any:
        try:
            with gce_call(f"reading {kind} {next(iter(name.values()))} in {account}/{region}"):
                return self.ops.client(account, kind).get(
                    project=self.ops.project(account, region), region=region, **name, **self.ops.read
                )
        except NotFoundCloudError:
            return None

    # ---- network load balancers ---------------------------------------------------------------------

    def upsert_network_lb(self, account: str, region: str, spec: JSON) -> JSON:
        name = spec.get("loadBalancerName") or spec.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("loadBalancerName: which load balancer")
        protocol = str(spec.get("ipProtocol") or "TCP").upper()
        ports = str(spec.get("portRange") or "")
        if not ports:
            raise InvalidRequestError("portRange: the ports the load balancer listens on (like 80 or 8080-8089)")
        project = self.ops.project(account, region)
        pool_name = f"{name}-tp"
        pools, rules = self.ops.client(account, "target_pools"), self.ops.client(account, "forwarding_rules")
        where = f"{name} in {account}/{region}"
        check = health_check_spec(spec["healthCheck"], "healthCheck") if spec.get("healthCheck") else None
        check_link = self.checks.upsert(account, f"{name}-hc", check) if check is not None else None
        existing_pool = self._get(account, region, "target_pools", target_pool=pool_name)
        if existing_pool is None:
            pool = compute_v1.TargetPool(
                name=pool_name,
                session_affinity=str(spec.get("sessionAffinity") or "NONE"),
                health_checks=[check_link] if check_link else [],
            )
            self.ops.act(
                account,
                region,
                f"creating target pool of {where}",
                lambda: pools.insert(project=project, region=region, target_pool_resource=pool, timeout=60),
            )
        else:
            self._converge_pool_check(account, region, existing_pool, check_link)
        if check is None:
            self.checks.delete(account, f"{name}-hc")  # no health check asked for: the pool's goes
        target = f"projects/{project}/regions/{region}/targetPools/{pool_name}"
        rule = self._get(account, region, "forwarding_rules", forwarding_rule=name)
        if rule is not None and (rule.I_p_protocol != protocol or rule.port_range != ports):
            self.ops.act(
                account,
                region,
                f"replacing the forwarding rule of {where}",
                lambda: rules.delete(project=project, region=region, forwarding_rule=name, timeout=60),
            )
            rule = None
        if rule is None:
            body = compute_v1.ForwardingRule(name=name, target=target, I_p_protocol=protocol, port_range=ports)
            self.ops.act(
                account,
                region,
                f"creating the forwarding rule of {where}",
                lambda: rules.insert(project=project, region=region, forwarding_rule_resource=body, timeout=60),
            )
        return {"name": name, "region": region, "account": account, "targetPool": pool_name}

    def _converge_pool_check(self, account: str, region: str, pool: Any, link: str | None) -> None:
        """The pool's health checks become ``[link]`` (or none): ``addHealthCheck``/``removeHealthCheck``."""
        project, client = self.ops.project(account, region), self.ops.client(account, "target_pools")
        have = [h[h.find("projects/") :] for h in pool.health_checks]
        gone = [h for h in have if h != link]
        if gone:
            request = compute_v1.TargetPoolsRemoveHealthCheckRequest(
                health_checks=[compute_v1.HealthCheckReference(health_check=h) for h in gone]
            )
            self.ops.act(
                account,
                region,
                f"removing health checks from target pool {pool.name} in {account}/{region}",
                lambda: client.remove_health_check(
                    project=project,
                    region=region,
                    target_pool=pool.name,
                    target_pools_remove_health_check_request_resource=request,
                    timeout=60,
                ),
            )
        if link is not None and link not in have:
            add = compute_v1.TargetPoolsAddHealthCheckRequest(
                health_checks=[compute_v1.HealthCheckReference(health_check=link)]
            )
            self.ops.act(
                account,
                region,
                f"adding health check to target pool {pool.name} in {account}/{region}",
                lambda: client.add_health_check(
                    project=project,
                    region=region,
                    target_pool=pool.name,
                    target_pools_add_health_check_request_resource=add,
                    timeout=60,
                ),
            )

    def delete_network_lb(self, account: str, region: str, name: str) -> None:
        project = self.ops.project(account, region)
        rule = self._get(account, region, "forwarding_rules", forwarding_rule=name)
        pools = [local_name(rule.target)] if rule is not None and "/targetPools/" in rule.target else [f"{name}-tp"]
        if rule is not None:
            rules = self.ops.client(account, "forwarding_rules")
            self.ops.act(
                account,
                region,
                f"deleting forwarding rule {name} in {account}/{region}",
                lambda: rules.delete(project=project, region=region, forwarding_rule=name, timeout=60),
            )
        client = self.ops.client(account, "target_pools")
        checks = [f"{name}-hc"]
        for pool in pools:
            found = self._get(account, region, "target_pools", target_pool=pool)
            if found is not None:
                checks += [local_name(h) for h in found.health_checks]
                self.ops.act(
                    account,
                    region,
                    f"deleting target pool {pool} in {account}/{region}",
                    lambda pool=pool: client.delete(project=project, region=region, target_pool=pool, timeout=60),
                )
        for check in dict.fromkeys(checks):  # after the pool that used it
            self.checks.delete(account, check)

    # ---- autoscalers ----------------------------------------------------------------------------

    def upsert_autoscaler(self, account: str, region: str, group: str, policy: JSON) -> JSON:
        """``autoscalingPolicy``: ``minNumReplicas, maxNumReplicas, coolDownPeriodSec,
        cpuUtilization: {utilizationTarget}``."""
        if not isinstance(policy, dict):
            raise InvalidRequestError("autoscalingPolicy: an object")
        try:
            low, high = int(policy["minNumReplicas"]), int(policy["maxNumReplicas"])
        except (KeyError, TypeError, ValueError):
            raise InvalidRequestError("autoscalingPolicy.maxNumReplicas: minNumReplicas and maxNumReplicas") from None
        if not 0 <= low <= high:
            raise InvalidRequestError("autoscalingPolicy.maxNumReplicas: needs 0 <= minNumReplicas <= maxNumReplicas")
        project = self.ops.project(account, region)
        if self.ops.mig(account, region, group) is None:
            raise NotFoundCloudError(f"serverGroupName: {group} not found in {account}/{region}")
        cpu = policy.get("cpuUtilization") or {}
        body = compute_v1.Autoscaler(
            name=group,
            target=f"projects/{project}/regions/{region}/instanceGroupManagers/{group}",
            autoscaling_policy=compute_v1.AutoscalingPolicy(
                min_num_replicas=low,
                max_num_replicas=high,
                cool_down_period_sec=int(policy.get("coolDownPeriodSec") or 60),
                cpu_utilization=compute_v1.AutoscalingPolicyCpuUtilization(
                    utilization_target=float(cpu.get("utilizationTarget") or 0.6)
                ),
            ),
        )
        client = self.ops.client(account, "region_autoscalers")
        where = f"autoscaler of {group} in {account}/{region}"
        if self.autoscaler(account, region, group) is None:
            self.ops.act(
                account,
                region,
                f"creating the {where}",
                lambda: client.insert(project=project, region=region, autoscaler_resource=body, timeout=60),
            )
        else:
            self.ops.act(
                account,
                region,
                f"updating the {where}",
                lambda: client.update(
                    request=compute_v1.UpdateRegionAutoscalerRequest(
                        project=project, region=region, autoscaler=group, autoscaler_resource=body
                    ),
                    timeout=60,
                ),
            )
        return {"serverGroupName": group, "region": region, "autoscaler": group}

    def autoscaler(self, account: str, region: str, group: str) -> compute_v1.Autoscaler | None:
        return self._get(account, region, "region_autoscalers", autoscaler=group)

    def delete_autoscaler(self, account: str, region: str, group: str) -> None:
        if self.autoscaler(account, region, group) is None:
            return
        project = self.ops.project(account, region)
        client = self.ops.client(account, "region_autoscalers")
        self.ops.act(
            account,
            region,
            f"deleting the autoscaler of {group} in {account}/{region}",
            lambda: client.delete(project=project, region=region, autoscaler=group, timeout=60),
        )
