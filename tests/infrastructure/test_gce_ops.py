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
