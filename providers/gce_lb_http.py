"""GCE load balancers beyond target pools, as Clouddriver's google provider makes and shows them:

- HTTP(S) (``UpsertGoogleHttpLoadBalancerAtomicOperation``): global health checks, global backend services
  (the server groups' instance groups as backends), a URL map of the balancer's name with host rules and
  path matchers (``pm-<n>``), a target HTTP proxy ``<name>-target-http-proxy`` (HTTPS:
  ``<name>-target-https-proxy`` with the certificate) and a global forwarding rule of the balancer's name;
- internal (``UpsertGoogleInternalLoadBalancerAtomicOperation``): a regional health check, a regional backend
  service (``loadBalancingScheme: INTERNAL``) and a regional forwarding rule on the network and subnet.

Every write is safe to repeat: each piece is found by name before it is inserted, and updated (PUT) when it
differs from what the description asks for; a forwarding rule (which cannot be changed in place) is deleted
and inserted again. Deletes go in dependency order (rule, proxy, URL map, backend services, health checks),
skip what is already gone, and leave a backend service or health check another balancer still uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.cloud import compute_v1

from .base import CloudError, InvalidRequestError, NotFoundCloudError
from .gce_errors import gce_call
from .gce_ops import resource_path
from .gce_view import (
    GLOBAL_LOAD_BALANCER_NAMES,
    REGION_LABEL,
    REGIONAL_LOAD_BALANCER_NAMES,
    SERVER_GROUP_LABEL,
    epoch_ms,
    local_name,
    metadata_of,
    segment_after,
    split_names,
)
from .naming import Moniker, NameError_

JSON = dict[str, Any]

#: the client kind's (name argument, resource argument) in google-cloud-compute's methods
ARGS: dict[str, tuple[str, str]] = {
    "health_checks": ("health_check", "health_check_resource"),
    "region_health_checks": ("health_check", "health_check_resource"),
    "backend_services": ("backend_service", "backend_service_resource"),
    "region_backend_services": ("backend_service", "backend_service_resource"),
    "url_maps": ("url_map", "url_map_resource"),
    "target_http_proxies": ("target_http_proxy", "target_http_proxy_resource"),
    "target_https_proxies": ("target_https_proxy", "target_https_proxy_resource"),
    "global_forwarding_rules": ("forwarding_rule", "forwarding_rule_resource"),
    "forwarding_rules": ("forwarding_rule", "forwarding_rule_resource"),
}
REGIONAL = {"region_health_checks", "region_backend_services", "forwarding_rules"}
#: Clouddriver's names (``UpsertGoogleHttpLoadBalancerAtomicOperation``)
HTTP_PROXY_SUFFIX, HTTPS_PROXY_SUFFIX, PATH_MATCHER_PREFIX = "target-http-proxy", "target-https-proxy", "pm"
#: Clouddriver's health check defaults (``loadbalancer/Constants.groovy``)
HEALTH_CHECK_DEFAULTS = {
    "port": 80,
    "requestPath": "/",
    "checkIntervalSec": 5,
    "timeoutSec": 5,
    "healthyThreshold": 2,
    "unhealthyThreshold": 2,
}
IN_USE = "resourceInUseByAnotherResource"


def _norm(value: Any) -> Any:
    """A resource as JSON with links compared from ``projects/`` on and empty values left out."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, str) and "projects/" in value:
        return resource_path(value)
    return value


def differs(existing: Any, wanted: Any) -> bool:
    """Whether ``existing`` lacks one of the fields ``wanted`` sets (links compared by path)."""
    have = _norm(type(existing).to_dict(existing))
    want = _norm(type(wanted).to_dict(wanted))
    return any(have.get(k) != v for k, v in want.items())


def health_check_spec(raw: Any, where: str) -> JSON:
    """Clouddriver's ``healthCheck`` description with its defaults: ``name, healthCheckType, port, requestPath,
    checkIntervalSec, timeoutSec, healthyThreshold, unhealthyThreshold``."""
    if not isinstance(raw, dict):
        raise InvalidRequestError(f"{where}: an object with the health check's name, port and requestPath")
    spec = {**HEALTH_CHECK_DEFAULTS, **{k: v for k, v in raw.items() if v not in (None, "")}}
    try:
        for key in ("port", "checkIntervalSec", "timeoutSec", "healthyThreshold", "unhealthyThreshold"):
            spec[key] = int(spec[key])
    except (TypeError, ValueError):
        raise InvalidRequestError(f"{where}.{key}: a whole number") from None
    spec["healthCheckType"] = str(spec.get("healthCheckType") or "HTTP").upper()
    if spec["healthCheckType"] not in ("HTTP", "HTTPS", "TCP", "SSL", "UDP"):
        raise InvalidRequestError(f"{where}.healthCheckType: one of HTTP, HTTPS, TCP, SSL")
    return spec


