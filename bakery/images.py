"""Rosco's image config (``images.yml``): for each cloud, the base OSes a bake may start from.

A base OS (``baseImage``) names its package type (``deb``/``rpm``, which picks the install recipe),
its Packer template and install script; its ``virtualizationSettings`` say where to start from:

* AWS: one entry per region and virtualization type (``hvm``/``pv``) with the source AMI (an id, or a
  name pattern resolved to the newest match among ``sourceAmiOwners`` when ``mostRecent``), the
  instance type and the ssh user. An entry may be kept to one ``baseLabel`` (release, candidate,
  previous, unstable); a bake asking for that label takes it over an entry without one.
* GCE: one source image or image family.

The file is read once (:func:`load_images`) and validated as a whole; errors name the entry and the
field in the file's own spelling (``aws.baseImages[0].virtualizationSettings[1].region: ...``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .errors import BakeRequestError, ImageConfigError

PackageType = Literal["deb", "rpm"]
VmType = Literal["hvm", "pv"]
Communicator = Literal["ssh", "none"]
LABELS = ("release", "candidate", "previous", "unstable", "foundation")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def check_file_name(value: str | None) -> str | None:
    """A file in the config dir, named without a path: no ``/``, no ``..``, no leading dot."""
    if value is not None and not _FILE_NAME.match(value):
        raise ValueError(f"'{value}' must be a plain file name in the bakery's config dir")
    return value


class BaseImage(_Model):
    """Rosco's ``BakeOptions.BaseImage``: what Deck lists, plus how to install packages on it."""

    id: str = Field(min_length=1)
    short_description: str | None = None
    detailed_description: str | None = None
    package_type: PackageType
    template_file: str | None = None
    os_type: Literal["linux"] = "linux"
    custom_repository: str | None = None
    #: the install recipe the template runs on the instance (in the config dir)
    install_script: str = "install_packages.sh"
    #: GCE: the source is an image family (Deck shows it so)
    is_image_family: bool = False

    _package_type = field_validator("package_type", mode="before")(_lower)

    @field_validator("template_file", "install_script")
    @classmethod
    def _file(cls, value: str | None) -> str | None:
        return check_file_name(value)


