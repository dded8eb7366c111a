"""The packer command line and environment for a recipe (Rosco's ``LocalJobFriendlyPackerCommandFactory``).

User fields reach packer only as ``-var key=value`` arguments of an argument list (no shell) and
the operator's var file. Two rules keep them literal:

* keys must be packer variable names;
* values may not contain ``{{`` or ``}}``: packer renders Go templates inside ``-var`` and var-file
  values, so ``{{env `AWS_SECRET_ACCESS_KEY`}}`` in a package name or an extended attribute would be
  replaced by the bakery's secret and written into an image tag. Such values are refused.

Packer gets a small environment of its own (no worker secrets), a private ``HOME`` and cache in the
bake's work dir, and ``CHECKPOINT_DISABLE`` so it never calls home.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .errors import BakeRequestError, PackerUnavailableError
from .recipe import BakeRecipe
from .request import MAX_VALUE_LENGTH, VARIABLE_NAME

#: provisioners that run on the bakery host, not on the instance: kept when there is no communicator
LOCAL_PROVISIONERS = frozenset({"shell-local", "breakpoint"})
#: environment variables packer may inherit from the worker (proxies, locale); nothing else
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy")


def check_variable(key: str, value: str) -> None:
    """Refuse what packer would not take literally; the error names the variable."""
    if not VARIABLE_NAME.match(key):
        raise BakeRequestError(key, "is not a packer variable name")
    if "{{" in value or "}}" in value:
        raise BakeRequestError(key, "may not contain '{{' or '}}' (packer would evaluate it as a template)")
    if "\x00" in value:
        raise BakeRequestError(key, "may not contain a NUL character")
    if len(value) > MAX_VALUE_LENGTH:
        raise BakeRequestError(key, f"at most {MAX_VALUE_LENGTH} characters")


def check_variables(variables: dict[str, str]) -> None:
    for key, value in variables.items():
        check_variable(key, value)


def find_packer(packer_path: str) -> str:
    found = shutil.which(packer_path)
    if not found:
        raise PackerUnavailableError(
            f"packer not found ('{packer_path}'): install Debian's packer (apt-get install packer)"
        )
    return found


def packer_command(packer: str, recipe: BakeRecipe, template: str | None = None) -> list[str]:
    """``packer build -machine-readable -color=false -var k=v ... [-var-file=f] template`` as a list."""
    check_variables(recipe.variables)
    command = [packer, "build", "-machine-readable", "-color=false"]
    for key, value in recipe.variables.items():
        command += ["-var", f"{key}={value}"]
    if recipe.var_file:
        command.append(f"-var-file={recipe.var_file}")
    command.append(template or recipe.template)
    return command


def effective_template(recipe: BakeRecipe, workdir: Path) -> str:
    """The template to run. Without a communicator (``none``), a copy in the work dir whose builders
    use none and whose instance-side provisioners are dropped (packer would wait on them forever)."""
    if recipe.communicator != "none":
        return recipe.template
    template = json.loads(Path(recipe.template).read_text())
    for builder in template.get("builders") or []:
        builder["communicator"] = "none"
    kept = [p for p in template.get("provisioners") or [] if p.get("type") in LOCAL_PROVISIONERS]
    if kept:
        template["provisioners"] = kept
    else:
        template.pop("provisioners", None)
    path = workdir / "template.json"
    path.write_text(json.dumps(template, indent=2))
    return str(path)


def packer_env(workdir: Path, credentials: dict[str, str], tmp: Path | None = None) -> dict[str, str]:
    """Packer's whole environment: a few inherited variables, private dirs, and the credentials.

    ``tmp`` should be a short path: packer's plugins listen on unix sockets there (108 bytes at most)."""
    home = workdir / "home"
    tmp = tmp or workdir / "tmp"
    for path in (home, tmp):
        path.mkdir(parents=True, exist_ok=True)
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp),
        CHECKPOINT_DISABLE="1",
        PACKER_CACHE_DIR=str(workdir / "cache"),
        PACKER_CONFIG=str(home / ".packerconfig"),
        PACKER_CONFIG_DIR=str(home / ".packer.d"),
        PACKER_NO_COLOR="1",
    )
    env.update(credentials)
    return env
