"""The CLI for people, without servers: aligned tables (Rich only on a terminal), durations, the progress view's
lines and exit codes, shell completion (Click's scripts, answered from the argparse tree; bash really completes),
and registering a command group."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from gennaker import cli, completion, console, progress

ROOT = Path(__file__).resolve().parents[2]
ESC = "\x1b["


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("GENNAKER_") or name in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- tables -------------------------------------------------------------------------------------------------------


def test_plain_table_lines_up_columns_without_trailing_spaces() -> None:
    lines = console.plain_table([["a", "first", "SUCCEEDED"], ["longer-id", "x", None]])
    assert lines == ["a          first  SUCCEEDED", "longer-id  x"]
    assert console.plain_table([]) == []


def test_table_is_plain_when_piped_and_rich_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [["01H", "deploy", "TERMINAL"], ["01HXYZ", "bake [prod]", "SUCCEEDED"]]
    piped = io.StringIO()
    console.table(("id", "name", "status"), rows, piped)
    assert piped.getvalue().splitlines() == ["01H     deploy       TERMINAL", "01HXYZ  bake [prod]  SUCCEEDED"]

    tty = Terminal()
    monkeypatch.setenv("FORCE_COLOR", "1")  # Rich's own terminal detection follows the stream; this makes it sure
    console.table(("id", "name", "status"), rows, tty)
    text = tty.getvalue()
    assert ESC in text and "STATUS" in text and "bake [prod]" in text  # a cell is text, not Rich markup

    monkeypatch.setenv("NO_COLOR", "1")
    quiet = Terminal()
    console.table(("id", "name", "status"), rows, quiet)
    assert ESC not in quiet.getvalue() and "STATUS" not in quiet.getvalue()


def test_is_rich_needs_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert console.is_rich(Terminal()) and not console.is_rich(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "")  # an empty NO_COLOR does not count (no-color.org)
    assert console.is_rich(Terminal())


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (0.0123, "12ms"), (-1, "0ms"), (1.25, "1.2s"), (59.94, "59.9s"), (245, "4m05s"), (3725, "1h02m")],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert console.duration(seconds) == text


# --- the progress view --------------------------------------------------------------------------------------------


def _execution(status: str, *stages: dict[str, Any]) -> dict[str, Any]:
    body = {"id": "E1", "application": "shop", "name": "deploy", "status": status, "startTime": 1_000}
    return {**body, "stages": list(stages)}


def test_exit_codes_say_how_the_execution_ended() -> None:
    assert [progress.exit_code(s) for s in ("SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", None, "PAUSED")] == [
        0, 1, 4, 5, 1, 1,
    ]  # fmt: skip


def test_stage_durations_from_start_and_end_times() -> None:
    assert progress.stage_seconds({"startTime": 1_000, "endTime": 3_500, "status": "SUCCEEDED"}, 9_000) == 2.5
    assert progress.stage_seconds({"startTime": 1_000, "status": "RUNNING"}, 4_000) == 3.0
    assert progress.stage_seconds({"status": "NOT_STARTED"}, 4_000) is None
    assert progress.stage_seconds({"startTime": 1_000, "status": "SKIPPED"}, 4_000) is None


def test_piped_follow_prints_a_line_per_transition_with_durations_and_links() -> None:
    settings = Settings.model_validate(
        {"ui": {"base_url": "https://deck.example.com/", "temporal_web_url": "https://t.io/"}}
    )
    greeting = {"id": "s1", "name": "Greeting", "status": "RUNNING", "startTime": 1_000}
    done = {**greeting, "status": "SUCCEEDED", "endTime": 2_200}
    before = {"id": "s0", "name": "Check", "status": "SUCCEEDED", "startTime": 900, "endTime": 950,
              "syntheticStageOwner": "STAGE_BEFORE"}  # fmt: skip
    changes: list[dict[str, Any]] = [
        {"execution": _execution("RUNNING", greeting), "stage": "Greeting", "stageId": "s1", "status": "RUNNING"},
        {"execution": _execution("RUNNING", done), "stage": "Greeting", "stageId": "s1", "status": "SUCCEEDED"},
        {"execution": _execution("SUCCEEDED", before, done), "stage": None, "stageId": None, "status": "SUCCEEDED"},
    ]
    view = progress.ExecutionView(settings, "E1", clock=lambda: 5.0)
    out = io.StringIO()
    last = progress.follow(changes, view, out, live=False)
    assert last["status"] == "SUCCEEDED"
    assert out.getvalue().splitlines() == [
        "  https://deck.example.com/#/applications/shop/executions/details/E1",
        "  RUNNING      Greeting",
        "  SUCCEEDED    Greeting  1.2s",
    ]
    assert view.rows() == [("SUCCEEDED", "  Check", "50ms"), ("SUCCEEDED", "Greeting", "1.2s")]
    assert view.links()[1] == ("Temporal", "https://t.io/namespaces/default/workflows/E1")
    assert [label for label, _ in view.links()] == ["Deck", "Temporal"]


def test_live_follow_draws_the_stage_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    stage = {"id": "s1", "name": "Bake", "status": "TERMINAL", "startTime": 1_000, "endTime": 61_000}
    changes = [{"execution": _execution("TERMINAL", stage), "stage": "Bake", "stageId": "s1", "status": "TERMINAL"}]
    out = Terminal()
    progress.follow(changes, progress.ExecutionView(Settings(), "E1"), out, live=True)
    text = out.getvalue()
    assert ESC in text and "STAGE" in text and "Bake" in text and "1m00s" in text
    assert "shop / deploy" in text and "#/applications/shop/executions/details/E1" in text


# --- shell completion ---------------------------------------------------------------------------------------------


def _candidates(line: str) -> list[str]:
    words = line.split()
    incomplete = "" if line.endswith(" ") else words.pop()
    return [value for value, _, _ in completion.candidates(cli.build_parser(), words[1:], incomplete)]


def test_candidates_walk_the_parser() -> None:
    assert _candidates("gennaker pi") == ["pipeline", "pipeline-template", "pipeline-templates"]
    assert _candidates("gennaker pipeline e") == ["execute"]
    assert {"--gate", "--output", "--interval"} <= set(_candidates("gennaker watch --"))
    assert _candidates("gennaker execution list -o ") == ["text", "json"]
    assert _candidates("gennaker --output=json execution l") == ["list"]
    assert _candidates("gennaker events tail --ty") == ["--type"]  # another module's group completes too
    assert _candidates("gennaker completion ") == ["bash", "zsh", "fish"]
    kinds = completion.candidates(cli.build_parser(), ["run"], "exam")
    assert kinds == [("exam", "file", None)]  # the shell lists the files
    assert completion.candidates(cli.build_parser(), ["get"], "") == []


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_completion_command_prints_clicks_script(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "_GENNAKER_COMPLETE" in script and f"{shell}_complete" in script


def test_completion_refuses_an_unknown_shell(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.run(["completion", "tcsh"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err


def _fake_gennaker(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "gennaker"
    program.write_text(f'#!/bin/sh\nexec {sys.executable} -m gennaker.cli "$@"\n')
    program.chmod(0o755)
    return bin_dir


def test_bash_completes_through_the_script(tmp_path: Path) -> None:
    """The script `gennaker completion bash` prints, sourced in a real bash, fills COMPREPLY from our answers."""
    bin_dir = _fake_gennaker(tmp_path)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    script = "source <(gennaker completion bash); COMP_WORDS=(gennaker execution c); COMP_CWORD=2; "
    script += '_gennaker_completion gennaker; printf "%s\\n" "${COMPREPLY[@]}"'
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cancel"]


def test_zsh_request_gets_values_and_help(tmp_path: Path) -> None:
    """The wire format Click's zsh script reads: type, value, help per candidate."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "_GENNAKER_COMPLETE": "zsh_complete"}
    env.update(COMP_WORDS="gennaker ev", COMP_CWORD="1")
    done = subprocess.run([sys.executable, "-m", "gennaker.cli"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["plain", "events", "Echo's event stream: follow it"]


# --- registering a command group ----------------------------------------------------------------------------------


def test_a_command_group_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    group = types.ModuleType("tests_fake_group")

    def add_parser(commands: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser("hello", help="say hello")
        parser.add_argument("--who", default="world")
        return parser

    def run(args: argparse.Namespace, settings: Settings | None) -> int:
        print(f"hello {args.who} on port {settings.api.port if settings else '?'}")
        return 7

    group.add_parser = add_parser  # type: ignore[attr-defined]
    group.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_fake_group", group)
    monkeypatch.setattr(cli, "COMMAND_GROUPS", (*cli.COMMAND_GROUPS, "tests_fake_group"))
    assert cli.run(["hello", "--who", "you"]) == 7
    assert capsys.readouterr().out.startswith("hello you on port ")
    assert _candidates("gennaker hel") == ["hello"]
    names = [value for value, _, _ in completion.candidates(cli.build_parser(), [], "")]
    assert {"events", "canary", "apply", "pipeline-template", "hello"} <= set(names)


# --- following: bad intervals, Ctrl-C -----------------------------------------------------------------------------


@pytest.mark.parametrize("interval", ["0", "-1", "soon", "3601"])
def test_a_bad_interval_is_refused_before_anything_starts(interval: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.run(["watch", "E1", "--interval", interval, "--gate", "http://127.0.0.1:1"])
    assert exit_.value.code == 2 and "--interval" in capsys.readouterr().err


def test_ctrl_c_stops_watching_not_the_execution(capsys: pytest.CaptureFixture[str]) -> None:
    from gennaker import commands

    class Interrupted:
        def watch(self, execution_id: str, poll: float) -> Any:
            yield {"execution": _execution("RUNNING"), "stage": None, "stageId": None, "status": "RUNNING"}
            raise KeyboardInterrupt

    out = commands._Printer("text", Settings())
    assert commands._follow(Interrupted(), out, "E1", 1.0) == commands.INTERRUPTED == 130
    assert "gennaker watch E1" in capsys.readouterr().err