def health_check_body(name: str, spec: JSON) -> compute_v1.HealthCheck:
    kind = spec["healthCheckType"]
    body = compute_v1.HealthCheck(
        name=name,
        type_=kind,
        check_interval_sec=spec["checkIntervalSec"],
        timeout_sec=spec["timeoutSec"],
        healthy_threshold=spec["healthyThreshold"],
        unhealthy_threshold=spec["unhealthyThreshold"],
    )
    port, path = spec["port"], str(spec["requestPath"])
    if kind == "HTTP":
        body.http_health_check = compute_v1.HTTPHealthCheck(port=port, request_path=path)
    elif kind == "HTTPS":
        body.https_health_check = compute_v1.HTTPSHealthCheck(port=port, request_path=path)
    elif kind == "SSL":
        body.ssl_health_check = compute_v1.SSLHealthCheck(port=port)
    else:
        body.tcp_health_check = compute_v1.TCPHealthCheck(port=port)
    return body


def health_check_json(check: Any, kind: str, region: str | None = None) -> JSON:
    """Clouddriver's ``GoogleHealthCheck`` (``target`` is ``HTTP:80/health``)."""
    kind_name = check.type_ or "HTTP"
    detail = {
        "HTTP": check.http_health_check,
        "HTTPS": check.https_health_check,
        "SSL": check.ssl_health_check,
        "TCP": check.tcp_health_check,
    }.get(kind_name)
    port = int(detail.port) if detail is not None else 0
    path = getattr(detail, "request_path", "") if kind_name in ("HTTP", "HTTPS") else None
    target = f"{kind_name}:{port}{path or '/'}" if path is not None else f"{kind_name}:{port}"
    return {
        "name": check.name,
        "healthCheckType": kind_name,
        "port": port,
        "requestPath": path,
        "checkIntervalSec": int(check.check_interval_sec),
        "timeoutSec": int(check.timeout_sec),
        "healthyThreshold": int(check.healthy_threshold),
        "unhealthyThreshold": int(check.unhealthy_threshold),
        "selfLink": check.self_link or None,
        "kind": kind,
        "region": region,
        "target": target if port else None,
    }


class GceLbPieces:
    """Get, insert, update and delete of the load balancing kinds, each change waited for."""

    def __init__(self, cloud: Any) -> None:
        self.ops = cloud.ops

    def _scope(self, account: str, kind: str, region: str | None) -> JSON:
        if kind in REGIONAL:
            if region is None:
                raise InvalidRequestError("region: which region")
            return {"project": self.ops.project(account, region), "region": region}
        return {"project": self.ops.project(account)}

    def link(self, account: str, kind: str, name: str, region: str | None = None) -> str:
        collection = {
            "health_checks": "healthChecks",
            "region_health_checks": "healthChecks",
            "backend_services": "backendServices",
            "region_backend_services": "backendServices",
            "url_maps": "urlMaps",
            "target_http_proxies": "targetHttpProxies",
            "target_https_proxies": "targetHttpsProxies",
            "global_forwarding_rules": "forwardingRules",
            "forwarding_rules": "forwardingRules",
        }[kind]
        scope = f"regions/{region}" if kind in REGIONAL else "global"
        return f"projects/{self.ops.project(account)}/{scope}/{collection}/{name}"

    def get(self, account: str, kind: str, name: str, region: str | None = None) -> Any:
        where = self._scope(account, kind, region)
        try:
            with gce_call(f"reading {name} in {account}" + (f"/{region}" if region else "")):
                return self.ops.client(account, kind).get(**where, **{ARGS[kind][0]: name}, **self.ops.read)
        except NotFoundCloudError:
            return None

    def list(self, account: str, kind: str, region: str | None = None) -> list[Any]:
        where = self._scope(account, kind, region)
        with gce_call(f"listing {kind.replace('_', ' ')} in {account}" + (f"/{region}" if region else "")):
            return list(self.ops.client(account, kind).list(**where, **self.ops.read))

    def _act(self, account: str, kind: str, region: str | None, action: str, call: Callable[[], Any]) -> None:
        self.ops.act(account, region if kind in REGIONAL else None, action, call)

    def upsert(self, account: str, kind: str, body: Any, region: str | None = None) -> bool:
        """Insert ``body``, or update the resource of its name when it differs; True when something changed."""
        where, client = self._scope(account, kind, region), self.ops.client(account, kind)
        name_arg, body_arg = ARGS[kind]
        existing = self.get(account, kind, body.name, region)
        label = f"{kind.replace('_', ' ')[:-1]} {body.name} in {account}"
        if existing is None:
            self._act(account, kind, region, f"creating {label}", lambda: client.insert(**where, **{body_arg: body}))
            return True
        if not differs(existing, body):
            return False
        if kind in ("global_forwarding_rules", "forwarding_rules", "target_http_proxies", "target_https_proxies"):
            raise InvalidRequestError(f"{label}: cannot be changed in place")  # callers replace these
        if hasattr(body, "fingerprint") and existing.fingerprint:
            body.fingerprint = existing.fingerprint
        self._act(
            account,
            kind,
            region,
            f"updating {label}",
            lambda: client.update(**where, **{name_arg: body.name, body_arg: body}),
        )
        return True

    def delete(self, account: str, kind: str, name: str, region: str | None = None, *, shared: bool = False) -> bool:
        """Delete the named resource if it is there; with ``shared``, one still in use by another balancer is
        left alone (False)."""
        if self.get(account, kind, name, region) is None:
            return False
        where, client = self._scope(account, kind, region), self.ops.client(account, kind)
        try:
            self._act(
                account,
                kind,
                region,
                f"deleting {kind.replace('_', ' ')[:-1]} {name} in {account}",
                lambda: client.delete(**where, **{ARGS[kind][0]: name}),
            )
        except NotFoundCloudError:
            return False
        except CloudError as err:
            if shared and IN_USE in err.reasons:
                return False
            raise
        return True


