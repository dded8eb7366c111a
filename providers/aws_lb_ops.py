"""AWS load balancers as Clouddriver's ``UpsertAmazonLoadBalancer(V2)AtomicOperation`` and deletes:
classic ELBs (listeners, health check) and ALB/NLBs (target groups, listeners forwarding to them).

Safe to repeat: the balancer and its target groups are found by name before any create; listeners are
converged by port (missing created, changed modified, others deleted); target groups the balancer no
longer names are deleted after the listeners that used them.
"""

from __future__ import annotations

import logging
from typing import Any

from .aws_deploy import subnet_purpose
from .aws_errors import aws_call
from .aws_view import missing_ok
from .base import InvalidRequestError

log = logging.getLogger(__name__)
JSON = dict[str, Any]


def _health(spec: JSON) -> tuple[str, int, str]:
    """``healthCheck: "HTTP:7001/health"`` or ``healthCheckProtocol/Port/Path`` → (protocol, port, path)."""
    text = spec.get("healthCheck")
    if isinstance(text, str) and ":" in text:
        protocol, _, rest = text.partition(":")
        port_text, _, path = rest.partition("/")
        return protocol.upper(), int(port_text), f"/{path}" if path else ""
    protocol = str(spec.get("healthCheckProtocol") or "HTTP").upper()
    port = int(spec.get("healthCheckPort") or 7001)
    path = str(spec.get("healthCheckPath") or "/healthcheck") if protocol in ("HTTP", "HTTPS") else ""
    return protocol, port, path


