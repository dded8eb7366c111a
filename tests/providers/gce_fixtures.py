"""GCE fixtures: the Compute stand-in (one per test session, in a thread), reset before each test, a
few images and a network load balancer (forwarding rule → target pool) put in it through the real
google-cloud-compute client, and a :class:`GceCloud` pointed at it with anonymous credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1

from providers.gce import GceAccount, GceCloud
from tests.providers.gce_standin import ComputeStandIn

GCE_PROJECT = "gennaker-test"
GCE_IMAGE_PROJECT = "gennaker-images"
GCE_REGION = "us-central1"
GCE_ZONES = ["us-central1-a", "us-central1-b"]
GCE_LB = "myapp-frontend"
GCE_POOL = "myapp-frontend-tp"


@pytest.fixture(scope="session")
def gce_standin() -> Iterator[ComputeStandIn]:
    """The Compute stand-in's server, for the whole test session."""
    standin = ComputeStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()


@dataclass
class GceWorld:
    """What a test's Compute holds, and clients to look at it and change it with."""

    standin: ComputeStandIn
    project: str
    image_project: str
    region: str
    image: str
    old_image: str
    shared_image: str
    load_balancer: str
    target_pool: str
    clients: dict[str, Any]

    def insert_image(
        self, name: str, *, project: str | None = None, labels: dict[str, str] | None = None, description: str = ""
    ) -> None:
        image = compute_v1.Image(name=name, labels=labels or {}, description=description)
        operation = self.clients["images"].insert_unary(project=project or self.project, image_resource=image)
        assert operation.name

    def pool_members(self) -> list[str]:
        return self.standin.pool_members(self.project, self.region, self.target_pool)


def _client(kind: type, endpoint: str) -> Any:
    return kind(credentials=AnonymousCredentials(), transport="rest", client_options={"api_endpoint": endpoint})


@pytest.fixture
def gce_world(gce_standin: ComputeStandIn) -> Iterator[GceWorld]:
    """A fresh stand-in state with three images and a network load balancer."""
    gce_standin.reset()
    clients = {
        "images": _client(compute_v1.ImagesClient, gce_standin.url),
        "target_pools": _client(compute_v1.TargetPoolsClient, gce_standin.url),
        "forwarding_rules": _client(compute_v1.ForwardingRulesClient, gce_standin.url),
    }
    try:
        world = GceWorld(
            standin=gce_standin,
            project=GCE_PROJECT,
            image_project=GCE_IMAGE_PROJECT,
            region=GCE_REGION,
            image="myapp-1-0-0-h2",
            old_image="myapp-0-9-0-h1",
            shared_image="base-debian-12",
            load_balancer=GCE_LB,
            target_pool=GCE_POOL,
            clients=clients,
        )
        world.insert_image(world.old_image, labels={"appversion": "0-9-0"})
        world.insert_image(world.image, labels={"appversion": "1-0-0"}, description="appversion: myapp-1.0.0-h2")
        world.insert_image(world.shared_image, project=GCE_IMAGE_PROJECT)
        clients["target_pools"].insert_unary(
            project=GCE_PROJECT, region=GCE_REGION, target_pool_resource=compute_v1.TargetPool(name=GCE_POOL)
        )
        rule = compute_v1.ForwardingRule(
            name=GCE_LB, target=f"projects/{GCE_PROJECT}/regions/{GCE_REGION}/targetPools/{GCE_POOL}"
        )
        clients["forwarding_rules"].insert_unary(project=GCE_PROJECT, region=GCE_REGION, forwarding_rule_resource=rule)
        gce_standin.requests.clear()
        yield world
    finally:
        for client in clients.values():
            client.transport.close()


@pytest.fixture
def gce_account(gce_standin: ComputeStandIn) -> GceAccount:
    return GceAccount(
        name="gce-test",
        project=GCE_PROJECT,
        regions=[GCE_REGION, "europe-west4"],
        zones=GCE_ZONES,
        anonymous=True,
        endpoint=gce_standin.url,
        image_projects=[GCE_IMAGE_PROJECT],
    )


@pytest.fixture
def gce_cloud(gce_world: GceWorld, gce_account: GceAccount) -> Iterator[GceCloud]:
    cloud = GceCloud([gce_account], operation_timeout=timedelta(seconds=20), read_retry_deadline=timedelta(seconds=0.5))
    try:
        yield cloud
    finally:
        cloud.close()
