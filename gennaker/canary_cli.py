"""``gennaker canary backtest``: judge a canary config over past windows through Gate's
``POST /v2/canaries/backtest`` and print a row per window.

    gennaker canary backtest --config-id ID --control baseline --experiment canary \\
        --window 2025-01-01T00:00:00Z,2025-01-01T00:30:00Z --window ... [--step 10]
    gennaker canary backtest --config-file proposed.json --pipeline-id PIPELINE [--limit 10]

Exit codes as the other verbs: 0 answered, 2 a refused request or bad input, 3 Gate cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.settings import Settings


def add_parser(commands: Any) -> argparse.ArgumentParser:
    canary = commands.add_parser("canary", help="canary analysis: backtest a config over past windows")
    verbs = canary.add_subparsers(dest="verb", required=True, metavar="VERB")
    bt = verbs.add_parser("backtest", help="judge a config over past windows (or a pipeline's recorded intervals)")
    which = bt.add_mutually_exclusive_group(required=True)
    which.add_argument("--config-id", help="a stored canary config")
    which.add_argument("--config-file", type=Path, help="a canary config JSON file (e.g. a change under review)")
    bt.add_argument("--window", action="append", default=[], metavar="START,END", help="ISO-8601 instants")
    bt.add_argument("--control", help="the control (baseline) scope of --window")
    bt.add_argument("--experiment", help="the experiment (canary) scope of --window")
    bt.add_argument("--step", type=int, default=60, help="seconds between points (default 60)")
    bt.add_argument("--pipeline-id", help="replay the intervals kayentaCanary stages of this pipeline recorded")
    bt.add_argument("--execution", action="append", default=[], help="replay this execution's intervals")
    bt.add_argument("--limit", type=int, default=10, help="how many recent executions of --pipeline-id")
    bt.add_argument("--pass", dest="pass_threshold", type=float, default=75)
    bt.add_argument("--marginal", type=float, default=50)
    bt.add_argument("--application", help="the application (default: the config's first)")
    bt.add_argument("--metrics-account", help="the metrics account (default: the first configured)")
    bt.add_argument("--gate", help="Gate's URL (default: the API from settings)")
    bt.add_argument("--output", "-o", choices=["text", "json"], default="text")
    return canary


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    """The backtest request the arguments describe (ValueError names what is wrong)."""
    body: dict[str, Any] = {"thresholds": {"pass": args.pass_threshold, "marginal": args.marginal}}
    if args.config_id:
        body["canaryConfigId"] = args.config_id
    else:
        try:
            body["canaryConfig"] = json.loads(args.config_file.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"--config-file: {err}") from None
    if args.window:
        if not args.control or not args.experiment:
            raise ValueError("--window needs --control and --experiment")
        windows = []
        for text in args.window:
            start, _, end = text.partition(",")
            if not start or not end:
                raise ValueError(f"--window must be START,END, got {text!r}")
            windows.append({"controlScope": args.control, "experimentScope": args.experiment,
                            "startTimeIso": start.strip(), "endTimeIso": end.strip(), "step": args.step})  # fmt: skip
        body["windows"] = windows
    elif args.pipeline_id or args.execution:
        body.update(pipelineConfigId=args.pipeline_id, executionIds=args.execution or None, limit=args.limit)
    else:
        raise ValueError("give --window (with --control/--experiment), --pipeline-id or --execution")
    for key, value in (("application", args.application), ("metricsAccountName", args.metrics_account)):
        if value:
            body[key] = value
    return {k: v for k, v in body.items() if v is not None}


def run(args: argparse.Namespace, settings: Settings | None) -> int:
    if settings is None:
        return 2  # the settings did not load (already reported)
    from .client import ApiConnectionError, Client, GateError, _call
    from .commands import gate_url

    try:
        body = request_body(args)
        with Client(gate_url(settings, args.gate), timeout=600) as client:
            answer = client._send(_call("POST", "/v2/canaries/backtest", json=body))
    except ApiConnectionError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 3
    except (GateError, ValueError) as err:
        print(f"error: {getattr(err, 'message', err)}", file=sys.stderr)
        return 2
    if args.output == "json":
        print(json.dumps(answer))
        return 0
    print(f"config {answer.get('canaryConfigName')}  pass {answer['thresholds']['pass']:g}  "
          f"marginal {answer['thresholds']['marginal']:g}")  # fmt: skip
    for row in answer["windows"]:
        then = row.get("recorded", {}).get("canaryScore")
        verdict = row.get("error") or f"{row.get('classification')}  score {row.get('score')}"
        print(f"#{row['index'] + 1}  {row['startTimeIso']} → {row['endTimeIso']}  {row.get('source', '-')}  {verdict}"
              + (f"  (recorded score {then})" if then is not None else ""))  # fmt: skip
    print("summary: " + ", ".join(f"{k} {v}" for k, v in sorted(answer["summary"].items())))
    return 0