def _backends(
    pieces: GceLbPieces, account: str, raw: Any, where: str, mode: str, default_region: str | None
) -> list[compute_v1.Backend]:
    """``backends``: server groups (``{serverGroupName, region}``, a name in ``default_region``, or Clouddriver's
    ``{serverGroupUrl}``) as their instance groups."""
    out = []
    for i, item in enumerate(raw or []):
        entry = {("serverGroupUrl" if "/" in item else "serverGroupName"): item} if isinstance(item, str) else item
        if not isinstance(entry, dict):
            raise InvalidRequestError(f"{where}.backends[{i}]: a server group name or {{serverGroupName, region}}")
        url = str(entry.get("serverGroupUrl") or "")
        group = str(entry.get("serverGroupName") or entry.get("name") or local_name(url) or "")
        region = str(entry.get("region") or segment_after(url, "regions") or default_region or "")
        if not group or not region:
            raise InvalidRequestError(f"{where}.backends[{i}].region: which server group, in which region")
        if pieces.ops.mig(account, region, group) is None:
            raise NotFoundCloudError(f"{where}.backends[{i}]: server group {group} not found in {account}/{region}")
        raw_policy = entry.get("policy")
        policy: JSON = raw_policy if isinstance(raw_policy, dict) else {}
        backend = compute_v1.Backend(
            group=f"projects/{pieces.ops.project(account)}/regions/{region}/instanceGroups/{group}",
            balancing_mode=str(policy.get("balancingMode") or entry.get("balancingMode") or mode),
        )
        if mode != "CONNECTION":
            backend.max_utilization = float(policy.get("maxUtilization") or 0.8)
            backend.capacity_scaler = float(policy.get("capacityScaler") or 1.0)
        out.append(backend)
    return out


def _service_spec(raw: Any, where: str) -> JSON:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise InvalidRequestError(f"{where}.name: which backend service")
    return {**raw, "healthCheck": health_check_spec(raw.get("healthCheck"), f"{where}.healthCheck")}


def _check_name(service: JSON) -> str:
    return str(service["healthCheck"].get("name") or f"{service['name']}-hc")


