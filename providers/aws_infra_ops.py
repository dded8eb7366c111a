"""AWS infrastructure writes as Clouddriver's atomic operations: security groups with their ingress
(``UpsertSecurityGroupAtomicOperation``), scaling policies, scheduled actions and image tags.

Every call is safe to repeat: creates look the resource up by name first, updates converge to the
asked-for state (ingress rules missing are authorized, rules not asked for revoked; a group's scheduled
actions become exactly the list given), deletes of something missing do nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from .aws_errors import aws_call
from .aws_infra import security_group_json
from .aws_view import missing_ok
from .base import InvalidRequestError, NotFoundCloudError

log = logging.getLogger(__name__)
JSON = dict[str, Any]
Permission = tuple[str, int | None, int | None, str, str]  # protocol, from, to, "group"|"cidr", id or CIDR


def _protocol(rule: JSON, field: str) -> str:
    value = rule.get("ipProtocol") or rule.get("protocol") or rule.get("type") or "tcp"
    value = str(value).lower()
    if value in ("-1", "all"):
        return "-1"
    if value not in ("tcp", "udp", "icmp"):
        raise InvalidRequestError(f"{field}.ipProtocol: '{value}' is not tcp, udp, icmp or -1")
    return value


def _ports(rule: JSON, protocol: str, field: str) -> tuple[int | None, int | None]:
    if protocol == "-1":
        return None, None
    start, end = rule.get("startPort"), rule.get("endPort", rule.get("startPort"))
    if not isinstance(start, int) or not isinstance(end, int) or start > end:
        raise InvalidRequestError(f"{field}.startPort: needs integer startPort <= endPort")
    return start, end


class AwsInfraWrites:
    """Writes through one AWS cloud (an :class:`~providers.aws.AwsCloud`)."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud

    def _client(self, account: str, region: str, service: str) -> Any:
        return self.cloud._client(account, region, service)  # noqa: SLF001 - the cloud's own client cache

    # ---- security groups -------------------------------------------------------------------------

    def _find_group(self, ec2: Any, name: str, vpc_id: str | None) -> JSON | None:
        filters = [{"Name": "group-name", "Values": [name]}]
        if vpc_id:
            filters.append({"Name": "vpc-id", "Values": [vpc_id]})
        found = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
        return found[0] if found else None

    def security_group(self, account: str, region: str, name: str, vpc_id: str | None) -> JSON | None:
        ec2 = self._client(account, region, "ec2")
        with aws_call(f"reading security group {name} in {account}/{region}"):
            group = self._find_group(ec2, name, vpc_id)
            if group is None:
                return None
            everything = ec2.describe_security_groups()["SecurityGroups"]
        return security_group_json(account, region, group, {g["GroupId"]: g for g in everything})

    def _wanted(self, ec2: Any, spec: JSON, vpc_id: str | None) -> set[Permission]:
        wanted: set[Permission] = set()
        for i, rule in enumerate(spec.get("securityGroupIngress") or []):
            field = f"securityGroupIngress[{i}]"
            if not isinstance(rule, dict):
                raise InvalidRequestError(f"{field}: must be an object")
            protocol = _protocol(rule, field)
            start, end = _ports(rule, protocol, field)
            group_id = rule.get("id")
            if not group_id:
                other = rule.get("name")
                if not other:
                    raise InvalidRequestError(f"{field}.name: which security group")
                found = self._find_group(ec2, str(other), rule.get("vpcId") or vpc_id)
                if found is None:
                    raise InvalidRequestError(f"{field}.name: no security group '{other}' in {vpc_id or 'EC2-classic'}")
                group_id = found["GroupId"]
            wanted.add((protocol, start, end, "group", str(group_id)))
        for i, rule in enumerate(spec.get("ipIngress") or []):
            field = f"ipIngress[{i}]"
            if not isinstance(rule, dict) or not rule.get("cidr"):
                raise InvalidRequestError(f"{field}.cidr: which address range")
            protocol = _protocol(rule, field)
            start, end = _ports(rule, protocol, field)
            wanted.add((protocol, start, end, "cidr", str(rule["cidr"])))
        return wanted

    @staticmethod
    def _existing(group: JSON) -> set[Permission]:
        have: set[Permission] = set()
        for p in group.get("IpPermissions") or []:
            protocol = str(p.get("IpProtocol") or "-1")
            start, end = (None, None) if protocol == "-1" else (p.get("FromPort"), p.get("ToPort"))
            have |= {(protocol, start, end, "group", g["GroupId"]) for g in p.get("UserIdGroupPairs") or []}
            have |= {(protocol, start, end, "cidr", r["CidrIp"]) for r in p.get("IpRanges") or []}
        return have

    @staticmethod
    def _permissions(rules: set[Permission]) -> list[JSON]:
        out = []
        for protocol, start, end, kind, value in sorted(rules, key=str):
            entry: JSON = {"IpProtocol": protocol}
            if start is not None:
                entry |= {"FromPort": start, "ToPort": end}
            if kind == "group":
                entry["UserIdGroupPairs"] = [{"GroupId": value}]
            else:
                entry["IpRanges"] = [{"CidrIp": value}]
            out.append(entry)
        return out

    def upsert_security_group(self, account: str, region: str, spec: JSON) -> JSON:
        """Create the group (by name, in ``vpcId``) when missing, then make its ingress exactly the rules asked for."""
        name = spec.get("name") or spec.get("securityGroupName")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("name: which security group")
        vpc_id = spec.get("vpcId") or None
        ec2 = self._client(account, region, "ec2")
        where = f"{name} in {account}/{region}"
        with aws_call(f"upserting security group {where}"):
            group = self._find_group(ec2, name, vpc_id)
            if group is None:
                args: JSON = {"GroupName": name, "Description": str(spec.get("description") or name)}
                if vpc_id:
                    args["VpcId"] = vpc_id
                ec2.create_security_group(**args)
                log.info("created security group %s", where)
                group = self._find_group(ec2, name, vpc_id)
                if group is None:
                    raise NotFoundCloudError(f"name: security group {where} not visible after its create")
            wanted = self._wanted(ec2, spec, vpc_id)
            have = self._existing(group)
            if have - wanted:
                ec2.revoke_security_group_ingress(
                    GroupId=group["GroupId"], IpPermissions=self._permissions(have - wanted)
                )
            if wanted - have:
                ec2.authorize_security_group_ingress(
                    GroupId=group["GroupId"], IpPermissions=self._permissions(wanted - have)
                )
        shown = self.security_group(account, region, name, vpc_id)
        assert shown is not None
        return shown

    def delete_security_group(self, account: str, region: str, name: str, vpc_id: str | None) -> None:
        ec2 = self._client(account, region, "ec2")
        with aws_call(f"deleting security group {name} in {account}/{region}"):
            group = self._find_group(ec2, name, vpc_id)
            if group is not None:
                missing_ok(ec2.delete_security_group, GroupId=group["GroupId"])

    # ---- scaling policies ------------------------------------------------------------------------

    def upsert_scaling_policy(self, account: str, region: str, group: str, name: str, spec: JSON) -> JSON:
        """``PutScalingPolicy`` (itself an upsert by name): target tracking, step or simple."""
        args: JSON = {"AutoScalingGroupName": group, "PolicyName": name}
        tracking = spec.get("targetTrackingConfiguration")
        step = spec.get("step")
        if isinstance(tracking, dict):
            metric = tracking.get("predefinedMetricSpecification") or {}
            config: JSON = {"TargetValue": float(tracking.get("targetValue") or 0)}
            if metric:
                config["PredefinedMetricSpecification"] = {"PredefinedMetricType": metric.get("predefinedMetricType")}
            if "disableScaleIn" in tracking:
                config["DisableScaleIn"] = bool(tracking["disableScaleIn"])
            args |= {"PolicyType": "TargetTrackingScaling", "TargetTrackingConfiguration": config}
        elif isinstance(step, dict):
            adjustments = [
                {
                    k2: a[k]
                    for k, k2 in (
                        ("metricIntervalLowerBound", "MetricIntervalLowerBound"),
                        ("metricIntervalUpperBound", "MetricIntervalUpperBound"),
                        ("scalingAdjustment", "ScalingAdjustment"),
                    )
                    if a.get(k) is not None
                }
                for a in step.get("stepAdjustments") or []
            ]
            if not adjustments:
                raise InvalidRequestError("step.stepAdjustments: at least one adjustment")
            args |= {
                "PolicyType": "StepScaling",
                "AdjustmentType": spec.get("adjustmentType") or "ChangeInCapacity",
                "StepAdjustments": adjustments,
                "MetricAggregationType": step.get("metricAggregationType") or "Average",
            }
        elif isinstance(spec.get("simple"), dict):
            simple = spec["simple"]
            args |= {
                "PolicyType": "SimpleScaling",
                "AdjustmentType": spec.get("adjustmentType") or "ChangeInCapacity",
                "ScalingAdjustment": int(simple.get("scalingAdjustment") or 0),
                "Cooldown": int(simple.get("cooldown") or 300),
            }
        else:
            raise InvalidRequestError("targetTrackingConfiguration: give it, or step, or simple")
        warmup = spec.get("estimatedInstanceWarmup") or (step or {}).get("estimatedInstanceWarmup")
        if warmup and args["PolicyType"] != "SimpleScaling":
            args["EstimatedInstanceWarmup"] = int(warmup)
        autoscaling = self._client(account, region, "autoscaling")
        with aws_call(f"upserting scaling policy {name} of {group} in {account}/{region}"):
            self._check_group(autoscaling, group, account, region)
            arn = autoscaling.put_scaling_policy(**args).get("PolicyARN")
            if not arn:  # not every AWS-compatible endpoint answers it: read it back
                found = autoscaling.describe_policies(AutoScalingGroupName=group, PolicyNames=[name])["ScalingPolicies"]
                arn = found[0]["PolicyARN"] if found else None
        out: JSON = {"policyName": name, "serverGroupName": group, "policyType": args["PolicyType"], "policyARN": arn}
        alarm = spec.get("alarm")
        if isinstance(alarm, dict) and args["PolicyType"] != "TargetTrackingScaling":
            out["alarmName"] = self._put_alarm(account, region, group, name, arn, alarm)
        return out

    def _put_alarm(self, account: str, region: str, group: str, policy: str, arn: str, alarm: JSON) -> str:
        """The CloudWatch alarm that triggers a step or simple policy (``PutMetricAlarm`` is an upsert by name)."""
        if alarm.get("threshold") is None or not alarm.get("comparisonOperator"):
            raise InvalidRequestError("alarm.threshold: an alarm needs threshold and comparisonOperator")
        name = str(alarm.get("name") or f"{policy}-alarm")
        dimensions = [
            {"Name": str(d.get("name")), "Value": str(d.get("value"))}
            for d in alarm.get("dimensions") or [{"name": "AutoScalingGroupName", "value": group}]
        ]
        cloudwatch = self._client(account, region, "cloudwatch")
        with aws_call(f"upserting alarm {name} in {account}/{region}"):
            cloudwatch.put_metric_alarm(
                AlarmName=name,
                MetricName=str(alarm.get("metricName") or "CPUUtilization"),
                Namespace=str(alarm.get("namespace") or "AWS/EC2"),
                Statistic=str(alarm.get("statistic") or "Average"),
                Dimensions=dimensions,
                Period=int(alarm.get("period") or 60),
                EvaluationPeriods=int(alarm.get("evaluationPeriods") or 1),
                Threshold=float(alarm["threshold"]),
                ComparisonOperator=str(alarm["comparisonOperator"]),
                AlarmActions=[arn],
                ActionsEnabled=bool(alarm.get("actionsEnabled", True)),
            )
        return name

    @staticmethod
    def _check_group(autoscaling: Any, group: str, account: str, region: str) -> None:
        if not autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]:
            raise NotFoundCloudError(f"serverGroupName: {group} not found in {account}/{region}")

    def scaling_policies(self, account: str, region: str, group: str) -> list[JSON]:
        autoscaling = self._client(account, region, "autoscaling")
        with aws_call(f"reading scaling policies of {group} in {account}/{region}"):
            found = autoscaling.describe_policies(AutoScalingGroupName=group)["ScalingPolicies"]
        return found  # type: ignore[no-any-return]

    def delete_scaling_policy(self, account: str, region: str, group: str, name: str) -> None:
        autoscaling = self._client(account, region, "autoscaling")
        with aws_call(f"deleting scaling policy {name} of {group} in {account}/{region}"):
            found = autoscaling.describe_policies(AutoScalingGroupName=group)["ScalingPolicies"]
            policy = next((p for p in found if p["PolicyName"] == name), None)
            if policy is None:
                return
            missing_ok(autoscaling.delete_policy, AutoScalingGroupName=group, PolicyName=name)
            # the alarms that triggered it go with it, as Clouddriver does
            cloudwatch = self._client(account, region, "cloudwatch")
            alarms = [
                a["AlarmName"]
                for page in cloudwatch.get_paginator("describe_alarms").paginate()
                for a in page["MetricAlarms"]
                if policy.get("PolicyARN") in (a.get("AlarmActions") or [])
            ]
            if alarms:
                cloudwatch.delete_alarms(AlarmNames=alarms)

    # ---- scheduled actions -----------------------------------------------------------------------

    def scheduled_actions(self, account: str, region: str, group: str) -> list[JSON]:
        autoscaling = self._client(account, region, "autoscaling")
        with aws_call(f"reading scheduled actions of {group} in {account}/{region}"):
            found = autoscaling.describe_scheduled_actions(AutoScalingGroupName=group)["ScheduledUpdateGroupActions"]
        return found  # type: ignore[no-any-return]

    def upsert_scheduled_actions(self, account: str, region: str, group: str, actions: list[JSON]) -> list[str]:
        """Make the group's scheduled actions exactly ``actions`` (named ``<group>-schedule-<n>`` unless named)."""
        autoscaling = self._client(account, region, "autoscaling")
        wanted: dict[str, JSON] = {}
        for i, action in enumerate(actions):
            if not isinstance(action, dict) or not action.get("recurrence"):
                raise InvalidRequestError(f"scheduledActions[{i}].recurrence: a cron expression")
            name = str(action.get("scheduledActionName") or f"{group}-schedule-{i}")
            args: JSON = {
                "AutoScalingGroupName": group,
                "ScheduledActionName": name,
                "Recurrence": action["recurrence"],
            }
            for key, arg in (("minSize", "MinSize"), ("maxSize", "MaxSize"), ("desiredCapacity", "DesiredCapacity")):
                if action.get(key) is not None:
                    args[arg] = int(action[key])
            wanted[name] = args
        with aws_call(f"upserting scheduled actions of {group} in {account}/{region}"):
            self._check_group(autoscaling, group, account, region)
            have = self.scheduled_actions(account, region, group)
            for old in have:
                if old["ScheduledActionName"] not in wanted:
                    autoscaling.delete_scheduled_action(
                        AutoScalingGroupName=group, ScheduledActionName=old["ScheduledActionName"]
                    )
            for args in wanted.values():
                autoscaling.put_scheduled_update_group_action(**args)
        return sorted(wanted)

    def delete_scheduled_actions(self, account: str, region: str, group: str, names: list[str] | None) -> list[str]:
        autoscaling = self._client(account, region, "autoscaling")
        with aws_call(f"deleting scheduled actions of {group} in {account}/{region}"):
            have = [a["ScheduledActionName"] for a in self.scheduled_actions(account, region, group)]
            gone = [n for n in have if names is None or n in names]
            for name in gone:
                missing_ok(autoscaling.delete_scheduled_action, AutoScalingGroupName=group, ScheduledActionName=name)
        return gone

    # ---- image tags ------------------------------------------------------------------------------

    def upsert_image_tags(self, account: str, region: str, image: str, tags: dict[str, str]) -> str:
        """Tag the image (an ``ami-`` id or a name) in one region; returns its id."""
        ec2 = self._client(account, region, "ec2")
        with aws_call(f"tagging image {image} in {account}/{region}"):
            if image.startswith("ami-"):
                found = ec2.describe_images(ImageIds=[image])["Images"]
            else:
                found = ec2.describe_images(Filters=[{"Name": "name", "Values": [image]}])["Images"]
            if not found:
                raise NotFoundCloudError(f"amiName: no image {image} in {account}/{region}")
            image_id = found[0]["ImageId"]
            ec2.create_tags(Resources=[image_id], Tags=[{"Key": k, "Value": str(v)} for k, v in tags.items()])
        return str(image_id)


