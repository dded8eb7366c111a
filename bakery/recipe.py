"""From a bake request to a recipe: the template, the packer variables, the image name and the cache key.

This is Rosco's ``CloudProviderBakeHandler.produceBakeRecipe`` with its AWS and GCE
``buildParameterMap`` and ``ImageNameFactory``, decided once per bake (in the ``createBake`` task) and
carried to the packer run, so retries and other regions see the same decisions.

The cache key (Rosco's ``produceBakeKey``) is a hash of everything that shapes the image: cloud,
region, account, base OS and label, the resolved source image, vm type, the template, var file and
install script (names and contents), and every packer variable except the image's own name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .accounts import BakeAccounts, endpoint_of
from .errors import BakeRequestError
from .images import AwsBaseImage, GceBaseImage, ImageConfig, aws_virtualization, find_base_image, is_ami_id
from .messages import BakeRecipe
from .packages import OsPackageName, app_version, is_package_name, os_package_names, packages_parameter
from .request import BakeRequest

KEY_VERSION = 1
#: variables the bakery sets that a request's ``extendedAttributes`` may not replace: they point packer
#: at files on the bakery host or at the cloud's endpoint
RESERVED = frozenset(
    {"configDir", "install_script", "aws_endpoint", "aws_access_key", "aws_secret_key", "gce_account_file"}
    | {"manifestFile", "artifactFile"}
)
#: Rosco unrolls these comma lists into ``copy_to_1``, ``copy_to_2``... (aws-multi-ebs.json)
UNROLLED = ("copy_to", "share_with")
#: the variable holding the image's own name, per cloud (left out of the cache key)
NAME_VARIABLE = {"aws": "aws_target_ami", "gce": "gce_target_image"}


@dataclass(frozen=True)
class _Resolved:
    packages: list[OsPackageName]
    request: BakeRequest


def ami_suffix(epoch_ms: int) -> str:
    """Orca's default ``amiSuffix``: the bake's start as ``yyyyMMddHHmmss`` (UTC)."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y%m%d%H%M%S")


def image_name(request: BakeRequest, packages: list[OsPackageName], now_ms: int) -> str:
    """Rosco's ``ImageNameFactory``: ``<amiName or first package>-<arch or all>-<amiSuffix or millis>-<baseOs>``."""
    first = packages[0] if packages else None
    base = request.ami_name or (first.name if first else "")
    arch = (first.arch if first else None) or "all"
    release = request.ami_suffix or str(now_ms)
    return "-".join(part for part in (base, arch, release, request.base_os) if part)


def _artifact_package(name: OsPackageName, package_type: str, build_info: dict[str, Any]) -> str | None:
    """A package named without a version, found among the trigger build's archived files (Orca's
    ``PackageInfo``): ``myapp`` → ``myapp_1.0.0-h12_all`` from ``myapp_1.0.0-h12_all.deb``."""
    if name.version or not isinstance(build_info.get("artifacts"), list):
        return None
    prefix = f"{name.name}{'_' if package_type == 'deb' else '-'}"
    for artifact in build_info["artifacts"]:
        file_name = artifact.get("fileName") if isinstance(artifact, dict) else None
        if isinstance(file_name, str) and file_name.startswith(prefix) and file_name.endswith(f".{package_type}"):
            found = file_name[: -len(package_type) - 1]
            if is_package_name(found):  # a file name is input too: held to the same rule as ``package``
                return found
    return None


def _build_details(build_info: dict[str, Any]) -> dict[str, str]:
    """Orca's ``DefaultDetailExtractor``: url, name and number of the build, its host and commit."""
    url, name, number = build_info.get("url"), build_info.get("name"), build_info.get("number")
    if not (isinstance(url, str) and isinstance(name, str) and isinstance(number, int) and number > 0):
        return {}
    details = {"build_info_url": url, "job": name, "build_number": str(number)}
    parts = re.split(r"/+", url)
    if len(parts) >= 5:
        details["build_host"] = f"{parts[0]}//{parts[1]}/"
    scm = [s for s in build_info.get("scm") or [] if isinstance(s, dict) and s.get("sha1")]
    preferred = [s for s in scm if s.get("branch") not in ("master", "develop")] if len(scm) >= 2 else scm
    if preferred or scm:
        details["commit_hash"] = str((preferred or scm)[0]["sha1"])
    return details


def _resolve_packages(request: BakeRequest, package_type: str) -> _Resolved:
    names = list(request.packages)
    matched = False
    for i, parsed in enumerate(os_package_names(names, package_type)):
        found = _artifact_package(parsed, package_type, request.build_info)
        if found:
            names[i], matched = found, True
    if matched:
        own = {k: getattr(request, k) for k in ("build_info_url", "job", "build_number", "build_host", "commit_hash")}
        filled: dict[str, Any] = {k: v for k, v in _build_details(request.build_info).items() if not own.get(k)}
        request = replace(request, packages=tuple(names), **filled)
    return _Resolved(os_package_names(list(request.packages), package_type), request)


def _template(templates_dir: Path, name: str, field_name: str) -> Path:
    path = templates_dir / name
    if not path.is_file():
        raise BakeRequestError(field_name, f"no file '{name}' in the bakery's config dir")
    return path