class GceHttpLoadBalancers:
    """HTTP(S) and internal load balancers of one GCE cloud (``providers/gce.py``)."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self.ops = cloud.ops
        self.pieces = GceLbPieces(cloud)

    # ---- HTTP(S) ----------------------------------------------------------------------------------

    def upsert_http(self, account: str, spec: JSON) -> JSON:
        name = spec.get("loadBalancerName") or spec.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("loadBalancerName: which load balancer")
        pieces, project = self.pieces, self.ops.project(account)
        default = _service_spec(spec.get("defaultService"), "defaultService")
        services: dict[str, JSON] = {default["name"]: default}
        host_rules = spec.get("hostRules") or []
        if not isinstance(host_rules, list):
            raise InvalidRequestError("hostRules: a list of {hostPatterns, pathMatcher}")
        for i, rule in enumerate(host_rules):
            matcher = rule.get("pathMatcher") if isinstance(rule, dict) else None
            if not isinstance(matcher, dict) or not rule.get("hostPatterns"):
                raise InvalidRequestError(f"hostRules[{i}].pathMatcher: hostPatterns and a pathMatcher")
            found = _service_spec(matcher.get("defaultService"), f"hostRules[{i}].pathMatcher.defaultService")
            services.setdefault(found["name"], found)
            for j, path_rule in enumerate(matcher.get("pathRules") or []):
                where = f"hostRules[{i}].pathMatcher.pathRules[{j}]"
                if not isinstance(path_rule, dict) or not path_rule.get("paths"):
                    raise InvalidRequestError(f"{where}.paths: which paths")
                found = _service_spec(path_rule.get("backendService"), f"{where}.backendService")
                services.setdefault(found["name"], found)
        certificate = str(spec.get("certificate") or "")
        region = spec.get("region") if isinstance(spec.get("region"), str) else None

        for service in services.values():
            check = _check_name(service)
            pieces.upsert(account, "health_checks", health_check_body(check, service["healthCheck"]))
            body = compute_v1.BackendService(
                name=service["name"],
                protocol="HTTPS" if str(service.get("protocol") or "").upper() == "HTTPS" else "HTTP",
                port_name=str(service.get("portName") or "http"),
                health_checks=[pieces.link(account, "health_checks", check)],
                session_affinity=str(service.get("sessionAffinity") or "NONE"),
                affinity_cookie_ttl_sec=int(service.get("affinityCookieTtlSec") or 0),
                enable_c_d_n=bool(service.get("enableCDN")),
                load_balancing_scheme="EXTERNAL",
                connection_draining=compute_v1.ConnectionDraining(
                    draining_timeout_sec=int(service.get("connectionDrainingTimeoutSec") or 0)
                ),
            )
            backends = _backends(pieces, account, service.get("backends"), service["name"], "UTILIZATION", region)
            if backends:  # none asked for: the service keeps the groups it has (Clouddriver's way)
                body.backends = backends
            pieces.upsert(account, "backend_services", body)

        map_name = str(spec.get("urlMapName") or name)
        url_map = compute_v1.UrlMap(
            name=map_name, default_service=pieces.link(account, "backend_services", default["name"])
        )
        for i, rule in enumerate(host_rules):
            matcher = rule["pathMatcher"]
            url_map.host_rules.append(
                compute_v1.HostRule(
                    hosts=[str(h) for h in rule["hostPatterns"]], path_matcher=f"{PATH_MATCHER_PREFIX}-{i}"
                )
            )
            url_map.path_matchers.append(
                compute_v1.PathMatcher(
                    name=f"{PATH_MATCHER_PREFIX}-{i}",
                    default_service=pieces.link(account, "backend_services", matcher["defaultService"]["name"]),
                    path_rules=[
                        compute_v1.PathRule(
                            paths=[str(p) for p in r["paths"]],
                            service=pieces.link(account, "backend_services", r["backendService"]["name"]),
                        )
                        for r in matcher.get("pathRules") or []
                    ],
                )
            )
        existing_map = pieces.get(account, "url_maps", map_name)
        if existing_map is not None and (
            differs(existing_map, url_map) or len(existing_map.host_rules) != len(url_map.host_rules)
        ):
            url_map.fingerprint = existing_map.fingerprint
            pieces.ops.act(
                account,
                None,
                f"updating URL map {map_name} in {account}",
                lambda: pieces.ops.client(account, "url_maps").update(
                    project=project, url_map=map_name, url_map_resource=url_map
                ),
            )
        elif existing_map is None:
            pieces.upsert(account, "url_maps", url_map)

        kind = "target_https_proxies" if certificate else "target_http_proxies"
        other = "target_http_proxies" if certificate else "target_https_proxies"
        proxy_name = f"{name}-{HTTPS_PROXY_SUFFIX if certificate else HTTP_PROXY_SUFFIX}"
        map_link = pieces.link(account, "url_maps", map_name)
        proxy: Any
        if certificate:
            cert = certificate if "/" in certificate else f"projects/{project}/global/sslCertificates/{certificate}"
            proxy = compute_v1.TargetHttpsProxy(name=proxy_name, url_map=map_link, ssl_certificates=[cert])
        else:
            proxy = compute_v1.TargetHttpProxy(name=proxy_name, url_map=map_link)
        rule_body = compute_v1.ForwardingRule(
            name=name,
            target=pieces.link(account, kind, proxy_name),
            port_range=str(spec.get("portRange") or ("443" if certificate else "80")),
            I_p_protocol="TCP",
            load_balancing_scheme="EXTERNAL",
        )
        if spec.get("ipAddress"):
            rule_body.I_p_address = str(spec["ipAddress"])
        existing_proxy = pieces.get(account, kind, proxy_name)
        stale_proxy = existing_proxy is not None and differs(existing_proxy, proxy)
        rule = pieces.get(account, "global_forwarding_rules", name)
        if rule is not None and (stale_proxy or differs(rule, rule_body)):
            pieces.delete(account, "global_forwarding_rules", name)  # a rule cannot change: it is made again
            rule = None
        if stale_proxy:
            pieces.delete(account, kind, proxy_name)
        pieces.upsert(account, kind, proxy)
        if rule is None:
            pieces.upsert(account, "global_forwarding_rules", rule_body)
        pieces.delete(account, other, f"{name}-{HTTP_PROXY_SUFFIX if certificate else HTTPS_PROXY_SUFFIX}")
        return {
            "name": name,
            "region": "global",
            "account": account,
            "loadBalancerType": "HTTP",
            "urlMapName": map_name,
            "targetProxy": proxy_name,
            "backendServices": list(services),
        }

    def delete_http(self, account: str, name: str) -> None:
        """Clouddriver's ``DeleteGoogleHttpLoadBalancerAtomicOperation``: the rule, the proxy, the URL map, then
        the backend services and health checks no other balancer uses."""
        pieces = self.pieces
        rule = pieces.get(account, "global_forwarding_rules", name)
        proxies = [
            (k, f"{name}-{s}")
            for k, s in (("target_http_proxies", HTTP_PROXY_SUFFIX), ("target_https_proxies", HTTPS_PROXY_SUFFIX))
        ]
        if rule is not None and "/targetHttpsProxies/" in rule.target:
            proxies.insert(0, ("target_https_proxies", local_name(rule.target)))
        elif rule is not None and "/targetHttpProxies/" in rule.target:
            proxies.insert(0, ("target_http_proxies", local_name(rule.target)))
        pieces.delete(account, "global_forwarding_rules", name)
        maps = [name]
        for kind, proxy_name in dict.fromkeys(proxies):
            proxy = pieces.get(account, kind, proxy_name)
            if proxy is not None:
                maps.insert(0, local_name(proxy.url_map))
                pieces.delete(account, kind, proxy_name)
        services: list[str] = []
        for map_name in dict.fromkeys(maps):
            url_map = pieces.get(account, "url_maps", map_name)
            if url_map is None:
                continue
            links = [url_map.default_service]
            for matcher in url_map.path_matchers:
                links.append(matcher.default_service)
                links += [r.service for r in matcher.path_rules]
            services += [local_name(s) for s in links if s]
            pieces.delete(account, "url_maps", map_name)
        for service_name in dict.fromkeys(services):
            service = pieces.get(account, "backend_services", service_name)
            if service is None or not pieces.delete(account, "backend_services", service_name, shared=True):
                continue
            for check in service.health_checks:
                pieces.delete(account, "health_checks", local_name(check), shared=True)

    # ---- internal ---------------------------------------------------------------------------------

    def upsert_internal(self, account: str, region: str, spec: JSON) -> JSON:
        name = spec.get("loadBalancerName") or spec.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("loadBalancerName: which load balancer")
        ports = spec.get("ports")
        if not isinstance(ports, list) or not ports:
            raise InvalidRequestError('ports: the ports the load balancer forwards (like ["80", "8080"])')
        subnet = spec.get("subnet")
        if not isinstance(subnet, str) or not subnet:
            raise InvalidRequestError("subnet: which subnetwork of the network")
        pieces, project = self.pieces, self.ops.project(account, region)
        protocol = str(spec.get("ipProtocol") or "TCP").upper()
        raw_service = spec.get("backendService") or {"name": f"{name}-bs", "healthCheck": spec.get("healthCheck")}
        service = _service_spec(raw_service, "backendService")
        check = _check_name(service)
        pieces.upsert(account, "region_health_checks", health_check_body(check, service["healthCheck"]), region)
        body = compute_v1.BackendService(
            name=service["name"],
            protocol=protocol,
            load_balancing_scheme="INTERNAL",
            health_checks=[pieces.link(account, "region_health_checks", check, region)],
            session_affinity=str(service.get("sessionAffinity") or "NONE"),
        )
        backends = _backends(pieces, account, service.get("backends"), "backendService", "CONNECTION", region)
        if backends:
            body.backends = backends
        pieces.upsert(account, "region_backend_services", body, region)
        network = str(spec.get("network") or "default")
        rule_body = compute_v1.ForwardingRule(
            name=name,
            load_balancing_scheme="INTERNAL",
            backend_service=pieces.link(account, "region_backend_services", service["name"], region),
            I_p_protocol=protocol,
            ports=[str(p) for p in ports],
            network=network if "/" in network else f"projects/{project}/global/networks/{network}",
            subnetwork=subnet if "/" in subnet else f"projects/{project}/regions/{region}/subnetworks/{subnet}",
        )
        if spec.get("ipAddress"):
            rule_body.I_p_address = str(spec["ipAddress"])
        rule = pieces.get(account, "forwarding_rules", name, region)
        if rule is not None and (differs(rule, rule_body) or sorted(rule.ports) != sorted(rule_body.ports)):
            pieces.delete(account, "forwarding_rules", name, region)
            rule = None
        if rule is None:
            pieces.upsert(account, "forwarding_rules", rule_body, region)
        return {
            "name": name,
            "region": region,
            "account": account,
            "loadBalancerType": "INTERNAL",
            "backendService": service["name"],
        }

    def delete_internal(self, account: str, region: str, name: str) -> None:
        pieces = self.pieces
        rule = pieces.get(account, "forwarding_rules", name, region)
        service_name = local_name(rule.backend_service) if rule is not None and rule.backend_service else f"{name}-bs"
        pieces.delete(account, "forwarding_rules", name, region)
        service = pieces.get(account, "region_backend_services", service_name, region)
        if service is None or not pieces.delete(account, "region_backend_services", service_name, region, shared=True):
            return
        for check in service.health_checks:
            pieces.delete(account, "region_health_checks", local_name(check), region, shared=True)


# ---- reads (Clouddriver's views) ---------------------------------------------------------------------


def _service_json(service: Any, checks: dict[str, JSON], scheme_kind: str, region: str | None) -> JSON:
    links = list(service.health_checks)
    return {
        "name": service.name,
        "region": region or "global",
        "kind": scheme_kind,
        "healthCheckLink": links[0] if links else None,
        "healthCheck": checks.get(resource_path(links[0])) if links else None,
        "backends": [
            {
                "serverGroupUrl": b.group,
                "policy": {
                    "balancingMode": b.balancing_mode or None,
                    "maxUtilization": b.max_utilization or None,
                    "capacityScaler": b.capacity_scaler or None,
                },
            }
            for b in service.backends
        ],
        "sessionAffinity": service.session_affinity or "NONE",
        "affinityCookieTtlSec": int(service.affinity_cookie_ttl_sec) or None,
        "loadBalancingScheme": service.load_balancing_scheme or None,
        "portName": service.port_name or None,
        "enableCDN": bool(service.enable_c_d_n),
        "connectionDrainingTimeoutSec": int(service.connection_draining.draining_timeout_sec) or None,
    }


#: Clouddriver's ``LBHealthSummary.getDescription`` for an instance a backend service's check finds unhealthy
UNHEALTHY_DESCRIPTION = "Instance has failed at least the Unhealthy Threshold number of health checks consecutively."


class _GroupIndex:
    """What one read of the balancers needs to know about server groups, each asked of Compute once: which groups'
    templates name a balancer, and the health of a backend group's instances (``backendServices.getHealth``)."""

    def __init__(self, cloud: Any, account: str) -> None:
        self.ops, self.account = cloud.ops, account
        self._naming: dict[str, dict[str, list[tuple[str, str]]]] = {}
        self._templates: list[Any] | None = None
        self._migs: dict[str, dict[str, str]] = {}
        self._health: dict[tuple[str, str | None, str], list[JSON]] = {}

    def naming(self, key: str, balancer: str) -> list[tuple[str, str]]:
        """(region, group) of the account's groups whose current template names ``balancer`` in metadata ``key``."""
        if key not in self._naming:
            if self._templates is None:
                with gce_call(f"listing instance templates in {self.account}"):
                    self._templates = list(
                        self.ops.client(self.account, "templates").list(
                            project=self.ops.project(self.account), **self.ops.read
                        )
                    )
            found: dict[str, list[tuple[str, str]]] = {}
            for template in self._templates:
                labels = template.properties.labels
                group, region = labels.get(SERVER_GROUP_LABEL), labels.get(REGION_LABEL)
                names = split_names(metadata_of(template).get(key))
                if not group or not region or not names or self._template_of(region, group) != template.name:
                    continue
                for name in names:
                    found.setdefault(name, []).append((region, group))
            self._naming[key] = found
        return self._naming[key].get(balancer, [])

    def _template_of(self, region: str, group: str) -> str | None:
        if region not in self._migs:
            try:
                project = self.ops.project(self.account, region)
            except CloudError:  # a region the account no longer covers
                self._migs[region] = {}
                return None
            with gce_call(f"listing server groups in {self.account}/{region}"):
                migs = self.ops.client(self.account, "migs").list(project=project, region=region, **self.ops.read)
                self._migs[region] = {m.name: local_name(m.instance_template) for m in migs}
        return self._migs[region].get(group)

    def health(self, service: str, region: str | None, group_url: str) -> list[JSON]:
        """Clouddriver's ``LoadBalancerInstance`` entries for a backend group, from its service's ``getHealth``; a
        failing call gives none (Clouddriver tolerates it too)."""
        key = (service, region, resource_path(group_url))
        if key not in self._health:
            kind = "region_backend_services" if region else "backend_services"
            where = {"project": self.ops.project(self.account)} | ({"region": region} if region else {})
            try:
                with gce_call(f"reading the health of {local_name(group_url)} in backend service {service}"):
                    answer = self.ops.client(self.account, kind).get_health(
                        **where,
                        backend_service=service,
                        resource_group_reference_resource={"group": group_url},
                        **self.ops.read,
                    )
                statuses = list(answer.health_status)
            except CloudError:
                statuses = []
            self._health[key] = [
                {
                    "id": local_name(s.instance),
                    "zone": segment_after(s.instance, "zones"),
                    "health": {
                        "state": "InService" if s.health_state == "HEALTHY" else "OutOfService",
                        "description": "Healthy" if s.health_state == "HEALTHY" else UNHEALTHY_DESCRIPTION,
                    },
                }
                for s in statuses
            ]
        return self._health[key]


