"""Bakery fixtures: Debian's packer, moto's server (tests/providers/aws_fixtures.py), the tests' image
config and a config dir holding the shipped templates plus test-only ones."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bakery.accounts import BakeAccounts
from bakery.images import ImageConfig, load_images
from core.settings.bakery import SHIPPED_TEMPLATES, BakerySettings
from tests.providers.aws_fixtures import (  # noqa: F401
    FAKE_KEY_ID,
    FAKE_SECRET,
    REGION,
    aws_account,
    aws_cloud,
    aws_world,
    moto_clients,
    moto_endpoint,
)

HERE = Path(__file__).resolve().parent
TEST_IMAGES = HERE / "images.yml"
#: Canonical's xenial image in moto, which the xenial base image's name pattern resolves to
XENIAL_AMI = "ami-785db401"
TRUSTY_AMI = "ami-1e749f67"


@pytest.fixture(scope="session")
def packer() -> str:
    """Debian's packer; the suite needs it (``make test`` installs it with apt-get)."""
    found = shutil.which("packer")
    if not found:
        raise RuntimeError("packer is not installed: apt-get install -y packer (Debian's packer 1.6.6)")
    return found


def slow_template(seconds_variable: str = "sleep_seconds") -> dict[str, Any]:
    """The shipped aws-ebs.json plus a shell-local step that sleeps (a bake that takes its time)."""
    template = json.loads((SHIPPED_TEMPLATES / "aws-ebs.json").read_text())
    template["variables"][seconds_variable] = "600"
    template["provisioners"].append(
        {
            "type": "shell-local",
            "inline": ['echo "sleeping $BAKE_SLEEP s"', 'sleep "$BAKE_SLEEP"'],
            "environment_vars": [f"BAKE_SLEEP={{{{user `{seconds_variable}`}}}}"],
        }
    )
    return template


@pytest.fixture(scope="session")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rosco's configDir for the tests: the shipped files, a slow template and a var file."""
    path = tmp_path_factory.mktemp("bakery-config")
    for item in SHIPPED_TEMPLATES.iterdir():
        shutil.copy2(item, path / item.name)
    (path / "aws-ebs-slow.json").write_text(json.dumps(slow_template(), indent=2))
    (path / "vars.json").write_text(json.dumps({"build_host": "https://ci.example.com/"}))
    return path


@pytest.fixture(scope="session")
def images() -> ImageConfig:
    return load_images(TEST_IMAGES)


def account_entries(endpoint: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "test",
            "type": "aws",
            "regions": [REGION, "us-west-2"],
            "accessKeyId": FAKE_KEY_ID,
            "secretAccessKey": FAKE_SECRET,
            "endpointUrl": endpoint,
        },
        {"name": "gce-test", "type": "gce", "project": "my-project", "regions": ["us-central1"]},
    ]


@pytest.fixture
def accounts(moto_endpoint: str) -> Iterator[BakeAccounts]:  # noqa: F811
    found = BakeAccounts(account_entries(moto_endpoint))
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def bakery_settings(config_dir: Path) -> BakerySettings:
    return BakerySettings(
        images_file=TEST_IMAGES,
        config_dir=config_dir,
        bake_timeout_s=60,
        poll_interval_s=0.2,
        heartbeat_timeout_s=3,
        kill_grace_s=10,
    )
