"""GCE load balancers beyond target pools (HTTP(S), internal), the network load balancer's health check,
autoscalers read back, machine types and image labels, through google-cloud-compute against the Compute
stand-in: created, retried (one of each), changed, read in Clouddriver's shapes, deleted in dependency order."""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud import compute_v1

from providers.base import Capacity, CreateServerGroupRequest, InvalidRequestError, NotFoundCloudError
from providers.gce_infra import GceInfraReads, GceInfraWrites
from providers.gce_lb_http import GceHttpLoadBalancers, GceLbPieces
from providers.gce_lb_ops import GceLoadBalancerWrites
from tests.providers.gce_fixtures import GCE_PROJECT, GCE_REGION

ACCOUNT = "gce-test"


def _group(gce_cloud: Any, gce_world: Any, name: str = "myapp-v000") -> None:
    request = CreateServerGroupRequest(
        name=name,
        account=ACCOUNT,
        region=GCE_REGION,
        image_id=gce_world.image,
        capacity=Capacity(1, 3, 1),
        instance_type="e2-small",
    )
    gce_cloud.create_server_group(request)


def _check(name: str, port: int = 8080, path: str = "/health") -> dict[str, Any]:
    return {"name": name, "port": port, "requestPath": path}


def http_spec(**more: Any) -> dict[str, Any]:
    return {
        "loadBalancerName": "myapp-web",
        "loadBalancerType": "HTTP",
        "portRange": "80",
        "defaultService": {
            "name": "myapp-web-default",
            "healthCheck": _check("myapp-web-hc"),
            "backends": [{"serverGroupName": "myapp-v000", "region": GCE_REGION}],
        },
        "hostRules": [
            {
                "hostPatterns": ["api.example.com"],
                "pathMatcher": {
                    "defaultService": {"name": "myapp-web-default", "healthCheck": _check("myapp-web-hc")},
                    "pathRules": [
                        {
                            "paths": ["/v2/*"],
                            "backendService": {
                                "name": "myapp-web-v2",
                                "healthCheck": _check("myapp-web-v2-hc", 9090),
                                "backends": [f"projects/{GCE_PROJECT}/regions/{GCE_REGION}/instanceGroups/myapp-v000"],
                            },
                        }
                    ],
                },
            }
        ],
        **more,
    }


def _names(standin: Any, kind: str, region: str | None = None) -> list[str]:
    return standin.names(GCE_PROJECT, kind, region)