def _server_groups(
    index: _GroupIndex, account: str, balancer: str, services: list[JSON], key: str, region: str | None = None
) -> list[JSON]:
    """Clouddriver's ``LoadBalancerServerGroup`` entries of one balancer: the groups in its services' backends
    (serving: ``isDisabled: false``, with their instances' health from the services' checks) and the groups whose
    template names the balancer (metadata ``key``) but which are in none of its backends (``isDisabled: true``:
    what a disable leaves; ``Utils.determineHttpLoadBalancerDisabledState``)."""
    seen: dict[tuple[str, str], JSON] = {}

    def entry(region: str, name: str, disabled: bool) -> JSON:
        return seen.setdefault(
            (region, name),
            {
                "name": name,
                "region": region,
                "account": account,
                "cloudProvider": "gce",
                "isDisabled": disabled,
                "instances": [],
                "detachedInstances": [],
            },
        )

    for service in services:
        service_region = None if service.get("region") in (None, "global") else str(service["region"])
        for backend in service["backends"]:
            url = backend["serverGroupUrl"]
            found = entry(segment_after(url, "regions") or "", local_name(url), False)
            known = {i["id"] for i in found["instances"]}
            found["instances"] += [
                i for i in index.health(service["name"], service_region, url) if i["id"] not in known
            ]
    for group_region, name in index.naming(key, balancer):
        if region is None or group_region == region:  # a regional balancer serves groups of its region
            entry(group_region, name, True)
    return list(seen.values())