def _digest(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None and path.is_file() else None


def _common(request: BakeRequest, resolved: _Resolved, package_type: str, images: ImageConfig, base: Any) -> dict:
    repository = base.custom_repository or (
        images.debian_repository if package_type == "deb" else images.yum_repository
    )
    first = resolved.packages[0] if resolved.packages else None
    req = resolved.request
    variables = {
        "appversion": app_version(first, package_type, req.build_number, req.commit_hash, req.job),
        "build_info_url": req.build_info_url,
        "repository": repository,
        "package_type": package_type,
        "packages": packages_parameter(resolved.packages, package_type),
        "build_host": req.build_host,
        "upgrade": "true" if req.upgrade else None,
    }
    return variables


def _extended(request: BakeRequest) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in request.extended_attributes.items():
        if key in RESERVED:
            raise BakeRequestError(f"extendedAttributes.{key}", "is set by the bakery and cannot be given")
        if key in UNROLLED:
            for i, item in enumerate((v.strip() for v in value.split(",") if v.strip()), start=1):
                out[f"{key}_{i}"] = item
        else:
            out[key] = value
    return out


def plan_bake(
    request: BakeRequest,
    images: ImageConfig,
    templates_dir: Path,
    accounts: BakeAccounts,
    now_ms: int,
    find_ami: Callable[..., str] | None = None,
) -> BakeRecipe:
    """Decide a bake: raises :class:`BakeRequestError` naming the field when it cannot be baked."""
    provider = request.cloud_provider_type
    config = images.providers.get(provider)
    if config is None:
        raise BakeRequestError("cloudProviderType", f"'{provider}' has no base images in the bakery's images.yml")
    entry = find_base_image(config, request.base_os, provider)
    base = entry.base_image
    resolved = _resolve_packages(request, base.package_type)
    request = resolved.request
    variables: dict[str, Any] = _common(request, resolved, base.package_type, images, base)
    name = image_name(request, resolved.packages, now_ms)
    template_name = request.template_file_name or base.template_file or config.template_file
    template = _template(templates_dir, template_name, "templateFileName")
    var_file = _template(templates_dir, request.var_file_name, "varFileName") if request.var_file_name else None
    script = _template(templates_dir, base.install_script, "baseOs")
    if isinstance(entry, AwsBaseImage):
        account = accounts.aws(request.account)
        vm_type = request.vm_type or images.aws.default_virtualization_type  # type: ignore[union-attr]
        settings = aws_virtualization(entry, request.region, vm_type, request.base_label)
        source = request.base_ami or request.base_name or settings.source_ami
        if not is_ami_id(source):
            lookup = find_ami or accounts.find_ami
            source = lookup(account, request.region, source, settings.source_ami_owners, vm_type)
        aws = images.aws
        assert aws is not None
        variables.update(
            aws_region=request.region,
            aws_instance_type=settings.instance_type,
            aws_source_ami=source,
            aws_target_ami=name,
            aws_ssh_username=settings.ssh_user_name,
            aws_spot_price=settings.spot_price,
            aws_spot_price_auto_product=settings.spot_price_auto_product if settings.spot_price == "auto" else None,
            aws_subnet_id=aws.subnet_id,
            aws_vpc_id=aws.vpc_id,
            aws_associate_public_ip_address=_bool(aws.associate_public_ip_address),
            aws_ena_support="true" if request.enhanced_networking else None,
            aws_endpoint=endpoint_of(account),
        )
        communicator = settings.communicator or aws.communicator
        account_name = account.name if account is not None else None
        key_extra: dict[str, Any] = {"vmType": vm_type, "enhancedNetworking": request.enhanced_networking}
    else:
        assert isinstance(entry, GceBaseImage)
        gce = images.gce
        assert gce is not None
        gce_account = accounts.gce(request.account)
        virt = entry.virtualization_settings
        source_image = request.base_ami or virt.source_image
        variables.update(
            gce_project_id=gce_account.project,
            gce_zone=gce.zone,
            gce_network=gce.network,
            gce_network_project_id=gce.network_project_id,
            gce_subnetwork=gce.subnetwork,
            gce_use_internal_ip=_bool(gce.use_internal_ip),
            gce_target_image=name,
            gce_source_image=source_image,
            gce_source_image_family=None if source_image else virt.source_image_family,
            gce_ssh_username=virt.ssh_user_name,
        )
        source = source_image or f"family/{virt.source_image_family}"
        communicator = gce.communicator
        account_name = gce_account.name
        key_extra = {}
    variables["configDir"] = str(templates_dir)
    variables["install_script"] = base.install_script
    variables.update(_extended(request))
    clean = {k: str(v) for k, v in variables.items() if v is not None and str(v) != ""}
    key_parts = {
        "v": KEY_VERSION,
        "cloudProviderType": provider,
        "region": request.region,
        "account": account_name,
        "baseOs": request.base_os,
        "baseLabel": request.base_label,
        "sourceImage": source,
        "amiName": request.ami_name,
        "storeType": request.store_type,
        "template": [template_name, _digest(template)],
        "varFile": [request.var_file_name, _digest(var_file)],
        "installScript": [base.install_script, _digest(script)],
        "communicator": communicator,
        "variables": {k: v for k, v in clean.items() if k not in (NAME_VARIABLE[provider], "configDir")},
        **key_extra,
    }
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return BakeRecipe(
        key=key,
        cloud_provider=provider,
        region=request.region,
        account=account_name,
        base_os=request.base_os,
        base_label=request.base_label,
        package_type=base.package_type,
        image_name=name,
        app_version=clean.get("appversion"),
        template=str(template),
        var_file=str(var_file) if var_file else None,
        communicator=communicator,
        source_image=source,
        packages=request.package,
        variables=clean,
    )


def _bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


__all__ = ["BakeRecipe", "ami_suffix", "image_name", "plan_bake"]
