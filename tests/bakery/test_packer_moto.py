"""Debian's packer baking real AMIs in moto's EC2 server, through the packer activity (``run_packer``)
in Temporal's activity test environment: success, a bad source AMI, the bake timeout, cancel (packer's
process group stopped, nothing left behind), a packer an earlier attempt left running, no packer."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import ActivityEnvironment

from activities.bake import BakeActivities, workflow_id_for
from bakery.accounts import BakeAccounts
from bakery.images import ImageConfig
from bakery.logs import read_log
from bakery.messages import BakeRecipe, RunBakeInput, RunBakeResult
from bakery.recipe import plan_bake
from bakery.request import bake_request
from bakery.store import CANCELED, COMPLETED, FAILURE, SUCCESS, BakeStore
from core.settings.bakery import BakerySettings
from core.store import Store
from tests.bakery.conftest import XENIAL_AMI
from tests.providers.aws_fixtures import AwsWorld


def group_members(pgid: int) -> list[tuple[int, str, int]]:
    """Every process (zombies too) in a process group, as ``(pid, state, parent)``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            found.append((int(entry.name), fields[0], int(fields[1])))
    return found


def assert_gone(pid: int) -> None:
    """Packer was reaped (no zombie) and nothing of its process group is left. Packer's own children
    (its plugins, shell-local's shell) are orphaned when it dies and reaped by init, which may take a
    moment: they get a few seconds, and none of them may still be alive (state other than Z)."""
    assert not Path(f"/proc/{pid}").exists(), f"packer {pid} is still there (a zombie?)"
    deadline = time.monotonic() + 5
    while (left := group_members(pid)) and time.monotonic() < deadline:
        assert all(state == "Z" for _, state, _ in left), f"still running in packer's group: {left}"
        time.sleep(0.05)
    assert left == []


@pytest.fixture
def acts(
    packer: str,
    aws_world: AwsWorld,
    bakery_settings: BakerySettings,
    images: ImageConfig,
    accounts: BakeAccounts,
    tmp_path: Path,
) -> BakeActivities:
    store = Store(f"sqlite:///{tmp_path / 'gennaker.db'}")
    store.migrate()
    return BakeActivities(None, bakery_settings, images, accounts, BakeStore(store), tmp_path, workflow_queue="unused")  # type: ignore[arg-type]


def recipe(acts: BakeActivities, **fields: Any) -> BakeRecipe:
    context = {"baseOs": "xenial", "package": "myapp_1.0.0-h12_all", "amiSuffix": "20240101", **fields}
    request = bake_request(context, context.pop("region", "us-east-1"))
    return plan_bake(request, acts.images, acts.settings.templates_dir, acts.accounts, 0)


class Run:
    """``run_packer`` in an activity environment, recording heartbeats."""

    def __init__(self, acts: BakeActivities, recipe: BakeRecipe, bake_id: str, **limits: float) -> None:
        self.env = ActivityEnvironment()
        self.env.info = dataclasses.replace(
            ActivityEnvironment.default_info(), workflow_run_id=bake_id, workflow_id=workflow_id_for(recipe.key)
        )
        self.heartbeats: list[Any] = []
        self.env.on_heartbeat = lambda *details: self.heartbeats.append(details[0])
        self.acts, self.bake_id = acts, bake_id
        self.inp = RunBakeInput(
            recipe,
            timeout_s=limits.get("timeout_s", 60),
            heartbeat_timeout_s=3,
            kill_grace_s=limits.get("kill_grace_s", 10),
        )

    def __call__(self) -> RunBakeResult:
        return self.env.run(self.acts.run_packer, self.inp)  # type: ignore[no-any-return]

    def pid(self, timeout: float = 30) -> int:
        pidfile = self.acts.state_dir / "bakery" / "run" / f"{self.bake_id}.pid"
        deadline = time.monotonic() + timeout
        while not pidfile.exists():
            assert time.monotonic() < deadline, "packer did not start"
            time.sleep(0.05)
        return int(pidfile.read_text().split()[0])

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if text in read_log(self.acts.state_dir, self.bake_id).text:
                    return
            except LookupError:
                pass
            assert time.monotonic() < deadline, f"'{text}' never reached the bake log"
            time.sleep(0.05)


def test_packer_bakes_an_ami_in_moto(acts: BakeActivities, aws_world: AwsWorld) -> None:
    attack = "x; $(touch /tmp/gennaker-pwned) `touch /tmp/gennaker-pwned` | & > < ' \" \\ *"
    planned = recipe(acts, extendedAttributes={"build_info_url": attack}, buildNumber="12", varFileName="vars.json")
    result = Run(acts, planned, "bake-ok")()
    assert (result.state, result.result, result.error) == (COMPLETED, SUCCESS, None)
    assert result.image_name == "myapp-all-20240101-xenial" and result.images == {"us-east-1": result.ami}
    (image,) = aws_world.ec2.describe_images(ImageIds=[result.ami])["Images"]
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert image["Name"] == "myapp-all-20240101-xenial"
    assert tags["appversion"] == "myapp-1.0.0-h12"
    assert tags["build_info_url"] == attack  # reached the cloud literally: no shell saw it
    assert tags["build_host"] == "https://ci.example.com/"  # from the operator's var file
    assert tags["base_ami_id"] == XENIAL_AMI
    assert not Path("/tmp/gennaker-pwned").exists()
    stored = acts.store.get("bake-ok")
    assert stored is not None and stored.succeeded and stored.ami == result.ami and stored.base_ami == XENIAL_AMI
    assert stored.log_ref is not None and stored.log_ref["url"] == "/bakery/logs/us-east-1/bake-ok"
    assert Path(stored.log_ref["path"]) == (acts.state_dir / "bakery" / "logs" / "bake-ok.log").resolve()
    log = read_log(acts.state_dir, "bake-ok").text
    assert "==> gennaker: bake bake-ok attempt 1: myapp-all-20240101-xenial" in log
    assert "Creating AMI myapp-all-20240101-xenial from instance" in log
    assert "communicator none: provisioners that run on the instance are skipped" in log
    assert not (acts.state_dir / "bakery" / "work" / "bake-ok").exists()  # the work dir is removed
    assert not (acts.state_dir / "bakery" / "run" / "bake-ok.pid").exists()