def _app(name: str) -> str | None:
    try:
        return Moniker.parse(name).app or None
    except (NameError_, ValueError):
        return None


def http_load_balancers(cloud: Any, account: str) -> list[JSON]:
    """Clouddriver's ``GoogleHttpLoadBalancer`` views, one per global forwarding rule to a target HTTP(S) proxy."""
    pieces = GceLbPieces(cloud)
    index = _GroupIndex(cloud, account)
    rules = pieces.list(account, "global_forwarding_rules")
    rules = [r for r in rules if "/targetHttpProxies/" in r.target or "/targetHttpsProxies/" in r.target]
    if not rules:
        return []
    proxies = {
        resource_path(p.self_link): p
        for kind in ("target_http_proxies", "target_https_proxies")
        for p in pieces.list(account, kind)
    }
    maps = {resource_path(m.self_link): m for m in pieces.list(account, "url_maps")}
    checks = {
        resource_path(c.self_link): health_check_json(c, "healthCheck") for c in pieces.list(account, "health_checks")
    }
    services = {
        resource_path(s.self_link): _service_json(s, checks, "globalBackendService", None)
        for s in pieces.list(account, "backend_services")
    }
    out = []
    for rule in rules:
        proxy = proxies.get(resource_path(rule.target))
        url_map = maps.get(resource_path(proxy.url_map)) if proxy is not None else None
        if url_map is None:
            continue

        def service(link: str) -> JSON:
            return services.get(resource_path(link)) or {"name": local_name(link), "backends": []}

        matchers = {m.name: m for m in url_map.path_matchers}
        host_rules: list[JSON] = []
        for host_rule in url_map.host_rules:
            matcher = matchers.get(host_rule.path_matcher)
            if matcher is None:
                continue
            host_rules.append(
                {
                    "hostPatterns": list(host_rule.hosts),
                    "pathMatcher": {
                        "name": matcher.name,
                        "defaultService": service(matcher.default_service),
                        "pathRules": [
                            {"paths": list(r.paths), "backendService": service(r.service)} for r in matcher.path_rules
                        ],
                    },
                }
            )
        default = service(url_map.default_service)
        used = [default] + [
            s
            for h in host_rules
            for s in [h["pathMatcher"]["defaultService"], *(r["backendService"] for r in h["pathMatcher"]["pathRules"])]
        ]
        names = list(dict.fromkeys(s["name"] for s in used))
        certificates = list(getattr(proxy, "ssl_certificates", []) or [])
        app = _app(rule.name)
        out.append(
            {
                "name": rule.name,
                "account": account,
                "region": "global",
                "type": "gce",
                "cloudProvider": "gce",
                "loadBalancerType": "HTTP",
                "loadBalancingScheme": rule.load_balancing_scheme or "EXTERNAL",
                "createdTime": epoch_ms(rule.creation_timestamp),
                "ipAddress": rule.I_p_address or None,
                "ipProtocol": rule.I_p_protocol or "TCP",
                "portRange": rule.port_range or None,
                "defaultService": default,
                "hostRules": host_rules,
                "certificate": local_name(certificates[0]) if certificates else None,
                "urlMapName": url_map.name,
                "targetProxy": local_name(rule.target),
                "backendServices": names,
                "moniker": {"app": app} if app else {},
                "listeners": [{"protocol": "HTTPS" if certificates else "HTTP", "portRange": rule.port_range or None}],
                "serverGroups": _server_groups(
                    index, account, rule.name, list({s["name"]: s for s in used}.values()), GLOBAL_LOAD_BALANCER_NAMES
                ),
            }
        )
    return out