def test_http_load_balancer(gce_cloud: Any, gce_world: Any) -> None:
    standin = gce_world.standin
    _group(gce_cloud, gce_world)
    writes = GceHttpLoadBalancers(gce_cloud)
    made = writes.upsert_http(ACCOUNT, http_spec())
    writes.upsert_http(ACCOUNT, http_spec())  # a retried create: one of each
    assert made["targetProxy"] == "myapp-web-target-http-proxy"
    assert _names(standin, "healthChecks") == ["myapp-web-hc", "myapp-web-v2-hc"]
    assert _names(standin, "backendServices") == ["myapp-web-default", "myapp-web-v2"]
    assert _names(standin, "urlMaps") == ["myapp-web"]
    assert _names(standin, "targetHttpProxies") == ["myapp-web-target-http-proxy"]
    assert _names(standin, "forwardingRules") == ["myapp-web"]
    service = standin.resource(GCE_PROJECT, "backendServices", "myapp-web-default")
    assert service["backends"][0]["group"].endswith(f"/regions/{GCE_REGION}/instanceGroups/myapp-v000")

    [shown] = [b for b in gce_cloud.load_balancers(ACCOUNT, GCE_REGION) if b["loadBalancerType"] == "HTTP"]
    assert (shown["name"], shown["region"], shown["urlMapName"], shown["portRange"]) == (
        "myapp-web",
        "global",
        "myapp-web",
        "80",
    )
    assert shown["defaultService"]["healthCheck"]["port"] == 8080
    assert shown["defaultService"]["healthCheck"]["target"] == "HTTP:8080/health"
    assert shown["defaultService"]["kind"] == "globalBackendService"
    [rule] = shown["hostRules"]
    assert rule["hostPatterns"] == ["api.example.com"]
    assert rule["pathMatcher"]["pathRules"][0]["backendService"]["name"] == "myapp-web-v2"
    assert shown["backendServices"] == ["myapp-web-default", "myapp-web-v2"]
    [behind] = shown["serverGroups"]
    assert {k: behind[k] for k in ("name", "region", "account", "cloudProvider", "isDisabled")} == {
        "name": "myapp-v000",
        "region": GCE_REGION,
        "account": ACCOUNT,
        "cloudProvider": "gce",
        "isDisabled": False,
    }
    assert shown["moniker"] == {"app": "myapp"}
    assert gce_cloud.load_balancers(ACCOUNT, "europe-west4") == []  # global ones come with the first region

    # an update converges: the check's port, the hosts, HTTPS with a certificate (a new proxy, the rule made again)
    changed = http_spec(certificate="myapp-cert", portRange="443")
    changed["defaultService"] = {**changed["defaultService"], "healthCheck": _check("myapp-web-hc", 8081)}
    changed["hostRules"][0]["hostPatterns"] = ["api.example.org"]
    writes.upsert_http(ACCOUNT, changed)
    check = standin.resource(GCE_PROJECT, "healthChecks", "myapp-web-hc")
    assert check["httpHealthCheck"]["port"] == 8081
    assert standin.resource(GCE_PROJECT, "urlMaps", "myapp-web")["hostRules"][0]["hosts"] == ["api.example.org"]
    assert _names(standin, "targetHttpProxies") == [] and _names(standin, "targetHttpsProxies") == [
        "myapp-web-target-https-proxy"
    ]
    rule_now = standin.resource(GCE_PROJECT, "forwardingRules", "myapp-web")
    assert rule_now["portRange"] == "443" and rule_now["target"].endswith("/myapp-web-target-https-proxy")
    [shown] = [b for b in gce_cloud.load_balancers(ACCOUNT, GCE_REGION) if b["loadBalancerType"] == "HTTP"]
    assert shown["certificate"] == "myapp-cert" and shown["listeners"][0]["protocol"] == "HTTPS"
    # no backends asked for: the service keeps its groups (Clouddriver's way)
    bare = http_spec()
    bare["defaultService"] = {"name": "myapp-web-default", "healthCheck": _check("myapp-web-hc", 8081)}
    writes.upsert_http(ACCOUNT, {**bare, "certificate": "myapp-cert", "portRange": "443"})
    assert standin.resource(GCE_PROJECT, "backendServices", "myapp-web-default")["backends"]

    writes.delete_http(ACCOUNT, "myapp-web")
    writes.delete_http(ACCOUNT, "myapp-web")  # a retried delete does nothing
    for kind in ("forwardingRules", "targetHttpsProxies", "urlMaps", "backendServices", "healthChecks"):
        assert _names(standin, kind) == [], kind


def test_http_load_balancers_share_a_backend_service(gce_cloud: Any, gce_world: Any) -> None:
    """Deleting one balancer leaves the service and check the other still uses (Compute refuses that delete)."""
    standin = gce_world.standin
    _group(gce_cloud, gce_world)
    writes = GceHttpLoadBalancers(gce_cloud)
    writes.upsert_http(ACCOUNT, http_spec())
    other = http_spec(loadBalancerName="myapp-admin", hostRules=[])
    writes.upsert_http(ACCOUNT, other)
    writes.delete_http(ACCOUNT, "myapp-web")
    assert _names(standin, "urlMaps") == ["myapp-admin"]
    assert _names(standin, "backendServices") == ["myapp-web-default"]
    assert _names(standin, "healthChecks") == ["myapp-web-hc"]


def test_http_load_balancer_bad_input_names_the_field(gce_cloud: Any, gce_world: Any) -> None:
    writes = GceHttpLoadBalancers(gce_cloud)
    with pytest.raises(InvalidRequestError, match=r"^defaultService\.name"):
        writes.upsert_http(ACCOUNT, {"loadBalancerName": "myapp-web"})
    spec = http_spec()
    spec["defaultService"]["healthCheck"] = {"name": "x", "port": "eighty"}
    with pytest.raises(InvalidRequestError, match=r"^defaultService\.healthCheck\.port"):
        writes.upsert_http(ACCOUNT, spec)
    with pytest.raises(NotFoundCloudError, match=r"^myapp-web-default\.backends\[0\]: server group myapp-v000"):
        writes.upsert_http(ACCOUNT, http_spec())  # no such group


