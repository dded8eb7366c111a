"""``gennaker pipeline-template`` (aliases ``pipeline-templates``, ``pt``): spin's verbs for MPTv2 through Gate.

    gennaker pipeline-template save --file T.json [--tag stable]   # updates when the id exists, else creates
    gennaker pipeline-template get --id ID [--tag T]
    gennaker pipeline-template list [--scopes a,b]
    gennaker pipeline-template delete ID [--tag T]
    gennaker pipeline-template plan --file CONFIG.json
    gennaker pipeline-template use --id ID -a APP -n NAME [-t TAG] [--set k=v] [--values F]  # prints a config

Exit codes as the other verbs: 0 done, 2 a refused request or bad input, 3 Gate cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.settings import Settings


def add_parser(commands: Any) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--gate", help="Gate's URL (default: the API from settings)")
    common.add_argument("--output", "-o", choices=["text", "json"], default="text")
    pt = commands.add_parser(
        "pipeline-template", aliases=["pipeline-templates", "pt"], help="managed pipeline templates (v2)"
    )
    verbs = pt.add_subparsers(dest="verb", required=True, metavar="VERB")
    save = verbs.add_parser("save", parents=[common], help="create or update a template from a file")
    save.add_argument("--file", "-f", type=Path, required=True)
    save.add_argument("--tag")
    get = verbs.add_parser("get", parents=[common], help="print a template")
    get.add_argument("template_id", nargs="?")
    get.add_argument("--id", dest="id_flag")
    get.add_argument("--tag")
    get.add_argument("--digest")
    lst = verbs.add_parser("list", aliases=["ls"], parents=[common], help="list templates")
    lst.add_argument("--scopes", help="comma-separated scopes")
    delete = verbs.add_parser("delete", aliases=["del"], parents=[common], help="delete a template version")
    delete.add_argument("template_id", nargs="?")
    delete.add_argument("--id", dest="id_flag")
    delete.add_argument("--tag")
    plan = verbs.add_parser("plan", parents=[common], help="render a templated pipeline config without running it")
    plan.add_argument("--file", "-f", type=Path, required=True)
    use = verbs.add_parser("use", parents=[common], help="print a templated pipeline config using a template")
    use.add_argument("--id", dest="id_flag", required=True)
    use.add_argument("--application", "-a", required=True)
    use.add_argument("--name", "-n", required=True)
    use.add_argument("--tag", "-t")
    use.add_argument("--description", "-d")
    use.add_argument("--type", default="front50/pipelineTemplate")
    use.add_argument("--artifact-account", default="front50ArtifactCredentials")
    use.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a variable (a string)")
    use.add_argument("--values", action="append", default=[], type=Path, help="a JSON or YAML file of variables")
    return pt  # type: ignore[no-any-return]


def run(args: argparse.Namespace, settings: Settings | None) -> int:
    from .client import ApiConnectionError, Client, GateError
    from .commands import gate_url

    if settings is None:
        return 2
    try:
        if args.verb == "use":  # spin's `use` only prints: no call to Gate
            return _print(args, use_config(args))
        with Client(gate_url(settings, args.gate)) as client:
            return dispatch(args, client)
    except ApiConnectionError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 3
    except (GateError, ValueError, OSError) as err:
        print(f"error: {getattr(err, 'message', err)}", file=sys.stderr)
        return 2


def dispatch(args: argparse.Namespace, client: Any) -> int:
    from .client import NotFound

    verb = {"ls": "list", "del": "delete"}.get(args.verb, args.verb)
    if verb == "save":
        template = _file(args.file)
        for key in ("id", "schema"):
            if not template.get(key):
                raise ValueError(f"{args.file}: a pipeline template needs '{key}'")
        tag = args.tag or (template.get("tag") if isinstance(template.get("tag"), str) else None) or None
        try:  # spin looks for the version the file's own tag names when --tag is not given
            client.pipeline_template(str(template["id"]), tag=tag)
            exists = True
        except NotFound:
            exists = False
        saved = (client.update_pipeline_template if exists else client.create_pipeline_template)(template, args.tag)
        return _print(args, saved, f"{'updated' if exists else 'created'} pipeline template {template['id']}")
    if verb == "get":
        return _print(args, client.pipeline_template(_id(args), tag=args.tag, digest=args.digest))
    if verb == "list":
        scopes = [s for s in (args.scopes or "").split(",") if s]
        items = client.pipeline_templates(scopes or None)
        if args.output == "json":
            return _print(args, items)
        for item in items:
            name = (item.get("metadata") or {}).get("name", "")
            print(f"{item.get('id')}  {item.get('tag') or ''}  {item.get('digest') or ''}  {name}".rstrip())
        return 0
    if verb == "delete":
        client.delete_pipeline_template(_id(args), tag=args.tag)
        return _print(args, None, f"deleted pipeline template {_id(args)}")
    return _print(args, client.plan_pipeline_template(_file(args.file)))


def use_config(args: argparse.Namespace) -> dict[str, Any]:
    """The templated pipeline config spin's ``use`` prints (save it with ``gennaker pipeline save``)."""
    variables: dict[str, Any] = {}
    for path in args.values:
        loaded = _file(path)
        variables.update(loaded)
    for item in (pair for given in args.set for pair in given.split(",")):  # spin: key=val,key1=val1
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        variables[key] = value
    reference = f"spinnaker://{args.id_flag}" + (f":{args.tag}" if args.tag else "")
    config: dict[str, Any] = {
        "schema": "v2",
        "type": "templatedPipeline",
        "application": args.application,
        "name": args.name,
        "template": {"artifactAccount": args.artifact_account, "reference": reference, "type": args.type},
        "variables": variables,
        "exclude": [],
        "triggers": [],
        "parameters": [],
        "notifications": [],
        "stages": [],
    }
    if args.description:
        config["description"] = args.description
    return config


def _id(args: argparse.Namespace) -> str:
    value = args.id_flag or args.template_id
    if not value:
        raise ValueError("name the template: ID or --id ID")
    return str(value)


def _file(path: Path) -> dict[str, Any]:
    """A JSON or YAML object from ``path`` (ValueError names the file)."""
    from core.safe_yaml import load as load_yaml

    text = path.read_text()
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = load_yaml(text)
        except Exception as err:  # noqa: BLE001 - any parse failure is bad input, named with the file
            raise ValueError(f"{path} is neither JSON nor YAML: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold an object")
    return data


def _print(args: argparse.Namespace, body: Any, text: str | None = None) -> int:
    if body is None or (text and args.output != "json"):
        print(json.dumps({"ok": True, "message": text}) if args.output == "json" else text)
        return 0
    print(json.dumps(body, indent=None if args.output == "json" else 2))
    return 0
