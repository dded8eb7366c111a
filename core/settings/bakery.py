"""The bakery's settings: where the image config and templates are, how long bakes may run, how often
stages poll them. One nested model, ``Settings.bakery`` (``GENNAKER_BAKERY__BAKE_TIMEOUT_S=...``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

#: the image config and Packer templates shipped with Gennaker
#: the bakery package ships its images and Packer templates (core/ and bakery/ are siblings, installed or not)
_BAKERY = Path(__file__).resolve().parents[2] / "bakery"
SHIPPED_IMAGES = _BAKERY / "images.yml"
SHIPPED_TEMPLATES = _BAKERY / "templates"


class BakerySettings(BaseModel):
    """Rosco's ``rosco.yml`` knobs that are not image config, plus Orca's bake polling."""

    model_config = ConfigDict(extra="forbid")

    #: Rosco's image config (base OS → source images); None → the shipped ``bakery/images.yml``
    images_file: Path | None = None
    #: Rosco's ``rosco.configDir``: templates, var files and install scripts; None → ``bakery/templates``
    config_dir: Path | None = None
    #: the packer binary (Debian's ``packer`` package puts it on PATH)
    packer_path: str = "packer"
    #: Rosco's ``rosco.jobs.local.timeoutMinutes`` (30 in its shipped rosco.yml): packer is killed after this
    bake_timeout_s: float = Field(default=1800.0, gt=0)
    #: Orca's ``MonitorBakeTask`` backoff (30 s)
    poll_interval_s: float = Field(default=30.0, gt=0)
    #: how soon a dead bakery worker (or a cancel) is noticed while packer runs
    heartbeat_timeout_s: float = Field(default=60.0, gt=0)
    #: after SIGTERM, how long packer gets to delete its temporary instance, key pair and security group
    kill_grace_s: float = Field(default=120.0, ge=0)
    #: Rosco's ``bakeAccount``: the account a bake without ``account`` uses; None → the first of its cloud
    default_account: str | None = None
    #: a bake log stops growing here (the rest is dropped with a note)
    max_log_bytes: int = Field(default=32 * 1024 * 1024, gt=0)

    @property
    def images_path(self) -> Path:
        return self.images_file or SHIPPED_IMAGES

    @property
    def templates_dir(self) -> Path:
        return (self.config_dir or SHIPPED_TEMPLATES).resolve()
