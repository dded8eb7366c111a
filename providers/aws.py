"""The AWS cloud (Clouddriver's AWS provider): a server group is an Auto Scaling group launched from a
launch template of the same name, spread over the subnets of a purpose (``subnetType``) or over
availability zones, in classic ELBs and ELBv2 target groups.

Operations follow Clouddriver's: disabling suspends ``Launch``, ``Terminate`` and ``AddToLoadBalancer``
and takes the instances out of the group's load balancers and target groups; a group is disabled when
``AddToLoadBalancer`` is suspended; destroying force-deletes the group, then its launch template.
Every mutating call is safe to repeat (see ``providers/base.py``). boto3 clients come from
:class:`~providers.aws_accounts.AwsClients`; nothing here is built at import time.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from .aws_accounts import AwsAccount, AwsAccountError, AwsClients, aws_accounts
from .aws_deploy import Builder
from .aws_errors import aws_call, error_code
from .aws_health import health_entries
from .aws_infra import classic_load_balancers
from .aws_view import (
    JSON,
    Gathered,
    camel,
    describe_groups,
    epoch_ms,
    gather,
    instance_health,
    instance_json,
    missing_ok,
    now_ms,
    server_group,
    tags_of,
    target_group_name,
    template_spec,
)
from .base import (
    UP,
    Capacity,
    CreateServerGroupRequest,
    Image,
    InvalidRequestError,
    NotFoundCloudError,
    ServerGroup,
    ServerGroupCloud,
    TransientCloudError,
)
from .naming import Moniker
from .targets import instances_to_modify

__all__ = ["AwsAccount", "AwsAccountError", "AwsCloud", "aws_accounts", "DISABLE_PROCESSES"]
log = logging.getLogger(__name__)

#: ``AutoScalingProcessType.getDisableProcesses()``
DISABLE_PROCESSES = ["Launch", "Terminate", "AddToLoadBalancer"]


def _check_capacity(capacity: Capacity, name: str) -> None:
    if not 0 <= capacity.min <= capacity.desired <= capacity.max:
        raise InvalidRequestError(f"capacity: {name} needs 0 <= min <= desired <= max, got {capacity.to_json()}")


class AwsCloud(ServerGroupCloud):
    """Server groups (Auto Scaling groups) in the configured AWS accounts."""

    cloud_provider = "aws"

    def __init__(self, accounts: list[AwsAccount]) -> None:
        self.clients = AwsClients(accounts)

    def __repr__(self) -> str:
        return f"AwsCloud(accounts={self.accounts()})"

    def close(self) -> None:
        self.clients.close()

    def accounts(self) -> list[str]:
        return list(self.clients.accounts)

    def regions(self, account: str) -> list[str]:
        return list(self.clients.account(account).regions)

    def _client(self, account: str, region: str, service: str) -> Any:
        return self.clients.client(account, region, service)

    # reads

    def _groups(self, account: str, region: str, names: list[str] | None = None) -> list[JSON]:
        autoscaling = self._client(account, region, "autoscaling")
        with aws_call(f"listing server groups in {account}/{region}"):
            return describe_groups(autoscaling, names)

    def _asg(self, account: str, region: str, name: str) -> JSON | None:
        return next(iter(self._groups(account, region, [name])), None)

    def _gather(self, account: str, region: str, asgs: list[JSON]) -> Gathered:
        ec2, elbv2, elb = (self._client(account, region, s) for s in ("ec2", "elbv2", "elb"))
        with aws_call(f"reading server groups in {account}/{region}"):
            return gather(ec2, elbv2, elb, asgs)

    def _view(self, account: str, region: str, asgs: list[JSON]) -> list[ServerGroup]:
        seen = self._gather(account, region, asgs)
        now = now_ms()
        groups = [server_group(account, region, asg, seen, now) for asg in asgs]
        return sorted(groups, key=lambda g: (g.created_ms, g.name))

    def server_groups(self, account: str, region: str, cluster: str | None = None) -> list[ServerGroup]:
        asgs = self._groups(account, region)
        if cluster is not None:
            asgs = [g for g in asgs if Moniker.parse(g["AutoScalingGroupName"]).cluster == cluster]
        return self._view(account, region, asgs)

    def server_group(self, account: str, region: str, name: str) -> ServerGroup | None:
        asg = self._asg(account, region, name)
        return self._view(account, region, [asg])[0] if asg else None

    def instance(self, account: str, region: str, instance_id: str) -> JSON | None:
        """Gate's ``/instances/{account}/{region}/{id}``: the instance with Clouddriver's health list."""
        ec2 = self._client(account, region, "ec2")
        with aws_call(f"reading instance {instance_id} in {account}/{region}"):
            found = ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": [instance_id]}])
        instances = [i for r in found["Reservations"] for i in r["Instances"]]
        if not instances:
            return None
        described = instances[0]
        group = tags_of(described).get("aws:autoscaling:groupName")
        asg = self._asg(account, region, group) if group else None
        if asg is None:
            health = health_entries(described.get("State", {}).get("Name"), None, {}, {})
        else:
            seen = self._gather(account, region, [{**asg, "Instances": [{"InstanceId": instance_id}]}])
            member: JSON = next((i for i in asg.get("Instances") or [] if i["InstanceId"] == instance_id), {})
            health = instance_health(asg, instance_id, member.get("LifecycleState"), seen)
        return instance_json(account, region, described, health, now_ms())

    def load_balancers(self, account: str, region: str) -> list[JSON]:
        """Gate's ``/loadBalancers`` for AWS: ELBv2 load balancers with their listeners, target groups
        and the server groups in them, and classic ELBs (``providers/aws_infra.py``)."""
        elbv2 = self._client(account, region, "elbv2")
        with aws_call(f"listing load balancers in {account}/{region}"):
            balancers = [
                b for p in elbv2.get_paginator("describe_load_balancers").paginate() for b in p["LoadBalancers"]
            ]
            groups = [g for p in elbv2.get_paginator("describe_target_groups").paginate() for g in p["TargetGroups"]]
            listeners = {
                b["LoadBalancerArn"]: elbv2.describe_listeners(LoadBalancerArn=b["LoadBalancerArn"])["Listeners"]
                for b in balancers
            }
        by_group: dict[str, list[JSON]] = {}
        server_groups = self.server_groups(account, region)
        for sg in server_groups:
            summary = {
                "name": sg.name,
                "account": account,
                "region": region,
                "cloudProvider": "aws",
                "isDisabled": sg.disabled,
                "instances": [i.to_json() for i in sg.instances],
            }
            for name in sg.target_groups:
                by_group.setdefault(name, []).append(summary)
        names = {g["TargetGroupArn"]: g["TargetGroupName"] for g in groups}
        out = []
        for balancer in balancers:
            arn = balancer["LoadBalancerArn"]
            mine = [g for g in groups if arn in (g.get("LoadBalancerArns") or [])]
            target_groups = [
                {**camel(g), "name": g["TargetGroupName"], "serverGroups": by_group.get(g["TargetGroupName"], [])}
                for g in mine
            ]
            out.append(
                {
                    **camel({k: v for k, v in balancer.items() if k != "CreatedTime"}),
                    "name": balancer["LoadBalancerName"],
                    "account": account,
                    "region": region,
                    "type": "aws",
                    "cloudProvider": "aws",
                    "loadBalancerType": balancer.get("Type"),
                    "dnsname": balancer.get("DNSName"),
                    "createdTime": epoch_ms(balancer.get("CreatedTime")),
                    "availabilityZones": [z["ZoneName"] for z in balancer.get("AvailabilityZones") or []],
                    "subnets": [z["SubnetId"] for z in balancer.get("AvailabilityZones") or [] if z.get("SubnetId")],
                    "moniker": Moniker.parse(balancer["LoadBalancerName"]).to_json(),
                    "listeners": [
                        {
                            **camel(listener),
                            "defaultActions": [
                                {**camel(a), "targetGroupName": names.get(a.get("TargetGroupArn", ""))}
                                for a in listener.get("DefaultActions") or []
                            ],
                        }
                        for listener in listeners.get(arn, [])
                    ],
                    "targetGroups": target_groups,
                    "serverGroups": list({s["name"]: s for g in target_groups for s in g["serverGroups"]}.values()),
                }
            )
        out += classic_load_balancers(self._client(account, region, "elb"), account, region, server_groups)
        return sorted(out, key=lambda b: b["name"])

    def find_images(
        self, account: str, region: str, *, package: str | None = None, tags: dict[str, str] | None = None
    ) -> list[Image]:
        owners = self.clients.account(account).image_owners
        ec2 = self._client(account, region, "ec2")
        filters = [{"Name": "state", "Values": ["available"]}]
        if package:
            filters.append({"Name": "name", "Values": [f"{package}*"]})
        filters += [{"Name": f"tag:{k}", "Values": [v]} for k, v in (tags or {}).items()]
        with aws_call(f"finding images in {account}/{region}"):
            found = ec2.describe_images(Owners=owners, Filters=filters)["Images"]
        images = []
        for image in found:
            image_tags = tags_of(image)
            name = image.get("Name") or ""
            if package and not name.startswith(package):
                continue
            if any(image_tags.get(k) != v for k, v in (tags or {}).items()):
                continue
            created = image.get("CreationDate")
            created_ms = epoch_ms(datetime.fromisoformat(created)) if created else None
            images.append(Image(image["ImageId"], name, region, created_ms, image_tags))
        return sorted(images, key=lambda i: (i.created_ms or 0, i.name), reverse=True)

    # writes

    def create_server_group(self, request: CreateServerGroupRequest) -> ServerGroup:
        req = request
        existing = self.server_group(req.account, req.region, req.name)
        if existing is not None:
            log.info("server group %s exists in %s/%s: not created again", req.name, req.account, req.region)
            return existing
        _check_capacity(req.capacity, req.name)
        account = self.clients.account(req.account)
        builder = Builder(
            account,
            req.region,
            *(self._client(req.account, req.region, s) for s in ("ec2", "elbv2", "autoscaling")),
        )
        image_id = builder.image_id(req.image_id)
        purpose = req.subnet_type or account.default_subnet_type
        if purpose:
            subnets = builder.subnets(purpose, req.zones)
            placement: JSON = {"VPCZoneIdentifier": ",".join(s["SubnetId"] for s in subnets)}
            vpc_id: str | None = subnets[0]["VpcId"]
        else:
            placement, vpc_id = {"AvailabilityZones": req.zones or builder.zones()}, account.vpc_id
        group_ids = builder.security_group_ids(req.security_groups or account.default_security_groups, vpc_id)
        arns = builder.target_group_arns(req.target_groups)
        template = builder.launch_template(req, builder.template_data(req, image_id, group_ids))
        builder.create_group(req, template, placement, arns)
        created = self.server_group(req.account, req.region, req.name)
        if created is None:
            raise TransientCloudError(f"server group {req.name} was created in {builder.where} but is not visible yet")
        return created

    def resize(self, account: str, region: str, name: str, capacity: Capacity) -> None:
        _check_capacity(capacity, name)
        asg = self._asg(account, region, name)
        if asg is None or asg.get("Status"):
            raise NotFoundCloudError(f"serverGroupName: {name} not found in {account}/{region}")
        if (asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"]) == (capacity.min, capacity.max, capacity.desired):
            return
        autoscaling = self._client(account, region, "autoscaling")
        with aws_call(f"resizing {name} in {account}/{region}"):
            autoscaling.update_auto_scaling_group(
                AutoScalingGroupName=name, MinSize=capacity.min, MaxSize=capacity.max, DesiredCapacity=capacity.desired
            )
        log.info("resized %s in %s/%s to %s", name, account, region, capacity.to_json())

    def disable(self, account: str, region: str, name: str) -> None:
        self._enable_disable(account, region, name, disable=True)

    def enable(self, account: str, region: str, name: str) -> None:
        self._enable_disable(account, region, name, disable=False)

    def _enable_disable(self, account: str, region: str, name: str, *, disable: bool) -> None:
        """Clouddriver's ``AbstractEnableDisableAtomicOperation`` for one group (no Eureka here)."""
        verb = "disabling" if disable else "enabling"
        asg = self._asg(account, region, name)
        if asg is None or asg.get("Status"):  # gone, or being deleted: nothing to do
            log.info("%s %s in %s/%s: no such group (or being deleted)", verb, name, account, region)
            return
        autoscaling, ec2, elbv2, elb = (
            self._client(account, region, s) for s in ("autoscaling", "ec2", "elbv2", "elb")
        )
        with aws_call(f"{verb} {name} in {account}/{region}"):
            change = autoscaling.suspend_processes if disable else autoscaling.resume_processes
            change(AutoScalingGroupName=name, ScalingProcesses=DISABLE_PROCESSES)
            ids = self._live_members(ec2, asg)
            if ids:
                self._change_registration(elb, elbv2, asg, sorted(ids), disable=disable)
        log.info("%s %s in %s/%s: done (%d instances)", verb, name, account, region, len(ids))

    @staticmethod
    def _live_members(ec2: Any, asg: JSON) -> list[str]:
        """The group's InService/Pending instances that EC2 says are running or pending (Clouddriver's filter)."""
        members = [
            i["InstanceId"]
            for i in asg.get("Instances") or []
            if i.get("LifecycleState") == "InService" or str(i.get("LifecycleState")).startswith("Pending")
        ]
        if not members:
            return []
        found = ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": members}])
        live = {"running", "pending"}
        return [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"] if i["State"]["Name"] in live]

    def disable_percentage(self, account: str, region: str, name: str, desired_percentage: int) -> list[str]:
        """Clouddriver's disable with ``desiredPercentage`` below 100 (rolling red/black's ``Disable p% of
        Traffic``): scaling stays on; of the group's live instances, those still Up in its load balancers and
        target groups are deregistered from them until ``ceil(p% of all)`` are out of service (the ones
        already out count, so a repeat deregisters nothing more). Returns the instances it deregistered."""
        asg = self._asg(account, region, name)
        if asg is None or asg.get("Status"):
            log.info("disabling %d%% of %s in %s/%s: no such group", desired_percentage, name, account, region)
            return []
        group = self.server_group(account, region, name)
        health = {i.id: i.health_state for i in (group.instances if group else [])}
        ec2, elbv2, elb = (self._client(account, region, s) for s in ("ec2", "elbv2", "elb"))
        with aws_call(f"disabling {desired_percentage}% of {name} in {account}/{region}"):
            ids = sorted(self._live_members(ec2, asg))
            serving = [i for i in ids if health.get(i) == UP]
            out = [i for i in ids if health.get(i) != UP]
            chosen = instances_to_modify(out, serving, desired_percentage)
            if chosen:
                self._change_registration(elb, elbv2, asg, chosen, disable=True)
        log.info("disabled %d%% of %s in %s/%s: deregistered %s", desired_percentage, name, account, region, chosen)
        return chosen

    def previous_image(self, account: str, region: str, name: str) -> str | None:
        """The image of the newest launch template version before the group's current one that runs another
        image (an ``updateLaunchTemplate`` changed it), None when the template never ran another."""
        asg = self._asg(account, region, name)
        spec = template_spec(asg) if asg else None
        if not spec:
            return None
        by = {"LaunchTemplateId": spec["LaunchTemplateId"]} if spec.get("LaunchTemplateId") else None
        by = by or {"LaunchTemplateName": spec.get("LaunchTemplateName") or name}
        ec2 = self._client(account, region, "ec2")
        with aws_call(f"reading the launch template versions of {name} in {account}/{region}"):
            versions = ec2.describe_launch_template_versions(**by)["LaunchTemplateVersions"]
        ordered = sorted(versions, key=lambda v: int(v["VersionNumber"]), reverse=True)
        if not ordered:
            return None
        wanted = str(spec.get("Version") or "$Default")
        if wanted == "$Latest":
            current = ordered[0]
        elif wanted == "$Default":
            current = next((v for v in ordered if v.get("DefaultVersion")), ordered[0])
        else:
            current = next((v for v in ordered if str(v["VersionNumber"]) == wanted), ordered[0])
        image = (current.get("LaunchTemplateData") or {}).get("ImageId")
        for version in ordered:
            if int(version["VersionNumber"]) >= int(current["VersionNumber"]):
                continue
            before = (version.get("LaunchTemplateData") or {}).get("ImageId")
            if before and before != image:
                return str(before)
        return None

    @staticmethod
    def _change_registration(elb: Any, elbv2: Any, asg: JSON, ids: list[str], *, disable: bool) -> None:
        instances = [{"InstanceId": i} for i in ids]
        targets = [{"Id": i} for i in ids]
        for lb in asg.get("LoadBalancerNames") or []:
            if not disable:
                elb.register_instances_with_load_balancer(LoadBalancerName=lb, Instances=instances)
                continue
            if (
                missing_ok(elb.deregister_instances_from_load_balancer, LoadBalancerName=lb, Instances=instances)
                is None
            ):
                log.info("classic load balancer %s is gone: nothing to deregister from", lb)
        for arn in asg.get("TargetGroupARNs") or []:
            if not disable:
                elbv2.register_targets(TargetGroupArn=arn, Targets=targets)
                continue
            try:
                elbv2.deregister_targets(TargetGroupArn=arn, Targets=targets)
            except ClientError as err:  # Clouddriver shrugs at a deleted target group or a stale target
                if error_code(err) not in ("TargetGroupNotFound", "InvalidTarget"):
                    raise
                log.info("target group %s: %s, nothing to deregister", target_group_name(arn), error_code(err))
                if error_code(err) == "InvalidTarget" and len(targets) > 1:
                    # one stale target (a share already deregistered by a rolling step) fails the whole call
                    # where the cloud refuses unregistered targets: the others still go, one by one
                    for one in targets:
                        try:
                            elbv2.deregister_targets(TargetGroupArn=arn, Targets=[one])
                        except ClientError as each:
                            if error_code(each) != "InvalidTarget":
                                raise

    def destroy(self, account: str, region: str, name: str) -> None:
        """Clouddriver's ``DestroyAsgAtomicOperation``: force-delete the group, delete its launch template,
        terminate what is left of its instances. A missing group only has its leftover template removed."""
        asg = self._asg(account, region, name)
        autoscaling, ec2 = self._client(account, region, "autoscaling"), self._client(account, region, "ec2")
        with aws_call(f"destroying {name} in {account}/{region}"):
            spec = (template_spec(asg) if asg else None) or {"LaunchTemplateName": name}
            if asg is not None and not asg.get("Status"):  # a Status means a delete is already under way
                missing_ok(autoscaling.delete_auto_scaling_group, AutoScalingGroupName=name, ForceDelete=True)
                log.info("deleted server group %s in %s/%s", name, account, region)
            by = {"LaunchTemplateIds": [spec["LaunchTemplateId"]]} if spec.get("LaunchTemplateId") else None
            by = by or {"LaunchTemplateNames": [spec.get("LaunchTemplateName") or name]}
            found = missing_ok(ec2.describe_launch_templates, **by)
            for template in (found or {}).get("LaunchTemplates") or []:
                missing_ok(ec2.delete_launch_template, LaunchTemplateId=template["LaunchTemplateId"])
                log.info("deleted launch template %s in %s/%s", template["LaunchTemplateName"], account, region)
            ids = [i["InstanceId"] for i in (asg or {}).get("Instances") or []]
            if ids:
                try:
                    ec2.terminate_instances(InstanceIds=ids)
                except ClientError as err:  # ForceDelete terminates them anyway; Clouddriver only reports this
                    log.info("terminating %s's instances: %s", name, error_code(err) or type(err).__name__)