def internal_load_balancers(cloud: Any, account: str, region: str, rules: list[Any]) -> list[JSON]:
    """Clouddriver's ``GoogleInternalLoadBalancer`` views for the region's INTERNAL forwarding rules."""
    rules = [r for r in rules if r.load_balancing_scheme == "INTERNAL" and r.backend_service]
    if not rules:
        return []
    pieces = GceLbPieces(cloud)
    index = _GroupIndex(cloud, account)
    checks = {
        resource_path(c.self_link): health_check_json(c, "healthCheck", region)
        for c in pieces.list(account, "region_health_checks", region)
    }
    services = {
        resource_path(s.self_link): _service_json(s, checks, "regionBackendService", region)
        for s in pieces.list(account, "region_backend_services", region)
    }
    out = []
    for rule in rules:
        service = services.get(resource_path(rule.backend_service)) or {
            "name": local_name(rule.backend_service),
            "backends": [],
        }
        app = _app(rule.name)
        out.append(
            {
                "name": rule.name,
                "account": account,
                "region": region,
                "type": "gce",
                "cloudProvider": "gce",
                "loadBalancerType": "INTERNAL",
                "loadBalancingScheme": "INTERNAL",
                "createdTime": epoch_ms(rule.creation_timestamp),
                "ipAddress": rule.I_p_address or None,
                "ipProtocol": rule.I_p_protocol or None,
                "portRange": rule.port_range or None,
                "ports": list(rule.ports),
                "network": local_name(rule.network) or None,
                "subnet": local_name(rule.subnetwork) or None,
                "backendService": service,
                "backendServices": [service["name"]],
                "healthCheck": service.get("healthCheck"),
                "moniker": {"app": app} if app else {},
                "listeners": [{"protocol": rule.I_p_protocol or None, "ports": list(rule.ports)}],
                "serverGroups": _server_groups(
                    index, account, rule.name, [service], REGIONAL_LOAD_BALANCER_NAMES, region
                ),
            }
        )
    return out
