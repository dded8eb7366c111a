"""The pure parts and the process runner on their own: context checks, log caps, redaction, plan summaries,
and an interrupt that waits for the process to finish."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from integrations.terraform import plans
from integrations.terraform.context import InvalidTerraformStage, parse
from integrations.terraform.process import CappedLog, redactor, run

REPO = {"type": "git/repo", "reference": "https://git.example.com/x.git"}


def test_context_is_normalised_and_refusals_name_the_field() -> None:
    job = parse(
        {
            "action": "plan",
            "artifacts": [REPO],
            "overrides": {"n": 3, "flag": True, "tags": {"a": "b"}},
            "lock": "false",
            "dir": "./",
            "workspace": "",
        }
    )
    assert job.overrides == {"n": "3", "flag": "true", "tags": '{"a": "b"}'}
    assert (job.lock, job.dir, job.workspace) == (False, "", "default")
    cases = {
        "lock": {"action": "plan", "artifacts": [REPO], "lock": "maybe"},
        "overrides.x y": {"action": "plan", "artifacts": [REPO], "overrides": {"x y": 1}},
        "targets": {"action": "plan", "artifacts": [REPO], "targets": "a"},
        "artifacts[1].type": {"action": "plan", "artifacts": [REPO, {"type": "s3/object", "reference": "s3://b/k"}]},
        "artifacts[0].reference": {"action": "plan", "artifacts": [{"type": "git/repo"}]},
        "expectedArtifacts": {
            "action": "apply",
            "artifacts": [REPO],
            "expectedArtifacts": [{"id": "p", "matchArtifact": {"name": "planfile"}}],
        },
    }
    for field, context in cases.items():
        with pytest.raises(InvalidTerraformStage) as err:
            parse(context)
        assert err.value.field == field and str(err.value).startswith(f"{field}: ")


def test_a_capped_log_keeps_its_end_and_says_what_it_dropped() -> None:
    log = CappedLog(100)
    for i in range(50):
        log.add(f"line {i:03d}\n")
    text = log.text()
    assert text.startswith("[") and "earlier characters dropped]" in text
    assert text.endswith("line 049\n") and len(text.split("\n", 1)[1]) <= 100
    big = CappedLog(10)
    big.add("x" * 50)
    assert big.text().endswith("x" * 10) and "40 earlier" in big.text()


def test_redaction_hides_every_secret_longest_first() -> None:
    redact = redactor(["abcd", "abcdef"])
    assert redact("key=abcdef and abcd") == "key=**** and ****"


def test_a_plan_summary_counts_replacements_as_add_and_destroy() -> None:
    shown = {
        "resource_changes": [
            {"address": "a", "change": {"actions": ["create"]}},
            {"address": "b", "change": {"actions": ["delete", "create"]}},
            {"address": "c", "change": {"actions": ["update"]}},
            {"address": "d", "change": {"actions": ["no-op"]}},
        ]
    }
    summary = plans.summary(shown)
    assert (summary["add"], summary["change"], summary["destroy"]) == (2, 1, 1)
    assert summary["text"] == "Plan: 2 to add, 1 to change, 1 to destroy."
    assert plans.summary({})["text"].startswith("No changes.")


async def test_output_is_capped_while_it_streams(tmp_path: Path) -> None:
    seen: list[str] = []
    script = "import sys\nfor i in range(2000): print('x' * 50, i)\nprint('err', file=sys.stderr)"
    done = await run(
        [sys.executable, "-c", script],
        cwd=str(tmp_path),
        env={"PATH": "/usr/bin:/bin"},
        cap=2048,
        redact=lambda s: s,
        on_line=lambda stream, line: seen.append(stream),
    )
    assert done.code == 0 and len(seen) == 2001 and seen.count("stderr") == 1
    assert len(done.stdout) < 2048 + 64 and done.stdout.rstrip().endswith("1999")
    assert done.stderr == "err\n"


async def test_a_cancel_interrupts_and_waits_for_the_process_to_finish(tmp_path: Path) -> None:
    """As terraform does on SIGINT: the process cleans up (here: writes a file after a pause) before exiting;
    the cancellation surfaces only after that."""
    ready = tmp_path / "ready"
    cleaned = tmp_path / "cleaned"
    script = (
        "import signal, time, pathlib, sys\n"
        "def stop(*_):\n"
        "    time.sleep(0.5)\n"
        f"    pathlib.Path({str(cleaned)!r}).write_text('released')\n"
        "    sys.exit(1)\n"
        "signal.signal(signal.SIGINT, stop)\n"
        f"pathlib.Path({str(ready)!r}).write_text('x')\n"
        "time.sleep(60)\n"
    )
    task = asyncio.ensure_future(
        run([sys.executable, "-c", script], cwd=str(tmp_path), env={"PATH": "/usr/bin:/bin"}, cap=4096, redact=str)
    )
    while not ready.exists():
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned.read_text() == "released"  # the process had finished its clean-up
