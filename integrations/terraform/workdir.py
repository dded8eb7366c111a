"""A fresh working directory per run: the git/repo artifact checked out with git, the other artifacts as files.

Layout: ``<root>/<run id>/repo`` (the checkout; terraform runs in ``repo/<dir>``), ``files/`` (var files, the
backend config, the plan file), ``home/`` (HOME for git and terraform). The repository URL is a URL a user wrote:
the outbound policy (docs/security.md) judges it before git runs; ``file://`` is refused unless the operator
lists ``file`` in ``outbound.allowed_schemes``.
"""

from __future__ import annotations

import base64
import binascii
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore

from core.errors import IntegrationError
from integrations.outbound import OutboundPolicy, OutboundRefused, system_resolver
from integrations.outbound.transport import vetted_addresses

from .context import TerraformJob
from .process import Completed, run

DEFAULT_REF = "master"  # Armory's default when the git/repo artifact has no version
_PORTS = {"http": 80, "https": 443, "git": 9418}


class CheckoutError(IntegrationError):
    """The repository could not be checked out, or its URL is refused; the message names the artifact."""


@dataclass
class WorkDir:
    root: Path
    repo: Path
    files: Path
    home: Path

    @property
    def run_dir(self) -> Path:
        return self.repo

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def create(base: Path, label: str) -> WorkDir:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label)[:80]
    root = base / f"{safe}-{uuid.uuid4().hex[:12]}"
    root.mkdir(parents=True, mode=0o700)
    dirs = WorkDir(root, root / "repo", root / "files", root / "home")
    for d in (dirs.files, dirs.home):
        d.mkdir(mode=0o700)
    (dirs.home / ".terraformrc").write_text("")
    return dirs


def check_repository_url(url: str, policy: OutboundPolicy) -> None:
    """Refuse a repository URL the outbound policy refuses (scheme, name, every address it resolves to)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "file":
        if "file" not in policy.settings.allowed_schemes:
            raise CheckoutError(f"artifacts: repository {url}: scheme 'file' is not allowed (outbound.allowed_schemes)")
        return
    if scheme not in ("http", "https", "git"):
        raise CheckoutError(f"artifacts: repository {url}: only http(s)://, git:// and file:// URLs are supported")
    try:
        policy.check_url("GET", url)
        host = (parts.hostname or "").rstrip(".")
        vetted_addresses(policy, system_resolver, host, parts.port or _PORTS[scheme])
    except (OutboundRefused, OSError, httpcore.ConnectError) as err:
        shown = f"{scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"
        raise CheckoutError(f"artifacts: repository {shown}: {err}") from None


def git_env(base: dict[str, str], home: Path, token: str | None, allow_file: bool) -> dict[str, str]:
    env = {
        **base,
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ALLOW_PROTOCOL": "http:https:git" + (":file" if allow_file else ""),
    }
    if token:
        header = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {header}",
            }
        )
    return env


async def checkout(
    dirs: WorkDir, repo: dict[str, Any], *, git: str, env: dict[str, str], cap: int, redact: Any
) -> list[Completed]:
    """``git init`` + ``git fetch --depth 1 <url> <ref>`` + ``git checkout FETCH_HEAD``: any branch, tag or commit."""
    url = repo["reference"].strip()
    ref = str(repo.get("version") or DEFAULT_REF).strip()
    dirs.repo.mkdir()
    steps = [
        [git, "init", "--quiet", "."],
        [git, "fetch", "--quiet", "--depth", "1", "--", url, ref],
        [git, "-c", "advice.detachedHead=false", "checkout", "--quiet", "FETCH_HEAD"],
    ]
    done = []
    for argv in steps:
        result = await run(argv, cwd=str(dirs.repo), env=env, cap=cap, redact=redact)
        done.append(result)
        if result.code != 0:
            raise CheckoutError(f"artifacts: git could not check out {ref} of {url}: {result.stderr.strip()[-500:]}")
    sub = repo.get("metadata", {}).get("subPath") if isinstance(repo.get("metadata"), dict) else None
    if isinstance(sub, str) and sub.strip("/"):
        target = (dirs.repo / sub.strip("/")).resolve()
        if not target.is_dir() or dirs.repo.resolve() not in target.parents:
            raise CheckoutError(f"artifacts: checkout subpath {sub!r} is not a directory of the repository")
        dirs.repo = target
    return done


def decode(artifact: dict[str, Any], field: str) -> bytes:
    try:
        return base64.b64decode(artifact["reference"], validate=True)
    except (binascii.Error, ValueError):
        raise CheckoutError(f"{field}: the embedded/base64 artifact is not valid base64") from None


def write_var_files(dirs: WorkDir, job: TerraformJob) -> list[Path]:
    paths = []
    for i, artifact in enumerate(job.var_files):
        name = str(artifact.get("name") or "")
        suffix = ".tfvars.json" if name.endswith(".json") else ".tfvars"
        path = dirs.files / f"var-file-{i}{suffix}"
        path.write_bytes(decode(artifact, f"artifacts (var file {name or i})"))
        paths.append(path)
    return paths


def run_dir(dirs: WorkDir, job: TerraformJob) -> Path:
    target = (dirs.repo / job.dir).resolve() if job.dir else dirs.repo
    if not target.is_dir():
        raise CheckoutError(f"dir: {job.dir!r} is not a directory of the repository")
    return target
