"""From stage fields to a packer recipe: package names, appversion and image names as Rosco makes them
(cases from Rosco's ImageNameFactorySpec and package specs), request validation naming the field,
variables per cloud, and the cache key."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bakery.accounts import BakeAccounts
from bakery.command import packer_command, packer_env
from bakery.errors import BakeRequestError
from bakery.images import ImageConfig
from bakery.packages import app_version, os_package_names, packages_parameter, parse_deb, parse_rpm
from bakery.recipe import ami_suffix, image_name, plan_bake
from bakery.request import BakeRequest, bake_request
from tests.bakery.conftest import TRUSTY_AMI, XENIAL_AMI

NOW = 123456


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nflx-djangobase-enhanced_0.1-h12.170cdbd_all", ("nflx-djangobase-enhanced", "0.1", "h12.170cdbd", "all")),
        ("myapp_1.0.0-3_amd64", ("myapp", "1.0.0", "3", "amd64")),
        ("myapp_1.0.0", ("myapp", "1.0.0", None, None)),
        ("reno-server", ("reno-server", None, None, None)),
    ],
)
def test_deb_package_names(text: str, expected: tuple[Any, ...]) -> None:
    p = parse_deb(text)
    assert (p.name, p.version, p.release, p.arch) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nflx-djangobase-enhanced-0.1-h12.170cdbd.all", ("nflx-djangobase-enhanced", "0.1", "h12", "170cdbd.all")),
        ("myapp-1.0.0-3.noarch", ("myapp", "1.0.0", "3", "noarch")),
        ("kato", ("kato", None, None, None)),
        ("redis-server", ("redis-server", None, None, None)),
    ],
)
def test_rpm_package_names(text: str, expected: tuple[Any, ...]) -> None:
    p = parse_rpm(text)
    # Rosco splits the arch off at the last dot first, so "h12.170cdbd.all" keeps "170cdbd" in the release
    assert (p.name, p.version) == expected[:2]


def request(**fields: Any) -> BakeRequest:
    return bake_request({"baseOs": "ubuntu", **fields}, "us-east-1")


@pytest.mark.parametrize(
    ("fields", "name", "version", "packages"),
    [
        (
            {"package": "nflx-djangobase-enhanced_0.1-3_all", "buildNumber": "12", "commitHash": "170cdbd"},
            "nflx-djangobase-enhanced-all-123456-ubuntu",
            "nflx-djangobase-enhanced-0.1-h12.170cdbd",
            "nflx-djangobase-enhanced=0.1-3",
        ),
        (
            {"package": "nflx-djangobase-enhanced_0.1-3_all", "buildNumber": "12"},
            "nflx-djangobase-enhanced-all-123456-ubuntu",
            "nflx-djangobase-enhanced-0.1-h12",
            "nflx-djangobase-enhanced=0.1-3",
        ),
        (
            {"package": "nflx-djangobase-enhanced_0.1-3_all", "amiName": "nflx-base"},
            "nflx-base-all-123456-ubuntu",
            "nflx-djangobase-enhanced-0.1",
            "nflx-djangobase-enhanced=0.1-3",
        ),
        (
            {"package": "nflx-djangobase-enhanced_0.1-3_all", "amiSuffix": "1.0"},
            "nflx-djangobase-enhanced-all-1.0-ubuntu",
            "nflx-djangobase-enhanced-0.1",
            "nflx-djangobase-enhanced=0.1-3",
        ),
        (
            {"package": "nflx-djangobase-enhanced_0.1-3_all", "amiName": "nflx-base", "amiSuffix": "1.0"},
            "nflx-base-all-1.0-ubuntu",
            "nflx-djangobase-enhanced-0.1",
            "nflx-djangobase-enhanced=0.1-3",
        ),
        ({"package": "reno-server"}, "reno-server-all-123456-ubuntu", None, "reno-server"),
        (
            {"package": "kato nflx-djangobase-enhanced_0.1-3_all redis-server", "buildNumber": "12"},
            "kato-all-123456-ubuntu",
            None,
            "kato nflx-djangobase-enhanced=0.1-3 redis-server",
        ),
        (
            {"package": "myapp_1.0.0-3_amd64", "buildNumber": "7", "job": "folder/myapp-build"},
            "myapp-amd64-123456-ubuntu",
            "myapp-1.0.0-h7/folder-myapp-build/7",
            "myapp=1.0.0-3",
        ),
        ({"package": ""}, "all-123456-ubuntu", None, ""),
    ],
)
def test_image_names_and_appversion_as_rosco_makes_them(
    fields: dict[str, Any], name: str, version: str | None, packages: str
) -> None:
    req = request(**fields)
    parsed = os_package_names(list(req.packages), "deb")
    assert image_name(req, parsed, NOW) == name
    first = parsed[0] if parsed else None
    assert app_version(first, "deb", req.build_number, req.commit_hash, req.job) == version
    assert packages_parameter(parsed, "deb") == packages


def test_rpm_packages_are_pinned_with_a_dash() -> None:
    parsed = os_package_names(["myapp-1.0.0-3.noarch", "kato"], "rpm")
    assert packages_parameter(parsed, "rpm") == "myapp-1.0.0-3 kato"
    assert image_name(request(package="myapp-1.0.0-3.noarch"), parsed, NOW) == "myapp-noarch-123456-ubuntu"


def test_orca_default_ami_suffix() -> None:
    assert ami_suffix(1_700_000_000_000) == "20231114221320"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"baseOs": None}, "baseOs: which base image to bake on"),
        ({"baseLabel": "nightly"}, "baseLabel: 'nightly' is not one of release, candidate, previous, unstable"),
        ({"cloudProviderType": "azure"}, "cloudProviderType: 'azure' is not one of aws, gce"),
        ({"vmType": "metal"}, "vmType: 'metal' is not one of hvm, pv"),
        ({"storeType": "nfs"}, "storeType: 'nfs' is not one of ebs, s3, docker"),
        ({"templateFileName": "../../etc/shadow"}, "templateFileName: '../../etc/shadow' must be a plain file name"),
        ({"varFileName": "/etc/passwd"}, "varFileName: '/etc/passwd' must be a plain file name"),
        ({"package": "ok $(reboot)"}, "package: '$(reboot)' is not a package name"),
        ({"package": "a;b"}, "package: 'a;b' is not a package name"),
        ({"package": "{{env`HOME`}}"}, "is not a package name"),
        ({"package": ["a", "b"]}, "package: must be a string of space-separated package names"),
        ({"extendedAttributes": "a=b"}, "extendedAttributes: must be a map of packer variable names"),
        ({"extendedAttributes": {"bad key": "x"}}, "extendedAttributes: 'bad key' is not a packer variable name"),
        ({"extendedAttributes": {"-var": "x"}}, "extendedAttributes: '-var' is not a packer variable name"),
        ({"extendedAttributes": {"x": {"nested": 1}}}, "extendedAttributes.x: must be a string, number or boolean"),
        ({"amiName": {"a": 1}}, "amiName: must be a string, got dict"),
        ({"amiName": "x" * 200}, "amiName: at most 128 characters"),
    ],
)
def test_invalid_requests_name_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(BakeRequestError) as err:
        bake_request({"baseOs": "xenial", **fields}, "us-east-1")
    assert message in str(err.value)


def test_request_fields_and_defaults() -> None:
    req = bake_request(
        {
            "baseOs": "xenial",
            "package": "  a   b ",
            "rebake": "TRUE",
            "enhancedNetworking": True,
            "extendedAttributes": {"flag": True, "count": 3, "skip": None, "text": " v "},
        },
        "us-east-1",
        {"rebake": False},
    )
    assert req.packages == ("a", "b") and req.rebake and req.enhanced_networking
    assert req.cloud_provider_type == "aws" and req.base_label == "release" and req.vm_type is None
    assert req.extended_attributes == {"flag": "true", "count": "3", "text": "v"}
    assert bake_request({"baseOs": "x"}, "r", {"rebake": True}).rebake  # a trigger may ask for a rebake


def plan(images: ImageConfig, config_dir: Path, accounts: BakeAccounts, **fields: Any) -> Any:
    req = bake_request(
        {"baseOs": "xenial", "package": "myapp_1.0.0-h12_all", **fields}, fields.pop("region", "us-east-1")
    )
    return plan_bake(req, images, config_dir, accounts, NOW)


def test_aws_recipe(images: ImageConfig, config_dir: Path, accounts: BakeAccounts) -> None:
    recipe = plan(images, config_dir, accounts, amiSuffix="20240101", buildNumber="12", enhancedNetworking=True)
    assert recipe.source_image == XENIAL_AMI  # the name pattern resolved in moto
    assert recipe.image_name == "myapp-all-20240101-xenial"
    assert recipe.account == "test" and recipe.communicator == "none"
    assert recipe.template == str(config_dir / "aws-ebs.json")
    assert recipe.variables == {
        "appversion": "myapp-1.0.0-h12",
        "package_type": "deb",
        "packages": "myapp=1.0.0-h12",
        "aws_region": "us-east-1",
        "aws_instance_type": "t2.micro",
        "aws_source_ami": XENIAL_AMI,
        "aws_target_ami": "myapp-all-20240101-xenial",
        "aws_ssh_username": "ubuntu",
        "aws_ena_support": "true",
        "aws_endpoint": accounts.aws("test").endpoint_url,  # type: ignore[union-attr]
        "configDir": str(config_dir),
        "install_script": "install_packages.sh",
    }
    candidate = plan(images, config_dir, accounts, baseLabel="candidate")
    assert candidate.source_image == TRUSTY_AMI
    explicit = plan(images, config_dir, accounts, baseAmi="ami-0123456789abcdef0")
    assert explicit.variables["aws_source_ami"] == "ami-0123456789abcdef0"
    rpm = plan(images, config_dir, accounts, baseOs="centos", package="myapp-1.0.0-3.noarch")
    assert rpm.variables["repository"] == "https://user:token@repo.example.com/yum"
    assert (rpm.package_type, rpm.variables["packages"]) == ("rpm", "myapp-1.0.0-3")


def test_extended_attributes_become_variables(images: ImageConfig, config_dir: Path, accounts: BakeAccounts) -> None:
    recipe = plan(
        images, config_dir, accounts, extendedAttributes={"copy_to": "111, 222", "aws_instance_type": "m5.large"}
    )
    assert recipe.variables["copy_to_1"] == "111" and recipe.variables["copy_to_2"] == "222"
    assert recipe.variables["aws_instance_type"] == "m5.large"  # as in Rosco, attributes win
    for reserved in ("configDir", "install_script", "aws_endpoint", "aws_secret_key", "gce_account_file"):
        with pytest.raises(BakeRequestError, match=f"extendedAttributes.{reserved}: is set by the bakery"):
            plan(images, config_dir, accounts, extendedAttributes={reserved: "/etc"})


def test_vm_type_and_store_type(images: ImageConfig, config_dir: Path, accounts: BakeAccounts) -> None:
    """``vmType`` picks the virtualization settings (instance type, source image); both are in the cache key."""
    hvm = plan(images, config_dir, accounts, amiSuffix="1")
    pv = plan(images, config_dir, accounts, amiSuffix="1", vmType="pv")
    assert (pv.source_image, pv.variables["aws_instance_type"]) == (TRUSTY_AMI, "m1.small")
    assert (hvm.source_image, hvm.variables["aws_instance_type"]) == (XENIAL_AMI, "t2.micro")
    assert pv.key != hvm.key
    assert plan(images, config_dir, accounts, amiSuffix="1", vmType="HVM").key == hvm.key  # the default, any case
    s3 = plan(images, config_dir, accounts, amiSuffix="1", storeType="s3")
    assert s3.key != hvm.key and s3.template == hvm.template  # the template decides how it is stored (Rosco)
    with pytest.raises(BakeRequestError, match="vm type 'pv'"):
        plan(images, config_dir, accounts, region="us-west-2", vmType="pv")


def test_request_errors_from_the_recipe(images: ImageConfig, config_dir: Path, accounts: BakeAccounts) -> None:
    cases = [
        ({"templateFileName": "nope.json"}, "templateFileName: no file 'nope.json' in the bakery's config dir"),
        ({"varFileName": "nope.json"}, "varFileName: no file 'nope.json'"),
        ({"baseOs": "windows"}, "baseOs: 'windows' is not a aws base image here"),
        ({"region": "eu-west-1"}, "regions: no virtualization settings for region 'eu-west-1'"),
        ({"account": "prod"}, "account: no AWS account named 'prod' (known: test)"),
        ({"baseAmi": "no-such-image-*"}, "baseAmi: no hvm AMI named 'no-such-image-*'"),
    ]
    for fields, message in cases:
        with pytest.raises(BakeRequestError) as err:
            plan(images, config_dir, accounts, **fields)
        assert message in str(err.value), fields


def test_cache_key(images: ImageConfig, config_dir: Path, accounts: BakeAccounts, tmp_path: Path) -> None:
    base = plan(images, config_dir, accounts, amiSuffix="1")
    assert plan(images, config_dir, accounts, amiSuffix="2").key == base.key  # the name is not part of it
    assert plan(images, config_dir, accounts, amiSuffix="1", user="someone").key == base.key
    for different in (
        {"package": "myapp_1.0.1-h13_all"},
        {"region": "us-west-2"},
        {"baseLabel": "candidate"},
        {"amiName": "other"},
        {"extendedAttributes": {"x": "1"}},
        {"templateFileName": "aws-ebs-slow.json"},
        {"varFileName": "vars.json"},
        {"enhancedNetworking": True},
        {"buildNumber": "99"},
    ):
        assert plan(images, config_dir, accounts, amiSuffix="1", **different).key != base.key, different
    # a changed template (same name) is a new key
    copy = tmp_path / "config"
    shutil.copytree(config_dir, copy)
    template = json.loads((copy / "aws-ebs.json").read_text())
    template["builders"][0]["tags"]["extra"] = "x"
    (copy / "aws-ebs.json").write_text(json.dumps(template))
    req = bake_request({"baseOs": "xenial", "package": "myapp_1.0.0-h12_all", "amiSuffix": "1"}, "us-east-1")
    assert plan_bake(req, images, copy, accounts, NOW).key != base.key


def test_packages_come_from_the_trigger_build(images: ImageConfig, config_dir: Path, accounts: BakeAccounts) -> None:
    trigger = {
        "type": "jenkins",
        "buildInfo": {
            "name": "folder/myapp",
            "number": 42,
            "url": "https://ci.example.com/job/folder/job/myapp/42/",
            "artifacts": [
                {"fileName": "kato_$(reboot)_all.deb"},  # not a package name: ignored
                {"fileName": "myapp_2.0.0-h42_all.deb"},
                {"fileName": "other.txt"},
            ],
            "scm": [{"sha1": "abc123", "branch": "main"}],
        },
    }
    req = bake_request({"baseOs": "xenial", "package": "myapp kato"}, "us-east-1", trigger)
    recipe = plan_bake(req, images, config_dir, accounts, NOW)
    assert recipe.packages == "myapp_2.0.0-h42_all kato"
    assert recipe.variables["packages"] == "myapp=2.0.0-h42 kato"
    assert recipe.variables["appversion"] == "myapp-2.0.0-h42.abc123/folder-myapp/42"
    assert recipe.variables["build_host"] == "https://ci.example.com/"
    assert recipe.variables["build_info_url"] == "https://ci.example.com/job/folder/job/myapp/42/"


def test_gce_recipe_matches_the_shipped_template(
    packer: str, images: ImageConfig, config_dir: Path, accounts: BakeAccounts, tmp_path: Path
) -> None:
    """No GCE here: the generated variables are checked, then `packer validate` runs the shipped
    gce.json's googlecompute configuration with exactly the bakery's command line."""
    req = bake_request(
        {"baseOs": "bookworm", "package": "myapp_1.0.0-h12_all", "cloudProviderType": "gce", "amiSuffix": "1"},
        "us-central1",
    )
    recipe = plan_bake(req, images, config_dir, accounts, NOW)
    assert recipe.variables == {
        "package_type": "deb",
        "packages": "myapp=1.0.0-h12",
        "gce_project_id": "my-project",
        "gce_zone": "us-central1-f",
        "gce_network": "default",
        "gce_target_image": "myapp-all-1-bookworm",
        "gce_source_image_family": "debian-12",
        "configDir": str(config_dir),
        "install_script": "install_packages.sh",
    }
    assert recipe.account == "gce-test" and recipe.source_image == "family/debian-12"
    pinned = plan_bake(replace(req, base_os="pinned"), images, config_dir, accounts, NOW)
    assert pinned.variables["gce_source_image"] == "rocky-linux-9-v20240101"
    assert "gce_source_image_family" not in pinned.variables
    assert pinned.variables["gce_ssh_username"] == "rocky"

    def validate(recipe: Any) -> subprocess.CompletedProcess[str]:
        command = packer_command(packer, recipe)
        command[1:4] = ["validate"]  # instead of: build -machine-readable -color=false
        env = packer_env(tmp_path, {})
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    checked = validate(recipe)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    missing = {k: v for k, v in recipe.variables.items() if k != "gce_project_id"}
    checked = validate(replace(recipe, variables=missing))
    assert checked.returncode != 0 and "gce_project_id" in checked.stdout + checked.stderr
    with pytest.raises(BakeRequestError, match="account: no GCE account named 'aws-only'"):
        plan_bake(replace(req, account="aws-only"), images, config_dir, accounts, NOW)
