"""The GCE cloud against the Compute stand-in, driven by the real google-cloud-compute client; the
health and error rules as tables; accounts and secrets."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
import requests
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud import compute_v1
from pydantic import SecretStr

from providers.base import (
    DOWN,
    OUT_OF_SERVICE,
    STARTING,
    UNKNOWN,
    UP,
    Capacity,
    CloudError,
    CreateServerGroupRequest,
    InvalidRequestError,
    NotFoundCloudError,
    ThrottledError,
    TransientCloudError,
)
from providers.gce import GceAccount, GceAccountError, GceCloud, gce_accounts
from providers.gce_accounts import credentials_for
from providers.gce_deploy import template_name, user_data_metadata
from providers.gce_errors import error_class, translate
from providers.gce_health import health_check_state, managed_instance_state, platform_state
from providers.naming import Moniker, next_name
from providers.registry import build_clouds
from tests.providers.gce_fixtures import GCE_PROJECT, GCE_REGION, GceWorld
from tests.providers.gce_standin import ComputeStandIn

SECRET = "-----BEGIN PRIVATE KEY-----\\nGENNAKER-NEVER-SHOWN\\n-----END PRIVATE KEY-----\\n"
KEY_JSON = json.dumps({"type": "service_account", "client_email": "x@y.iam.gserviceaccount.com", "private_key": SECRET})


def _request(world: GceWorld, name: str, **kwargs: Any) -> CreateServerGroupRequest:
    fields: dict[str, Any] = {
        "account": "gce-test",
        "region": world.region,
        "image_id": world.image,
        "capacity": Capacity(1, 3, 2),
        "instance_type": "e2-small",
    }
    return CreateServerGroupRequest(name=name, **(fields | kwargs))


def _mutations(standin: ComputeStandIn) -> list[str]:
    """The changes asked of Compute (waits on operations and reads left out)."""
    return [
        f"{r.method} {r.path}"
        for r in standin.requests
        if r.method in ("POST", "DELETE") and not r.path.endswith(("/wait", "/listManagedInstances"))
    ]


# ---- accounts and secrets ------------------------------------------------------------------------------


def test_gce_accounts_reads_clouddriver_keys_and_skips_other_clouds() -> None:
    entries: list[dict[str, Any]] = [
        {"name": "aws-prod", "type": "aws", "regions": ["us-east-1"]},
        {
            "name": "gce-prod",
            "type": "gce",
            "project": "my-project-123",
            "regions": [{"name": "us-central1"}, "europe-west4", "us-central1"],
            "zones": ["us-central1-a"],
            "jsonPath": "/etc/gennaker/gce.json",
            "imageProjects": ["ubuntu-os-cloud"],
            "permissions": {"READ": ["team"]},
        },
        {"name": "gce-dev", "cloudProvider": "GCE", "project": "dev-project", "regions": ["us-east4"]},
    ]
    prod, dev = gce_accounts(entries)
    assert (prod.name, prod.project, prod.regions) == ("gce-prod", "my-project-123", ["us-central1", "europe-west4"])
    assert prod.credentials_path is not None and prod.credentials_path.get_secret_value() == "/etc/gennaker/gce.json"
    assert prod.image_projects == ["ubuntu-os-cloud"] and prod.zones_in("us-central1") == ["us-central1-a"]
    assert (dev.name, dev.endpoint, dev.anonymous, dev.credentials_json) == ("gce-dev", None, False, None)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"project": "UPPER_case", "regions": ["us-central1"]}, "project:"),
        ({"project": "my-project", "regions": []}, "regions:"),
        ({"project": "my-project", "regions": ["us-east-1"]}, "regions:"),
        ({"project": "my-project", "regions": ["us-central1"], "zones": ["europe-west4-a"]}, "zones:"),
        ({"project": "my-project", "regions": ["us-central1"], "endpoint": "localhost:8085"}, "endpoint:"),
        ({"project": "my-project", "regions": ["us-central1"], "credentialsJson": SECRET}, "credentialsJson:"),
        (
            {"project": "my-project", "regions": ["us-central1"], "credentialsJson": KEY_JSON, "jsonPath": "/k.json"},
            "credentialsJson:",
        ),
        (
            {"project": "my-project", "regions": ["us-central1"], "credentialsJson": KEY_JSON, "anonymous": True},
            "anonymous:",
        ),
        ({"regions": ["us-central1"], "credentialsJson": KEY_JSON}, "project:"),
    ],
)
def test_gce_accounts_errors_name_the_entry_and_field_never_the_secret(entry: dict[str, Any], field: str) -> None:
    with pytest.raises(GceAccountError) as raised:
        gce_accounts(
            [{"name": "a", "type": "aws", "regions": ["us-east-1"]}, {"name": "broken", "type": "gce", **entry}]
        )
    message = str(raised.value)
    assert message.startswith("accounts[1] (broken): ") and field in message
    assert "GENNAKER-NEVER-SHOWN" not in message and "PRIVATE KEY" not in message


def test_gce_account_names_must_be_unique() -> None:
    entry = {"type": "gce", "name": "same", "project": "my-project", "regions": ["us-central1"]}
    with pytest.raises(GceAccountError, match="repeated: same"):
        gce_accounts([entry, dict(entry)])


def test_secrets_stay_out_of_reprs_errors_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = GceAccount(
        name="keyed", project="my-project", regions=["us-central1"], credentials_json=SecretStr(KEY_JSON)
    )
    shown = [repr(account), str(account), account.model_dump_json()]
    with pytest.raises(CloudError) as raised:  # a key Google's library cannot load
        credentials_for(account)
    shown.append(str(raised.value))
    cloud = GceCloud([account])
    try:
        with pytest.raises(CloudError) as from_cloud:
            cloud.server_groups("keyed", "us-central1")
        shown += [repr(cloud), str(from_cloud.value)]
    finally:
        cloud.close()
    shown += [r.getMessage() for r in caplog.records]
    assert all("GENNAKER-NEVER-SHOWN" not in text for text in shown)
    assert "no usable GCE credentials" in str(raised.value)


def test_registry_builds_the_gce_cloud(gce_world: GceWorld) -> None:
    entry = {"name": "g", "type": "gce", "project": GCE_PROJECT, "regions": [GCE_REGION], "anonymous": True}
    clouds = build_clouds([{**entry, "endpoint": gce_world.standin.url}])
    cloud = clouds["gce"]
    assert isinstance(cloud, GceCloud)
    try:
        assert cloud.cloud_provider == "gce"
        assert (cloud.accounts(), cloud.regions("g")) == (["g"], [GCE_REGION])
        assert cloud.server_groups("g", GCE_REGION) == []
    finally:
        cloud.close()


def test_unknown_account_and_region_are_not_found(gce_cloud: GceCloud) -> None:
    with pytest.raises(NotFoundCloudError, match="no GCE account named 'nope'"):
        gce_cloud.server_groups("nope", GCE_REGION)
    with pytest.raises(NotFoundCloudError, match="asia-east1 is not one of"):
        gce_cloud.server_groups("gce-test", "asia-east1")


# ---- pure rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("PROVISIONING", None, STARTING),
        ("STAGING", "NONE", STARTING),
        ("RUNNING", "NONE", UNKNOWN),
        ("RUNNING", None, UNKNOWN),
        ("STOPPING", "NONE", DOWN),
        ("STOPPED", None, DOWN),
        ("SUSPENDED", None, DOWN),
        ("TERMINATED", None, DOWN),
        (None, "CREATING", STARTING),
        ("RUNNING", "RECREATING", STARTING),
        ("RUNNING", "RESTARTING", STARTING),
        ("RUNNING", "VERIFYING", STARTING),
        ("RUNNING", "DELETING", DOWN),
        ("RUNNING", "ABANDONING", DOWN),
        ("RUNNING", "REFRESHING", UNKNOWN),
        (None, None, UNKNOWN),
    ],
)
def test_platform_state_table(status: str | None, action: str | None, expected: str) -> None:
    assert platform_state(status, action) == expected


@pytest.mark.parametrize(
    ("detailed", "expected"),
    [("HEALTHY", UP), ("UNHEALTHY", DOWN), ("TIMEOUT", DOWN), ("DRAINING", OUT_OF_SERVICE), ("UNKNOWN", UNKNOWN)],
)
def test_health_check_state_table(detailed: str, expected: str) -> None:
    assert health_check_state(detailed) == expected


@pytest.mark.parametrize(
    ("status", "action", "checks", "expected"),
    [
        ("RUNNING", "NONE", [], UNKNOWN),  # no health check: Orca's platform-health-only counts it
        ("RUNNING", "NONE", ["HEALTHY"], UP),
        ("RUNNING", "NONE", ["HEALTHY", "HEALTHY"], UP),
        ("RUNNING", "NONE", ["HEALTHY", "UNHEALTHY"], DOWN),
        ("RUNNING", "NONE", ["UNKNOWN"], UNKNOWN),
        ("RUNNING", "NONE", ["DRAINING"], OUT_OF_SERVICE),
        ("PROVISIONING", "CREATING", ["HEALTHY"], STARTING),
        ("RUNNING", "VERIFYING", ["TIMEOUT"], STARTING),
        ("RUNNING", "DELETING", ["HEALTHY"], DOWN),
        ("STOPPED", "NONE", [], DOWN),
    ],
)
def test_managed_instance_state_table(status: str, action: str, checks: list[str], expected: str) -> None:
    assert managed_instance_state(status, action, checks) == expected


@pytest.mark.parametrize(
    ("status", "reasons", "expected"),
    [
        (429, [], ThrottledError),
        (429, ["rateLimitExceeded"], ThrottledError),
        (403, ["rateLimitExceeded"], ThrottledError),
        (403, ["userRateLimitExceeded"], ThrottledError),
        (None, ["RATE_LIMIT_EXCEEDED"], ThrottledError),
        (500, ["backendError"], TransientCloudError),
        (502, [], TransientCloudError),
        (503, [], TransientCloudError),
        (504, [], TransientCloudError),
        (412, ["conditionNotMet"], TransientCloudError),
        (400, ["resourceNotReady"], TransientCloudError),
        (None, ["ZONE_RESOURCE_POOL_EXHAUSTED"], TransientCloudError),
        (400, [], InvalidRequestError),
        (400, ["invalid"], InvalidRequestError),
        (409, ["alreadyExists"], InvalidRequestError),
        (400, ["resourceInUseByAnotherResource"], InvalidRequestError),
        (403, ["QUOTA_EXCEEDED"], CloudError),  # permissions (403) say more than the code
        (None, ["QUOTA_EXCEEDED"], InvalidRequestError),
        (404, ["notFound"], NotFoundCloudError),
        (None, ["RESOURCE_NOT_FOUND"], NotFoundCloudError),
        (401, [], CloudError),
        (403, ["forbidden"], CloudError),
        (403, ["insufficientPermissions"], CloudError),
        (None, [], CloudError),
    ],
)
def test_error_class_table(status: int | None, reasons: list[str], expected: type[CloudError]) -> None:
    assert error_class(status, reasons) is expected


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (api_exceptions.TooManyRequests("slow down"), ThrottledError),
        (api_exceptions.ResourceExhausted("quota"), ThrottledError),
        (api_exceptions.Forbidden("rate", errors=[{"reason": "rateLimitExceeded"}]), ThrottledError),
        (api_exceptions.ServiceUnavailable("later"), TransientCloudError),
        (api_exceptions.InternalServerError("oops"), TransientCloudError),
        (api_exceptions.DeadlineExceeded("slow"), TransientCloudError),
        (api_exceptions.RetryError("gave up", cause=None), TransientCloudError),
        (api_exceptions.BadRequest("bad machine type"), InvalidRequestError),
        (api_exceptions.Conflict("exists"), InvalidRequestError),
        (api_exceptions.NotFound("gone"), NotFoundCloudError),
        (api_exceptions.Forbidden("no"), CloudError),
        (requests.ConnectionError("reset"), TransientCloudError),
        (requests.Timeout("read timed out"), TransientCloudError),
        (auth_exceptions.TransportError("token endpoint down"), TransientCloudError),
        (auth_exceptions.RefreshError("token endpoint said 503", retryable=True), TransientCloudError),
        (auth_exceptions.RefreshError("invalid_grant"), CloudError),
        (auth_exceptions.DefaultCredentialsError("no credentials"), CloudError),
        (KeyError("x"), CloudError),
    ],
)
def test_translate_table(raised: Exception, expected: type[CloudError]) -> None:
    error = translate(raised, "doing it")
    assert type(error) is expected and str(error).startswith("doing it: ")


def test_template_name_and_user_data_as_clouddriver_makes_them() -> None:
    assert template_name("myapp-prod-v003", 1_715_000_123_456) == "myapp-prod-v003-00123456"
    with pytest.raises(InvalidRequestError, match="longer than 63"):
        template_name("a" * 60, 1_715_000_123_456)
    assert user_data_metadata("a=1\nb=2,c") == {"customUserData": "a=1\nb=2,c", "a": "1", "b": "2", "c": ""}
    assert user_data_metadata(None) == {}


# ---- create, read, list ------------------------------------------------------------------------------


def test_create_builds_a_regional_group_from_a_labelled_template(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    request = _request(
        gce_world,
        "myapp-prod-v000",
        user_data="env=prod",
        tags={"team": "web"},
        extra={"instanceMetadata": {"startup-script": "echo hi"}, "tags": ["http-server"]},
    )
    group = gce_cloud.create_server_group(request)
    assert (group.name, group.cloud_provider, group.region, group.cluster) == (
        "myapp-prod-v000",
        "gce",
        GCE_REGION,
        "myapp-prod",
    )
    assert group.capacity == Capacity(2, 2, 2)  # no autoscaler: Clouddriver shows targetSize three times
    assert (group.image_id, group.instance_type, group.disabled) == (gce_world.image, "e2-small", False)
    assert group.zones == ["us-central1-a", "us-central1-b"] and len(group.instances) == 2
    assert {i.zone for i in group.instances} == {"us-central1-a", "us-central1-b"}
    assert all(i.id.startswith("myapp-prod-v000-") and i.health_state == STARTING for i in group.instances)
    template = gce_world.standin.resource(
        GCE_PROJECT, "instanceTemplates", group.launch_config["launchConfigurationName"]
    )
    assert template is not None and template["name"].startswith("myapp-prod-v000-") and len(template["name"]) == 24
    labels = template["properties"]["labels"]
    assert labels == group.tags
    assert labels == {
        "team": "web",
        "spinnaker-server-group": "myapp-prod-v000",
        "spinnaker-region": GCE_REGION,
        "spinnaker-moniker-application": "myapp",
        "spinnaker-moniker-cluster": "myapp-prod",
        "spinnaker-moniker-stack": "prod",
        "spinnaker-moniker-sequence": "0",
    }
    metadata = {i["key"]: i["value"] for i in template["properties"]["metadata"]["items"]}
    assert metadata == {"startup-script": "echo hi", "customUserData": "env=prod", "env": "prod"}
    assert template["properties"]["tags"]["items"] == ["http-server"]
    mig = gce_world.standin.resource(GCE_PROJECT, "instanceGroupManagers", "myapp-prod-v000", GCE_REGION)
    assert mig is not None and (mig["baseInstanceName"], mig["targetSize"]) == ("myapp-prod-v000", 2)
    assert mig["instanceTemplate"].endswith(f"/global/instanceTemplates/{template['name']}")
    assert group.to_json()["launchConfig"]["instanceTemplate"]["name"] == template["name"]


def test_create_twice_makes_one_group_and_one_template(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    first = gce_cloud.create_server_group(_request(gce_world, "myapp-v000"))
    gce_world.standin.requests.clear()
    again = gce_cloud.create_server_group(_request(gce_world, "myapp-v000"))
    assert again.name == first.name and again.created_ms == first.created_ms
    assert _mutations(gce_world.standin) == []
    assert gce_world.standin.names(GCE_PROJECT, "instanceGroupManagers", GCE_REGION) == ["myapp-v000"]
    assert len(gce_world.standin.names(GCE_PROJECT, "instanceTemplates")) == 1


def test_create_interrupted_after_the_template_completes_with_that_template(
    gce_cloud: GceCloud, gce_world: GceWorld
) -> None:
    standin = gce_world.standin
    standin.fail_next(503, method="POST", path=r"/instanceGroupManagers$")
    with pytest.raises(TransientCloudError, match="creating server group myapp-v001"):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v001"))
    (left,) = standin.names(GCE_PROJECT, "instanceTemplates")
    assert standin.names(GCE_PROJECT, "instanceGroupManagers", GCE_REGION) == []
    group = gce_cloud.create_server_group(_request(gce_world, "myapp-v001"))
    assert group.launch_config["launchConfigurationName"] == left
    assert standin.names(GCE_PROJECT, "instanceTemplates") == [left]


def test_only_a_template_labelled_with_the_group_is_reused(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    stranger = compute_v1.InstanceTemplate(name="myapp-v002-12345678", properties={"machine_type": "e2-small"})
    gce_cloud.clients.client("gce-test", "templates").insert_unary(
        project=GCE_PROJECT, instance_template_resource=stranger
    )
    group = gce_cloud.create_server_group(_request(gce_world, "myapp-v002"))
    assert group.launch_config["launchConfigurationName"] != "myapp-v002-12345678"
    assert len(gce_world.standin.names(GCE_PROJECT, "instanceTemplates")) == 2


def test_create_refuses_bad_requests_before_calling(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    with pytest.raises(InvalidRequestError, match="not a GCE resource name"):
        gce_cloud.create_server_group(_request(gce_world, "MyApp_v000"))
    with pytest.raises(InvalidRequestError, match="min <= desired <= max"):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v000", capacity=Capacity(3, 1, 2)))
    with pytest.raises(InvalidRequestError, match="labels:"):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v000", tags={"Team": "Web"}))
    with pytest.raises(NotFoundCloudError, match="image nope not found in any of these projects"):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v000", image_id="nope"))
    with pytest.raises(NotFoundCloudError, match="loadBalancers: missing-lb not found"):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v000", load_balancers=["missing-lb"]))
    assert _mutations(gce_world.standin) == []


def test_create_from_an_image_of_an_image_project(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    group = gce_cloud.create_server_group(_request(gce_world, "base-v000", image_id=gce_world.shared_image))
    template = gce_world.standin.resource(
        GCE_PROJECT, "instanceTemplates", group.launch_config["launchConfigurationName"]
    )
    assert template is not None
    source = template["properties"]["disks"][0]["initializeParams"]["sourceImage"]
    assert source.endswith(f"projects/{gce_world.image_project}/global/images/{gce_world.shared_image}")


def test_a_failed_operation_is_an_error_of_its_kind(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    gce_world.standin.fail_next_operation("QUOTA_EXCEEDED", "Quota 'CPUS' exceeded.", path="instanceGroupManagers")
    with pytest.raises(InvalidRequestError, match="QUOTA_EXCEEDED: Quota 'CPUS' exceeded"):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v000"))
    gce_world.standin.fail_next_operation("ZONE_RESOURCE_POOL_EXHAUSTED", "no e2-small", path="instanceGroupManagers")
    with pytest.raises(TransientCloudError, match="ZONE_RESOURCE_POOL_EXHAUSTED"):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v000"))
    assert gce_cloud.create_server_group(_request(gce_world, "myapp-v000")).name == "myapp-v000"


def test_waiting_for_an_operation_is_bounded(gce_world: GceWorld, gce_account: GceAccount) -> None:
    impatient = GceCloud([gce_account], operation_timeout=timedelta(0))
    try:
        with pytest.raises(TransientCloudError, match="not done after 0s"):
            impatient.create_server_group(_request(gce_world, "myapp-v000"))
    finally:
        impatient.close()


def test_server_groups_by_cluster_oldest_first_and_next_name(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    for name in ("myapp-prod-v001", "myapp-prod-v000", "myapp-prod-canary-v000", "myapp-v003", "myapp-prodx-v000"):
        gce_cloud.create_server_group(_request(gce_world, name, capacity=Capacity(0, 0, 0)))
    prod = gce_cloud.server_groups("gce-test", GCE_REGION, "myapp-prod")
    assert [g.name for g in prod] == ["myapp-prod-v001", "myapp-prod-v000"]  # by creation time, not by name
    assert prod[0].created_ms < prod[1].created_ms
    assert [g.name for g in gce_cloud.server_groups("gce-test", GCE_REGION, "myapp-prod-canary")] == [
        "myapp-prod-canary-v000"
    ]
    assert len(gce_cloud.server_groups("gce-test", GCE_REGION)) == 5
    assert gce_cloud.server_groups("gce-test", "europe-west4", "myapp-prod") == []
    existing = [(g.name, g.created_ms) for g in prod]
    # one past the newest (v000) is v001, which exists: the next free one
    assert next_name(Moniker.of("myapp", "prod"), existing) == "myapp-prod-v002"
    assert gce_cloud.server_group("gce-test", GCE_REGION, "myapp-prod-v009") is None


def test_instances_start_then_run_and_a_health_check_makes_them_up(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    plain = gce_cloud.create_server_group(_request(gce_world, "myapp-v000", capacity=Capacity(1, 1, 1)))
    assert [i.health_state for i in plain.instances] == [STARTING]
    again = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-v000")
    assert again is not None and [i.health_state for i in again.instances] == [UNKNOWN] and again.healthy_count() == 0
    checked = gce_cloud.create_server_group(
        _request(gce_world, "myapp-v001", extra={"autoHealingPolicy": {"healthCheck": "http-8080"}})
    )
    assert checked.healthy_count() == 0
    later = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-v001")
    assert later is not None and later.healthy_count() == 2
    assert later.to_json()["instanceCounts"] == {
        "total": 2,
        "up": 2,
        "down": 0,
        "starting": 0,
        "outOfService": 0,
        "unknown": 0,
    }


# ---- resize, disable, enable, destroy -----------------------------------------------------------------


def test_resize_sets_the_target_size(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    gce_cloud.create_server_group(_request(gce_world, "myapp-v000"))
    gce_cloud.resize("gce-test", GCE_REGION, "myapp-v000", Capacity(4, 4, 4))
    grown = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-v000")
    assert grown is not None and grown.capacity == Capacity(4, 4, 4) and len(grown.instances) == 4
    gce_cloud.resize("gce-test", GCE_REGION, "myapp-v000", Capacity(0, 2, 1))
    shrunk = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-v000")
    assert shrunk is not None and shrunk.capacity.desired == 1 and len(shrunk.instances) == 1
    gce_world.standin.requests.clear()
    gce_cloud.resize("gce-test", GCE_REGION, "myapp-v000", Capacity(1, 1, 1))
    assert _mutations(gce_world.standin) == []  # already that size
    with pytest.raises(NotFoundCloudError, match="myapp-v009 not found"):
        gce_cloud.resize("gce-test", GCE_REGION, "myapp-v009", Capacity(1, 1, 1))
    with pytest.raises(InvalidRequestError):
        gce_cloud.resize("gce-test", GCE_REGION, "myapp-v000", Capacity(2, 1, 1))


def test_disable_and_enable_move_the_group_out_of_and_into_its_target_pool(
    gce_cloud: GceCloud, gce_world: GceWorld
) -> None:
    group = gce_cloud.create_server_group(_request(gce_world, "myapp-v000", load_balancers=[gce_world.load_balancer]))
    assert group.load_balancers == [gce_world.load_balancer] and not group.disabled
    members = sorted(i.id for i in group.instances)
    assert gce_world.pool_members() == members
    gce_cloud.disable("gce-test", GCE_REGION, "myapp-v000")
    disabled = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-v000")
    assert disabled is not None and disabled.disabled and gce_world.pool_members() == []
    mig = gce_world.standin.resource(GCE_PROJECT, "instanceGroupManagers", "myapp-v000", GCE_REGION)
    assert mig is not None and mig["targetPools"] == []
    gce_world.standin.requests.clear()
    gce_cloud.disable("gce-test", GCE_REGION, "myapp-v000")
    assert _mutations(gce_world.standin) == []
    gce_cloud.enable("gce-test", GCE_REGION, "myapp-v000")
    enabled = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-v000")
    assert enabled is not None and not enabled.disabled and gce_world.pool_members() == members
    gce_world.standin.requests.clear()
    gce_cloud.enable("gce-test", GCE_REGION, "myapp-v000")
    assert _mutations(gce_world.standin) == []


def test_disable_leaves_other_groups_in_the_pool(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    lb = [gce_world.load_balancer]
    old = gce_cloud.create_server_group(
        _request(gce_world, "myapp-v000", load_balancers=lb, capacity=Capacity(1, 1, 1))
    )
    new = gce_cloud.create_server_group(
        _request(gce_world, "myapp-v001", load_balancers=lb, capacity=Capacity(1, 1, 1))
    )
    gce_cloud.disable("gce-test", GCE_REGION, old.name)
    assert gce_world.pool_members() == [new.instances[0].id]
    states = {g.name: g.disabled for g in gce_cloud.server_groups("gce-test", GCE_REGION, "myapp")}
    assert states == {"myapp-v000": True, "myapp-v001": False}


def test_traffic_disabled_at_birth_and_groups_without_load_balancers(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    quiet = gce_cloud.create_server_group(
        _request(gce_world, "myapp-v000", load_balancers=[gce_world.load_balancer], extra={"disableTraffic": True})
    )
    assert quiet.disabled and gce_world.pool_members() == []
    gce_cloud.enable("gce-test", GCE_REGION, "myapp-v000")
    assert len(gce_world.pool_members()) == 2
    plain = gce_cloud.create_server_group(_request(gce_world, "other-v000"))
    gce_cloud.disable("gce-test", GCE_REGION, plain.name)  # as in Clouddriver: no load balancer, nothing to leave
    after = gce_cloud.server_group("gce-test", GCE_REGION, plain.name)
    assert after is not None and not after.disabled
    gce_cloud.disable("gce-test", GCE_REGION, "missing-v000")  # gone: nothing to do


def test_destroy_deletes_the_group_then_its_template_and_twice_is_harmless(
    gce_cloud: GceCloud, gce_world: GceWorld
) -> None:
    standin = gce_world.standin
    gce_cloud.create_server_group(_request(gce_world, "myapp-v000", load_balancers=[gce_world.load_balancer]))
    kept = gce_cloud.create_server_group(_request(gce_world, "myapp-v001"))
    gce_cloud.destroy("gce-test", GCE_REGION, "myapp-v000")
    assert standin.names(GCE_PROJECT, "instanceGroupManagers", GCE_REGION) == ["myapp-v001"]
    assert standin.names(GCE_PROJECT, "instanceTemplates") == [kept.launch_config["launchConfigurationName"]]
    assert gce_world.pool_members() == []
    standin.requests.clear()
    gce_cloud.destroy("gce-test", GCE_REGION, "myapp-v000")
    assert _mutations(standin) == []
    assert gce_cloud.server_group("gce-test", GCE_REGION, "myapp-v000") is None


def test_destroy_after_an_interrupted_create_removes_the_leftover_template(
    gce_cloud: GceCloud, gce_world: GceWorld
) -> None:
    gce_world.standin.fail_next(503, method="POST", path=r"/instanceGroupManagers$")
    with pytest.raises(TransientCloudError):
        gce_cloud.create_server_group(_request(gce_world, "myapp-v000"))
    assert len(gce_world.standin.names(GCE_PROJECT, "instanceTemplates")) == 1
    gce_cloud.destroy("gce-test", GCE_REGION, "myapp-v000")
    assert gce_world.standin.names(GCE_PROJECT, "instanceTemplates") == []


# ---- images ----------------------------------------------------------------------------------------------


def test_find_images_by_prefix_newest_first_across_image_projects(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    found = gce_cloud.find_images("gce-test", GCE_REGION, package="myapp")
    assert [i.name for i in found] == [gce_world.image, gce_world.old_image]
    assert found[0].created_ms is not None and found[1].created_ms is not None
    assert found[0].created_ms > found[1].created_ms and found[0].region == GCE_REGION
    assert [i.name for i in gce_cloud.find_images("gce-test", GCE_REGION, package="base-")] == [gce_world.shared_image]
    assert len(gce_cloud.find_images("gce-test", GCE_REGION)) == 3
    assert gce_cloud.find_images("gce-test", GCE_REGION, package="nothing") == []
    filters = [r.query.get("filter") for r in gce_world.standin.requests if r.path.endswith("/global/images")]
    assert filters[:2] == ['name eq "myapp.*"', 'name eq "myapp.*"']


def test_find_images_by_labels_and_description_tags(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    by_label = gce_cloud.find_images("gce-test", GCE_REGION, package="myapp", tags={"appversion": "0-9-0"})
    assert [i.name for i in by_label] == [gce_world.old_image] and by_label[0].tags == {"appversion": "0-9-0"}
    gce_world.insert_image("myapp-2-0-0-h3", description="appversion: myapp-2.0.0-h3, build_host: jenkins")
    by_description = gce_cloud.find_images("gce-test", GCE_REGION, tags={"AppVersion": "MYAPP-2.0.0-H3"})
    assert [i.name for i in by_description] == ["myapp-2-0-0-h3"]
    assert by_description[0].tags == {"appversion": "myapp-2.0.0-h3", "build_host": "jenkins"}
    assert gce_cloud.find_images("gce-test", GCE_REGION, package="myapp", tags={"appversion": "9"}) == []


# ---- throttling and outages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (429, None, ThrottledError),
        (403, "rateLimitExceeded", ThrottledError),
        (503, None, TransientCloudError),  # after the client's own (bounded) retries of a read
        (500, None, TransientCloudError),
        (400, None, InvalidRequestError),
        (403, None, CloudError),
    ],
)
def test_compute_errors_reach_callers_as_cloud_errors(
    gce_cloud: GceCloud, gce_world: GceWorld, status: int, reason: str | None, expected: type[CloudError]
) -> None:
    gce_world.standin.fail_next(status, method="GET", path="/instanceGroupManagers", reason=reason, times=1000)
    with pytest.raises(CloudError) as raised:
        gce_cloud.server_groups("gce-test", GCE_REGION, "myapp")
    assert type(raised.value) is expected
    assert str(raised.value).startswith(f"listing server groups in gce-test/{GCE_REGION}: ")
    gce_world.standin.reset()
    assert gce_cloud.server_groups("gce-test", GCE_REGION, "myapp") == []  # the next call goes through


def test_one_unavailable_read_is_retried_by_the_client(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    gce_world.standin.fail_next(503, method="GET", path="/instanceGroupManagers")
    assert gce_cloud.server_groups("gce-test", GCE_REGION, "myapp") == []
    assert [r.method for r in gce_world.standin.requests] == ["GET", "GET"]


def test_throttled_mutations_are_retryable(gce_cloud: GceCloud, gce_world: GceWorld) -> None:
    gce_cloud.create_server_group(_request(gce_world, "myapp-v000"))
    gce_world.standin.fail_next(429, path="/resize")
    with pytest.raises(ThrottledError, match="resizing myapp-v000"):
        gce_cloud.resize("gce-test", GCE_REGION, "myapp-v000", Capacity(3, 3, 3))
    assert isinstance(ThrottledError("x"), TransientCloudError)
    gce_cloud.resize("gce-test", GCE_REGION, "myapp-v000", Capacity(3, 3, 3))
    after = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-v000")
    assert after is not None and after.capacity.desired == 3


def test_standin_pages_and_refuses_filters_it_does_not_speak(gce_world: GceWorld) -> None:
    for n in range(3):
        gce_world.insert_image(f"paged-{n}")
    images = gce_world.clients["images"]
    pages = images.list(request={"project": GCE_PROJECT, "max_results": 2, "filter": "name eq paged-.*"})
    assert [i.name for i in pages] == ["paged-0", "paged-1", "paged-2"]
    assert [r.query.get("pageToken") for r in gce_world.standin.requests if r.method == "GET"][-2:] == [None, "2"]
    with pytest.raises(api_exceptions.BadRequest, match="Invalid list filter"):
        list(images.list(request={"project": GCE_PROJECT, "filter": "labels.a = b"}))
    with pytest.raises(api_exceptions.NotFound, match="was not found"):
        images.get(project=GCE_PROJECT, image="absent")