def test_a_bad_source_ami_fails_with_packer_s_error(acts: BakeActivities) -> None:
    result = Run(acts, recipe(acts, baseOs="gone"), "bake-bad")()
    assert (result.state, result.result) == (COMPLETED, FAILURE)
    assert result.error is not None
    assert result.error.startswith("packer build failed (exit code 1): amazon-ebs: Error querying AMI")
    assert "InvalidAMIID.NotFound" in result.error
    stored = acts.store.get("bake-bad")
    assert stored is not None and stored.state == COMPLETED and stored.result == FAILURE
    assert "InvalidAMIID.NotFound" in (stored.error or "")


def test_a_bake_past_its_timeout_is_stopped(acts: BakeActivities, aws_world: AwsWorld) -> None:
    run = Run(acts, recipe(acts, templateFileName="aws-ebs-slow.json"), "bake-slow", timeout_s=3)
    started = time.monotonic()
    result = run()
    assert time.monotonic() - started < 30
    assert (result.state, result.result) == (COMPLETED, FAILURE)
    assert result.error is not None
    assert result.error.startswith("Bake timed out after 3 seconds: packer was stopped\n")
    log = read_log(acts.state_dir, "bake-slow").text
    # the log's last lines follow the reason (how many of packer's clean-up lines that reaches depends on its pace)
    last_line = [line for line in log.splitlines() if line.strip()][-1]
    assert result.error.rstrip().endswith(last_line.strip()), (result.error, last_line)
    assert "Cancelling build after receiving terminated" in log
    assert "==> gennaker: bake timed out; stopping packer (SIGTERM, then SIGKILL)" in log
    # SIGTERM let packer clean up after itself: its instance is terminated
    assert "Terminating the source AWS instance" in log
    reservations = aws_world.ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["Packer Builder"]}])
    states = {i["State"]["Name"] for r in reservations["Reservations"] for i in r["Instances"]}
    assert states <= {"terminated", "shutting-down"}, states
    assert run.heartbeats and run.heartbeats == sorted(run.heartbeats)  # the log offset, growing


def test_cancel_stops_packer_and_everything_it_started(acts: BakeActivities) -> None:
    run = Run(acts, recipe(acts, templateFileName="aws-ebs-slow.json"), "bake-cancel")
    outcome: dict[str, Any] = {}

    def bake() -> None:
        try:
            outcome["result"] = run()
        except BaseException as err:  # noqa: BLE001 - the test looks at it
            outcome["error"] = err

    thread = threading.Thread(target=bake)
    thread.start()
    pid = run.pid()
    run.wait_for_log("sleeping 600 s")  # shell-local's sleep runs, in packer's process group
    assert len(group_members(pid)) > 1
    run.env.cancel()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), CancelledError), outcome
    assert_gone(pid)
    stored = acts.store.get("bake-cancel")
    assert stored is not None and stored.state == CANCELED and stored.error == "bake canceled"
    assert "==> gennaker: bake canceled; stopping packer" in read_log(acts.state_dir, "bake-cancel").text


def test_the_next_attempt_stops_a_packer_left_by_a_dead_worker(acts: BakeActivities) -> None:
    home = (acts.state_dir / "bakery").resolve()
    workdir = home / "work" / "bake-retry"
    workdir.mkdir(parents=True)
    orphan = subprocess.Popen(["sleep", "600"], cwd=workdir, start_new_session=True)
    (home / "run").mkdir(parents=True, exist_ok=True)
    (home / "run" / "bake-retry.pid").write_text(f"{orphan.pid}\n{workdir}")
    run = Run(acts, recipe(acts), "bake-retry")
    run.env.info = dataclasses.replace(run.env.info, attempt=2, heartbeat_details=[1234])
    result = run()
    assert orphan.wait(timeout=10) == -signal.SIGTERM
    assert result.result == SUCCESS
    log = read_log(acts.state_dir, "bake-retry").text
    assert "attempt 2" in log and "the previous attempt's log ended at offset 1234" in log
    # a pid file whose process is gone, or is someone else's, is only removed
    stranger = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        (home / "run" / "bake-other.pid").write_text(f"{stranger.pid}\n{workdir}")
        from bakery.runner import reap_stale

        assert not reap_stale(home / "run" / "bake-other.pid", 1)
        assert stranger.poll() is None
    finally:
        os.killpg(stranger.pid, signal.SIGKILL)
        stranger.wait()


def test_without_packer_the_bake_fails_for_good(acts: BakeActivities, tmp_path: Path) -> None:
    acts.settings = acts.settings.model_copy(update={"packer_path": "no-such-packer"})
    with pytest.raises(ApplicationError) as err:
        Run(acts, recipe(acts), "bake-nopacker")()
    assert err.value.non_retryable and err.value.type == "PackerUnavailable"
    assert "apt-get install packer" in err.value.message
    assert acts.store.get("bake-nopacker").result == FAILURE  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def _no_leftovers() -> Iterator[None]:
    yield
    assert not Path("/tmp/gennaker-pwned").exists()
