"""images.yml (Rosco's image config): loading, validation errors that name the field, base image and
label selection, and the bake options Gate serves from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bakery.errors import BakeOptionsNotFoundError, BakeRequestError, ImageConfigError
from bakery.images import aws_virtualization, find_base_image, load_images, parse_images
from bakery.options import bake_options, base_image_option
from core.settings.bakery import SHIPPED_IMAGES, SHIPPED_TEMPLATES
from tests.bakery.conftest import TRUSTY_AMI


def aws(*settings: dict[str, Any], **base: Any) -> dict[str, Any]:
    image = {"id": "noble", "packageType": "deb", **base}
    vs = list(settings) or [{"region": "us-east-1", "instanceType": "t3.small", "sourceAmi": "ami-12345678"}]
    return {"aws": {"baseImages": [{"baseImage": image, "virtualizationSettings": vs}]}}


def test_the_shipped_config_loads_and_names_only_shipped_templates() -> None:
    config = load_images(SHIPPED_IMAGES)
    assert {b.base_image.id for b in config.aws.base_images} >= {"noble", "jammy", "bookworm", "al2023"}
    assert {b.base_image.id for b in config.gce.base_images} >= {"noble", "bookworm", "rocky9"}
    for provider in config.providers.values():
        assert (SHIPPED_TEMPLATES / provider.template_file).is_file()
        for entry in provider.base_images:
            assert (SHIPPED_TEMPLATES / entry.base_image.install_script).is_file()
    # the YAML anchors expand to one entry per region
    noble = find_base_image(config.aws, "noble", "aws")
    assert {v.region for v in noble.virtualization_settings} >= {"us-east-1", "us-west-2", "eu-west-1"}
    assert all(v.source_ami_owners == ["099720109477"] for v in noble.virtualization_settings)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (aws(packageType="nupkg"), "aws.baseImages[0].baseImage.packageType: Input should be 'deb' or 'rpm'"),
        (aws(templateFile="../../etc/passwd"), "aws.baseImages[0].baseImage.templateFile: '../../etc/passwd' must be"),
        (aws(installScript="/bin/sh"), "aws.baseImages[0].baseImage.installScript: '/bin/sh' must be a plain file"),
        (
            aws({"region": "useast1", "instanceType": "t3", "sourceAmi": "ami-1"}),
            "aws.baseImages[0].virtualizationSettings[0].region: 'useast1' is not an AWS region",
        ),
        (
            aws({"region": "us-east-1", "instanceType": "t3", "sourceAmi": "ami-1", "baseLabel": "nightly"}),
            "virtualizationSettings[0].baseLabel: 'nightly' is not one of release, candidate",
        ),
        (
            aws({"region": "us-east-1", "sourceAmi": "ami-1"}),
            "aws.baseImages[0].virtualizationSettings[0].instanceType: Field required",
        ),
        (
            aws({"region": "us-east-1", "instanceType": "t3", "sourceAmi": "ami-1", "sourceAmy": "x"}),
            "virtualizationSettings[0].sourceAmy: Extra inputs are not permitted",
        ),
        (aws(id=""), "aws.baseImages[0].baseImage.id: String should have at least 1 character"),
        (
            {"aws": {"baseImages": [aws()["aws"]["baseImages"][0]] * 2}},
            "aws: Value error, baseImage ids must be unique, repeated: noble",
        ),
        (
            {"gce": {"baseImages": [{"baseImage": {"id": "x", "packageType": "deb"}, "virtualizationSettings": {}}]}},
            "gce.baseImages[0].virtualizationSettings: sourceImage or sourceImageFamily is required",
        ),
        ({"aws": {"communicator": "winrm"}}, "aws.communicator: Input should be 'ssh' or 'none'"),
        ({"azure": {}}, "azure: Extra inputs are not permitted"),
        (["aws"], "must be a map with aws/gce sections"),
    ],
)
def test_invalid_configs_name_the_field(data: Any, message: str) -> None:
    with pytest.raises(ImageConfigError) as err:
        parse_images(data, "images.yml")
    assert message.removeprefix("aws: Value error, ") in str(err.value)
    assert str(err.value).startswith("images.yml: ")


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ImageConfigError, match="cannot read"):
        load_images(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("aws: [unclosed")
    with pytest.raises(ImageConfigError, match="not valid YAML"):
        load_images(bad)
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    assert load_images(empty).providers == {}


def test_values_are_normalised() -> None:
    config = parse_images(
        aws(
            {
                "region": "us-east-1",
                "instanceType": "t3",
                "sourceAmi": "x-*",
                "virtualizationType": "HVM",
                "spotPrice": 0,
            }
        )
    )
    settings = config.aws.base_images[0].virtualization_settings[0]
    assert (settings.virtualization_type, settings.spot_price, settings.source_is_id) == ("hvm", "0", False)
    assert config.aws.base_images[0].base_image.package_type == "deb"


def test_base_image_and_label_selection(images: Any) -> None:
    xenial = find_base_image(images.aws, "xenial", "aws")
    assert aws_virtualization(xenial, "us-east-1", "hvm", "release").source_ami.startswith("ubuntu/")
    assert aws_virtualization(xenial, "us-east-1", "hvm", "candidate").source_ami == TRUSTY_AMI
    # a label without its own entry takes the entry without a label
    assert aws_virtualization(xenial, "us-west-2", "hvm", "candidate").source_ami.startswith("ubuntu/")
    with pytest.raises(BakeRequestError, match="regions: no virtualization settings for region 'eu-west-1'"):
        aws_virtualization(xenial, "eu-west-1", "hvm", "release")
    with pytest.raises(BakeRequestError, match="vm type .pv."):  # us-east-1 has a pv entry, us-west-2 none
        aws_virtualization(xenial, "us-west-2", "pv", "release")
    with pytest.raises(BakeRequestError, match=r"baseOs: 'windows' is not a aws base image here \(known: xenial"):
        find_base_image(images.aws, "windows", "aws")


def test_bake_options_as_gate_serves_them(images: Any) -> None:
    everything = bake_options(images)
    assert [o["cloudProvider"] for o in everything] == ["aws", "gce"]
    aws_options = bake_options(images, "aws")
    assert aws_options["baseImages"][0] == {
        "id": "xenial",
        "shortDescription": "v16.04",
        "detailedDescription": "Ubuntu Xenial Xerus v16.04 (moto's image)",
        "packageType": "DEB",
        "osType": "linux",
    }
    assert aws_options["baseImages"][1]["customRepository"] == "https://user:token@repo.example.com/yum"
    assert aws_options["baseImages"][1]["packageType"] == "RPM"
    gce = bake_options(images, "gce")
    assert gce["baseImages"][0]["isImageFamily"] is True and gce["baseImages"][1]["isImageFamily"] is False
    assert "installScript" not in str(everything) and "sourceAmi" not in str(everything)
    assert base_image_option(images, "gce", "pinned")["packageType"] == "RPM"
    with pytest.raises(BakeOptionsNotFoundError, match="Cloud provider azure not found"):
        bake_options(images, "azure")
    with pytest.raises(BakeOptionsNotFoundError, match="Can't find base image with id nope in aws base images: xen"):
        base_image_option(images, "aws", "nope")
