"""A stand-in for Compute Engine's REST API v1, for tests (no real GCE server can run here).

It speaks the wire protocol google-cloud-compute's REST transport speaks (the paths, query parameters
and JSON bodies of ``compute_v1/services/*/transports/rest_base.py``) and keeps its state in memory:

- ``projects/{p}/global/instanceTemplates`` and ``.../global/images``: insert, get, list, delete;
- ``projects/{p}/regions/{r}/instanceGroupManagers``: insert, get, list, delete, ``resize``,
  ``listManagedInstances``, ``setTargetPools`` (fingerprint checked); a group makes ``targetSize``
  instances, spread over its distribution zones, CREATING until they have been listed once, then
  RUNNING (HEALTHY too when the group has an autohealing policy); target pools follow the group;
- ``projects/{p}/regions/{r}/targetPools`` (insert, get, list, delete, ``addInstance``,
  ``removeInstance``) and ``.../forwardingRules`` (insert, get, list, delete);
- ``projects/{p}/global/firewalls`` and ``.../global/networks``, ``.../regions/{r}/subnetworks``: insert, get,
  list, delete, and (firewalls) ``update`` (PUT) / ``patch`` (PATCH); ``.../regions/{r}/autoscalers`` the same,
  ``update``/``patch`` naming the autoscaler in the ``autoscaler`` query parameter;
- load balancing: ``.../global/{healthChecks,httpHealthChecks,backendServices,urlMaps,targetHttpProxies,
  targetHttpsProxies,forwardingRules}`` and ``.../regions/{r}/{healthChecks,backendServices}``: insert, get, list,
  delete, update/patch; a link to a missing resource (a backend's instance group is its group manager's) is a 400,
  and deleting one that another resource still names is a 400 resourceInUseByAnotherResource (a group manager whose
  instance group is a backend too); backend services' ``getHealth`` (global and regional: each instance of the
  group HEALTHY once listed, UNHEALTHY before or when :meth:`ComputeStandIn.set_unhealthy` says so; a 400 for a
  group that is not one of the service's backends); target pools
  ``addHealthCheck``/``removeHealthCheck`` (legacy HTTP health checks only, as Compute allows);
- ``.../global/images/{image}/setLabels`` (the ``labelFingerprint`` checked, 412 when stale) and
  ``projects/{p}/zones/{z}/machineTypes`` (list, get: the same catalogue, :data:`MACHINE_TYPES`, in every zone),
  ``projects/{p}/regions/{r}`` (get: zones ``{r}-a``, ``-b``, ``-c``);
- ``projects/{p}/global/operations/{op}`` and ``.../regions/{r}/operations/{op}``: ``get`` and
  ``wait``. A change is applied when it is asked for and answered with a RUNNING operation, which
  ``get``/``wait`` report DONE;
- lists take ``maxResults``/``pageToken`` and the regular-expression filter (``name eq "re"``,
  ``name ne re``); other filters are refused with a 400, so a client sending one is noticed;
- errors in Google's JSON shape (``{"error": {"code", "message", "errors": [...], "status"}}``):
  404 notFound, 409 alreadyExists, 400 invalid/resourceInUseByAnotherResource, 412 conditionNotMet.

Switches for tests: :meth:`ComputeStandIn.fail_next` answers the next matching requests with an
error status (429, 503...), :meth:`ComputeStandIn.fail_next_operation` makes the next matching change
end as a DONE operation carrying an error. :attr:`ComputeStandIn.requests` records what was asked.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import re
import string
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSON = dict[str, Any]
#: the prefix of every self link, as Compute writes them
LINK = "https://www.googleapis.com/compute/v1/"
_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_REASON = {
    400: "invalid",
    403: "forbidden",
    404: "notFound",
    409: "alreadyExists",
    412: "conditionNotMet",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}
_KINDS = {
    "instanceTemplates": "compute#instanceTemplate",
    "images": "compute#image",
    "instanceGroupManagers": "compute#instanceGroupManager",
    "targetPools": "compute#targetPool",
    "forwardingRules": "compute#forwardingRule",
    "firewalls": "compute#firewall",
    "networks": "compute#network",
    "subnetworks": "compute#subnetwork",
    "autoscalers": "compute#autoscaler",
    # load balancing beyond target pools (HTTP(S) and internal load balancers, legacy HTTP health checks)
    "healthChecks": "compute#healthCheck",
    "httpHealthChecks": "compute#httpHealthCheck",
    "backendServices": "compute#backendService",
    "urlMaps": "compute#urlMap",
    "targetHttpProxies": "compute#targetHttpProxy",
    "targetHttpsProxies": "compute#targetHttpsProxy",
    "machineTypes": "compute#machineType",
}
GLOBAL_KINDS = ("instanceTemplates", "images", "firewalls", "networks")
REGIONAL_KINDS = ("instanceGroupManagers", "targetPools", "forwardingRules", "subnetworks", "autoscalers")
#: the load balancing kinds: what they reference must exist, and they cannot be deleted while referenced
GLOBAL_LB_KINDS = (
    "healthChecks",
    "httpHealthChecks",
    "backendServices",
    "urlMaps",
    "targetHttpProxies",
    "targetHttpsProxies",
    "forwardingRules",
)
REGIONAL_LB_KINDS = ("healthChecks", "backendServices")
GLOBAL_KINDS += GLOBAL_LB_KINDS
REGIONAL_KINDS += REGIONAL_LB_KINDS
#: every zone's machine types (``projects/{p}/zones/{z}/machineTypes``): name, vCPUs, memory in MB
MACHINE_TYPES = (("e2-small", 2, 2048), ("e2-medium", 2, 4096), ("n1-standard-1", 1, 3840), ("n2-standard-4", 4, 16384))
_TZ = timezone(timedelta(hours=-7))  # Compute answers in Pacific time, as the real one does


class ApiError(Exception):
    def __init__(self, code: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason or _REASON.get(code, "invalid")

    def body(self) -> JSON:
        errors = [{"message": self.message, "domain": "global", "reason": self.reason}]
        return {
            "error": {"code": self.code, "message": self.message, "errors": errors, "status": _STATUS.get(self.code)}
        }


@dataclass
class _Fault:
    status: int
    method: str | None
    path: re.Pattern[str]
    times: int
    reason: str | None


@dataclass
class _OperationFault:
    code: str
    message: str
    http_status: int
    path: re.Pattern[str]


@dataclass
class _Instance:
    name: str
    zone: str
    id: str
    listed: int = 0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: JSON | None = field(default=None)


def local_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class ComputeStandIn:
    """The state, the switches, and the HTTP server (127.0.0.1, a free port, a thread)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(4_000_000_000_000_000_000)
        self.reset()

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> ComputeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _serve(self) -> None:
                standin._handle(self)

            do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _serve  # noqa: N815 - http.server's names

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="gce-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        """Forget every resource, operation, switch and recorded request."""
        with self._lock:
            self.resources: dict[tuple[str, str | None, str], dict[str, JSON]] = {}
            self.instances: dict[tuple[str, str, str], list[_Instance]] = {}
            self.operations: dict[tuple[str, str | None], dict[str, JSON]] = {}
            self.requests: list[Request] = []
            self._faults: list[_Fault] = []
            self._operation_faults: list[_OperationFault] = []
            self._unhealthy: set[str] = set()
            self._last_time = datetime.now(UTC)

    # ---- switches and looks ------------------------------------------------------------------------

    def fail_next(
        self, status: int, *, path: str = ".*", method: str | None = None, times: int = 1, reason: str | None = None
    ) -> None:
        """Answer the next ``times`` requests whose path matches ``path`` (a regular expression searched
        in ``/compute/v1/...``) and method is ``method`` with ``status`` in Google's error shape."""
        with self._lock:
            self._faults.append(_Fault(status, method and method.upper(), re.compile(path), times, reason))

    def fail_next_operation(self, code: str, message: str, *, path: str = ".*", http_status: int = 400) -> None:
        """Let the next change whose path matches ``path`` do nothing and end as a DONE operation with
        ``error.errors[0].code == code`` (Compute's way of failing after accepting a request)."""
        with self._lock:
            self._operation_faults.append(_OperationFault(code, message, http_status, re.compile(path)))

    def set_unhealthy(self, *instances: str) -> None:
        """``getHealth`` reports these instances (by name) UNHEALTHY; the others HEALTHY once listed."""
        with self._lock:
            self._unhealthy = set(instances)

    def names(self, project: str, kind: str, region: str | None = None) -> list[str]:
        with self._lock:
            return sorted(self.resources.get((project, region, kind), {}))

    def resource(self, project: str, kind: str, name: str, region: str | None = None) -> JSON | None:
        with self._lock:
            found = self.resources.get((project, region, kind), {}).get(name)
            return copy.deepcopy(found)

    def pool_members(self, project: str, region: str, pool: str) -> list[str]:
        found = self.resource(project, "targetPools", pool, region) or {}
        return sorted(local_name(i) for i in found.get("instances", []))

    # ---- HTTP --------------------------------------------------------------------------------------

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        split = urlsplit(http.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
            with self._lock:
                self.requests.append(Request(http.command, split.path, query, body))
                self._inject(http.command, split.path)
                status, data = 200, json.dumps(self._route(http.command, split.path, query, body or {})).encode()
        except ApiError as err:
            status, data = err.code, json.dumps(err.body()).encode()
        except (ValueError, KeyError, TypeError) as err:
            status, data = (
                400,
                json.dumps(ApiError(400, f"Invalid request: {type(err).__name__}: {err}").body()).encode(),
            )
        except Exception as err:  # noqa: BLE001 - a stand-in bug still gets an answer, never a hung client
            status, data = (
                500,
                json.dumps(ApiError(500, f"Stand-in failure: {type(err).__name__}: {err}").body()).encode(),
            )
        http.send_response(status)
        http.send_header("Content-Type", "application/json; charset=UTF-8")
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)

    def _inject(self, method: str, path: str) -> None:
        for fault in self._faults:
            if fault.times > 0 and (fault.method in (None, method)) and fault.path.search(path):
                fault.times -= 1
                raise ApiError(fault.status, f"Injected failure {fault.status} for {method} {path}", fault.reason)
        self._faults = [f for f in self._faults if f.times > 0]

    def _route(self, method: str, path: str, query: dict[str, str], body: JSON) -> JSON:
        parts = path.removeprefix("/compute/v1/").strip("/").split("/")
        if len(parts) < 3 or parts[0] != "projects":
            raise ApiError(404, f"Not Found: {path}")
        project = parts[1]
        if parts[2] == "zones" and len(parts) > 4 and parts[4] == "machineTypes" and method == "GET":
            return self._machine_types(project, parts[3], parts[5] if len(parts) > 5 else None, query)
        if parts[2] == "regions" and len(parts) == 4 and method == "GET":  # regions.get: the region's zones
            zones = [f"{LINK}projects/{project}/zones/{parts[3]}-{letter}" for letter in "abc"]
            return {"kind": "compute#region", "name": parts[3], "status": "UP", "zones": zones}
        if parts[2] == "global":
            region, rest = None, parts[3:]
        elif parts[2] == "regions" and len(parts) > 3:
            region, rest = parts[3], parts[4:]
        else:
            raise ApiError(404, f"Not Found: {path}")
        if not rest:
            raise ApiError(404, f"Not Found: {path}")
        kind, name, verb = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
        if kind == "operations" and name:
            return self._operation(project, region, name)
        allowed = GLOBAL_KINDS if region is None else REGIONAL_KINDS
        if kind not in allowed or len(rest) > 3:
            raise ApiError(404, f"Not Found: {path}")
        if name is None:
            if method == "GET":
                return self._list(project, region, kind, query)
            if method == "POST":
                return self._insert(project, region, kind, body, path)
            if method in ("PUT", "PATCH") and kind == "autoscalers" and query.get("autoscaler"):
                # regionAutoscalers.update/patch name the autoscaler in the query, not the path
                return self._update(project, region, kind, query["autoscaler"], body, path, replace=method == "PUT")
        elif verb is None:
            if method == "GET":
                return self._get(project, region, kind, name)
            if method == "DELETE":
                return self._delete(project, region, kind, name, path)
            if method in ("PUT", "PATCH"):
                return self._update(project, region, kind, name, body, path, replace=method == "PUT")
        elif method == "POST":
            return self._custom(project, region, kind, name, verb, query, body, path)
        raise ApiError(405, f"Method {method} not allowed on {path}", "methodNotAllowed")

    # ---- generic resources -------------------------------------------------------------------------

    def _store(self, project: str, region: str | None, kind: str) -> dict[str, JSON]:
        return self.resources.setdefault((project, region, kind), {})

    @staticmethod
    def _path(project: str, region: str | None, kind: str, name: str | None = None) -> str:
        scope = f"projects/{project}/" + ("global" if region is None else f"regions/{region}")
        return f"{scope}/{kind}" + (f"/{name}" if name else "")

    def _now(self) -> str:
        """A strictly increasing timestamp, so creation order is never a tie."""
        now = max(datetime.now(UTC), self._last_time + timedelta(milliseconds=1))
        self._last_time = now
        return now.astimezone(_TZ).isoformat(timespec="milliseconds")

    def _found(self, project: str, region: str | None, kind: str, name: str) -> JSON:
        found = self._store(project, region, kind).get(name)
        if found is None:
            raise ApiError(404, f"The resource '{self._path(project, region, kind, name)}' was not found")
        return found

    def _get(self, project: str, region: str | None, kind: str, name: str) -> JSON:
        return self._found(project, region, kind, name)

    def _list(self, project: str, region: str | None, kind: str, query: dict[str, str]) -> JSON:
        items = [self._store(project, region, kind)[n] for n in sorted(self._store(project, region, kind))]
        items = [i for i in items if _matches(query.get("filter"), i)]
        start = int(query.get("pageToken") or 0)
        size = int(query.get("maxResults") or 500)
        answer: JSON = {
            "kind": _KINDS[kind] + "List",
            "id": self._path(project, region, kind),
            "items": items[start : start + size],
            "selfLink": LINK + self._path(project, region, kind),
        }
        if start + size < len(items):
            answer["nextPageToken"] = str(start + size)
        return answer

    def _insert(self, project: str, region: str | None, kind: str, body: JSON, path: str) -> JSON:
        name = str(body.get("name") or "")
        if not _NAME.match(name):
            raise ApiError(
                400,
                f"Invalid value for field 'resource.name': '{name}'. Must be a match of regex "
                "'[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?'",
            )
        store = self._store(project, region, kind)
        if name in store:
            raise ApiError(409, f"The resource '{self._path(project, region, kind, name)}' already exists")
        resource = {
            **body,
            "kind": _KINDS[kind],
            "id": str(next(self._ids)),
            "creationTimestamp": self._now(),
            "selfLink": LINK + self._path(project, region, kind, name),
        }
        if region is not None:
            resource["region"] = LINK + f"projects/{project}/regions/{region}"
        if kind in (GLOBAL_LB_KINDS if region is None else REGIONAL_LB_KINDS):
            self._check_references(project, resource)
        failed = self._operation_fault(path)
        if failed is None:
            getattr(self, f"_insert_{kind}", lambda *a: None)(project, region, resource)
            store[name] = resource
        return self._new_operation(project, region, "insert", resource["selfLink"], failed)

    def _update(
        self, project: str, region: str | None, kind: str, name: str, body: JSON, path: str, *, replace: bool
    ) -> JSON:
        """``update`` (PUT: the body replaces the resource) and ``patch`` (PATCH: the body's fields replace those)."""
        resource = self._found(project, region, kind, name)
        if str(body.get("name") or name) != name:
            raise ApiError(400, "Invalid value for field 'resource.name': the name of a resource cannot change")
        kept = {k: resource[k] for k in ("kind", "id", "creationTimestamp", "selfLink", "region") if k in resource}
        updated = {**body, **kept} if replace else {**resource, **body, **kept}
        if kind in (GLOBAL_LB_KINDS if region is None else REGIONAL_LB_KINDS):
            self._check_references(project, updated)
        failed = self._operation_fault(path)
        if failed is None:
            self._store(project, region, kind)[name] = updated
        return self._new_operation(project, region, "update" if replace else "patch", resource["selfLink"], failed)

    def _delete(self, project: str, region: str | None, kind: str, name: str, path: str) -> JSON:
        resource = self._found(project, region, kind, name)
        if kind == "instanceTemplates":
            users = [
                m["name"]
                for (p, _, k), store in self.resources.items()
                if p == project and k == "instanceGroupManagers"
                for m in store.values()
                if local_name(m.get("instanceTemplate", "")) == name
            ]
            if users:
                raise ApiError(
                    400,
                    f"The instance_template resource '{self._path(project, None, kind, name)}' is already being "
                    f"used by '{users[0]}'",
                    "resourceInUseByAnotherResource",
                )
        if kind in (GLOBAL_LB_KINDS if region is None else REGIONAL_LB_KINDS):
            user = self._referenced_by(project, self._path(project, region, kind, name))
            if user is not None:
                raise ApiError(
                    400,
                    f"The {kind[:-1]} resource '{self._path(project, region, kind, name)}' is already being used by "
                    f"'{user}'",
                    "resourceInUseByAnotherResource",
                )
        if kind == "instanceGroupManagers" and region is not None:
            group = f"{self._path(project, region, 'instanceGroups', name)}"
            user = next(
                (
                    str(service["selfLink"])
                    for (p, _, k), store in self.resources.items()
                    if p == project and k == "backendServices"
                    for service in store.values()
                    if any(str(b.get("group") or "").endswith(group) for b in service.get("backends") or [])
                ),
                None,
            )
            if user is not None:
                raise ApiError(
                    400,
                    f"The instance_group resource '{group}' is already being used by '{user}'",
                    "resourceInUseByAnotherResource",
                )
        failed = self._operation_fault(path)
        if failed is None:
            if kind == "instanceGroupManagers" and region is not None:
                self._set_size(project, region, resource, 0)
                self.instances.pop((project, region, name), None)
            del self._store(project, region, kind)[name]
        return self._new_operation(project, region, "delete", resource["selfLink"], failed)

    # ---- operations --------------------------------------------------------------------------------

    def _operation_fault(self, path: str) -> _OperationFault | None:
        for fault in self._operation_faults:
            if fault.path.search(path):
                self._operation_faults.remove(fault)
                return fault
        return None

    def _new_operation(
        self, project: str, region: str | None, kind: str, target: str, failed: _OperationFault | None = None
    ) -> JSON:
        name = f"operation-{int(datetime.now(UTC).timestamp() * 1000)}-{random.getrandbits(48):012x}"
        scope = f"projects/{project}/" + ("global" if region is None else f"regions/{region}")
        now = self._now()
        operation: JSON = {
            "kind": "compute#operation",
            "id": str(next(self._ids)),
            "name": name,
            "operationType": kind,
            "targetLink": target,
            "targetId": str(next(self._ids)),
            "status": "DONE",
            "user": "gennaker@stand-in",
            "progress": 100,
            "insertTime": now,
            "startTime": now,
            "endTime": now,
            "selfLink": f"{LINK}{scope}/operations/{name}",
        }
        if region is not None:
            operation["region"] = f"{LINK}projects/{project}/regions/{region}"
        if failed is not None:
            operation["error"] = {"errors": [{"code": failed.code, "message": failed.message}]}
            operation["httpErrorStatusCode"] = failed.http_status
            operation["httpErrorMessage"] = _STATUS.get(failed.http_status, "ERROR")
        self.operations.setdefault((project, region), {})[name] = operation
        return {**operation, "status": "RUNNING", "progress": 0, "endTime": None}

    def _operation(self, project: str, region: str | None, name: str) -> JSON:
        found = self.operations.get((project, region), {}).get(name)
        if found is None:
            raise ApiError(404, f"The resource '{self._path(project, region, 'operations', name)}' was not found")
        return found

    # ---- kinds with behaviour ----------------------------------------------------------------------

    def _insert_images(self, project: str, region: str | None, image: JSON) -> None:
        image.setdefault("status", "READY")
        image.setdefault("labels", {})
        image["labelFingerprint"] = _fingerprint()

    # ---- load balancing: references ----------------------------------------------------------------

    def _link_target(self, project: str, link: str) -> tuple[str | None, str, str] | None:
        """(region, kind, name) of a link to something this stand-in keeps (or a group), else None."""
        match = _LINK_PATH.search(link)
        if match is None or match.group("project") != project:
            return None
        return match.group("region"), match.group("kind"), match.group("name")

    def _check_references(self, project: str, resource: JSON) -> None:
        """Compute refuses a load balancing resource naming one that does not exist (a backend service's
        health check or instance group, a URL map's service, a proxy's URL map, a rule's target...)."""
        for link in _strings(resource):
            found = self._link_target(project, link)
            if found is None or link == resource.get("selfLink"):
                continue
            region, kind, name = found
            if kind == "instanceGroups" and region is not None:
                exists = name in self._store(project, region, "instanceGroupManagers")
            elif kind in _KINDS:
                exists = name in self._store(project, region, kind)
            else:  # sslCertificates and other kinds the stand-in does not keep
                continue
            if not exists:
                raise ApiError(
                    400,
                    f"Invalid value for field 'resource': '{link}'. The resource "
                    f"'{self._path(project, region, kind, name)}' was not found",
                )

    def _referenced_by(self, project: str, path: str) -> str | None:
        """The self link of a resource whose fields name ``path`` (Compute's resourceInUseByAnotherResource)."""
        for (p, _, _), store in self.resources.items():
            if p != project:
                continue
            for other in store.values():
                if other.get("selfLink", "").endswith("/" + path):
                    continue
                if any(s.endswith("/" + path) or s == path for s in _strings(other) if s != other.get("selfLink")):
                    return str(other.get("selfLink"))
        return None

    def _pool_health_checks(self, project: str, pool: JSON, body: JSON, *, add: bool) -> None:
        links = [str(h.get("healthCheck") or "") for h in body.get("healthChecks") or []]
        for link in links:
            found = self._link_target(project, link)
            if found is None or found[1] != "httpHealthChecks":
                raise ApiError(400, f"Invalid value for field 'healthChecks': '{link}'. Must be an httpHealthCheck")
            self._found(project, None, "httpHealthChecks", found[2])
        full = [LINK + link[link.find("projects/") :] for link in links]
        kept = [h for h in pool.get("healthChecks") or [] if h not in full]
        pool["healthChecks"] = kept + full if add else kept

    def _machine_types(self, project: str, zone: str, name: str | None, query: dict[str, str]) -> JSON:
        if not re.fullmatch(r"[a-z]+-[a-z]+[0-9]+-[a-z]", zone):
            raise ApiError(404, f"The resource 'projects/{project}/zones/{zone}' was not found")
        items = [
            {
                "kind": _KINDS["machineTypes"],
                "id": str(1000 + index),
                "name": type_name,
                "description": f"{cpus} vCPUs, {memory / 1024:g} GB RAM",
                "guestCpus": cpus,
                "memoryMb": memory,
                "zone": zone,
                "isSharedCpu": type_name.startswith("e2-") and cpus < 2,
                "selfLink": f"{LINK}projects/{project}/zones/{zone}/machineTypes/{type_name}",
            }
            for index, (type_name, cpus, memory) in enumerate(MACHINE_TYPES)
        ]
        if name is not None:
            for item in items:
                if item["name"] == name:
                    return item
            raise ApiError(404, f"The resource 'projects/{project}/zones/{zone}/machineTypes/{name}' was not found")
        items = [i for i in items if _matches(query.get("filter"), i)]
        return {"kind": "compute#machineTypeList", "items": items, "selfLink": f"{LINK}projects/{project}/zones/{zone}"}

    def _insert_targetPools(self, project: str, region: str | None, pool: JSON) -> None:  # noqa: N802
        pool.setdefault("instances", [])
        if pool.get("healthChecks"):
            checks = [{"healthCheck": h} for h in pool["healthChecks"]]
            pool["healthChecks"] = []
            self._pool_health_checks(project, pool, {"healthChecks": checks}, add=True)

    def _insert_forwardingRules(self, project: str, region: str | None, rule: JSON) -> None:  # noqa: N802
        target = str(rule.get("target") or "")
        if target and not target.startswith(LINK):
            rule["target"] = LINK + target.removeprefix("/")

    def _insert_instanceGroupManagers(self, project: str, region: str | None, mig: JSON) -> None:  # noqa: N802
        assert region is not None
        template = local_name(str(mig.get("instanceTemplate") or ""))
        if template not in self._store(project, None, "instanceTemplates"):
            raise ApiError(
                400,
                f"Invalid value for field 'resource.instanceTemplate': '{mig.get('instanceTemplate')}'."
                " The referenced instance template does not exist",
            )
        for pool in mig.get("targetPools") or []:
            self._found(project, region, "targetPools", local_name(pool))
        mig["instanceTemplate"] = LINK + f"projects/{project}/global/instanceTemplates/{template}"
        mig["instanceGroup"] = LINK + f"projects/{project}/regions/{region}/instanceGroups/{mig['name']}"
        mig["targetPools"] = [
            LINK + f"projects/{project}/regions/{region}/targetPools/{local_name(p)}"
            for p in mig.get("targetPools") or []
        ]
        mig["fingerprint"] = _fingerprint()
        mig["status"] = {"isStable": True}
        mig.setdefault("targetSize", 0)
        self.instances[(project, region, mig["name"])] = []
        self._set_size(project, region, mig, int(mig["targetSize"]))

    def _zones(self, region: str, mig: JSON) -> list[str]:
        chosen = [local_name(z["zone"]) for z in (mig.get("distributionPolicy") or {}).get("zones") or []]
        return chosen or [f"{region}-{letter}" for letter in "abc"]

    def _instance_link(self, project: str, instance: _Instance) -> str:
        return f"{LINK}projects/{project}/zones/{instance.zone}/instances/{instance.name}"

    def _set_size(self, project: str, region: str, mig: JSON, size: int) -> None:
        instances = self.instances.setdefault((project, region, mig["name"]), [])
        zones = self._zones(region, mig)
        pools = [local_name(p) for p in mig.get("targetPools") or []]
        while len(instances) < size:
            suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=4))
            made = _Instance(
                f"{mig['baseInstanceName']}-{suffix}", zones[len(instances) % len(zones)], str(next(self._ids))
            )
            instances.append(made)
            for pool in pools:
                self._pool_add(project, region, pool, [self._instance_link(project, made)])
        while len(instances) > size:
            gone = instances.pop()
            for pool in pools:
                self._pool_remove(project, region, pool, [self._instance_link(project, gone)])
        mig["targetSize"] = size

    def _pool_add(self, project: str, region: str, pool: str, links: list[str]) -> None:
        found = self._store(project, region, "targetPools").get(pool)
        if found is not None:
            found["instances"] = list(dict.fromkeys([*found.get("instances", []), *links]))

    def _pool_remove(self, project: str, region: str, pool: str, links: list[str]) -> None:
        found = self._store(project, region, "targetPools").get(pool)
        if found is not None:
            found["instances"] = [i for i in found.get("instances", []) if i not in links]

    def _custom(
        self,
        project: str,
        region: str | None,
        kind: str,
        name: str,
        verb: str,
        query: dict[str, str],
        body: JSON,
        path: str,
    ) -> JSON:
        if (kind, verb) == ("backendServices", "getHealth"):
            return self._backend_health(project, region, self._found(project, region, kind, name), body)
        if region is None:
            if (kind, verb) != ("images", "setLabels"):
                raise ApiError(404, f"Not Found: {path}")
            image = self._found(project, None, kind, name)
            if body.get("labelFingerprint") != image.get("labelFingerprint"):
                raise ApiError(412, "Labels fingerprint invalid or resource labels changed", "conditionNotMet")
            failed = self._operation_fault(path)
            if failed is None:
                image["labels"] = dict(body.get("labels") or {})
                image["labelFingerprint"] = _fingerprint()
            return self._new_operation(project, None, verb, image["selfLink"], failed)
        resource = self._found(project, region, kind, name)
        if (kind, verb) == ("instanceGroupManagers", "listManagedInstances"):
            return self._managed_instances(project, region, resource, query)
        change = {
            ("instanceGroupManagers", "resize"): lambda: self._set_size(project, region, resource, int(query["size"])),
            ("instanceGroupManagers", "setTargetPools"): lambda: self._set_target_pools(
                project, region, resource, body
            ),
            ("targetPools", "addInstance"): lambda: self._pool_add(
                project, region, name, [i["instance"] for i in body.get("instances") or []]
            ),
            ("targetPools", "removeInstance"): lambda: self._pool_remove(
                project, region, name, [i["instance"] for i in body.get("instances") or []]
            ),
            ("targetPools", "addHealthCheck"): lambda: self._pool_health_checks(project, resource, body, add=True),
            ("targetPools", "removeHealthCheck"): lambda: self._pool_health_checks(project, resource, body, add=False),
        }.get((kind, verb))
        if change is None:
            raise ApiError(404, f"Not Found: {path}")
        if (kind, verb) == ("instanceGroupManagers", "resize") and int(query.get("size", -1)) < 0:
            raise ApiError(400, "Invalid value for field 'size': must be at least 0")
        failed = self._operation_fault(path)
        if failed is None:
            change()
        return self._new_operation(project, region, verb, resource["selfLink"], failed)

    def _backend_health(self, project: str, region: str | None, service: JSON, body: JSON) -> JSON:
        """``backendServices.getHealth``: the health of one backend group's instances, as its check sees them."""
        group = str(body.get("group") or "")
        found = self._link_target(project, group)
        backends = [str(b.get("group") or "") for b in service.get("backends") or []]
        wanted = group[group.find("projects/") :]
        if found is None or wanted not in [b[b.find("projects/") :] for b in backends]:
            raise ApiError(400, f"Invalid value for field 'resource.group': '{group}'. Not a backend of this service")
        group_region, _, name = found
        statuses = [
            {
                "instance": self._instance_link(project, instance),
                "ipAddress": f"10.0.0.{index + 2}",
                "port": 80,
                "healthState": "UNHEALTHY" if instance.listed == 0 or instance.name in self._unhealthy else "HEALTHY",
            }
            for index, instance in enumerate(self.instances.get((project, str(group_region), name), []))
        ]
        return {"kind": "compute#backendServiceGroupHealth", "healthStatus": statuses}

    def _set_target_pools(self, project: str, region: str, mig: JSON, body: JSON) -> None:
        if body.get("fingerprint") and body["fingerprint"] != mig["fingerprint"]:
            raise ApiError(412, "Supplied fingerprint does not match current fingerprint.", "conditionNotMet")
        wanted = [local_name(p) for p in body.get("targetPools") or []]
        for pool in wanted:
            self._found(project, region, "targetPools", pool)
        links = [self._instance_link(project, i) for i in self.instances.get((project, region, mig["name"]), [])]
        for pool in {local_name(p) for p in mig.get("targetPools") or []} - set(wanted):
            self._pool_remove(project, region, pool, links)
        for pool in wanted:
            self._pool_add(project, region, pool, links)
        mig["targetPools"] = [LINK + f"projects/{project}/regions/{region}/targetPools/{p}" for p in wanted]
        mig["fingerprint"] = _fingerprint()

    def _managed_instances(self, project: str, region: str, mig: JSON, query: dict[str, str]) -> JSON:
        healing = mig.get("autoHealingPolicies") or []
        entries = []
        for instance in self.instances.get((project, region, mig["name"]), []):
            entry: JSON = {
                "instance": self._instance_link(project, instance),
                "id": instance.id,
                "name": instance.name,
                "version": {"instanceTemplate": mig["instanceTemplate"]},
            }
            if instance.listed == 0:
                entry |= {"currentAction": "CREATING", "instanceStatus": "PROVISIONING"}
            else:
                entry |= {"currentAction": "NONE", "instanceStatus": "RUNNING"}
                if healing:
                    entry["instanceHealth"] = [
                        {"healthCheck": healing[0].get("healthCheck"), "detailedHealthState": "HEALTHY"}
                    ]
            instance.listed += 1
            entries.append(entry)
        start = int(query.get("pageToken") or 0)
        size = int(query.get("maxResults") or 500)
        answer: JSON = {"managedInstances": entries[start : start + size]}
        if start + size < len(entries):
            answer["nextPageToken"] = str(start + size)
        return answer