def _template_changes(ec2: Any, spec: JSON, vpc_groups: list[JSON]) -> JSON:
    """The launch template data a ``updateLaunchTemplate`` context asks to change (only fields it names)."""
    from .aws_deploy import user_data

    data: JSON = {}
    image = spec.get("imageId") or spec.get("amiName")
    if image:
        if str(image).startswith("ami-"):
            data["ImageId"] = str(image)
        else:
            found = ec2.describe_images(Filters=[{"Name": "name", "Values": [str(image)]}])["Images"]
            if not found:
                raise InvalidRequestError(f"amiName: no image named {image}")
            data["ImageId"] = found[0]["ImageId"]
    if spec.get("instanceType"):
        data["InstanceType"] = str(spec["instanceType"])
    if spec.get("keyPair"):
        data["KeyName"] = str(spec["keyPair"])
    if spec.get("userData"):
        data["UserData"] = user_data(str(spec["userData"]))
    if isinstance(spec.get("securityGroups"), list):
        ids = []
        for name in spec["securityGroups"]:
            match = next((g["GroupId"] for g in vpc_groups if name in (g["GroupId"], g["GroupName"])), None)
            if match is None:
                raise InvalidRequestError(f"securityGroups: no security group '{name}'")
            ids.append(match)
        data["SecurityGroupIds"] = sorted(ids)
    return data