def test_standin_keeps_load_balancing_references(gce_cloud: Any, gce_world: Any) -> None:
    """Compute's rules the deletes rely on: a missing reference is refused, and so is deleting what is in use."""
    pieces = GceLbPieces(gce_cloud)
    orphan = compute_v1.BackendService(
        name="orphan", health_checks=[pieces.link(ACCOUNT, "health_checks", "missing-hc")]
    )
    with pytest.raises(InvalidRequestError, match="missing-hc"):
        pieces.upsert(ACCOUNT, "backend_services", orphan)
    check = compute_v1.HealthCheck(name="used-hc", type_="TCP", tcp_health_check=compute_v1.TCPHealthCheck(port=80))
    pieces.upsert(ACCOUNT, "health_checks", check)
    user = compute_v1.BackendService(name="user", health_checks=[pieces.link(ACCOUNT, "health_checks", "used-hc")])
    pieces.upsert(ACCOUNT, "backend_services", user)
    with pytest.raises(InvalidRequestError) as refused:
        pieces.delete(ACCOUNT, "health_checks", "used-hc")
    assert "resourceInUseByAnotherResource" in refused.value.reasons
    assert pieces.delete(ACCOUNT, "health_checks", "used-hc", shared=True) is False
    assert pieces.delete(ACCOUNT, "backend_services", "user") and pieces.delete(ACCOUNT, "health_checks", "used-hc")


def _network(gce_cloud: Any) -> None:
    ops = gce_cloud.ops
    network = compute_v1.Network(name="default", auto_create_subnetworks=False)
    ops.act(
        ACCOUNT,
        None,
        "net",
        lambda: ops.client(ACCOUNT, "networks").insert(project=GCE_PROJECT, network_resource=network),
    )
    subnet = compute_v1.Subnetwork(
        name="default-us", network=f"projects/{GCE_PROJECT}/global/networks/default", ip_cidr_range="10.128.0.0/20"
    )
    ops.act(
        ACCOUNT,
        GCE_REGION,
        "subnet",
        lambda: ops.client(ACCOUNT, "subnetworks").insert(
            project=GCE_PROJECT, region=GCE_REGION, subnetwork_resource=subnet
        ),
    )


def internal_spec(**more: Any) -> dict[str, Any]:
    return {
        "loadBalancerName": "myapp-ilb",
        "loadBalancerType": "INTERNAL",
        "region": GCE_REGION,
        "ports": ["8080"],
        "ipProtocol": "TCP",
        "network": "default",
        "subnet": "default-us",
        "backendService": {
            "name": "myapp-ilb-bs",
            "healthCheck": {"name": "myapp-ilb-hc", "healthCheckType": "TCP", "port": 8080},
            "backends": ["myapp-v000"],
        },
        **more,
    }


