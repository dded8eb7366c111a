"""Jenkins masters in the settings: parsing, errors that name the field, secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.errors import ConfigError as JenkinsConfigError  # the settings raise the core tree's ConfigError
from core.settings.jenkins import JenkinsMaster, JenkinsSettings, jenkins_masters

TOKEN = "11f6b1b2c3d4e5f6a7b8c9d0e1f2a3b4c5"


def test_masters_in_camel_or_snake_case_with_igors_password() -> None:
    masters = jenkins_masters(
        [
            {"name": "ci", "address": "https://ci.example.com", "username": "spin", "apiToken": TOKEN},
            {
                "name": "legacy",
                "address": "http://old:8080/jenkins/",
                "username": "spin",
                "password": TOKEN,
                "csrf": True,
            },
            {"name": "open", "address": "http://open", "api_token": TOKEN, "csrf": False, "timeout": 5},
        ]
    )
    assert [m.name for m in masters] == ["ci", "legacy", "open"]
    assert masters[0].address == "https://ci.example.com/"
    assert masters[0].csrf is None and masters[1].csrf is True and masters[2].csrf is False
    assert all(m.api_token is not None and m.api_token.get_secret_value() == TOKEN for m in masters)
    assert masters[0].timeout == 30.0 and masters[2].timeout == 5
    assert TOKEN not in repr(masters) and TOKEN not in str(masters[0].model_dump())


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "ci"}], "masters[0] (ci): address: Field required"),
        ([{"name": "ci", "address": "ci.example.com"}], "masters[0] (ci): address: must be an http:// or https:// URL"),
        ([{"name": "a/b", "address": "http://x"}], "masters[0] (a/b): name: must not contain '/'"),
        (
            [{"name": "ci", "address": "http://x", "apiTokn": TOKEN}],
            "masters[0] (ci): apiTokn: Extra inputs are not permitted",
        ),
        (
            [{"name": "ci", "address": "http://x", "timeout": 0}],
            "masters[0] (ci): timeout: Input should be greater than 0",
        ),
        (
            [{"name": "ci", "address": "http://x"}, {"name": "ci", "address": "http://y"}],
            "names must be unique, repeated: ci",
        ),
        (["ci"], "masters[0]: must be a mapping"),
        ({"name": "ci"}, "masters: must be a list"),
    ],
)
def test_bad_masters_are_named(entries: object, message: str) -> None:
    with pytest.raises(JenkinsConfigError) as caught:
        jenkins_masters(entries)
    assert message in str(caught.value)


def test_a_bad_token_type_does_not_echo_the_value() -> None:
    with pytest.raises(JenkinsConfigError) as caught:
        jenkins_masters([{"name": "ci", "address": "http://x", "apiToken": ["secret-in-a-list"]}])
    assert "apiToken" in str(caught.value) and "secret-in-a-list" not in str(caught.value)


def test_jenkins_settings_validate_masters_with_names() -> None:
    settings = JenkinsSettings.model_validate(
        {"masters": [{"name": "ci", "address": "http://ci"}], "script": {"master": "ci", "job": "run-script"}}
    )
    assert isinstance(settings.masters[0], JenkinsMaster)
    assert (settings.script.master, settings.script.job, settings.poll_interval_s) == ("ci", "run-script", 10.0)
    assert JenkinsSettings().script.job == "job" and JenkinsSettings().script.master == "master"
    with pytest.raises(ValidationError) as caught:
        JenkinsSettings.model_validate({"masters": [{"name": "ci", "address": "http://ci", "apiToken": 7, "x": TOKEN}]})
    assert "masters[0] (ci): apiToken: Input should be a valid string; x: Extra inputs are not permitted" in str(
        caught.value
    )
    assert TOKEN not in str(caught.value)


def test_the_token_may_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    [master] = jenkins_masters([{"name": "ci", "address": "http://ci", "apiTokenFile": str(path)}])
    assert master.token() == TOKEN and TOKEN not in repr(master)
    assert jenkins_masters([{"name": "ci", "address": "http://ci"}])[0].token() is None
    missing = jenkins_masters([{"name": "ci", "address": "http://ci", "apiTokenFile": str(tmp_path / "nope")}])[0]
    with pytest.raises(JenkinsConfigError, match="cannot read apiTokenFile"):
        missing.token()
    with pytest.raises(JenkinsConfigError, match="set apiToken or apiTokenFile, not both"):
        jenkins_masters([{"name": "ci", "address": "http://ci", "apiToken": TOKEN, "apiTokenFile": str(path)}])