def update_launch_template(writes: AwsInfraWrites, account: str, region: str, group: str, spec: JSON) -> JSON:
    """Clouddriver's ``ModifyServerGroupLaunchTemplateAtomicOperation``: a new version of the group's launch
    template with the fields asked for, made the group's version. A version that already matches is reused,
    so a retry (or a second run) makes no second version."""
    autoscaling = writes._client(account, region, "autoscaling")
    ec2 = writes._client(account, region, "ec2")
    with aws_call(f"updating the launch template of {group} in {account}/{region}"):
        found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        if not found:
            raise NotFoundCloudError(f"serverGroupName: {group} not found in {account}/{region}")
        template = found[0].get("LaunchTemplate") or {}
        if not template.get("LaunchTemplateId"):
            raise InvalidRequestError(f"serverGroupName: {group} has no launch template to update")
        groups = ec2.describe_security_groups()["SecurityGroups"] if spec.get("securityGroups") else []
        changes = _template_changes(ec2, spec, groups)
        if not changes:
            raise InvalidRequestError("imageId: nothing to change (give imageId/amiName, instanceType, ...)")
        latest = ec2.describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Latest"]
        )["LaunchTemplateVersions"][0]
        current = latest["LaunchTemplateData"]
        same = all(
            (sorted(current.get(k) or []) if k == "SecurityGroupIds" else current.get(k)) == v
            for k, v in changes.items()
        )
        version = latest["VersionNumber"]
        if not same:
            made = ec2.create_launch_template_version(
                LaunchTemplateId=template["LaunchTemplateId"],
                SourceVersion=str(version),
                LaunchTemplateData=changes,
                VersionDescription=f"gennaker: {', '.join(sorted(changes))}",
            )
            version = made["LaunchTemplateVersion"]["VersionNumber"]
        autoscaling.update_auto_scaling_group(
            AutoScalingGroupName=group,
            LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": str(version)},
        )
    return {"serverGroupName": group, "region": region, "launchTemplateVersion": version, "changed": sorted(changes)}
