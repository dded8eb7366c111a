"""Building a server group: the launch template and Auto Scaling group a
:class:`~providers.base.CreateServerGroupRequest` asks for (Clouddriver's ``BasicAmazonDeployHandler``,
``AsgWithLaunchTemplateBuilder``, ``AsgBuilder``, ``SubnetAnalyzer``, ``AmiIdResolver``).

Every step can be repeated: the launch template carries the group's name and a ``ClientToken``
derived from it, an existing one is reused, and the group is created only when it does not exist, so
a create that died between the template and the group completes on its next try.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import time
from typing import Any

from botocore.exceptions import ClientError

from .aws_accounts import AwsAccount
from .aws_errors import aws_call, error_code
from .aws_view import missing_ok
from .base import CreateServerGroupRequest, InvalidRequestError, NotFoundCloudError, TransientCloudError
from .naming import Moniker

log = logging.getLogger(__name__)
JSON = dict[str, Any]

#: Deck's defaults for the cluster fields a deploy may leave out
DEFAULTS: JSON = {"cooldown": 10, "healthCheckGracePeriod": 600, "healthCheckType": "EC2", "terminationPolicies": []}
_AMI_ID = re.compile(r"^ami-[0-9a-f]+$")
#: the subnet tag Clouddriver reads a subnet's purpose from (``SubnetData.METADATA_TAG_KEY``)
METADATA_TAG = "immutable_metadata"


def client_token(account: str, region: str, name: str, data: Any = None) -> str:
    """The same token for every try at one group's launch template (CreateLaunchTemplate's idempotency);
    the template's content is part of it, so a different request never meets AWS's parameter mismatch."""
    content = json.dumps(data, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{account}/{region}/{name}/{content}".encode()).hexdigest()
    return f"gennaker-{digest[:48]}"


def subnet_purpose(subnet: JSON) -> tuple[str | None, str | None]:
    """``(purpose, target)`` of a subnet, as Clouddriver's ``SubnetData.from`` reads its tags: the
    ``immutable_metadata`` JSON, else a ``Name`` of the form ``vpc.purpose.zone`` → ``purpose (vpc)``."""
    tags = {t["Key"]: t.get("Value", "") for t in subnet.get("Tags") or []}
    if tags.get(METADATA_TAG):
        try:
            meta = json.loads(tags[METADATA_TAG])
        except ValueError:
            return None, None
        if isinstance(meta, dict):
            return meta.get("purpose"), meta.get("target")
        return None, None
    name = next((v for k, v in tags.items() if k.lower() == "name"), "")
    parts = name.split(".")
    if len(parts) == 3:
        return f"{parts[1]} ({parts[0]})", None
    return None, None


def choose_subnets(subnets: list[JSON], purpose: str, zones: list[str]) -> list[JSON]:
    """Subnets for instances (target ``ec2`` or none) with ``purpose`` in ``zones`` (all zones when empty)."""
    chosen = []
    for subnet in subnets:
        found, target = subnet_purpose(subnet)
        if found == purpose and target in (None, "ec2") and (not zones or subnet["AvailabilityZone"] in zones):
            chosen.append(subnet)
    return sorted(chosen, key=lambda s: (s["AvailabilityZone"], s["SubnetId"]))


def user_data(value: str | None) -> str | None:
    """Launch templates take base64: a value that already is base64 is kept, anything else encoded."""
    if not value:
        return None
    try:
        base64.b64decode(value, validate=True)
        return value
    except (binascii.Error, ValueError):
        return base64.b64encode(value.encode()).decode()


def group_tags(req: CreateServerGroupRequest) -> dict[str, str]:
    """The request's tags plus Clouddriver's ``spinnaker:application/stack/details`` from the name."""
    moniker = Moniker.parse(req.name)
    tags = dict(req.tags)
    for key, part in (("application", moniker.app), ("stack", moniker.stack), ("details", moniker.detail)):
        if part:
            tags[f"spinnaker:{key}"] = part
        else:
            tags.pop(f"spinnaker:{key}", None)
    return tags


class Builder:
    """Resolves a request's names (image, subnets, security groups, target groups) in one account
    and region and creates its launch template and group."""

    def __init__(self, account: AwsAccount, region: str, ec2: Any, elbv2: Any, autoscaling: Any) -> None:
        self.account, self.region = account, region
        self.ec2, self.elbv2, self.autoscaling = ec2, elbv2, autoscaling
        self.where = f"{account.name}/{region}"

    def image_id(self, name_or_id: str) -> str:
        """An AMI id as given, else the newest image of that name (``AmiIdResolver``)."""
        if _AMI_ID.match(name_or_id):
            return name_or_id
        with aws_call(f"finding image {name_or_id} in {self.where}"):
            images = self.ec2.describe_images(Filters=[{"Name": "name", "Values": [name_or_id]}])["Images"]
        if not images:
            raise NotFoundCloudError(f"imageId: no image named '{name_or_id}' in {self.where}")
        return str(max(images, key=lambda i: i.get("CreationDate", ""))["ImageId"])

    def subnets(self, purpose: str, zones: list[str]) -> list[JSON]:
        filters = [{"Name": "vpc-id", "Values": [self.account.vpc_id]}] if self.account.vpc_id else []
        with aws_call(f"listing subnets in {self.where}"):
            pages = self.ec2.get_paginator("describe_subnets").paginate(Filters=filters)
            subnets = [s for page in pages for s in page["Subnets"]]
        chosen = choose_subnets(subnets, purpose, zones)
        if not chosen:
            where = f"zones {zones}" if zones else self.where
            raise InvalidRequestError(f"subnetType: no subnet for instances tagged with purpose '{purpose}' in {where}")
        vpcs = sorted({s["VpcId"] for s in chosen})
        if len(vpcs) > 1:  # SubnetAnalyzer ignores such purposes: the group could not span them
            raise InvalidRequestError(
                f"subnetType: purpose '{purpose}' spans VPCs {vpcs} in {self.where}; set the account's vpcId"
            )
        return chosen

    def zones(self) -> list[str]:
        with aws_call(f"listing availability zones in {self.where}"):
            found = self.ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])
        return sorted(z["ZoneName"] for z in found["AvailabilityZones"])

    def security_group_ids(self, names: list[str], vpc_id: str | None) -> list[str]:
        """Group ids for names or ids, looked up in the deploy's VPC (``SecurityGroupService``)."""
        ids = [n for n in names if n.startswith("sg-")]
        wanted = [n for n in names if not n.startswith("sg-")]
        if not wanted:
            return ids
        filters = [{"Name": "group-name", "Values": wanted}]
        if vpc_id:
            filters.append({"Name": "vpc-id", "Values": [vpc_id]})
        with aws_call(f"finding security groups {wanted} in {self.where}"):
            found = self.ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
        by_name: dict[str, list[str]] = {}
        for group in found:
            by_name.setdefault(group["GroupName"], []).append(group["GroupId"])
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise InvalidRequestError(f"securityGroups: {missing} not found in {self.where}")
        ambiguous = [n for n in wanted if len(by_name[n]) > 1]
        if ambiguous:
            raise InvalidRequestError(
                f"securityGroups: {ambiguous} name groups in several VPCs of {self.where}: give ids, a subnetType "
                "or the account's vpcId"
            )
        return ids + [by_name[n][0] for n in wanted]

    def target_group_arns(self, names: list[str]) -> list[str]:
        """ARNs of target groups given by name (``TargetGroupLookupHelper``); ARNs pass through."""
        arns = [n for n in names if n.startswith("arn:")]
        wanted = [n for n in names if not n.startswith("arn:")]
        found: dict[str, str] = {}
        with aws_call(f"finding target groups {wanted} in {self.where}"):
            for name in wanted:  # one by one: a missing name fails the whole batch call
                groups = missing_ok(self.elbv2.describe_target_groups, Names=[name])
                for group in (groups or {}).get("TargetGroups") or []:
                    found[group["TargetGroupName"]] = group["TargetGroupArn"]
        missing = [n for n in wanted if n not in found]
        if missing:
            raise NotFoundCloudError(f"targetGroups: {missing} not found in {self.where}")
        return arns + [found[n] for n in wanted]

    def template_data(self, req: CreateServerGroupRequest, image_id: str, group_ids: list[str]) -> JSON:
        extra = req.extra
        data: JSON = {"ImageId": image_id, "InstanceType": req.instance_type}
        key_pair = req.key_pair or self.account.default_key_pair
        if key_pair:
            data["KeyName"] = key_pair
        if group_ids:
            data["SecurityGroupIds"] = group_ids
        encoded = user_data(req.user_data)
        if encoded:
            data["UserData"] = encoded
        if extra.get("iamRole"):
            data["IamInstanceProfile"] = {"Name": str(extra["iamRole"])}
        if extra.get("ebsOptimized") is not None:
            data["EbsOptimized"] = bool(extra["ebsOptimized"])
        if extra.get("instanceMonitoring") is not None:
            data["Monitoring"] = {"Enabled": bool(extra["instanceMonitoring"])}
        if extra.get("requireIMDSv2"):
            data["MetadataOptions"] = {"HttpTokens": "required", "HttpEndpoint": "enabled"}
        return data

    def launch_template(self, req: CreateServerGroupRequest, data: JSON) -> JSON:
        """The group's launch template (``{LaunchTemplateId, Version}``), created unless it exists."""
        with aws_call(f"creating launch template {req.name} in {self.where}"):
            template = self._template(req.name)
            if template is None:
                template = self._create_template(req, data, client_token(req.account, req.region, req.name, data))
                if self._template(req.name) is None:
                    # AWS answers a repeated token with the template it made then, even one deleted since
                    # (a destroyed group of the same name, deployed again): ask once more with a new token
                    log.info("launch template %s: the token's template is gone, creating afresh", req.name)
                    salt = str(time.time_ns())
                    template = self._create_template(req, data, client_token(req.account, req.region, req.name, salt))
        return {"LaunchTemplateId": template["LaunchTemplateId"], "Version": str(template["LatestVersionNumber"])}

    def _create_template(self, req: CreateServerGroupRequest, data: JSON, token: str) -> JSON:
        try:
            template: JSON = self.ec2.create_launch_template(
                LaunchTemplateName=req.name,
                LaunchTemplateData=data,
                ClientToken=token,
                VersionDescription=f"gennaker deploy of {req.name}",
            )["LaunchTemplate"]
            log.info("created launch template %s (%s) in %s", req.name, template["LaunchTemplateId"], self.where)
            return template
        except ClientError as err:  # another try made it first: that one is ours too
            if "AlreadyExists" not in error_code(err):
                raise
        found = self._template(req.name)
        if found is None:
            raise TransientCloudError(f"launch template {req.name} exists in {self.where} but cannot be read yet")
        return found

    def _template(self, name: str) -> JSON | None:
        found = missing_ok(self.ec2.describe_launch_templates, LaunchTemplateNames=[name])
        templates = (found or {}).get("LaunchTemplates") or []
        return templates[0] if templates else None

    def create_group(self, req: CreateServerGroupRequest, template: JSON, placement: JSON, arns: list[str]) -> None:
        """CreateAutoScalingGroup; a group that appeared since we looked is taken as this one (the
        name is chosen for this deploy before the call)."""
        extra = {**DEFAULTS, **{k: v for k, v in req.extra.items() if k in DEFAULTS and v is not None}}
        params: JSON = {
            "AutoScalingGroupName": req.name,
            "LaunchTemplate": template,
            "MinSize": req.capacity.min,
            "MaxSize": req.capacity.max,
            "DesiredCapacity": req.capacity.desired,
            "DefaultCooldown": int(extra["cooldown"]),
            "HealthCheckGracePeriod": int(extra["healthCheckGracePeriod"]),
            "HealthCheckType": str(extra["healthCheckType"]),
            "Tags": [
                {
                    "Key": k,
                    "Value": v,
                    "PropagateAtLaunch": True,
                    "ResourceId": req.name,
                    "ResourceType": "auto-scaling-group",
                }
                for k, v in group_tags(req).items()
            ],
            **placement,
        }
        if extra["terminationPolicies"]:
            params["TerminationPolicies"] = [str(p) for p in extra["terminationPolicies"]]
        if req.load_balancers:
            params["LoadBalancerNames"] = list(req.load_balancers)
        if arns:
            params["TargetGroupARNs"] = arns
        with aws_call(f"creating server group {req.name} in {self.where}"):
            try:
                self.autoscaling.create_auto_scaling_group(**params)
                log.info("created server group %s in %s", req.name, self.where)
            except ClientError as err:
                if "AlreadyExists" not in error_code(err):
                    raise
                log.info("server group %s already exists in %s: taken as created", req.name, self.where)
