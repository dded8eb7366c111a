"""Package names as Rosco reads them (``PackageNameConverter``, ``DebPackageUtil``, ``RpmPackageUtil``)
and the ``appversion`` tag Netflix's frigga ``AppVersion`` accepts.

* deb: ``name_version-release_arch`` (``myapp_1.0.0-h12_amd64``)
* rpm: ``name-version-release.arch`` (``myapp-1.0.0-h12.noarch``)

Package names reach the instance's install script (through an environment variable, never a shell
on the bakery), so they are held to the characters Debian and RPM names use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BakeRequestError

#: Debian policy and RPM names, plus ``=`` (a pinned version, ``pkg=1.0``) and ``:`` (an epoch)
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+~:=_@-]*$")
MAX_PACKAGES = 50
MAX_PACKAGE_LENGTH = 256

# frigga's AppVersion pattern with its default delimiters: name-version-build(.commit)(/job/number)
_NAME_CHARS = r"\-a-zA-Z0-9._\^"
_APP_VERSION = re.compile(rf"([{_NAME_CHARS}]+)-([0-9.a-zA-Z~]+)-(\w+)(?:[.](\w+))?(?:/([{_NAME_CHARS}]+)/([0-9]+))?")


@dataclass(frozen=True)
class Separators:
    """Rosco's ``PackageUtil`` per package type."""

    package_manager_version: str  # name<sep>version in the install command: deb ``=``, rpm ``-``
    version: str = "-"
    build_number: str = "-h"
    commit_hash: str = "."


SEPARATORS = {"deb": Separators("="), "rpm": Separators("-")}


@dataclass(frozen=True)
class OsPackageName:
    name: str
    version: str | None = None
    release: str | None = None
    arch: str | None = None

    def qualified(self, package_type: str) -> str | None:
        """``name=version-release`` (deb) / ``name-version-release`` (rpm), or None without a version."""
        if not self.version:
            return None
        release = f"-{self.release}" if self.release else ""
        return f"{self.name}{SEPARATORS[package_type].package_manager_version}{self.version}{release}"


def parse_deb(text: str) -> OsPackageName:
    parts = text.split("_")
    if len(parts) < 2:
        return OsPackageName(text)
    version, _, release = parts[1].partition("-")
    return OsPackageName(parts[0], version, release.split("-")[0] or None, parts[2] if len(parts) > 2 else None)


def parse_rpm(text: str) -> OsPackageName:
    arch = None
    dotted = text.split(".")
    if len(dotted) >= 2:
        text, arch = ".".join(dotted[:-1]), dotted[-1]
    parts = text.split("-")
    if len(parts) >= 3:
        return OsPackageName("-".join(parts[:-2]), parts[-2], parts[-1], arch)
    return OsPackageName(text, arch=arch)


def parse_package(text: str, package_type: str) -> OsPackageName:
    return parse_deb(text) if package_type == "deb" else parse_rpm(text)


def is_package_name(text: str) -> bool:
    return len(text) <= MAX_PACKAGE_LENGTH and _PACKAGE.match(text) is not None


def split_packages(value: object) -> list[str]:
    """The ``package`` field: space-separated names (Rosco tokenizes on whitespace), each checked."""
    if value is None:
        return []
    if not isinstance(value, str):
        raise BakeRequestError("package", "must be a string of space-separated package names")
    names = value.split()
    if len(names) > MAX_PACKAGES:
        raise BakeRequestError("package", f"at most {MAX_PACKAGES} packages, got {len(names)}")
    for name in names:
        if not is_package_name(name):
            raise BakeRequestError(
                "package", f"'{name[:80]}' is not a package name (letters, digits and . + ~ : = _ @ - only)"
            )
    return names


def os_package_names(names: list[str], package_type: str) -> list[OsPackageName]:
    return [p for p in (parse_package(n, package_type) for n in names) if p.name]


def packages_parameter(packages: list[OsPackageName], package_type: str) -> str:
    """Rosco's ``packages`` variable: each package pinned to its version when it names one."""
    return " ".join(p.qualified(package_type) or p.name for p in packages)


def is_app_version(text: str) -> bool:
    return _APP_VERSION.fullmatch(text) is not None


def app_version(
    package: OsPackageName | None,
    package_type: str,
    build_number: str | None = None,
    commit_hash: str | None = None,
    job: str | None = None,
) -> str | None:
    """Rosco's ``appversion`` tag from the first package (``myapp-1.0.0-h12.abc123/job/12``), or None
    when frigga would not parse it (no version, no build number)."""
    if package is None:
        return None
    seps = SEPARATORS[package_type]
    text = package.name
    if package.version:
        text += seps.version + package.version
        if build_number:
            text += seps.build_number + build_number
            if commit_hash:
                text += seps.commit_hash + commit_hash
            if job:
                text += f"/{job.replace('/', '-')}/{build_number}"
    return text if is_app_version(text) else None
