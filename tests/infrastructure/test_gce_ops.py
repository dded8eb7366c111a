"""GCE firewall rules, networks and subnetworks through google-cloud-compute against the Compute stand-in:
read in Clouddriver's shapes, a rule created, retried, changed, read back and deleted."""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud import compute_v1

from providers.base import InvalidRequestError
from providers.gce_infra import GceInfraReads, GceInfraWrites
from tests.providers.gce_fixtures import GCE_PROJECT, GCE_REGION


def test_firewall_rules_and_networks(gce_cloud: Any, gce_world: Any) -> None:
    ops = gce_cloud.ops
    network = compute_v1.Network(name="default", auto_create_subnetworks=False)
    ops.act(
        "gce-test",
        None,
        "net",
        lambda: ops.client("gce-test", "networks").insert(project=GCE_PROJECT, network_resource=network),
    )
    subnet = compute_v1.Subnetwork(
        name="default-us", network=f"projects/{GCE_PROJECT}/global/networks/default", ip_cidr_range="10.128.0.0/20"
    )
    ops.act(
        "gce-test",
        GCE_REGION,
        "subnet",
        lambda: ops.client("gce-test", "subnetworks").insert(
            project=GCE_PROJECT, region=GCE_REGION, subnetwork_resource=subnet
        ),
    )

    writes, reads = GceInfraWrites(gce_cloud), GceInfraReads(gce_cloud)
    spec = {
        "securityGroupName": "myapp-web",
        "network": "default",
        "sourceRanges": ["10.0.0.0/8"],
        "targetTags": ["myapp-web"],
        "allowed": [{"ipProtocol": "tcp", "portRanges": ["80", "8000-8080"]}],
    }
    made = writes.upsert_firewall("gce-test", spec)
    writes.upsert_firewall("gce-test", spec)  # a retried create
    assert gce_world.standin.names(GCE_PROJECT, "firewalls") == ["myapp-web"]
    assert made["application"] == "myapp" and made["network"] == "default" and made["targetTags"] == ["myapp-web"]
    assert made["inboundRules"][0] == {
        "protocol": "tcp",
        "portRanges": [{"startPort": 80, "endPort": 80}, {"startPort": 8000, "endPort": 8080}],
        "range": {"ip": "10.0.0.0", "cidr": "/8"},
    }
    changed = writes.upsert_firewall("gce-test", {**spec, "sourceRanges": [], "sourceTags": ["myapp-lb"]})
    assert [r.get("sourceTag") for r in changed["inboundRules"]] == ["myapp-lb"]

    assert [g["name"] for g in reads.security_groups("gce-test", GCE_REGION)] == ["myapp-web"]
    assert reads.security_groups("gce-test", "europe-west4") == []  # global: read once per account
    [net] = reads.networks("gce-test", GCE_REGION)
    assert (net["id"], net["account"], net["region"], net["deprecated"]) == ("default", "gce-test", "global", False)
    [sub] = reads.subnets("gce-test", GCE_REGION)
    assert (sub["id"], sub["vpcId"], sub["region"], sub["cidrBlock"]) == (
        "default-us",
        "default",
        GCE_REGION,
        "10.128.0.0/20",
    )

    writes.delete_firewall("gce-test", "myapp-web")
    writes.delete_firewall("gce-test", "myapp-web")
    assert gce_world.standin.names(GCE_PROJECT, "firewalls") == []


def test_firewall_needs_a_protocol(gce_cloud: Any) -> None:
    with pytest.raises(InvalidRequestError, match=r"allowed\[0\]\.ipProtocol"):
        GceInfraWrites(gce_cloud).upsert_firewall("gce-test", {"name": "x", "allowed": [{}]})


