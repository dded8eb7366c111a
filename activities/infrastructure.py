"""Clouddriver's infrastructure operations as activities (one per Orca task): security groups / firewall
rules, load balancers, scaling policies, scheduled actions, image tags, and the cache refresh that follows
each (Orca's ``*ForceRefreshTask``).

Each takes the stage's context in Orca's field names and is safe to retry: the provider calls find by
name before creating and converge on update (``providers/aws_infra_ops.py``, ``aws_lb_ops.py``,
``gce_infra.py``). Names Gennaker has to choose (a new scaling policy's) derive from the execution and
stage, so a retried create asks for the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from temporalio import activity

from core.tasks import TaskInput, TaskResult
from providers.aws_infra_ops import AwsInfraWrites, update_launch_template
from providers.aws_lb_ops import AwsLoadBalancerWrites
from providers.base import ServerGroupCloud
from providers.infra import readers_for, wrap

from .deploy_base import JSON, ProviderSessions, StageInputError, guarded


def _gce_firewalls(cloud: ServerGroupCloud) -> Any:
    """GCE's firewall writes, imported on first use: google-cloud-compute loads only with a GCE cloud."""
    from providers.gce_infra import GceInfraWrites

    return GceInfraWrites(cloud)


def _gce_load_balancers(cloud: ServerGroupCloud) -> Any:
    """GCE's load balancer and autoscaler writes, imported on first use (as ``_gce_firewalls``)."""
    from providers.gce_lb_ops import GceLoadBalancerWrites

    return GceLoadBalancerWrites(cloud)


def _gce_http(cloud: ServerGroupCloud) -> Any:
    """GCE's HTTP(S) and internal load balancer writes, imported on first use (as ``_gce_firewalls``)."""
    from providers.gce_lb_http import GceHttpLoadBalancers

    return GceHttpLoadBalancers(cloud)


def _gce_lb_type(ctx: JSON) -> str:
    """Clouddriver's GCE ``loadBalancerType``: NETWORK (the default), HTTP (HTTPS is HTTP with a certificate),
    INTERNAL."""
    kind = str(ctx.get("loadBalancerType") or "NETWORK").upper()
    kind = "HTTP" if kind == "HTTPS" else kind
    if kind not in ("NETWORK", "HTTP", "INTERNAL"):
        raise StageInputError(f"loadBalancerType: NETWORK, HTTP or INTERNAL for gce, not {kind}")
    return kind


def _account(ctx: JSON) -> str:
    account = ctx.get("credentials") or ctx.get("account") or ctx.get("accountName")
    if not isinstance(account, str) or not account:
        raise StageInputError("credentials: which account")
    return account


def _regions(ctx: JSON) -> list[str]:
    regions = ctx.get("regions") or ([ctx["region"]] if ctx.get("region") else [])
    if not regions and isinstance(ctx.get("availabilityZones"), dict):
        regions = list(ctx["availabilityZones"])
    if not regions or not all(isinstance(r, str) and r for r in regions):
        raise StageInputError("regions: which regions")
    return [str(r) for r in regions]


def _asgs(ctx: JSON) -> list[tuple[str, str]]:
    """(region, group) pairs of ``asgs`` (scheduled actions), else ``serverGroupName`` in ``region``."""
    pairs = []
    for i, asg in enumerate(ctx.get("asgs") or []):
        name = asg.get("asgName") or asg.get("serverGroupName") if isinstance(asg, dict) else None
        if not name or not asg.get("region"):
            raise StageInputError(f"asgs[{i}]: needs asgName and region")
        pairs.append((str(asg["region"]), str(name)))
    if not pairs:
        name = ctx.get("serverGroupName") or ctx.get("asgName")
        if not name:
            raise StageInputError("serverGroupName: which server group")
        pairs = [(region, str(name)) for region in _regions(ctx)]
    return pairs