def test_internal_load_balancer(gce_cloud: Any, gce_world: Any) -> None:
    standin = gce_world.standin
    _network(gce_cloud)
    _group(gce_cloud, gce_world)
    writes = GceHttpLoadBalancers(gce_cloud)
    writes.upsert_internal(ACCOUNT, GCE_REGION, internal_spec())
    writes.upsert_internal(ACCOUNT, GCE_REGION, internal_spec())
    assert _names(standin, "healthChecks", GCE_REGION) == ["myapp-ilb-hc"]
    assert _names(standin, "backendServices", GCE_REGION) == ["myapp-ilb-bs"]
    rule = standin.resource(GCE_PROJECT, "forwardingRules", "myapp-ilb", GCE_REGION)
    assert rule["loadBalancingScheme"] == "INTERNAL" and rule["ports"] == ["8080"]
    assert rule["subnetwork"].endswith(f"/regions/{GCE_REGION}/subnetworks/default-us")
    service = standin.resource(GCE_PROJECT, "backendServices", "myapp-ilb-bs", GCE_REGION)
    assert service["loadBalancingScheme"] == "INTERNAL" and service["backends"][0]["balancingMode"] == "CONNECTION"

    writes.upsert_internal(ACCOUNT, GCE_REGION, internal_spec(ports=["8080", "8443"]))  # the rule made again
    rule = standin.resource(GCE_PROJECT, "forwardingRules", "myapp-ilb", GCE_REGION)
    assert rule["ports"] == ["8080", "8443"]
    shown = {b["name"]: b for b in gce_cloud.load_balancers(ACCOUNT, GCE_REGION)}
    ilb = shown["myapp-ilb"]
    assert (ilb["loadBalancerType"], ilb["network"], ilb["subnet"], ilb["ports"]) == (
        "INTERNAL",
        "default",
        "default-us",
        ["8080", "8443"],
    )
    assert ilb["backendService"]["healthCheck"]["healthCheckType"] == "TCP"
    assert ilb["healthCheck"]["target"] == "TCP:8080"
    assert [g["name"] for g in ilb["serverGroups"]] == ["myapp-v000"]
    assert shown[gce_world.load_balancer]["loadBalancerType"] == "NETWORK"  # the network one is still itself

    with pytest.raises(InvalidRequestError, match="^subnet"):
        writes.upsert_internal(ACCOUNT, GCE_REGION, internal_spec(subnet=""))
    writes.delete_internal(ACCOUNT, GCE_REGION, "myapp-ilb")
    writes.delete_internal(ACCOUNT, GCE_REGION, "myapp-ilb")
    assert "myapp-ilb" not in _names(standin, "forwardingRules", GCE_REGION)
    assert _names(standin, "backendServices", GCE_REGION) == [] and _names(standin, "healthChecks", GCE_REGION) == []


def test_network_load_balancer_health_check(gce_cloud: Any, gce_world: Any) -> None:
    standin, writes = gce_world.standin, GceLoadBalancerWrites(gce_cloud)
    spec = {
        "loadBalancerName": "myapp-nlb",
        "portRange": "80",
        "healthCheck": {"port": 8080, "requestPath": "/healthz", "checkIntervalSec": 10},
    }
    writes.upsert_network_lb(ACCOUNT, GCE_REGION, spec)
    writes.upsert_network_lb(ACCOUNT, GCE_REGION, spec)
    assert _names(standin, "httpHealthChecks") == ["myapp-nlb-hc"]
    check = standin.resource(GCE_PROJECT, "httpHealthChecks", "myapp-nlb-hc")
    assert (check["port"], check["requestPath"], check["checkIntervalSec"], check["timeoutSec"]) == (
        8080,
        "/healthz",
        10,
        5,
    )
    pool = standin.resource(GCE_PROJECT, "targetPools", "myapp-nlb-tp", GCE_REGION)
    assert [h.rsplit("/", 1)[-1] for h in pool["healthChecks"]] == ["myapp-nlb-hc"]
    shown = {b["name"]: b for b in gce_cloud.load_balancers(ACCOUNT, GCE_REGION)}["myapp-nlb"]
    assert shown["healthCheck"]["port"] == 8080 and shown["healthCheck"]["interval"] == 10
    assert shown["healthCheck"]["target"] == "HTTP:8080/healthz"

    writes.upsert_network_lb(ACCOUNT, GCE_REGION, {**spec, "healthCheck": {"port": 9000}})
    assert standin.resource(GCE_PROJECT, "httpHealthChecks", "myapp-nlb-hc")["port"] == 9000
    writes.upsert_network_lb(ACCOUNT, GCE_REGION, {k: v for k, v in spec.items() if k != "healthCheck"})
    assert standin.resource(GCE_PROJECT, "targetPools", "myapp-nlb-tp", GCE_REGION)["healthChecks"] == []
    assert _names(standin, "httpHealthChecks") == []

    writes.upsert_network_lb(ACCOUNT, GCE_REGION, spec)
    writes.delete_network_lb(ACCOUNT, GCE_REGION, "myapp-nlb")
    assert _names(standin, "httpHealthChecks") == [] and "myapp-nlb-tp" not in _names(
        standin, "targetPools", GCE_REGION
    )


