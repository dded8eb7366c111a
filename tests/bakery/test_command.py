"""The packer command line: user fields stay literal (argument list, no shell; template markers
refused), the no-communicator template, packer's private environment; and the machine-readable parser."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from bakery.command import check_variable, effective_template, packer_command, packer_env
from bakery.errors import BakeRequestError
from bakery.machine_readable import Transcript, amazon_images, parse_line, unescape
from bakery.messages import BakeRecipe
from tests.bakery.conftest import slow_template

RECIPE = BakeRecipe(
    key="k",
    cloud_provider="aws",
    region="us-east-1",
    account="test",
    base_os="xenial",
    base_label="release",
    package_type="deb",
    image_name="myapp-all-1-xenial",
    app_version=None,
    template="/config/aws-ebs.json",
    var_file=None,
    communicator="ssh",
    source_image="ami-12345678",
    packages="myapp",
    variables={"aws_region": "us-east-1", "build_info_url": "a b; $(rm -rf /) `id` | & > < ' \" \\ *"},
)


def test_the_command_is_an_argument_list_with_values_kept_whole() -> None:
    command = packer_command("/usr/bin/packer", replace(RECIPE, var_file="/config/vars.json"))
    assert command == [
        "/usr/bin/packer",
        "build",
        "-machine-readable",
        "-color=false",
        "-var",
        "aws_region=us-east-1",
        "-var",
        "build_info_url=a b; $(rm -rf /) `id` | & > < ' \" \\ *",
        "-var-file=/config/vars.json",
        "/config/aws-ebs.json",
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("appversion", "{{env `AWS_SECRET_ACCESS_KEY`}}", "may not contain '{{' or '}}'"),
        ("x", "a }} b", "may not contain '{{' or '}}'"),
        ("x", "nul\x00byte", "NUL"),
        ("x", "y" * 5000, "at most 4096 characters"),
        ("bad key", "v", "is not a packer variable name"),
        ("-var", "v", "is not a packer variable name"),
    ],
)
def test_values_packer_would_not_take_literally_are_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(BakeRequestError, match=message):
        check_variable(key, value)
    with pytest.raises(BakeRequestError):
        packer_command("packer", replace(RECIPE, variables={key: value}))


def test_without_a_communicator_instance_provisioners_are_dropped(tmp_path: Path) -> None:
    template = tmp_path / "slow.json"
    template.write_text(json.dumps(slow_template()))
    recipe = replace(RECIPE, template=str(template))
    assert effective_template(recipe, tmp_path) == str(template)  # ssh: the template as it is
    derived = json.loads(Path(effective_template(replace(recipe, communicator="none"), tmp_path)).read_text())
    assert derived["builders"][0]["communicator"] == "none"
    assert [p["type"] for p in derived["provisioners"]] == ["shell-local"]
    plain = json.loads(template.read_text())
    plain["provisioners"] = plain["provisioners"][:1]
    template.write_text(json.dumps(plain))
    assert "provisioners" not in json.loads(
        Path(effective_template(replace(recipe, communicator="none"), tmp_path)).read_text()
    )


def test_packer_gets_a_private_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_DATABASE_URL", "postgresql://user:secret@db/gennaker")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-worker-s-own")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    env = packer_env(tmp_path, {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "bake-account"})
    assert "GENNAKER_DATABASE_URL" not in env
    assert env["AWS_SECRET_ACCESS_KEY"] == "bake-account"
    assert env["HTTPS_PROXY"] == "http://proxy:3128" and env["CHECKPOINT_DISABLE"] == "1"
    assert env["HOME"] == str(tmp_path / "home") and Path(env["TMPDIR"]).is_dir()
    assert env["PATH"] == os.environ["PATH"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1795335742,,ui,say,==> amazon-ebs: Stopping", ("", "ui", ("say", "==> amazon-ebs: Stopping"))),
        (
            "1,amazon-ebs,artifact,0,id,us-east-1:ami-1%!(PACKER_COMMA)us-west-2:ami-2",
            ("amazon-ebs", "artifact", ("0", "id", "us-east-1:ami-1,us-west-2:ami-2")),
        ),
        ("1,,ui,error,a\\nb%!(PACKER_COMMA) c\\r", ("", "ui", ("error", "a\nb, c\r"))),
        ("1,amazon-ebs,error,boom", ("amazon-ebs", "error", ("boom",))),
        ("panic: runtime error", None),
        ("", None),
    ],
)
def test_machine_readable_lines(line: str, expected: tuple[object, ...] | None) -> None:
    record = parse_line(line)
    assert (None if record is None else (record.target, record.type, record.data)) == expected


def test_a_transcript_keeps_artifacts_errors_and_the_human_log() -> None:
    transcript = Transcript()
    lines = [
        "1,,ui,say,==> amazon-ebs: Creating AMI myapp-all-1-xenial from instance i-1",
        "1,amazon-ebs,artifact-count,1",
        "1,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs",
        "1,amazon-ebs,artifact,0,id,us-east-1:ami-1%!(PACKER_COMMA)us-west-2:ami-2",
        "1,amazon-ebs,artifact,0,string,AMIs were created:\\nus-east-1: ami-1\\n",
        "1,amazon-ebs,artifact,0,end",
        "stray output",
    ]
    shown = [transcript.feed(line) for line in lines]
    assert shown == [
        "==> amazon-ebs: Creating AMI myapp-all-1-xenial from instance i-1",
        None,
        None,
        None,
        None,
        None,
        "stray output",
    ]
    (artifact,) = transcript.artifacts.values()
    assert (artifact.builder, artifact.builder_id) == ("amazon-ebs", "mitchellh.amazonebs")
    assert amazon_images(artifact.id or "") == {"us-east-1": "ami-1", "us-west-2": "ami-2"}
    assert transcript.image_name == "myapp-all-1-xenial"
    assert transcript.error_summary() == ""
    failed = Transcript()
    failed.feed("1,,ui,error,==> amazon-ebs: Error querying AMI: InvalidAMIID.NotFound")
    assert failed.error_summary() == "==> amazon-ebs: Error querying AMI: InvalidAMIID.NotFound"
    failed.feed("1,amazon-ebs,error,Error querying AMI: InvalidAMIID.NotFound: The image id '[ami-x]' does not exist")
    assert failed.error_summary().startswith("amazon-ebs: Error querying AMI")
    assert unescape("a%!(PACKER_COMMA)b") == "a,b"
    gce = Transcript()
    gce.feed("1,,ui,say,==> googlecompute: A disk image was created: myapp-all-1-bookworm")
    assert gce.image_name == "myapp-all-1-bookworm"
