"""The AWS cloud: Clouddriver's rules as tables, and every operation against moto's real server."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ParamValidationError
from botocore.stub import Stubber

from providers.aws import AwsAccount, AwsAccountError, AwsCloud, aws_accounts
from providers.aws_deploy import Builder, choose_subnets, client_token, group_tags, subnet_purpose, user_data
from providers.aws_errors import error_class, translate
from providers.aws_health import (
    DRAINING,
    START_TIME_DRIFT_MS,
    classic_lb_state,
    classic_lbs_state,
    instance_state,
    platform_state,
    target_groups_state,
    target_state,
)
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
from providers.naming import Moniker, next_name
from providers.registry import build_clouds
from tests.providers.aws_fixtures import FAKE_KEY_ID, FAKE_SECRET, REGION, ZONES, AwsWorld

NOW = 1_700_000_000_000
OLD = NOW - START_TIME_DRIFT_MS - 1

# Clouddriver's health rules


@pytest.mark.parametrize(
    ("ec2_state", "lifecycle", "expected"),
    [
        ("running", "InService", UNKNOWN),
        ("pending", "Pending", DOWN),  # InstanceCachingAgent: only "running" is not Down
        ("stopped", "InService", DOWN),
        ("running", "Terminating", DOWN),
        ("running", "Terminating:Wait", DOWN),
        (None, "Pending", STARTING),
        (None, "Pending:Wait", STARTING),
        (None, "InService", UNKNOWN),
        (None, "Standby", DOWN),
        (None, None, DOWN),
    ],
)
def test_platform_state(ec2_state: str | None, lifecycle: str | None, expected: str) -> None:
    assert platform_state(ec2_state, lifecycle) == expected


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["healthy"], UP),
        (["healthy", "healthy"], UP),
        (["healthy", "initial"], STARTING),
        (["unhealthy", "initial"], STARTING),
        (["healthy", "unhealthy"], DOWN),
        (["healthy", "unavailable"], DOWN),
        (["unused", "healthy"], OUT_OF_SERVICE),
        (["unused", "unhealthy"], DOWN),
        (["draining", "healthy"], DRAINING),
        (["draining", "unused"], OUT_OF_SERVICE),
    ],
)
def test_target_groups_state(states: list[str], expected: str) -> None:
    assert target_groups_state([target_state(s) for s in states]) == expected


@pytest.mark.parametrize(
    ("state", "description", "expected"),
    [
        ("InService", "N/A", UP),
        ("OutOfService", "Instance registration is still in progress", STARTING),
        ("OutOfService", "Instance is not currently registered with the LoadBalancer.", OUT_OF_SERVICE),
        ("OutOfService", "Instance has failed at least the UnhealthyThreshold number of health checks", DOWN),
        ("Unknown", "", DOWN),
    ],
)
def test_classic_lb_state(state: str, description: str, expected: str) -> None:
    assert classic_lb_state(state, description) == expected
    assert classic_lbs_state([UP, classic_lb_state(state, description)]) == expected


@pytest.mark.parametrize(
    ("entries", "launch", "expected"),
    [
        ([UNKNOWN, UP], OLD, UP),
        ([UNKNOWN, UP, UP], OLD, UP),
        ([UNKNOWN], OLD, UNKNOWN),  # no load balancer: Unknown, as in Spinnaker
        ([UNKNOWN], NOW - 1000, STARTING),  # ...but Starting for 3 minutes after launch
        ([UNKNOWN], None, UNKNOWN),
        ([DOWN, UP], OLD, DOWN),  # a stopped instance still in a target group
        ([UNKNOWN, STARTING], OLD, STARTING),
        ([UNKNOWN, STARTING, DOWN], OLD, STARTING),
        ([UNKNOWN, OUT_OF_SERVICE], OLD, OUT_OF_SERVICE),
        ([UNKNOWN, DOWN, OUT_OF_SERVICE], OLD, DOWN),
        ([UNKNOWN, DRAINING], OLD, UNKNOWN),  # Draining is no verdict of its own
        ([UNKNOWN, DRAINING], NOW - 1000, STARTING),
        ([UNKNOWN, UP, DRAINING], OLD, UNKNOWN),
    ],
)
def test_instance_state(entries: list[str], launch: int | None, expected: str) -> None:
    assert instance_state(entries, launch, NOW) == expected


# botocore errors


@pytest.mark.parametrize(
    ("code", "status", "message", "expected"),
    [
        ("Throttling", 400, "Rate exceeded", ThrottledError),
        ("RequestLimitExceeded", 503, "", ThrottledError),
        ("TooManyRequestsException", 429, "", ThrottledError),
        ("SomethingNew", 429, "", ThrottledError),
        ("InternalError", 500, "", TransientCloudError),
        ("ServiceUnavailable", 503, "", TransientCloudError),
        ("ResourceContention", 400, "pending update", TransientCloudError),
        ("ScalingActivityInProgress", 400, "", TransientCloudError),
        ("SomethingNew", 502, "", TransientCloudError),
        ("ValidationError", 400, "1 validation error detected", InvalidRequestError),
        ("InvalidParameterValue", 400, "", InvalidRequestError),
        ("InvalidParameterCombination", 400, "", InvalidRequestError),
        ("MissingParameter", 400, "", InvalidRequestError),
        ("InvalidAMIID.Malformed", 400, "", InvalidRequestError),
        ("InvalidGroup.Duplicate", 400, "", InvalidRequestError),
        ("LimitExceeded", 400, "", InvalidRequestError),
        ("AlreadyExists", 400, "", InvalidRequestError),
        ("SomethingNew", 400, "", InvalidRequestError),
        ("ValidationError", 400, "AutoScalingGroup name not found - 'x' not found", NotFoundCloudError),
        ("InvalidAMIID.NotFound", 400, "", NotFoundCloudError),
        ("InvalidLaunchTemplateName.NotFoundException", 400, "", NotFoundCloudError),
        ("TargetGroupNotFound", 400, "", NotFoundCloudError),
        ("LoadBalancerNotFound", 400, "", NotFoundCloudError),
        ("InvalidInstanceID.NotFound", 400, "", NotFoundCloudError),
        ("SomethingNew", 404, "", NotFoundCloudError),
        ("UnauthorizedOperation", 403, "", CloudError),
        ("InvalidClientTokenId", 403, "", CloudError),
        ("AccessDenied", 403, "", CloudError),
        ("SomethingNew", None, "", CloudError),
    ],
)
def test_error_class(code: str, status: int | None, message: str, expected: type[CloudError]) -> None:
    assert error_class(code, status, message) is expected


def client_error(code: str, status: int, message: str = "boom") -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "DescribeThings")


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (client_error("Throttling", 400, "Rate exceeded"), ThrottledError),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), TransientCloudError),
        (ParamValidationError(report="MinSize must be an integer"), InvalidRequestError),
        (NoCredentialsError(), CloudError),
        (RuntimeError("?"), CloudError),
    ],
)
def test_translate(err: Exception, expected: type[CloudError]) -> None:
    translated = translate(err, "resizing app-v001 in prod/us-east-1")
    assert type(translated) is expected
    assert str(translated).startswith("resizing app-v001 in prod/us-east-1")


def test_translated_client_error_says_code_and_message() -> None:
    err = translate(client_error("Throttling", 400, "Rate exceeded"), "listing server groups in a/b")
    assert str(err) == "listing server groups in a/b: Throttling: Rate exceeded"


# deploy helpers


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"immutable_metadata": '{"purpose": "internal", "target": "ec2"}'}, ("internal", "ec2")),
        ({"immutable_metadata": '{"purpose": "external"}'}, ("external", None)),
        ({"immutable_metadata": "not json"}, (None, None)),
        ({"Name": "vpc0.internal.us-east-1a"}, ("internal (vpc0)", None)),
        ({"Name": "just-a-name"}, (None, None)),
        ({}, (None, None)),
    ],
)
def test_subnet_purpose(tags: dict[str, str], expected: tuple[str | None, str | None]) -> None:
    assert subnet_purpose({"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}) == expected


def test_choose_subnets_keeps_instance_subnets_of_the_purpose_in_the_zones() -> None:
    def subnet(sid: str, zone: str, meta: str) -> dict[str, Any]:
        return {"SubnetId": sid, "AvailabilityZone": zone, "Tags": [{"Key": "immutable_metadata", "Value": meta}]}

    subnets = [
        subnet("s-b", "z-b", '{"purpose": "internal"}'),
        subnet("s-a", "z-a", '{"purpose": "internal", "target": "ec2"}'),
        subnet("s-elb", "z-a", '{"purpose": "internal", "target": "elb"}'),
        subnet("s-ext", "z-a", '{"purpose": "external"}'),
    ]
    assert [s["SubnetId"] for s in choose_subnets(subnets, "internal", [])] == ["s-a", "s-b"]
    assert [s["SubnetId"] for s in choose_subnets(subnets, "internal", ["z-b"])] == ["s-b"]


def test_user_data_tags_and_token() -> None:
    assert user_data("#!/bin/sh\necho hi") == "IyEvYmluL3NoCmVjaG8gaGk="
    assert user_data("IyEvYmluL3NoCmVjaG8gaGk=") == "IyEvYmluL3NoCmVjaG8gaGk="
    assert user_data(None) is None
    request = CreateServerGroupRequest("app--canary-v003", "a", REGION, "ami-1", Capacity(), tags={"team": "x"})
    assert group_tags(request) == {"team": "x", "spinnaker:application": "app", "spinnaker:details": "canary"}
    data = {"ImageId": "ami-1", "InstanceType": "t3.micro"}
    assert client_token("a", REGION, "app-v001", data) == client_token("a", REGION, "app-v001", dict(data))
    assert client_token("a", REGION, "app-v001", data) != client_token("a", REGION, "app-v002", data)
    assert client_token("a", REGION, "app-v001", data) != client_token("a", REGION, "app-v001", {"ImageId": "ami-2"})
    assert len(client_token("a", REGION, "app-v001", data)) <= 64


# accounts


def test_aws_accounts_reads_clouddriver_and_snake_case_keys() -> None:
    accounts = aws_accounts(
        [
            {"name": "gce-one", "type": "gce", "project": "p"},
            {
                "name": "prod",
                "cloudProvider": "aws",
                "accountId": "123456789012",
                "regions": [{"name": "us-east-1"}, {"name": "eu-west-1"}],
                "assumeRole": "role/spinnakerManaged",
                "defaultKeyPair": "prod-keypair",
                "defaultSubnetType": "internal",
                "permissions": {"READ": ["ops"]},
            },
            {
                "name": "dev",
                "type": "AWS",
                "regions": ["us-west-2"],
                "access_key_id": "AKIA1",
                "secret_access_key": "s",
            },
        ]
    )
    prod, dev = accounts
    assert [a.name for a in accounts] == ["prod", "dev"]
    assert prod.regions == ["us-east-1", "eu-west-1"]
    assert prod.role == "arn:aws:iam::123456789012:role/spinnakerManaged"
    assert (prod.default_key_pair, prod.default_subnet_type, prod.image_owners) == (
        "prod-keypair",
        "internal",
        ["self"],
    )
    assert dev.access_key_id is not None and dev.access_key_id.get_secret_value() == "AKIA1"
    assert dev.role is None


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"regions": ["us-east-1"]}, "accounts[0]: name: Field required"),
        ({"name": "a"}, "accounts[0] (a): regions: Field required"),
        ({"name": "a", "regions": []}, "regions: needs at least one region"),
        ({"name": "a", "regions": ["mars-1"]}, "regions: ['mars-1'] are not AWS region names"),
        ({"name": "a", "regions": ["us-east-1"], "accessKeyId": "AKIA1"}, "secretAccessKey: accessKeyId and"),
        ({"name": "a", "regions": ["us-east-1"], "secretAccessKey": FAKE_SECRET}, "accessKeyId: accessKeyId and"),
        ({"name": "a", "regions": ["us-east-1"], "assumeRole": "role/x"}, "accountId: needed to turn"),
        ({"name": "a", "regions": ["us-east-1"], "accountId": "12"}, "accountId: must be the 12-digit"),
        ({"name": "a", "regions": ["us-east-1"], "endpointUrl": "localhost:5000"}, "endpointUrl: must be an http(s)"),
        ({"name": "a", "regions": ["us-east-1"], "secretAccessKey": 1234567}, "secretAccessKey: Input should be"),
    ],
)
def test_aws_accounts_errors_name_the_field(entry: dict[str, Any], says: str) -> None:
    with pytest.raises(AwsAccountError) as raised:
        aws_accounts([{"type": "aws", **entry}])
    assert says in str(raised.value)
    assert FAKE_SECRET not in str(raised.value) and "1234567" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None  # pydantic's text repeats input


def test_aws_accounts_refuses_duplicate_names() -> None:
    entry = {"type": "aws", "name": "prod", "regions": ["us-east-1"]}
    with pytest.raises(AwsAccountError, match="repeated: prod"):
        aws_accounts([entry, entry])


def test_secrets_stay_out_of_reprs_dumps_errors_and_logs(
    aws_cloud: AwsCloud, aws_account: AwsAccount, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for text in (repr(aws_account), str(aws_account), aws_account.model_dump_json(), repr(aws_cloud)):
        assert FAKE_SECRET not in text and FAKE_KEY_ID not in text
    with pytest.raises(NotFoundCloudError) as raised:
        aws_cloud.resize("test", REGION, "nope-v000", Capacity(1, 1, 1))
    aws_cloud.server_groups("test", REGION)
    for text in (str(raised.value), caplog.text):
        assert FAKE_SECRET not in text


def test_registry_builds_the_aws_cloud(moto_endpoint: str) -> None:
    clouds = build_clouds([{"name": "a", "type": "aws", "regions": ["us-east-1"], "endpointUrl": moto_endpoint}])
    assert isinstance(clouds["aws"], AwsCloud) and clouds["aws"].accounts() == ["a"]


# against moto


def request(world: AwsWorld, name: str = "myapp-prod-v000", **kw: Any) -> CreateServerGroupRequest:
    fields: dict[str, Any] = {
        "capacity": Capacity(2, 2, 2),
        "instance_type": "t3.micro",
        "subnet_type": "internal",
        "target_groups": [world.target_group_name],
        "load_balancers": [world.classic_lb],
        "security_groups": [world.security_group_name],
        "tags": {"team": "gennaker"},
        **kw,
    }
    return CreateServerGroupRequest(name=name, account="test", region=REGION, image_id=world.image_id, **fields)


def test_accounts_and_regions(aws_cloud: AwsCloud) -> None:
    assert aws_cloud.accounts() == ["test"]
    assert aws_cloud.regions("test") == [REGION, "us-west-2"]
    with pytest.raises(NotFoundCloudError, match="no AWS account named 'other'"):
        aws_cloud.regions("other")
    with pytest.raises(NotFoundCloudError, match="eu-west-1 is not one of account test's regions"):
        aws_cloud.server_groups("test", "eu-west-1")


def test_create_twice_makes_one_group(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    group = aws_cloud.create_server_group(request(aws_world))
    assert (group.name, group.cluster, group.cloud_provider) == ("myapp-prod-v000", "myapp-prod", "aws")
    assert group.capacity == Capacity(2, 2, 2) and not group.disabled
    assert (group.image_id, group.image_name, group.instance_type) == (
        aws_world.image_id,
        aws_world.image_name,
        "t3.micro",
    )
    assert group.target_groups == ["myapp-web"] and group.load_balancers == ["myapp-classic"]
    assert group.security_groups == [aws_world.security_group_id]
    assert group.tags["spinnaker:application"] == "myapp" and group.tags["spinnaker:stack"] == "prod"
    assert "spinnaker:details" not in group.tags and group.tags["team"] == "gennaker"
    assert sorted(group.zones) == ZONES
    assert len(group.instances) == 2 and {i.health_state for i in group.instances} == {UP}
    assert group.healthy_count() == 2 and all(i.private_ip and i.zone in ZONES for i in group.instances)
    assert group.launch_config["launchTemplateName"] == "myapp-prod-v000"
    assert group.launch_config["launchTemplateData"]["imageId"] == aws_world.image_id
    asg = aws_world.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["myapp-prod-v000"])
    subnets = asg["AutoScalingGroups"][0]["VPCZoneIdentifier"].split(",")
    assert sorted(subnets) == sorted(aws_world.subnet_ids)  # not the elb-only nor the external subnet

    again = aws_cloud.create_server_group(request(aws_world, instance_type="m5.large"))
    assert again.created_ms == group.created_ms and again.instance_type == "t3.micro"
    assert len(aws_world.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]) == 1
    assert len(aws_world.ec2.describe_launch_templates()["LaunchTemplates"]) == 1
    assert aws_world.target_ids() == {i.id for i in group.instances} == aws_world.classic_ids()


def test_create_completes_after_a_crash_between_template_and_group(
    aws_cloud: AwsCloud, aws_world: AwsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Builder.create_group

    def crash(self: Builder, *args: Any) -> None:
        monkeypatch.setattr(Builder, "create_group", real)
        raise RuntimeError("worker died")

    monkeypatch.setattr(Builder, "create_group", crash)
    with pytest.raises(RuntimeError):
        aws_cloud.create_server_group(request(aws_world))
    templates = aws_world.ec2.describe_launch_templates()["LaunchTemplates"]
    assert [t["LaunchTemplateName"] for t in templates] == ["myapp-prod-v000"]
    assert aws_cloud.server_group("test", REGION, "myapp-prod-v000") is None

    group = aws_cloud.create_server_group(request(aws_world))
    assert group.launch_config["launchTemplateId"] == templates[0]["LaunchTemplateId"]
    assert len(aws_world.ec2.describe_launch_templates()["LaunchTemplates"]) == 1
    assert len(group.instances) == 2


def test_create_by_zones_and_image_name(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    req = request(aws_world, "myapp-v000", subnet_type=None, zones=[ZONES[1]], target_groups=[], load_balancers=[])
    req.image_id = aws_world.image_name
    req.security_groups = [aws_world.security_group_id]
    group = aws_cloud.create_server_group(req)
    assert group.zones == [ZONES[1]] and group.image_id == aws_world.image_id
    assert all(i.zone == ZONES[1] for i in group.instances)
    assert {i.health_state for i in group.instances} == {STARTING}  # no load balancer, just launched


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"target_groups": ["nope"]}, NotFoundCloudError, "targetGroups: ['nope'] not found in test/us-east-1"),
        ({"subnet_type": "dmz"}, InvalidRequestError, "subnetType: no subnet for instances tagged with purpose 'dmz'"),
        ({"security_groups": ["nope"]}, InvalidRequestError, "securityGroups: ['nope'] not found"),
        ({"capacity": Capacity(3, 2, 2)}, InvalidRequestError, "capacity: myapp-prod-v000 needs 0 <= min"),
        ({"image_id": "no-such-image"}, NotFoundCloudError, "imageId: no image named 'no-such-image'"),
    ],
)
def test_create_refuses_what_cannot_work(
    aws_cloud: AwsCloud, aws_world: AwsWorld, change: dict[str, Any], error: type[CloudError], says: str
) -> None:
    req = request(aws_world)
    for key, value in change.items():
        setattr(req, key, value)
    with pytest.raises(error) as raised:
        aws_cloud.create_server_group(req)
    assert says in str(raised.value)
    assert aws_world.ec2.describe_launch_templates()["LaunchTemplates"] == []


def test_create_takes_a_group_that_appeared_meanwhile(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    """AlreadyExists from CreateAutoScalingGroup / CreateLaunchTemplate (moto does not raise them)."""
    account = aws_cloud.clients.account("test")
    builder = Builder(account, REGION, aws_world.ec2, aws_world.elbv2, aws_world.autoscaling)
    req = request(aws_world)
    with Stubber(aws_world.autoscaling) as stub:
        stub.add_client_error("create_auto_scaling_group", "AlreadyExists", "exists", 400)
        builder.create_group(req, {"LaunchTemplateId": "lt-1", "Version": "1"}, {"AvailabilityZones": ZONES}, [])
    template = {"LaunchTemplateId": "lt-0123", "LaunchTemplateName": req.name, "LatestVersionNumber": 1}
    with Stubber(aws_world.ec2) as stub:
        stub.add_client_error("describe_launch_templates", "InvalidLaunchTemplateName.NotFoundException", "", 400)
        stub.add_client_error("create_launch_template", "InvalidLaunchTemplateName.AlreadyExistsException", "", 400)
        stub.add_response("describe_launch_templates", {"LaunchTemplates": [template]})
        stub.add_response("describe_launch_templates", {"LaunchTemplates": [template]})
        assert builder.launch_template(req, {"ImageId": aws_world.image_id}) == {
            "LaunchTemplateId": "lt-0123",
            "Version": "1",
        }


def test_create_does_not_take_a_deleted_template_for_its_token(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    """A group destroyed and deployed again under the same name repeats the token; AWS then answers
    with the deleted template (moto ignores tokens, so botocore's Stubber plays AWS)."""
    builder = Builder(aws_cloud.clients.account("test"), REGION, aws_world.ec2, aws_world.elbv2, aws_world.autoscaling)
    req = request(aws_world)
    old = {"LaunchTemplateId": "lt-0old", "LaunchTemplateName": req.name, "LatestVersionNumber": 1}
    new = {**old, "LaunchTemplateId": "lt-0new"}
    with Stubber(aws_world.ec2) as stub:
        stub.add_client_error("describe_launch_templates", "InvalidLaunchTemplateName.NotFoundException", "", 400)
        stub.add_response("create_launch_template", {"LaunchTemplate": old})
        stub.add_client_error("describe_launch_templates", "InvalidLaunchTemplateName.NotFoundException", "", 400)
        stub.add_response("create_launch_template", {"LaunchTemplate": new})
        assert builder.launch_template(req, {"ImageId": aws_world.image_id})["LaunchTemplateId"] == "lt-0new"
        stub.assert_no_pending_responses()


def test_clusters_oldest_first_and_next_name(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    plain = {"target_groups": [], "load_balancers": [], "capacity": Capacity(0, 1, 0)}
    for name in ("myapp-prod-v005", "myapp-prod-v003", "myapp-prod-canary-v000", "myapp-v001", "other-prod-v007"):
        aws_cloud.create_server_group(request(aws_world, name, **plain))
    prod = aws_cloud.server_groups("test", REGION, "myapp-prod")
    assert [g.name for g in prod] == ["myapp-prod-v005", "myapp-prod-v003"]  # by creation, not by name
    assert prod[0].created_ms <= prod[1].created_ms
    assert [g.name for g in aws_cloud.server_groups("test", REGION, "myapp-prod-canary")] == ["myapp-prod-canary-v000"]
    assert len(aws_cloud.server_groups("test", REGION)) == 5
    assert aws_cloud.server_groups("test", "us-west-2") == []
    existing = [(g.name, g.created_ms) for g in aws_cloud.server_groups("test", REGION)]
    assert next_name(Moniker.of("myapp", "prod"), existing) == "myapp-prod-v004"  # one past the newest (v003)
    assert next_name(Moniker.of("myapp", "prod", "canary"), existing) == "myapp-prod-canary-v001"
    assert next_name(Moniker.of("myapp", "staging"), existing) == "myapp-staging-v000"


def test_resize(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    aws_cloud.create_server_group(request(aws_world, capacity=Capacity(1, 1, 1)))
    aws_cloud.resize("test", REGION, "myapp-prod-v000", Capacity(2, 4, 3))
    aws_cloud.resize("test", REGION, "myapp-prod-v000", Capacity(2, 4, 3))
    group = aws_cloud.server_group("test", REGION, "myapp-prod-v000")
    assert group is not None and group.capacity == Capacity(2, 4, 3) and len(group.instances) == 3
    with pytest.raises(InvalidRequestError):
        aws_cloud.resize("test", REGION, "myapp-prod-v000", Capacity(2, 1, 1))
    with pytest.raises(NotFoundCloudError, match="serverGroupName: myapp-prod-v009 not found"):
        aws_cloud.resize("test", REGION, "myapp-prod-v009", Capacity(1, 1, 1))


def test_disable_and_enable(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    group = aws_cloud.create_server_group(request(aws_world, load_balancers=[]))
    ids = {i.id for i in group.instances}
    assert aws_world.target_ids() == ids

    aws_cloud.disable("test", REGION, group.name)
    aws_cloud.disable("test", REGION, group.name)
    assert aws_world.suspended(group.name) == {"Launch", "Terminate", "AddToLoadBalancer"}
    assert aws_world.target_ids() == set()
    disabled = aws_cloud.server_group("test", REGION, group.name)
    assert disabled is not None and disabled.disabled and disabled.healthy_count() == 0
    assert disabled.to_json()["isDisabled"] is True

    aws_cloud.enable("test", REGION, group.name)
    assert aws_world.suspended(group.name) == set()
    assert aws_world.target_ids() == ids
    enabled = aws_cloud.server_group("test", REGION, group.name)
    assert enabled is not None and not enabled.disabled and enabled.healthy_count() == 2

    aws_cloud.disable("test", REGION, "myapp-prod-v042")  # missing: nothing to do, as in Clouddriver
    aws_cloud.enable("test", REGION, "myapp-prod-v042")


def test_disable_and_enable_classic_load_balancers(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    """moto keeps the instances an ASG put in a classic ELB in a list of their own, which
    DeregisterInstancesFromLoadBalancer never touches: the calls are checked as botocore sends them."""
    group = aws_cloud.create_server_group(request(aws_world, target_groups=[]))
    ids = {i.id for i in group.instances}
    assert aws_world.classic_ids() == ids and group.healthy_count() == 2
    sent: list[tuple[str, str, set[str]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if "Instances" in params:
            sent.append((model.name, params["LoadBalancerName"], {i["InstanceId"] for i in params["Instances"]}))

    events = aws_cloud._client("test", REGION, "elb").meta.events
    events.register("provide-client-params.elastic-load-balancing", record)
    aws_cloud.disable("test", REGION, group.name)
    aws_cloud.enable("test", REGION, group.name)
    assert sent == [
        ("DeregisterInstancesFromLoadBalancer", "myapp-classic", ids),
        ("RegisterInstancesWithLoadBalancer", "myapp-classic", ids),
    ]


def test_destroy_twice_is_harmless(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    group = aws_cloud.create_server_group(request(aws_world))
    aws_cloud.destroy("test", REGION, group.name)
    aws_cloud.destroy("test", REGION, group.name)
    assert aws_cloud.server_group("test", REGION, group.name) is None
    assert aws_world.ec2.describe_launch_templates()["LaunchTemplates"] == []
    described = aws_world.ec2.describe_instances(InstanceIds=[i.id for i in group.instances])
    states = {i["State"]["Name"] for r in described["Reservations"] for i in r["Instances"]}
    assert states <= {"shutting-down", "terminated"}


def test_destroy_removes_a_template_left_by_a_crashed_create(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    data = {"ImageId": aws_world.image_id, "InstanceType": "t3.micro"}
    aws_world.ec2.create_launch_template(LaunchTemplateName="myapp-prod-v001", LaunchTemplateData=data)
    aws_cloud.destroy("test", REGION, "myapp-prod-v001")
    assert aws_world.ec2.describe_launch_templates()["LaunchTemplates"] == []


def test_find_images_by_prefix_and_tags(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    aws_world.ec2.register_image(Name="other-1.0.0", RootDeviceName="/dev/sda1")
    found = aws_cloud.find_images("test", REGION, package="myapp")
    assert [i.name for i in found] == ["myapp-1.0.0-h2", "myapp-0.9.0-h1"]  # newest first (name breaks ties)
    assert found[0].id == aws_world.image_id and found[0].region == REGION and found[0].created_ms
    tagged = aws_cloud.find_images("test", REGION, package="myapp", tags={"appversion": "1.0.0"})
    assert [i.id for i in tagged] == [aws_world.image_id] and tagged[0].tags == {"appversion": "1.0.0"}
    assert aws_cloud.find_images("test", REGION, tags={"appversion": "2.0.0"}) == []
    assert aws_cloud.find_images("test", REGION, package="nothing") == []
    assert aws_cloud.find_images("test", REGION, package="myapp-0.9")[0].id == aws_world.old_image_id


def test_load_balancers_and_instances_as_gate_shows_them(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    group = aws_cloud.create_server_group(request(aws_world))
    balancers = aws_cloud.load_balancers("test", REGION)
    assert [b["name"] for b in balancers] == ["myapp-classic", "myapp-frontend"]  # classic ELBs too
    balancer = balancers[1]
    assert (balancer["name"], balancer["type"], balancer["loadBalancerType"]) == (
        "myapp-frontend",
        "aws",
        "application",
    )
    assert balancer["vpcId"] == aws_world.vpc_id and sorted(balancer["availabilityZones"]) == ZONES
    (target_group,) = balancer["targetGroups"]
    assert (target_group["name"], target_group["port"]) == ("myapp-web", 8080)
    assert [s["name"] for s in target_group["serverGroups"]] == [group.name]
    assert balancer["listeners"][0]["defaultActions"][0]["targetGroupName"] == "myapp-web"
    assert balancer["moniker"]["app"] == "myapp"

    instance = aws_cloud.instance("test", REGION, group.instances[0].id)
    assert instance is not None and instance["serverGroup"] == group.name and instance["healthState"] == UP
    assert [h["type"] for h in instance["health"]] == ["Amazon", "TargetGroup", "LoadBalancer"]
    assert instance["health"][1]["targetGroups"][0]["targetGroupName"] == "myapp-web"
    assert instance["instanceType"] == "t3.micro" and instance["availabilityZone"] in ZONES
    assert aws_cloud.instance("test", REGION, "i-0000000000000000") is None
    json.dumps([balancer, instance, group.to_json()])  # what the API and the cache store must be plain JSON


def test_assumes_the_role_through_sts(moto_endpoint: str, aws_world: AwsWorld) -> None:
    account = AwsAccount(
        name="assumed",
        regions=[REGION],
        account_id="123456789012",
        role_arn="role/spinnakerManaged",
        access_key_id=FAKE_KEY_ID,
        secret_access_key=FAKE_SECRET,
        endpoint_url=moto_endpoint,
    )
    cloud = AwsCloud([account])
    try:
        assert cloud.server_groups("assumed", REGION) == []
        credentials = cloud.clients._sessions["assumed"].session.get_credentials()
        assert credentials is not None and credentials.access_key != FAKE_KEY_ID and credentials.token
    finally:
        cloud.close()