def test_network_load_balancer_and_autoscaler(gce_cloud: Any, gce_world: Any) -> None:
    from providers.base import Capacity, CreateServerGroupRequest
    from providers.gce_lb_ops import GceLoadBalancerWrites

    standin, writes = gce_world.standin, GceLoadBalancerWrites(gce_cloud)
    spec = {"loadBalancerName": "myapp-nlb", "ipProtocol": "TCP", "portRange": "80"}
    writes.upsert_network_lb("gce-test", GCE_REGION, spec)
    writes.upsert_network_lb("gce-test", GCE_REGION, spec)  # a retry: one pool, one rule
    assert "myapp-nlb-tp" in standin.names(GCE_PROJECT, "targetPools", GCE_REGION)
    rule = standin.resource(GCE_PROJECT, "forwardingRules", "myapp-nlb", GCE_REGION)
    assert rule is not None and (rule["IPProtocol"], rule["portRange"]) == ("TCP", "80")
    writes.upsert_network_lb("gce-test", GCE_REGION, {**spec, "portRange": "8080-8089"})
    rule = standin.resource(GCE_PROJECT, "forwardingRules", "myapp-nlb", GCE_REGION)
    assert (
        rule is not None and rule["portRange"] == "8080-8089" and rule["target"].endswith("/targetPools/myapp-nlb-tp")
    )
    shown = {b["name"]: b for b in gce_cloud.load_balancers("gce-test", GCE_REGION)}
    assert shown["myapp-nlb"]["targetPool"] == "myapp-nlb-tp" and shown["myapp-nlb"]["portRange"] == "8080-8089"
    assert shown["myapp-nlb"]["moniker"] == {"app": "myapp"} and shown["myapp-nlb"]["cloudProvider"] == "gce"
    writes.delete_network_lb("gce-test", GCE_REGION, "myapp-nlb")
    writes.delete_network_lb("gce-test", GCE_REGION, "myapp-nlb")
    assert "myapp-nlb" not in standin.names(GCE_PROJECT, "forwardingRules", GCE_REGION)
    assert "myapp-nlb-tp" not in standin.names(GCE_PROJECT, "targetPools", GCE_REGION)

    request = CreateServerGroupRequest(
        name="myapp-v000",
        account="gce-test",
        region=GCE_REGION,
        image_id=gce_world.image,
        capacity=Capacity(1, 3, 1),
        instance_type="e2-small",
        load_balancers=[gce_world.load_balancer],
    )
    gce_cloud.create_server_group(request)
    world_lb = next(b for b in gce_cloud.load_balancers("gce-test", GCE_REGION) if b["name"] == gce_world.load_balancer)
    assert world_lb["targetPool"] == gce_world.target_pool
    assert [g["name"] for g in world_lb["serverGroups"]] == ["myapp-v000"]
    policy = {"minNumReplicas": 1, "maxNumReplicas": 4, "cpuUtilization": {"utilizationTarget": 0.5}}
    writes.upsert_autoscaler("gce-test", GCE_REGION, "myapp-v000", policy)
    writes.upsert_autoscaler("gce-test", GCE_REGION, "myapp-v000", policy)
    assert standin.names(GCE_PROJECT, "autoscalers", GCE_REGION) == ["myapp-v000"]
    writes.upsert_autoscaler("gce-test", GCE_REGION, "myapp-v000", {**policy, "maxNumReplicas": 6})
    shown = writes.autoscaler("gce-test", GCE_REGION, "myapp-v000")
    assert shown is not None and shown.autoscaling_policy.max_num_replicas == 6
    assert shown.autoscaling_policy.cpu_utilization.utilization_target == 0.5
    with pytest.raises(InvalidRequestError, match="maxNumReplicas"):
        writes.upsert_autoscaler("gce-test", GCE_REGION, "myapp-v000", {"minNumReplicas": 5, "maxNumReplicas": 2})
    writes.delete_autoscaler("gce-test", GCE_REGION, "myapp-v000")
    writes.delete_autoscaler("gce-test", GCE_REGION, "myapp-v000")
    assert standin.names(GCE_PROJECT, "autoscalers", GCE_REGION) == []


def test_a_failed_infrastructure_read_keeps_its_cached_copy(gce_cloud: Any, gce_world: Any, tmp_path: Any) -> None:
    """The cache refresh: firewall rules that cannot be listed this time keep the last copy; the rest refreshes."""
    from activities.cloud_cache import CloudCacheActivities
    from core.messages.cloud_cache import RefreshCloudCacheInput
    from core.store import Store

    store = Store(f"sqlite:///{tmp_path}/cache.db")
    store.migrate()
    try:
        GceInfraWrites(gce_cloud).upsert_firewall("gce-test", {"name": "myapp-web", "sourceRanges": ["10.0.0.0/8"]})
        refresh = CloudCacheActivities({"gce": gce_cloud}, store).refresh
        first = refresh(RefreshCloudCacheInput("gce", "gce-test"))
        assert first["securityGroups"] == 1 and first["loadBalancers"] == 1
        GceInfraWrites(gce_cloud).delete_firewall("gce-test", "myapp-web")
        gce_world.standin.fail_next(403, path="/global/firewalls", method="GET", times=1, reason="forbidden")
        refresh(RefreshCloudCacheInput("gce", "gce-test"))
        kept = store.cloud_cache.items("securityGroups", account="gce-test")
        assert [k["item"]["name"] for k in kept] == ["myapp-web"]  # the previous copy, not an empty list
        assert [lb["name"] for lb in store.cloud_cache.items("loadBalancers", account="gce-test")] == [
            gce_world.load_balancer
        ]
        refresh(RefreshCloudCacheInput("gce", "gce-test"))  # listing works again: the rule is gone
        assert store.cloud_cache.items("securityGroups", account="gce-test") == []
    finally:
        store.close()