def test_autoscaler_read_back_with_the_group(gce_cloud: Any, gce_world: Any) -> None:
    _group(gce_cloud, gce_world)
    plain = gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000")
    assert plain is not None and "autoscalingPolicy" not in plain.to_json()
    policy = {
        "minNumReplicas": 1,
        "maxNumReplicas": 5,
        "coolDownPeriodSec": 90,
        "cpuUtilization": {"utilizationTarget": 0.7},
    }
    GceLoadBalancerWrites(gce_cloud).upsert_autoscaler(ACCOUNT, GCE_REGION, "myapp-v000", policy)
    shown = gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000").to_json()
    assert shown["autoscalingPolicy"] == {
        "minNumReplicas": 1,
        "maxNumReplicas": 5,
        "coolDownPeriodSec": 90,
        "mode": "ON",
        "cpuUtilization": {"utilizationTarget": 0.7},
    }
    assert shown["capacity"] == {"min": 1, "max": 5, "desired": 1}
    [listed] = gce_cloud.server_groups(ACCOUNT, GCE_REGION)
    assert listed.autoscaling_policy == shown["autoscalingPolicy"]


def test_machine_types_per_region(gce_cloud: Any, gce_world: Any) -> None:
    types = {t["name"]: t for t in GceInfraReads(gce_cloud).instance_types(ACCOUNT, GCE_REGION)}
    small = types["e2-small"]
    assert (small["region"], small["zones"], small["vCpus"], small["memoryMb"], small["cloudProvider"]) == (
        GCE_REGION,
        ["us-central1-a", "us-central1-b"],  # the account's zones
        2,
        2048,
        "gce",
    )
    other = {t["name"]: t for t in GceInfraReads(gce_cloud).instance_types(ACCOUNT, "europe-west4")}
    assert other["n1-standard-1"]["zones"] == ["europe-west4-a", "europe-west4-b", "europe-west4-c"]  # Compute's


def test_image_labels(gce_cloud: Any, gce_world: Any) -> None:
    writes = GceInfraWrites(gce_cloud)
    done = writes.upsert_image_tags(ACCOUNT, gce_world.image, {"stage": "released"})
    assert done["labels"] == {"appversion": "1-0-0", "stage": "released"}
    image = gce_world.standin.resource(GCE_PROJECT, "images", gce_world.image)
    assert image["labels"] == {"appversion": "1-0-0", "stage": "released"}
    before = image["labelFingerprint"]
    writes.upsert_image_tags(ACCOUNT, gce_world.image, {"stage": "released"})  # already so: no change
    assert gce_world.standin.resource(GCE_PROJECT, "images", gce_world.image)["labelFingerprint"] == before
    [found] = gce_cloud.find_images(ACCOUNT, GCE_REGION, package="myapp-1", tags={"stage": "released"})
    assert found.name == gce_world.image
    with pytest.raises(NotFoundCloudError, match="^imageName"):
        writes.upsert_image_tags(ACCOUNT, "absent", {"a": "b"})


# ---- through Gate: /tasks, a pipeline, the cached reads, Fiat ---------------------------------------------


