"""GCE network load balancers and autoscalers, as Clouddriver's ``UpsertGoogleLoadBalancerAtomicOperation``
(network: a target pool and a regional forwarding rule of the balancer's name pointing at it) and
``UpsertGoogleAutoscalingPolicyAtomicOperation`` (a regional autoscaler named after the server group).

Safe to repeat: the pool (``<name>-tp``) and the rule are found by name before an insert; a rule whose
protocol or ports changed is deleted and inserted again (forwarding rules cannot be changed in place); an
autoscaler is inserted or updated to the policy given; deletes of what is gone do nothing.
"""

from __future__ import annotations

from typing import Any

from google.cloud import compute_v1

from .base import InvalidRequestError, NotFoundCloudError
from .gce_errors import gce_call
from .gce_view import local_name

JSON = dict[str, Any]


class GceLoadBalancerWrites:
    def __init__(self, cloud: Any) -> None:
        self.ops = cloud.ops

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
        if self._get(account, region, "target_pools", target_pool=pool_name) is None:
            pool = compute_v1.TargetPool(name=pool_name, session_affinity=str(spec.get("sessionAffinity") or "NONE"))
            self.ops.act(
                account,
                region,
                f"creating target pool of {where}",
                lambda: pools.insert(project=project, region=region, target_pool_resource=pool, timeout=60),
            )
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
        for pool in pools:
            if self._get(account, region, "target_pools", target_pool=pool) is not None:
                self.ops.act(
                    account,
                    region,
                    f"deleting target pool {pool} in {account}/{region}",
                    lambda pool=pool: client.delete(project=project, region=region, target_pool=pool, timeout=60),
                )

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