def _fingerprint() -> str:
    return f"{random.getrandbits(64):016x}"


_LINK_PATH = re.compile(
    r"projects/(?P<project>[^/]+)/(?:global|regions/(?P<region>[^/]+))/(?P<kind>[A-Za-z]+)/(?P<name>[^/]+)$"
)


def _strings(value: Any) -> list[str]:
    """Every string inside a resource (its links among them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


_REGEX_FILTER = re.compile(r"^\s*(?P<field>[A-Za-z][\w.]*)\s+(?P<op>eq|ne)\s+(?P<value>.+?)\s*$")


def _matches(expression: str | None, resource: JSON) -> bool:
    """Compute's regular-expression filter: ``field eq|ne literal`` (quoted or not), matching whole values."""
    if not expression:
        return True
    match = _REGEX_FILTER.match(expression)
    if match is None:
        raise ApiError(400, f"Invalid value for field 'filter': '{expression}'. Invalid list filter expression.")
    value = match.group("value")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    found: Any = resource
    for part in match.group("field").split("."):
        found = found.get(part) if isinstance(found, dict) else None
    try:
        hit = re.fullmatch(value, "" if found is None else str(found)) is not None
    except re.error:
        raise ApiError(400, f"Invalid value for field 'filter': '{expression}'. Invalid regular expression.") from None
    return hit if match.group("op") == "eq" else not hit