@pytest.mark.temporal
async def test_gce_load_balancers_through_gate(
    client: Any, tmp_path: Any, aws_world: Any, gce_world: Any, gce_cloud: Any
) -> None:
    import uuid

    from core.messages.cloud_cache import RefreshCloudCacheInput
    from tests.infrastructure.test_gate_infra import serve

    _network(gce_cloud)
    _group(gce_cloud, gce_world)
    gce = {
        "name": ACCOUNT,
        "type": "gce",
        "project": GCE_PROJECT,
        "regions": [GCE_REGION],
        "anonymous": True,
        "endpoint": gce_world.standin.url,
        "permissions": {"READ": ["readers", "writers"], "WRITE": ["writers"]},
    }
    http_job = {"type": "upsertLoadBalancer", "cloudProvider": "gce", "credentials": ACCOUNT, **http_spec()}
    async with serve(client, tmp_path, aws_world.endpoint, gce) as gate:
        denied = await gate.call("reader", "POST", "/tasks", json={"application": "myapp", "job": [http_job]})
        assert denied.status_code == 403
        assert (await gate.task("writer", http_job))["status"] == "SUCCEEDED"
        listed = (await gate.call("reader", "GET", "/loadBalancers", params={"provider": "gce"})).json()
        http_lb = next(lb for lb in listed if lb["name"] == "myapp-web")
        assert http_lb["loadBalancerType"] == "HTTP" and http_lb["region"] == "global"
        assert [g["name"] for g in http_lb["serverGroups"]] == ["myapp-v000"]
        mine = (await gate.call("reader", "GET", "/applications/myapp/loadBalancers")).json()
        assert "myapp-web" in {lb["name"] for lb in mine}
        [one] = (await gate.call("reader", "GET", f"/loadBalancers/{ACCOUNT}/global/myapp-web")).json()
        assert one["defaultService"]["healthCheck"]["requestPath"] == "/health"
        assert one["hostRules"][0]["hostPatterns"] == ["api.example.com"]

        stages = [
            {"refId": "1", "cloudProvider": "gce", "credentials": ACCOUNT, "type": "upsertLoadBalancer"}
            | internal_spec(),
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "upsertScalingPolicy",
                "cloudProvider": "gce",
                "credentials": ACCOUNT,
                "region": GCE_REGION,
                "serverGroupName": "myapp-v000",
                "autoscalingPolicy": {
                    "minNumReplicas": 1,
                    "maxNumReplicas": 4,
                    "cpuUtilization": {"utilizationTarget": 0.6},
                },
            },
            {
                "refId": "3",
                "requisiteStageRefIds": ["2"],
                "type": "upsertImageTags",
                "cloudProvider": "gce",
                "credentials": ACCOUNT,
                "imageName": gce_world.image,
                "tags": {"stage": "released"},
            },
        ]
        saved = await gate.call(
            "writer", "POST", "/pipelines", json={"application": "myapp", "name": "gce-infra", "stages": stages}
        )
        assert saved.status_code == 200, saved.text
        started = await gate.call("writer", "POST", "/pipelines/myapp/gce-infra", json={})
        run = await gate.finished("/pipelines/" + started.json()["ref"].split("/")[-1])
        assert run["status"] == "SUCCEEDED", run
        [ilb] = (await gate.call("reader", "GET", f"/loadBalancers/{ACCOUNT}/{GCE_REGION}/myapp-ilb")).json()
        assert ilb["loadBalancerType"] == "INTERNAL" and ilb["backendService"]["name"] == "myapp-ilb-bs"
        group = (
            await gate.call("reader", "GET", f"/applications/myapp/serverGroups/{ACCOUNT}/{GCE_REGION}/myapp-v000")
        ).json()
        assert group["autoscalingPolicy"]["maxNumReplicas"] == 4 and group["capacity"]["max"] == 4
        found = (
            await gate.call("reader", "GET", "/images/find", params={"provider": "gce", "q": gce_world.image})
        ).json()
        assert found[0]["tags"]["stage"] == "released"

        await client.execute_workflow(
            "RefreshCloudCache",
            RefreshCloudCacheInput("gce", ACCOUNT),
            id=f"refresh-{uuid.uuid4()}",
            task_queue=gate.settings.task_queue,
        )
        types = (await gate.call("reader", "GET", "/instanceTypes")).json()
        assert {"e2-small", "n2-standard-4"} <= {t["name"] for t in types if t["cloudProvider"] == "gce"}
        assert (await gate.call("anonymous", "GET", "/instanceTypes")).json() == []  # Fiat filters the account out
        names = {
            lb["name"] for lb in (await gate.call("reader", "GET", "/loadBalancers", params={"provider": "gce"})).json()
        }
        assert {"myapp-web", "myapp-ilb"} <= names  # the full refresh keeps both kinds

        for job in (
            {"type": "deleteLoadBalancer", "loadBalancerType": "HTTP", "loadBalancerName": "myapp-web"},
            {
                "type": "deleteLoadBalancer",
                "loadBalancerType": "INTERNAL",
                "loadBalancerName": "myapp-ilb",
                "region": GCE_REGION,
            },
        ):
            done = await gate.task("writer", {"cloudProvider": "gce", "credentials": ACCOUNT, **job})
            assert done["status"] == "SUCCEEDED", done
        names = {
            lb["name"] for lb in (await gate.call("reader", "GET", "/loadBalancers", params={"provider": "gce"})).json()
        }
        assert not names & {"myapp-web", "myapp-ilb"}
        assert _names(gce_world.standin, "forwardingRules") == [] and _names(gce_world.standin, "urlMaps") == []