class InfrastructureActivities:
    """Every infrastructure operation, on the provider sessions it is handed."""

    def __init__(self, sessions: ProviderSessions) -> None:
        self.sessions = sessions
        self.store = sessions.store

    def _aws(self, ctx: JSON) -> ServerGroupCloud:
        cloud = self.sessions.cloud(ctx.get("cloudProvider") or "aws")
        if cloud.cloud_provider != "aws":
            raise StageInputError(f"cloudProvider: this operation is for aws, not {cloud.cloud_provider}")
        return cloud

    def _run(self, fn: Callable[[TaskInput], TaskResult], inp: TaskInput) -> TaskResult:
        return guarded(fn)(inp)

    # ---- security groups / firewalls ---------------------------------------------------------------

    @activity.defn(name="infra_upsert_security_group")
    def upsert_security_group(self, inp: TaskInput) -> TaskResult:
        return self._run(self._upsert_security_group, inp)

    def _upsert_security_group(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self.sessions.cloud(ctx.get("cloudProvider") or "aws"), _account(ctx)
        if cloud.cloud_provider == "gce":
            shown = [_gce_firewalls(cloud).upsert_firewall(account, ctx)]
        else:
            shown = [AwsInfraWrites(cloud).upsert_security_group(account, region, ctx) for region in _regions(ctx)]
        ids = [{"id": g["id"], "name": g["name"], "region": g["region"], "vpcId": g.get("vpcId")} for g in shown]
        return TaskResult.succeeded({"securityGroupIds": ids}, {"securityGroups": ids})

    @activity.defn(name="infra_delete_security_group")
    def delete_security_group(self, inp: TaskInput) -> TaskResult:
        return self._run(self._delete_security_group, inp)

    def _delete_security_group(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self.sessions.cloud(ctx.get("cloudProvider") or "aws"), _account(ctx)
        name = ctx.get("securityGroupName") or ctx.get("name")
        if not isinstance(name, str) or not name:
            raise StageInputError("securityGroupName: which security group")
        if cloud.cloud_provider == "gce":
            _gce_firewalls(cloud).delete_firewall(account, name)
        else:
            for region in _regions(ctx):
                AwsInfraWrites(cloud).delete_security_group(account, region, name, ctx.get("vpcId") or None)
        return TaskResult.succeeded()

    # ---- load balancers -------------------------------------------------------------------------

    @activity.defn(name="infra_upsert_load_balancer")
    def upsert_load_balancer(self, inp: TaskInput) -> TaskResult:
        return self._run(self._upsert_load_balancer, inp)

    def _upsert_load_balancer(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self.sessions.cloud(ctx.get("cloudProvider") or "aws"), _account(ctx)
        if cloud.cloud_provider == "gce" and _gce_lb_type(ctx) == "HTTP":  # global: no region
            done = [_gce_http(cloud).upsert_http(account, ctx)]
        elif cloud.cloud_provider == "gce" and _gce_lb_type(ctx) == "INTERNAL":
            done = [_gce_http(cloud).upsert_internal(account, r, ctx) for r in _regions(ctx)]
        elif cloud.cloud_provider == "gce":
            done = [_gce_load_balancers(cloud).upsert_network_lb(account, r, ctx) for r in _regions(ctx)]
        else:
            done = [AwsLoadBalancerWrites(cloud).upsert(account, region, ctx) for region in _regions(ctx)]
        return TaskResult.succeeded({"loadBalancers": done}, {"loadBalancers": done})

    @activity.defn(name="infra_delete_load_balancer")
    def delete_load_balancer(self, inp: TaskInput) -> TaskResult:
        return self._run(self._delete_load_balancer, inp)

    def _delete_load_balancer(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self.sessions.cloud(ctx.get("cloudProvider") or "aws"), _account(ctx)
        name = ctx.get("loadBalancerName") or ctx.get("name")
        if not isinstance(name, str) or not name:
            raise StageInputError("loadBalancerName: which load balancer")
        kind = ctx.get("loadBalancerType")
        if cloud.cloud_provider == "gce" and _gce_lb_type(ctx) == "HTTP":
            _gce_http(cloud).delete_http(account, name)
            return TaskResult.succeeded()
        for region in _regions(ctx):
            if cloud.cloud_provider == "gce" and _gce_lb_type(ctx) == "INTERNAL":
                _gce_http(cloud).delete_internal(account, region, name)
                continue
            if cloud.cloud_provider == "gce":
                _gce_load_balancers(cloud).delete_network_lb(account, region, name)
                continue
            AwsLoadBalancerWrites(cloud).delete(account, region, name, str(kind).lower() if kind else None)
        return TaskResult.succeeded()

    # ---- scaling --------------------------------------------------------------------------------

    @activity.defn(name="infra_upsert_scaling_policy")
    def upsert_scaling_policy(self, inp: TaskInput) -> TaskResult:
        return self._run(self._upsert_scaling_policy, inp)

    def _upsert_scaling_policy(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self.sessions.cloud(ctx.get("cloudProvider") or "aws"), _account(ctx)
        done = []
        if cloud.cloud_provider == "gce":  # Clouddriver's GCE autoscaler, named after the server group
            for region, group in _asgs(ctx):
                policy = ctx.get("autoscalingPolicy") or {}
                done.append(_gce_load_balancers(cloud).upsert_autoscaler(account, region, group, policy))
            return TaskResult.succeeded({"policies": done}, {"policies": done})
        for region, group in _asgs(ctx):
            name = ctx.get("policyName") or ctx.get("name")
            if not name:  # chosen from the execution and stage: a retry asks for the same policy
                digest = hashlib.sha256(f"{inp.execution_id}/{inp.stage_id}/{region}".encode()).hexdigest()[:12]
                name = f"{group}-policy-{digest}"
            done.append(AwsInfraWrites(cloud).upsert_scaling_policy(account, region, group, str(name), ctx))
        return TaskResult.succeeded({"policies": done}, {"policies": done})

    @activity.defn(name="infra_delete_scaling_policy")
    def delete_scaling_policy(self, inp: TaskInput) -> TaskResult:
        return self._run(self._delete_scaling_policy, inp)

    def _delete_scaling_policy(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self.sessions.cloud(ctx.get("cloudProvider") or "aws"), _account(ctx)
        if cloud.cloud_provider == "gce":
            for region, group in _asgs(ctx):
                _gce_load_balancers(cloud).delete_autoscaler(account, region, group)
            return TaskResult.succeeded()
        name = ctx.get("policyName")
        if not isinstance(name, str) or not name:
            raise StageInputError("policyName: which scaling policy")
        for region, group in _asgs(ctx):
            AwsInfraWrites(cloud).delete_scaling_policy(account, region, group, name)
        return TaskResult.succeeded()

    @activity.defn(name="infra_upsert_scheduled_actions")
    def upsert_scheduled_actions(self, inp: TaskInput) -> TaskResult:
        return self._run(self._upsert_scheduled_actions, inp)

    def _upsert_scheduled_actions(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self._aws(ctx), _account(ctx)
        actions = ctx.get("scheduledActions")
        if not isinstance(actions, list):
            raise StageInputError("scheduledActions: a list of {recurrence, minSize, maxSize, desiredCapacity}")
        names = {g: AwsInfraWrites(cloud).upsert_scheduled_actions(account, r, g, actions) for r, g in _asgs(ctx)}
        return TaskResult.succeeded({"scheduledActionNames": names})

    @activity.defn(name="infra_delete_scheduled_actions")
    def delete_scheduled_actions(self, inp: TaskInput) -> TaskResult:
        return self._run(self._delete_scheduled_actions, inp)

    def _delete_scheduled_actions(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self._aws(ctx), _account(ctx)
        wanted = ctx.get("scheduledActionNames")
        names = [str(n) for n in wanted] if isinstance(wanted, list) else None
        gone = {g: AwsInfraWrites(cloud).delete_scheduled_actions(account, r, g, names) for r, g in _asgs(ctx)}
        return TaskResult.succeeded({"deletedScheduledActions": gone})

    @activity.defn(name="infra_update_launch_template")
    def update_launch_template(self, inp: TaskInput) -> TaskResult:
        return self._run(self._update_launch_template, inp)

    def _update_launch_template(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self._aws(ctx), _account(ctx)
        writes = AwsInfraWrites(cloud)
        done = [update_launch_template(writes, account, region, group, ctx) for region, group in _asgs(ctx)]
        return TaskResult.succeeded({"launchTemplates": done}, {"launchTemplates": done})

    # ---- images ---------------------------------------------------------------------------------

    @activity.defn(name="infra_upsert_image_tags")
    def upsert_image_tags(self, inp: TaskInput) -> TaskResult:
        return self._run(self._upsert_image_tags, inp)

    def _upsert_image_tags(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud, account = self.sessions.cloud(ctx.get("cloudProvider") or "aws"), _account(ctx)
        tags = ctx.get("tags")
        if not isinstance(tags, dict) or not tags:
            raise StageInputError("tags: an object of tag names to values")
        if cloud.cloud_provider == "gce":  # Clouddriver's google image tags: the image's labels
            gce_names = ctx.get("imageNames") or [n for n in (ctx.get("imageName"),) if n]
            if not gce_names:
                raise StageInputError("imageName: which image (or imageNames)")
            labels = {str(k): str(v) for k, v in tags.items()}
            done = [_gce_firewalls(cloud).upsert_image_tags(account, str(n), labels) for n in gce_names]
            return TaskResult.succeeded({"images": done})
        if cloud.cloud_provider != "aws":
            raise StageInputError(f"cloudProvider: upsertImageTags is for aws or gce, not {cloud.cloud_provider}")
        names = ctx.get("imageNames") or [n for n in (ctx.get("amiName"), ctx.get("imageName")) if n]
        if not names:
            raise StageInputError("amiName: which image (or imageNames)")
        tagged = [
            AwsInfraWrites(cloud).upsert_image_tags(account, region, str(n), {str(k): str(v) for k, v in tags.items()})
            for region in _regions(ctx)
            for n in names
        ]
        return TaskResult.succeeded({"imageIds": tagged})

    # ---- Orca's force cache refresh --------------------------------------------------------------

    @activity.defn(name="infra_refresh_cache")
    def refresh_cache(self, inp: TaskInput) -> TaskResult:
        """Re-read what the stage changed into the cache the API serves (its kind, account and regions)."""
        return self._run(self._refresh_cache, inp)

    def _refresh_cache(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        if self.store is None:
            return TaskResult.succeeded()
        cloud, account = self.sessions.cloud(ctx.get("cloudProvider") or "aws"), _account(ctx)
        kind = {"upsertLoadBalancer": "loadBalancers", "deleteLoadBalancer": "loadBalancers"}.get(
            inp.stage_type, "securityGroups" if "SecurityGroup" in inp.stage_type else "serverGroups"
        )
        if inp.stage_type == "upsertImageTags":  # the tagged images, as /images/find shows them
            # GCE images are global: the cache holds them once per region of the account, as its refresh does
            for region in cloud.regions(account) if cloud.cloud_provider == "gce" else _regions(ctx):
                for image in cloud.find_images(account, region):
                    item = {**image.to_json(), "name": image.name, "account": account}
                    self.store.cloud_cache.put_item(cloud.cloud_provider, account, "images", item)
            return TaskResult.succeeded()
        if kind == "serverGroups":
            session = self.sessions.session(ctx.get("cloudProvider") or "aws")
            for region, group in _asgs(ctx):
                session.refresh(account, region, group)
            return TaskResult.succeeded()
        regions = cloud.regions(account)[:1] if cloud.cloud_provider == "gce" else _regions(ctx)
        if cloud.cloud_provider == "gce" and kind == "loadBalancers" and (ctx.get("region") or ctx.get("regions")):
            regions = list(dict.fromkeys([*regions, *_regions(ctx)]))  # internal / network ones: their regions too
        for region in regions:
            self._replace(cloud, account, region, kind)
        return TaskResult.succeeded()

    def _replace(self, cloud: Any, account: str, region: str, kind: str) -> None:
        if kind == "securityGroups":
            readers = readers_for(cloud)
            items = [wrap(kind, g, "id") for g in readers.security_groups(account, region)]
        else:
            lister = getattr(cloud, "load_balancers", None)
            items = [{**lb, "region": lb.get("region") or region} for lb in (lister(account, region) if lister else [])]
        provider = cloud.cloud_provider
        region_key = "global" if provider == "gce" and kind == "securityGroups" else region  # firewalls are global
        keys = [region_key]
        if provider == "gce" and kind == "loadBalancers" and region == cloud.regions(account)[0]:
            keys.append("global")  # the HTTP(S) load balancers, read with the account's first region
        fresh = {(str(i.get("region")), i["name"]) for i in items}
        for key in keys:
            for old in self.store.cloud_cache.items(kind, account=account, region=key, provider=provider):
                if (key, old.get("name")) not in fresh:
                    self.store.cloud_cache.drop_item(provider, account, kind, key, str(old.get("name")))
        for item in items:
            self.store.cloud_cache.put_item(provider, account, kind, item)


def build(clouds: dict[str, ServerGroupCloud], store: Any = None) -> list[Callable[..., Any]]:
    acts = InfrastructureActivities(ProviderSessions(clouds, store))
    return [
        acts.upsert_security_group,
        acts.delete_security_group,
        acts.upsert_load_balancer,
        acts.delete_load_balancer,
        acts.upsert_scaling_policy,
        acts.delete_scaling_policy,
        acts.upsert_scheduled_actions,
        acts.delete_scheduled_actions,
        acts.upsert_image_tags,
        acts.update_launch_template,
        acts.refresh_cache,
    ]