class AwsLoadBalancerWrites:
    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud

    def _client(self, account: str, region: str, service: str) -> Any:
        return self.cloud._client(account, region, service)  # noqa: SLF001 - the cloud's own client cache

    def _subnets(self, account: str, region: str, spec: JSON) -> list[str]:
        if spec.get("subnets"):
            return [str(s) for s in spec["subnets"]]
        purpose = spec.get("subnetType")
        if not purpose:
            raise InvalidRequestError("subnetType: which subnet purpose (or subnets)")
        zones = (spec.get("availabilityZones") or {}).get(region) or []
        ec2 = self._client(account, region, "ec2")
        with aws_call(f"listing subnets in {account}/{region}"):
            found = ec2.describe_subnets()["Subnets"]
        chosen: dict[str, str] = {}
        for s in sorted(found, key=lambda s: s["SubnetId"]):
            got, target = subnet_purpose(s)
            if got == purpose and target in (None, "elb") and (not zones or s["AvailabilityZone"] in zones):
                chosen.setdefault(s["AvailabilityZone"], s["SubnetId"])  # one per zone, as ELBs want
        if not chosen:
            raise InvalidRequestError(f"subnetType: no subnets of purpose '{purpose}' in {account}/{region}")
        return list(chosen.values())

    def _group_ids(self, account: str, region: str, names: list[str]) -> list[str]:
        if not names:
            return []
        ec2 = self._client(account, region, "ec2")
        ids = [n for n in names if n.startswith("sg-")]
        by_name = [n for n in names if not n.startswith("sg-")]
        if by_name:
            with aws_call(f"looking up security groups in {account}/{region}"):
                found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": by_name}])
            ids += [g["GroupId"] for g in found["SecurityGroups"]]
        return ids

    def upsert(self, account: str, region: str, spec: JSON) -> JSON:
        name = spec.get("name") or spec.get("loadBalancerName")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("name: which load balancer")
        kind = str(spec.get("loadBalancerType") or "classic").lower()
        if kind == "classic":
            return self._upsert_classic(account, region, name, spec)
        if kind not in ("application", "network"):
            raise InvalidRequestError(f"loadBalancerType: '{kind}' is not classic, application or network")
        return self._upsert_v2(account, region, name, kind, spec)

    # ---- classic -----------------------------------------------------------------------------------

    def _upsert_classic(self, account: str, region: str, name: str, spec: JSON) -> JSON:
        elb = self._client(account, region, "elb")
        wanted = {}
        for i, listener in enumerate(spec.get("listeners") or []):
            try:
                port = int(listener["externalPort"])
                wanted[port] = {
                    "Protocol": str(listener.get("externalProtocol") or "HTTP").upper(),
                    "LoadBalancerPort": port,
                    "InstanceProtocol": str(
                        listener.get("internalProtocol") or listener.get("externalProtocol") or "HTTP"
                    ).upper(),
                    "InstancePort": int(listener.get("internalPort") or port),
                }
            except (KeyError, TypeError, ValueError):
                raise InvalidRequestError(f"listeners[{i}].externalPort: an integer port") from None
        if not wanted:
            raise InvalidRequestError("listeners: a classic load balancer needs at least one")
        where = f"{name} in {account}/{region}"
        with aws_call(f"upserting load balancer {where}"):
            found = missing_ok(elb.describe_load_balancers, LoadBalancerNames=[name])
            described = (found or {}).get("LoadBalancerDescriptions") or []
            if not described:
                args: JSON = {"LoadBalancerName": name, "Listeners": list(wanted.values())}
                args["Subnets"] = self._subnets(account, region, spec)
                groups = self._group_ids(account, region, list(spec.get("securityGroups") or []))
                if groups:
                    args["SecurityGroups"] = groups
                if spec.get("isInternal"):
                    args["Scheme"] = "internal"
                elb.create_load_balancer(**args)
                log.info("created classic load balancer %s", where)
            else:
                have = {d["Listener"]["LoadBalancerPort"]: d["Listener"] for d in described[0]["ListenerDescriptions"]}
                stale = [p for p, listener in have.items() if p not in wanted or _differs(listener, wanted[p])]
                if stale:
                    elb.delete_load_balancer_listeners(LoadBalancerName=name, LoadBalancerPorts=stale)
                fresh = [w for p, w in wanted.items() if p not in have or p in stale]
                if fresh:
                    elb.create_load_balancer_listeners(LoadBalancerName=name, Listeners=fresh)
            protocol, port, path = _health(spec)
            elb.configure_health_check(
                LoadBalancerName=name,
                HealthCheck={
                    "Target": f"{protocol}:{port}{path}",
                    "Interval": int(spec.get("healthInterval") or 10),
                    "Timeout": int(spec.get("healthTimeout") or 5),
                    "UnhealthyThreshold": int(spec.get("unhealthyThreshold") or 2),
                    "HealthyThreshold": int(spec.get("healthyThreshold") or 10),
                },
            )
        return {"name": name, "loadBalancerType": "classic", "region": region, "account": account}

    # ---- application / network -------------------------------------------------------------------

    def _balancer(self, elbv2: Any, name: str) -> JSON | None:
        found = missing_ok(elbv2.describe_load_balancers, Names=[name])
        return next(iter((found or {}).get("LoadBalancers") or []), None)

    def _target_group(self, elbv2: Any, name: str) -> JSON | None:
        found = missing_ok(elbv2.describe_target_groups, Names=[name])
        return next(iter((found or {}).get("TargetGroups") or []), None)

    def _upsert_v2(self, account: str, region: str, name: str, kind: str, spec: JSON) -> JSON:
        elbv2 = self._client(account, region, "elbv2")
        where = f"{name} in {account}/{region}"
        with aws_call(f"upserting load balancer {where}"):
            balancer = self._balancer(elbv2, name)
            if balancer is None:
                args: JSON = {"Name": name, "Type": kind, "Subnets": self._subnets(account, region, spec)}
                groups = self._group_ids(account, region, list(spec.get("securityGroups") or []))
                if groups and kind == "application":
                    args["SecurityGroups"] = groups
                args["Scheme"] = "internal" if spec.get("isInternal") else "internet-facing"
                balancer = elbv2.create_load_balancer(**args)["LoadBalancers"][0]
                log.info("created %s load balancer %s", kind, where)
            arn = balancer["LoadBalancerArn"]
            vpc_id = balancer.get("VpcId") or spec.get("vpcId")
            arns = {}
            for i, tg in enumerate(spec.get("targetGroups") or []):
                if not isinstance(tg, dict) or not tg.get("name"):
                    raise InvalidRequestError(f"targetGroups[{i}].name: which target group")
                arns[tg["name"]] = self._upsert_target_group(elbv2, tg, vpc_id)
            have = {
                listener["Port"]: listener for listener in elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
            }
            wanted = {}
            for i, listener in enumerate(spec.get("listeners") or []):
                actions = []
                for action in listener.get("defaultActions") or []:
                    target = action.get("targetGroupName")
                    if target not in arns:
                        raise InvalidRequestError(
                            f"listeners[{i}].defaultActions.targetGroupName: '{target}' is not one of targetGroups"
                        )
                    actions.append({"Type": "forward", "TargetGroupArn": arns[target]})
                if not isinstance(listener.get("port"), int) or not actions:
                    raise InvalidRequestError(f"listeners[{i}]: needs an integer port and a forward defaultAction")
                wanted[listener["port"]] = {
                    "Protocol": str(listener.get("protocol") or "HTTP").upper(),
                    "DefaultActions": actions,
                }
            for port, listener in have.items():
                if port not in wanted:
                    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
                elif _listener_differs(listener, wanted[port]):
                    elbv2.modify_listener(ListenerArn=listener["ListenerArn"], Port=port, **wanted[port])
            for port, listener in wanted.items():
                if port not in have:
                    elbv2.create_listener(LoadBalancerArn=arn, Port=port, **listener)
            for tg in elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"] if have else []:
                if tg["TargetGroupName"] not in arns:  # no longer named: Clouddriver removes it
                    missing_ok(elbv2.delete_target_group, TargetGroupArn=tg["TargetGroupArn"])
        return {
            "name": name,
            "loadBalancerType": kind,
            "region": region,
            "account": account,
            "targetGroups": sorted(arns),
        }

    def _upsert_target_group(self, elbv2: Any, tg: JSON, vpc_id: str | None) -> str:
        health: JSON = tg["healthCheck"] if isinstance(tg.get("healthCheck"), dict) else tg
        settings: JSON = {
            "HealthCheckProtocol": str(health.get("healthCheckProtocol") or tg.get("protocol") or "HTTP").upper(),
            "HealthCheckPort": str(health.get("healthCheckPort") or "traffic-port"),
            "HealthCheckPath": str(health.get("healthCheckPath") or "/healthcheck"),
        }
        found = self._target_group(elbv2, tg["name"])
        if found is None:
            made = elbv2.create_target_group(
                Name=tg["name"],
                Protocol=str(tg.get("protocol") or "HTTP").upper(),
                Port=int(tg.get("port") or 7001),
                VpcId=vpc_id,
                TargetType=str(tg.get("targetType") or "instance"),
                **settings,
            )
            return str(made["TargetGroups"][0]["TargetGroupArn"])
        if any(found.get(k) != v for k, v in settings.items()):
            elbv2.modify_target_group(TargetGroupArn=found["TargetGroupArn"], **settings)
        return str(found["TargetGroupArn"])

    def delete(self, account: str, region: str, name: str, kind: str | None) -> None:
        """Delete the balancer (an ALB/NLB's target groups with it, as Clouddriver does); missing is fine."""
        with aws_call(f"deleting load balancer {name} in {account}/{region}"):
            elbv2 = self._client(account, region, "elbv2")
            balancer = self._balancer(elbv2, name) if kind != "classic" else None
            if balancer is not None:
                arn = balancer["LoadBalancerArn"]
                groups = elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"]
                missing_ok(elbv2.delete_load_balancer, LoadBalancerArn=arn)
                for tg in groups:
                    missing_ok(elbv2.delete_target_group, TargetGroupArn=tg["TargetGroupArn"])
                return
            if kind in (None, "classic"):
                missing_ok(self._client(account, region, "elb").delete_load_balancer, LoadBalancerName=name)


def _differs(have: JSON, want: JSON) -> bool:
    return any(str(have.get(k)).upper() != str(v).upper() for k, v in want.items())


def _listener_differs(have: JSON, want: JSON) -> bool:
    actions = [(a.get("Type"), a.get("TargetGroupArn")) for a in have.get("DefaultActions") or []]
    wanted = [(a["Type"], a["TargetGroupArn"]) for a in want["DefaultActions"]]
    return have.get("Protocol") != want["Protocol"] or actions != wanted
