"""GCE server groups in the backend services of HTTP(S) and internal load balancers through their life, against the
Compute stand-in: a deploy joins them (Clouddriver's load balancing policy, recorded in the template's metadata),
disable leaves, enable rejoins, destroy leaves first; each safe to repeat; the balancers' reads show each group's
``isDisabled`` and its instances' health; red/black and rolling red/black move the traffic through a pipeline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.base import Capacity, CreateServerGroupRequest, InvalidRequestError, NotFoundCloudError
from providers.gce_deploy import backend_from_policy, backend_services_asked, load_balancing_policy
from providers.gce_lb_http import GceHttpLoadBalancers
from providers.gce_view import metadata_of
from tests.providers.gce_fixtures import GCE_PROJECT, GCE_REGION, GCE_ZONES, GceWorld
from tests.providers.test_deploy_gce import run  # noqa: F401 - the GCE engine fixture

ACCOUNT = "gce-test"
GROUP_URL = f"projects/{GCE_PROJECT}/regions/{GCE_REGION}/instanceGroups"


# ---- the policy, pure ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            None,
            {
                "balancingMode": "UTILIZATION",
                "maxUtilization": 0.8,
                "capacityScaler": 1.0,
                "namedPorts": [{"name": "http", "port": 80}],
            },
        ),
        ({"balancingMode": None, "maxUtilization": 0.3}, "default"),  # no mode: Clouddriver's defaults
        (
            {"balancingMode": "rate", "maxRatePerInstance": "50", "listeningPort": 8080},
            {
                "balancingMode": "RATE",
                "maxRatePerInstance": 50.0,
                "capacityScaler": 1.0,
                "namedPorts": [{"name": "http", "port": 8080}],
            },
        ),
        (
            '{"balancingMode":"UTILIZATION","maxUtilization":0.5,"capacityScaler":0,'
            '"namedPorts":[{"name":"web","port":"8080"}]}',
            {
                "balancingMode": "UTILIZATION",
                "maxUtilization": 0.5,
                "capacityScaler": 0.0,
                "namedPorts": [{"name": "web", "port": 8080}],
            },
        ),
    ],
)
def test_load_balancing_policy(raw: Any, expected: Any) -> None:
    if expected == "default":
        expected = load_balancing_policy(None)
    assert load_balancing_policy(raw) == expected


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"balancingMode": "ROUND_ROBIN"}, "loadBalancingPolicy.balancingMode"),
        ({"balancingMode": "RATE"}, "loadBalancingPolicy.maxRatePerInstance"),
        ({"balancingMode": "CONNECTION"}, "loadBalancingPolicy.maxConnectionsPerInstance"),
        ({"balancingMode": "UTILIZATION", "maxUtilization": 1.5}, "loadBalancingPolicy.maxUtilization"),
        ({"balancingMode": "UTILIZATION", "capacityScaler": "lots"}, "loadBalancingPolicy.capacityScaler"),
        ({"balancingMode": "UTILIZATION", "namedPorts": [{"name": "http"}]}, "loadBalancingPolicy.namedPorts[0]"),
        ("{not json", "loadBalancingPolicy"),
    ],
)
def test_a_bad_policy_names_its_field(raw: Any, field: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        load_balancing_policy(raw)
    assert str(raised.value).startswith(f"{field}:"), raised.value


def test_backend_from_policy_keeps_the_limits_of_its_mode() -> None:
    group = f"{GROUP_URL}/myapp-v000"
    rate = backend_from_policy(load_balancing_policy({"balancingMode": "RATE", "maxRatePerInstance": 20}), group)
    assert (rate.balancing_mode, rate.max_rate_per_instance, rate.capacity_scaler) == ("RATE", 20.0, 1.0)
    assert "max_utilization" not in rate
    connection = backend_from_policy(
        load_balancing_policy({"balancingMode": "CONNECTION", "maxConnectionsPerInstance": 7}), group
    )
    assert connection.max_connections_per_instance == 7 and "max_utilization" not in connection
    assert backend_from_policy(load_balancing_policy(None), group).max_utilization == pytest.approx(0.8)


def test_backend_services_asked() -> None:
    extra = {
        "backendServices": {"web": ["a", "b"]},
        "backendServiceMetadata": ["b", "c"],
        "instanceMetadata": {"backend-service-names": "c,d"},
    }
    assert backend_services_asked(extra) == ["a", "b", "c", "d"]
    with pytest.raises(InvalidRequestError, match="^backendServices:"):
        backend_services_asked({"backendServices": ["a"]})
    with pytest.raises(InvalidRequestError, match="^backendServiceMetadata:"):
        backend_services_asked({"backendServiceMetadata": "a"})


# ---- against the stand-in --------------------------------------------------------------------------------------


def _http(gce_cloud: Any, *services: str) -> None:
    """An HTTP load balancer ``myapp-web``: its default service, and a path rule to each other one (no backends)."""
    check = {"name": "myapp-web-hc", "port": 8080, "requestPath": "/health"}
    spec: dict[str, Any] = {
        "loadBalancerName": "myapp-web",
        "defaultService": {"name": "myapp-web-default", "healthCheck": check},
    }
    if services:
        rules = [{"paths": [f"/{s}/*"], "backendService": {"name": s, "healthCheck": check}} for s in services]
        spec["hostRules"] = [
            {
                "hostPatterns": ["*"],
                "pathMatcher": {"defaultService": spec["defaultService"], "pathRules": rules},
            }
        ]
    GceHttpLoadBalancers(gce_cloud).upsert_http(ACCOUNT, spec)


def _request(gce_world: GceWorld, name: str, load_balancers: list[str], **extra: Any) -> CreateServerGroupRequest:
    return CreateServerGroupRequest(
        name=name,
        account=ACCOUNT,
        region=GCE_REGION,
        image_id=gce_world.image,
        capacity=Capacity(2, 2, 2),
        instance_type="e2-small",
        load_balancers=load_balancers,
        extra=extra,
    )


def _backends(gce_world: GceWorld, service: str, region: str | None = None) -> list[dict[str, Any]]:
    found = gce_world.standin.resource(GCE_PROJECT, "backendServices", service, region) or {}
    return list(found.get("backends") or [])


def _groups_in(gce_world: GceWorld, service: str, region: str | None = None) -> list[str]:
    return [b["group"].rsplit("/", 1)[-1] for b in _backends(gce_world, service, region)]


def _updates(gce_world: GceWorld) -> list[str]:
    return [r.path for r in gce_world.standin.requests if r.method == "PUT" and "/backendServices/" in r.path]


def _lb(gce_cloud: Any, name: str) -> dict[str, Any]:
    [found] = [b for b in gce_cloud.load_balancers(ACCOUNT, GCE_REGION) if b["name"] == name]
    return found


def test_http_backend_services_through_a_group_life(gce_cloud: Any, gce_world: GceWorld) -> None:
    _http(gce_cloud, "myapp-web-api")
    policy = {"balancingMode": "RATE", "maxRatePerInstance": 40, "capacityScaler": 0.5, "namedPorts": []}
    request = _request(
        gce_world,
        "myapp-v000",
        ["myapp-web"],
        backendServices={"myapp-web": ["myapp-web-default", "myapp-web-api"]},
        loadBalancingPolicy={**policy, "namedPorts": [{"name": "http", "port": 8080}]},
    )
    group = gce_cloud.create_server_group(request)
    assert not group.disabled and group.load_balancers == ["myapp-web"]
    for service in ("myapp-web-default", "myapp-web-api"):
        [backend] = _backends(gce_world, service)
        assert backend["group"].endswith(f"{GROUP_URL}/myapp-v000")
        assert (backend["balancingMode"], backend["maxRatePerInstance"], backend["capacityScaler"]) == ("RATE", 40, 0.5)
    template = gce_cloud.ops.template(ACCOUNT, gce_cloud.ops.mig(ACCOUNT, GCE_REGION, "myapp-v000").instance_template)
    metadata = metadata_of(template)
    assert metadata["backend-service-names"] == "myapp-web-default,myapp-web-api"
    assert metadata["global-load-balancer-names"] == "myapp-web"
    assert "load-balancer-names" not in metadata  # an HTTP(S) balancer is global: no target pool
    assert json.loads(metadata["load-balancing-policy"]) == {
        "balancingMode": "RATE",
        "maxRatePerInstance": 40.0,
        "capacityScaler": 0.5,
        "namedPorts": [{"name": "http", "port": 8080}],
    }
    mig = gce_world.standin.resource(GCE_PROJECT, "instanceGroupManagers", "myapp-v000", GCE_REGION)
    assert mig["namedPorts"] == [{"name": "http", "port": 8080}] and not mig.get("targetPools")

    gce_cloud.create_server_group(request)  # a retried create: one backend each
    assert _groups_in(gce_world, "myapp-web-default") == ["myapp-v000"]

    shown = _lb(gce_cloud, "myapp-web")
    [behind] = shown["serverGroups"]
    assert (behind["name"], behind["region"], behind["isDisabled"]) == ("myapp-v000", GCE_REGION, False)
    assert len(behind["instances"]) == 2
    assert {i["health"]["state"] for i in behind["instances"]} == {"InService"}
    assert all(i["zone"] in [f"{GCE_REGION}-{z}" for z in "abc"] for i in behind["instances"])
    sick = behind["instances"][0]["id"]
    gce_world.standin.set_unhealthy(sick)
    states = {i["id"]: i["health"] for i in _lb(gce_cloud, "myapp-web")["serverGroups"][0]["instances"]}
    assert states[sick]["state"] == "OutOfService" and "Unhealthy Threshold" in states[sick]["description"]

    gce_cloud.disable(ACCOUNT, GCE_REGION, "myapp-v000")
    assert _backends(gce_world, "myapp-web-default") == [] and _backends(gce_world, "myapp-web-api") == []
    assert gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000").disabled
    gce_world.standin.requests.clear()
    gce_cloud.disable(ACCOUNT, GCE_REGION, "myapp-v000")  # removing what is gone: no change
    assert _updates(gce_world) == []
    [behind] = _lb(gce_cloud, "myapp-web")["serverGroups"]
    assert (behind["name"], behind["isDisabled"], behind["instances"]) == ("myapp-v000", True, [])

    gce_cloud.enable(ACCOUNT, GCE_REGION, "myapp-v000")
    gce_cloud.enable(ACCOUNT, GCE_REGION, "myapp-v000")  # adding what is there: one backend
    [backend] = _backends(gce_world, "myapp-web-api")
    assert (backend["balancingMode"], backend["maxRatePerInstance"], backend["capacityScaler"]) == ("RATE", 40, 0.5)
    assert _groups_in(gce_world, "myapp-web-default") == ["myapp-v000"]
    assert not gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000").disabled
    assert _lb(gce_cloud, "myapp-web")["serverGroups"][0]["isDisabled"] is False

    gce_cloud.destroy(ACCOUNT, GCE_REGION, "myapp-v000")  # Compute refuses to delete a group a backend names
    assert gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000") is None
    assert _backends(gce_world, "myapp-web-default") == [] and _backends(gce_world, "myapp-web-api") == []
    gce_cloud.destroy(ACCOUNT, GCE_REGION, "myapp-v000")
    assert _lb(gce_cloud, "myapp-web")["serverGroups"] == []


def test_an_http_balancer_alone_joins_its_default_service(gce_cloud: Any, gce_world: GceWorld) -> None:
    """Deck names the services; without them, the balancer's default service (and Clouddriver's default policy)."""
    _http(gce_cloud, "myapp-web-api")
    gce_cloud.create_server_group(_request(gce_world, "myapp-v000", ["myapp-web", gce_world.load_balancer]))
    [backend] = _backends(gce_world, "myapp-web-default")
    assert (backend["balancingMode"], backend["maxUtilization"], backend["capacityScaler"]) == ("UTILIZATION", 0.8, 1)
    assert _backends(gce_world, "myapp-web-api") == []
    metadata = metadata_of(
        gce_cloud.ops.template(ACCOUNT, gce_cloud.ops.mig(ACCOUNT, GCE_REGION, "myapp-v000").instance_template)
    )
    assert metadata["load-balancer-names"] == gce_world.load_balancer  # the network one keeps its target pool
    assert metadata["global-load-balancer-names"] == "myapp-web"
    assert len(gce_world.pool_members()) == 2
    gce_cloud.disable(ACCOUNT, GCE_REGION, "myapp-v000")  # out of both
    assert _backends(gce_world, "myapp-web-default") == [] and gce_world.pool_members() == []
    assert gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000").disabled
    gce_cloud.enable(ACCOUNT, GCE_REGION, "myapp-v000")
    assert _groups_in(gce_world, "myapp-web-default") == ["myapp-v000"] and len(gce_world.pool_members()) == 2


def test_backend_service_metadata_names_the_balancers_using_them(gce_cloud: Any, gce_world: GceWorld) -> None:
    """``backendServiceMetadata`` without ``loadBalancers``: the balancers whose URL maps use them are recorded
    (``resolveHttpLoadBalancerNamesMetadata``); ``disableTraffic`` makes the group without joining."""
    _http(gce_cloud, "myapp-web-api")
    request = _request(gce_world, "myapp-v000", [], backendServiceMetadata=["myapp-web-api"], disableTraffic=True)
    group = gce_cloud.create_server_group(request)
    assert group.load_balancers == ["myapp-web"] and group.disabled
    assert _backends(gce_world, "myapp-web-api") == []
    assert _lb(gce_cloud, "myapp-web")["serverGroups"][0]["isDisabled"] is True
    gce_cloud.enable(ACCOUNT, GCE_REGION, "myapp-v000")
    assert _groups_in(gce_world, "myapp-web-api") == ["myapp-v000"]


def test_unknown_balancers_and_services_name_the_field(gce_cloud: Any, gce_world: GceWorld) -> None:
    _http(gce_cloud)
    with pytest.raises(NotFoundCloudError, match="^loadBalancers: nope not found"):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v000", ["nope"]))
    with pytest.raises(NotFoundCloudError, match="^backendServices: backend service nope not found"):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v000", ["myapp-web"], backendServiceMetadata=["nope"]))
    with pytest.raises(InvalidRequestError, match="^loadBalancingPolicy.balancingMode:"):
        gce_cloud.create_server_group(
            _request(gce_world, "myapp-v000", ["myapp-web"], loadBalancingPolicy={"balancingMode": "SOMETIMES"})
        )
    assert gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000") is None


def test_internal_backend_service_through_a_group_life(gce_cloud: Any, gce_world: GceWorld) -> None:
    from tests.infrastructure.test_gce_http_lb import _network, internal_spec

    _network(gce_cloud)
    spec = internal_spec()
    spec["backendService"] = {**spec["backendService"], "backends": []}
    GceHttpLoadBalancers(gce_cloud).upsert_internal(ACCOUNT, GCE_REGION, spec)
    gce_cloud.create_server_group(_request(gce_world, "myapp-v000", ["myapp-ilb"]))
    gce_cloud.create_server_group(_request(gce_world, "myapp-v000", ["myapp-ilb"]))
    [backend] = _backends(gce_world, "myapp-ilb-bs", GCE_REGION)
    assert backend["group"].endswith(f"{GROUP_URL}/myapp-v000") and backend["balancingMode"] == "CONNECTION"
    metadata = metadata_of(
        gce_cloud.ops.template(ACCOUNT, gce_cloud.ops.mig(ACCOUNT, GCE_REGION, "myapp-v000").instance_template)
    )
    assert (metadata["load-balancer-names"], metadata["region-backend-service-names"]) == ("myapp-ilb", "myapp-ilb-bs")
    assert "backend-service-names" not in metadata
    [behind] = _lb(gce_cloud, "myapp-ilb")["serverGroups"]
    assert behind["isDisabled"] is False and {i["health"]["state"] for i in behind["instances"]} == {"InService"}

    gce_cloud.disable(ACCOUNT, GCE_REGION, "myapp-v000")
    gce_cloud.disable(ACCOUNT, GCE_REGION, "myapp-v000")
    assert _backends(gce_world, "myapp-ilb-bs", GCE_REGION) == []
    assert gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000").disabled
    assert _lb(gce_cloud, "myapp-ilb")["serverGroups"][0]["isDisabled"] is True
    gce_cloud.enable(ACCOUNT, GCE_REGION, "myapp-v000")
    gce_cloud.enable(ACCOUNT, GCE_REGION, "myapp-v000")
    assert _groups_in(gce_world, "myapp-ilb-bs", GCE_REGION) == ["myapp-v000"]
    assert not gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000").disabled
    gce_cloud.destroy(ACCOUNT, GCE_REGION, "myapp-v000")
    assert _backends(gce_world, "myapp-ilb-bs", GCE_REGION) == []
    assert gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-v000") is None


# ---- through a deploy pipeline ---------------------------------------------------------------------------------


@pytest.mark.temporal
async def test_red_black_and_rolling_red_black_move_http_traffic(
    run: Any,  # noqa: F811
    gce_world: GceWorld,
    gce_cloud: Any,
) -> None:
    _http(gce_cloud)
    cluster = {
        "application": "myapp",
        "stack": "prod",
        "account": ACCOUNT,
        "cloudProvider": "gce",
        "region": GCE_REGION,
        "distributionPolicy": {"zones": GCE_ZONES},
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "instanceType": "e2-small",
        "imageId": gce_world.image,
        "loadBalancers": ["myapp-web"],
        "backendServices": {"myapp-web": ["myapp-web-default"]},
        "loadBalancingPolicy": {"balancingMode": "UTILIZATION", "maxUtilization": 0.6, "capacityScaler": 1},
        "strategy": "redblack",
        "interestingHealthProviderNames": ["Google"],
    }
    for expected in ("myapp-prod-v000", "myapp-prod-v001"):
        done = await run([{"refId": "d", "type": "deploy", "clusters": [cluster]}])
        assert done["status"] == "SUCCEEDED", done
        assert done["stages"][0]["context"]["serverGroupName"] == expected
    assert _groups_in(gce_world, "myapp-web-default") == ["myapp-prod-v001"]  # traffic moved to the new group
    assert _backends(gce_world, "myapp-web-default")[0]["maxUtilization"] == pytest.approx(0.6)
    assert gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-prod-v000").disabled
    shown = {g["name"]: g["isDisabled"] for g in _lb(gce_cloud, "myapp-web")["serverGroups"]}
    assert shown == {"myapp-prod-v000": True, "myapp-prod-v001": False}

    rolling = {**cluster, "strategy": "rollingredblack", "targetPercentages": [50, 100]}
    done = await run([{"refId": "d", "type": "deploy", "clusters": [rolling]}])
    assert done["status"] == "SUCCEEDED", done
    assert _groups_in(gce_world, "myapp-web-default") == ["myapp-prod-v002"]
    assert gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-prod-v001").disabled
    assert not gce_cloud.server_group(ACCOUNT, GCE_REGION, "myapp-prod-v002").disabled


def test_a_garbled_policy_blocks_enable_not_disable(gce_cloud: Any, gce_world: GceWorld) -> None:
    _http(gce_cloud)
    gce_cloud.create_server_group(_request(gce_world, "myapp-v000", ["myapp-web"]))
    template = gce_cloud.ops.mig(ACCOUNT, GCE_REGION, "myapp-v000").instance_template.rsplit("/", 1)[-1]
    with gce_world.standin._lock:
        stored = gce_world.standin.resources[(GCE_PROJECT, None, "instanceTemplates")][template]
        for item in stored["properties"]["metadata"]["items"]:
            if item["key"] == "load-balancing-policy":
                item["value"] = "{garbled"
    gce_cloud.disable(ACCOUNT, GCE_REGION, "myapp-v000")
    assert _backends(gce_world, "myapp-web-default") == []
    with pytest.raises(InvalidRequestError, match="^load-balancing-policy: not JSON"):
        gce_cloud.enable(ACCOUNT, GCE_REGION, "myapp-v000")