class AwsVirtualization(_Model):
    """Rosco's ``AWSVirtualizationSettings`` (one region and virtualization type)."""

    region: str
    virtualization_type: VmType = "hvm"
    instance_type: str = Field(min_length=1)
    #: an AMI id, or a name (glob) resolved in the region among ``sourceAmiOwners``
    source_ami: str = Field(min_length=1)
    source_ami_owners: list[str] = ["self"]
    #: with a name: take the newest match (Rosco's ``mostRecent``), else the only one
    most_recent: bool = True
    ssh_user_name: str | None = None
    base_label: str | None = None
    #: ``none``: no ssh; provisioners that run on the instance are skipped (moto, image-only bakes)
    communicator: Communicator | None = None
    spot_price: str | None = None
    spot_price_auto_product: str | None = None

    _vm = field_validator("virtualization_type", "base_label", "communicator", mode="before")(_lower)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _AWS_REGION.match(value):
            raise ValueError(f"'{value}' is not an AWS region name (like us-east-1)")
        return value

    @field_validator("base_label")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        if value is not None and value not in LABELS:
            raise ValueError(f"'{value}' is not one of {', '.join(LABELS)}")
        return value

    @field_validator("spot_price", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @property
    def source_is_id(self) -> bool:
        return is_ami_id(self.source_ami)


class AwsBaseImage(_Model):
    base_image: BaseImage
    virtualization_settings: list[AwsVirtualization] = Field(min_length=1)


class AwsImages(_Model):
    """Rosco's ``aws.bakeryDefaults``."""

    template_file: str = "aws-ebs.json"
    default_virtualization_type: VmType = "hvm"
    communicator: Communicator = "ssh"
    subnet_id: str | None = None
    vpc_id: str | None = None
    associate_public_ip_address: bool | None = None
    base_images: list[AwsBaseImage] = []

    _vm = field_validator("default_virtualization_type", "communicator", mode="before")(_lower)
    _file = field_validator("template_file")(classmethod(lambda cls, v: check_file_name(v)))

    @model_validator(mode="after")
    def _unique(self) -> AwsImages:
        _check_unique([b.base_image.id for b in self.base_images])
        return self


class GceVirtualization(_Model):
    """Rosco's ``GCEVirtualizationSettings``: an image wins over an image family."""

    source_image: str | None = None
    source_image_family: str | None = None
    ssh_user_name: str | None = None

    @model_validator(mode="after")
    def _source(self) -> GceVirtualization:
        if not (self.source_image or self.source_image_family):
            raise ValueError("sourceImage or sourceImageFamily is required")
        return self


class GceBaseImage(_Model):
    base_image: BaseImage
    virtualization_settings: GceVirtualization


class GceImages(_Model):
    """Rosco's ``google.bakeryDefaults``."""

    template_file: str = "gce.json"
    zone: str = "us-central1-f"
    network: str = "default"
    network_project_id: str | None = None
    subnetwork: str | None = None
    use_internal_ip: bool | None = None
    communicator: Communicator = "ssh"
    base_images: list[GceBaseImage] = []

    _file = field_validator("template_file")(classmethod(lambda cls, v: check_file_name(v)))
    _communicator = field_validator("communicator", mode="before")(_lower)

    @model_validator(mode="after")
    def _unique(self) -> GceImages:
        _check_unique([b.base_image.id for b in self.base_images])
        return self


class ImageConfig(_Model):
    """The whole file. A cloud that is absent has no bake options and cannot bake."""

    #: Rosco's ``debianRepository`` / ``yumRepository``: added on the instance before installing
    debian_repository: str | None = None
    yum_repository: str | None = None
    aws: AwsImages | None = None
    gce: GceImages | None = None

    @property
    def providers(self) -> dict[str, AwsImages | GceImages]:
        return {name: images for name, images in (("aws", self.aws), ("gce", self.gce)) if images is not None}


def _check_unique(ids: list[str]) -> None:
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"baseImage ids must be unique, repeated: {', '.join(repeated)}")


def is_ami_id(value: str) -> bool:
    return re.fullmatch(r"ami-[0-9a-f]{8,17}", value) is not None


def _reason(error: Any) -> str:
    parts: list[str] = []
    for p in error["loc"]:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + to_camel(str(p)))
    why = str(error["msg"]).removeprefix("Value error, ")
    return f"{''.join(parts)}: {why}" if parts else why


def parse_images(data: Any, source: str = "images.yml") -> ImageConfig:
    """Validate an already-parsed image config."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ImageConfigError(f"{source}: must be a map with aws/gce sections")
    try:
        return ImageConfig.model_validate(data)
    except ValidationError as err:
        reasons = [_reason(e) for e in err.errors(include_url=False, include_input=False, include_context=False)]
    raise ImageConfigError(f"{source}: {'; '.join(reasons)}")


def load_images(path: Path) -> ImageConfig:
    """Read and validate ``images.yml``."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ImageConfigError(f"{path}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ImageConfigError(f"{path}: not valid YAML ({err})") from None
    return parse_images(data, str(path))


def find_base_image(images: AwsImages | GceImages, base_os: str, provider: str) -> Any:
    """The ``baseImages`` entry for ``base_os`` (Rosco: "No virtualization settings found for ...")."""
    for entry in images.base_images:
        if entry.base_image.id == base_os:
            return entry
    known = ", ".join(e.base_image.id for e in images.base_images) or "none"
    raise BakeRequestError("baseOs", f"'{base_os}' is not a {provider} base image here (known: {known})")


def aws_virtualization(entry: AwsBaseImage, region: str, vm_type: str, label: str) -> AwsVirtualization:
    """The settings for one region and vm type, preferring an entry kept to ``label``."""
    matches = [v for v in entry.virtualization_settings if v.region == region and v.virtualization_type == vm_type]
    for candidate in [v for v in matches if v.base_label == label] + [v for v in matches if v.base_label is None]:
        return candidate
    raise BakeRequestError(
        "regions",
        f"no virtualization settings for region '{region}', operating system '{entry.base_image.id}', "
        f"vm type '{vm_type}' and base label '{label}'",
    )
