"""Settings: GENNAKER_* environment variables over an optional YAML file, secrets masked, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import (
    ConfigFileError,
    Settings,
    config_file_path,
    describe_error,
    env_var_name,
    load_settings,
    masked_dict,
)
from gennaker import cli

SECRET = "tok-3f9a7c-very-secret"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No GENNAKER_* variables from the outside, and a working directory without a gennaker.yml."""
    for name in list(os.environ):
        if name.startswith("GENNAKER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults() -> None:
    s = load_settings()
    assert s.state_dir == Path(".gennaker")
    assert s.temporal.address == "127.0.0.1:7233"
    assert s.temporal.namespace == "default"
    assert s.temporal.tls is False and s.temporal.api_key is None
    assert (s.dev_server.enabled, s.dev_server.port, s.dev_server.ui_port) == (True, 7233, 8233)
    assert s.dev_server.db_file is None and s.dev_server.log_level == "warn" and s.dev_server.extra_args == []
    assert (s.api.host, s.api.port) == ("127.0.0.1", 8084)
    assert s.task_queue == "gennaker" and s.activity_queues == {}
    assert s.expression_url_allow_list == []
    assert s.execution_window_timezone == "America/Los_Angeles"
    assert s.dev_server_db_path == Path(".gennaker") / "temporal.db"


def test_env_prefix_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_STATE_DIR", "/var/lib/gennaker")
    monkeypatch.setenv("GENNAKER_TEMPORAL__ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("GENNAKER_TEMPORAL__NAMESPACE", "deploys")
    monkeypatch.setenv("GENNAKER_DEV_SERVER__ENABLED", "false")
    monkeypatch.setenv("GENNAKER_DEV_SERVER__EXTRA_ARGS", '["--metrics-port", "9090"]')
    monkeypatch.setenv("GENNAKER_API__PORT", "9000")
    monkeypatch.setenv("GENNAKER_ACTIVITY_QUEUES", '{"createBake": "gennaker-bake"}')
    monkeypatch.setenv("GENNAKER_EXPRESSION_URL_ALLOW_LIST", '["https://config.example.com/"]')
    monkeypatch.setenv("TEMPORAL__ADDRESS", "ignored-without-prefix:1")
    s = load_settings()
    assert s.state_dir == Path("/var/lib/gennaker")
    assert s.dev_server_db_path == Path("/var/lib/gennaker/temporal.db")
    assert (s.temporal.address, s.temporal.namespace) == ("temporal.internal:7233", "deploys")
    assert s.dev_server.enabled is False
    assert s.dev_server.extra_args == ["--metrics-port", "9090"]
    assert s.api.port == 9000
    assert s.activity_queues == {"createBake": "gennaker-bake"}
    assert s.queue_for_activity("createBake") == "gennaker-bake"
    assert s.queue_for_activity("wait") == "gennaker"
    assert s.expression_url_allow_list == ["https://config.example.com/"]


def test_yaml_file_in_working_directory(clean_env: Path) -> None:
    (clean_env / "gennaker.yml").write_text(
        "task_queue: from-yaml\n"
        "temporal:\n  address: yaml-host:7233\n  namespace: yaml-ns\n"
        "api:\n  host: 0.0.0.0\n"
        "activity_queues:\n  createBake: gennaker-bake\n"
    )
    assert config_file_path() == Path("gennaker.yml")
    s = load_settings()
    assert s.task_queue == "from-yaml"
    assert (s.temporal.address, s.temporal.namespace) == ("yaml-host:7233", "yaml-ns")
    assert (s.api.host, s.api.port) == ("0.0.0.0", 8084)
    assert s.activity_queues == {"createBake": "gennaker-bake"}


def test_env_wins_over_yaml_and_nested_values_merge(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = tmp_path_factory.mktemp("etc") / "gennaker-prod.yaml"
    config.write_text("temporal:\n  address: yaml-host:7233\n  namespace: yaml-ns\napi:\n  port: 9100\n")
    monkeypatch.setenv("GENNAKER_CONFIG_FILE", str(config))
    monkeypatch.setenv("GENNAKER_TEMPORAL__ADDRESS", "env-host:7233")
    s = load_settings()
    assert s.temporal.address == "env-host:7233"  # the environment wins...
    assert s.temporal.namespace == "yaml-ns"  # ...key by key: the rest of the YAML section stays
    assert s.api.port == 9100
    assert load_settings(api={"port": 9200}).api.port == 9200  # explicit overrides win over both


def test_named_config_file_must_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_CONFIG_FILE", "/nonexistent/gennaker.yml")
    with pytest.raises(ConfigFileError, match="GENNAKER_CONFIG_FILE: no such file"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [("api: [unclosed", "settings file gennaker.yml"), ("- a\n- b\n", "top level must be a mapping")],
)
def test_broken_yaml_is_a_clear_error(clean_env: Path, text: str, message: str) -> None:
    (clean_env / "gennaker.yml").write_text(text)
    with pytest.raises(ConfigFileError, match=message):
        load_settings()


def test_empty_yaml_file_is_fine(clean_env: Path) -> None:
    (clean_env / "gennaker.yml").write_text("# nothing yet\n")
    assert load_settings().task_queue == "gennaker"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GENNAKER_API__PORT": "eighty"}, "setting GENNAKER_API__PORT: Input should be a valid integer"),
        ({"GENNAKER_DEV_SERVER__PORT": "70000"}, "setting GENNAKER_DEV_SERVER__PORT: Input should be less than"),
        ({"GENNAKER_TEMPORAL__TLS": "maybe"}, "setting GENNAKER_TEMPORAL__TLS: Input should be a valid boolean"),
        ({"GENNAKER_DEV_SERVER__LOG_LEVEL": "loud"}, "setting GENNAKER_DEV_SERVER__LOG_LEVEL: Input should be"),
        ({"GENNAKER_EXECUTION_WINDOW_TIMEZONE": "Mars/Base"}, "unknown IANA time zone 'Mars/Base'"),
        ({"GENNAKER_API__PROT": "1"}, "setting GENNAKER_API__PROT: Extra inputs are not permitted"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        load_settings()
    assert expected in describe_error(info.value)


def test_bad_yaml_value_names_the_setting(clean_env: Path) -> None:
    (clean_env / "gennaker.yml").write_text("dev_server:\n  ui_port: lots\n")
    with pytest.raises(ValidationError) as info:
        load_settings()
    assert describe_error(info.value) == (
        "setting GENNAKER_DEV_SERVER__UI_PORT: Input should be a valid integer, "
        "unable to parse string as an integer (got 'lots')"
    )


def test_env_var_name() -> None:
    assert env_var_name(("api", "port")) == "GENNAKER_API__PORT"
    assert env_var_name(("expression_url_allow_list", 2)) == "GENNAKER_EXPRESSION_URL_ALLOW_LIST"
    assert describe_error(ConfigFileError("x")) == "x"


def test_api_key_is_masked_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_TEMPORAL__API_KEY", SECRET)
    s = load_settings()
    assert s.temporal.api_key is not None and s.temporal.api_key.get_secret_value() == SECRET
    assert SECRET not in repr(s) and SECRET not in str(s) and SECRET not in repr(s.temporal)
    assert masked_dict(s)["temporal"]["api_key"] == "**********"
    assert SECRET not in str(masked_dict(s))


def test_secret_not_echoed_in_errors() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(temporal={"api_key": ["not", SECRET]})
    assert SECRET not in describe_error(info.value)
    assert "setting GENNAKER_TEMPORAL__API_KEY" in describe_error(info.value)


@pytest.mark.parametrize(
    "given",
    [
        {"notifications": {"slack": {"bot_token": 987654321}}},
        {"notifications": {"email": {"password": 987654321}}},
        {"git_webhook_secret": 987654321},
    ],
)
def test_notification_and_webhook_secrets_not_echoed(given: dict) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(**given)
    assert "987654321" not in describe_error(info.value) and "setting GENNAKER_" in describe_error(info.value)


def test_config_check_prints_masked_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GENNAKER_TEMPORAL__API_KEY", SECRET)
    monkeypatch.setenv("GENNAKER_API__PORT", "9001")
    assert cli.run(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    assert "api_key: '**********'" in out
    assert "port: 9001" in out
    assert "# settings file: none" in out


def test_config_check_reports_bad_settings(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GENNAKER_API__PORT", "abc")
    monkeypatch.setenv("GENNAKER_TEMPORAL__API_KEY", SECRET)
    assert cli.run(["config", "check"]) == 2
    captured = capsys.readouterr()
    assert "setting GENNAKER_API__PORT: Input should be a valid integer" in captured.err
    assert "Traceback" not in captured.err
    assert SECRET not in captured.out + captured.err


def test_config_check_reports_unreadable_certificates(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GENNAKER_TEMPORAL__TLS_CERT_PATH", "/nonexistent/client.pem")
    monkeypatch.setenv("GENNAKER_TEMPORAL__TLS_KEY_PATH", "/nonexistent/client.key")
    assert cli.run(["config", "check"]) == 2
    assert "GENNAKER_TEMPORAL__TLS_CERT_PATH: cannot read /nonexistent/client.pem" in capsys.readouterr().err
