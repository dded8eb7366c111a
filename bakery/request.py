"""A bake request (Rosco's ``BakeRequest``) read from a bake stage's context, checked field by field.

Field names in errors are the stage's (``baseOs``, ``extendedAttributes.foo``), as users wrote them.
Build details (``buildHost``, ``job``, ``buildNumber``, ``commitHash``, ``buildInfoUrl``) come from the
context; the trigger's Jenkins ``buildInfo`` is kept for the recipe, which resolves package names
against its artifacts (Orca's ``PackageInfo``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.fields import truthy

from .errors import BakeRequestError
from .images import LABELS, check_file_name
from .packages import split_packages

CLOUD_PROVIDERS = ("aws", "gce")
VM_TYPES = ("hvm", "pv")
STORE_TYPES = ("ebs", "s3", "docker")
#: a packer user variable name
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
MAX_VALUE_LENGTH = 4096


@dataclass(frozen=True)
class BakeRequest:
    region: str
    cloud_provider_type: str = "aws"
    packages: tuple[str, ...] = ()
    base_os: str = ""
    base_label: str = "release"
    vm_type: str | None = None
    store_type: str | None = None
    template_file_name: str | None = None
    var_file_name: str | None = None
    extended_attributes: dict[str, str] = field(default_factory=dict)
    base_ami: str | None = None
    base_name: str | None = None
    ami_name: str | None = None
    ami_suffix: str | None = None
    rebake: bool = False
    account: str | None = None
    user: str | None = None
    enhanced_networking: bool = False
    upgrade: bool = False
    build_host: str | None = None
    job: str | None = None
    build_number: str | None = None
    commit_hash: str | None = None
    build_info_url: str | None = None
    #: the trigger's Jenkins ``buildInfo``: packages named without a version are looked up in its artifacts
    build_info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def package(self) -> str:
        return " ".join(self.packages)


def _text(context: dict[str, Any], name: str, max_length: int = 1024) -> str | None:
    value = context.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BakeRequestError(name, f"must be a string, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > max_length:
        raise BakeRequestError(name, f"at most {max_length} characters")
    return text


def _choice(context: dict[str, Any], name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = _text(context, name)
    if value is None:
        return default
    value = value.lower()
    if value not in allowed:
        raise BakeRequestError(name, f"'{value}' is not one of {', '.join(allowed)}")
    return value


def scalar_text(value: Any, where: str) -> str:
    """A variable's value as packer gets it: text, with booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise BakeRequestError(where, f"must be a string, number or boolean, got {type(value).__name__}")


def extended_attributes(value: Any) -> dict[str, str]:
    """``extendedAttributes``: packer variables. Keys must be variable names; values are kept literally."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BakeRequestError("extendedAttributes", "must be a map of packer variable names to values")
    out: dict[str, str] = {}
    for key, raw in value.items():
        if not isinstance(key, str) or not VARIABLE_NAME.match(key):
            raise BakeRequestError(
                "extendedAttributes", f"'{str(key)[:80]}' is not a packer variable name (letters, digits, _ and -)"
            )
        if raw is None:
            continue
        out[key] = scalar_text(raw, f"extendedAttributes.{key}")
    return out


def trigger_build_info(trigger: dict[str, Any]) -> dict[str, Any]:
    """The trigger's ``buildInfo`` (a Jenkins build), or its parent pipeline's, as Orca looks for it."""
    for source in (trigger, (trigger.get("parentExecution") or {}).get("trigger") or {}):
        info = source.get("buildInfo") if isinstance(source, dict) else None
        if isinstance(info, dict) and info:
            return info
    return {}


def bake_request(context: dict[str, Any], region: str, trigger: dict[str, Any] | None = None) -> BakeRequest:
    """Read a bake stage's context (one region) into a request; raises :class:`BakeRequestError`."""
    trigger = trigger or {}
    base_os = _text(context, "baseOs")
    if base_os is None:
        raise BakeRequestError("baseOs", "which base image to bake on (see GET /bakery/options)")
    label = _choice(context, "baseLabel", LABELS, "release")
    templates: dict[str, str | None] = {}
    for name in ("templateFileName", "varFileName"):
        try:
            templates[name] = check_file_name(_text(context, name, 255))
        except ValueError as err:
            raise BakeRequestError(name, str(err)) from None
    return BakeRequest(
        region=region,
        cloud_provider_type=_choice(context, "cloudProviderType", CLOUD_PROVIDERS, "aws") or "aws",
        packages=tuple(split_packages(context.get("package"))),
        base_os=base_os,
        base_label=label or "release",
        vm_type=_choice(context, "vmType", VM_TYPES, None),
        store_type=_choice(context, "storeType", STORE_TYPES, None),
        template_file_name=templates["templateFileName"],
        var_file_name=templates["varFileName"],
        extended_attributes=extended_attributes(context.get("extendedAttributes")),
        base_ami=_text(context, "baseAmi", 255),
        base_name=_text(context, "baseName", 255),
        ami_name=_text(context, "amiName", 128),
        ami_suffix=_text(context, "amiSuffix", 128),
        rebake=truthy(context.get("rebake")) or truthy(trigger.get("rebake")),
        account=_text(context, "account", 255),
        user=_text(context, "user", 255),
        enhanced_networking=truthy(context.get("enhancedNetworking")),
        upgrade=truthy(context.get("upgrade")),
        build_host=_text(context, "buildHost"),
        job=_text(context, "job"),
        build_number=_text(context, "buildNumber", 64),
        commit_hash=_text(context, "commitHash", 128),
        build_info_url=_text(context, "buildInfoUrl", 2048),
        build_info=trigger_build_info(trigger),
    )
