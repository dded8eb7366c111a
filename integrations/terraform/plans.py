"""What Gennaker reads from a plan: the summary a judge sees, and the state it was made against."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StateMark:
    """A state's identity and version: a saved plan applies only to the state it was made against."""

    lineage: str
    serial: int

    def describe(self) -> str:
        return f"lineage {self.lineage or '(none: no state yet)'}, serial {self.serial}"


def summary(show_json: dict[str, Any]) -> dict[str, Any]:
    """Counts of resources to add, change and destroy (a replacement counts as one add and one destroy),
    with terraform's own one-line wording and the addresses per kind."""
    add, change, destroy = [], [], []
    for rc in show_json.get("resource_changes") or []:
        actions = (rc.get("change") or {}).get("actions") or []
        address = rc.get("address", "?")
        if "create" in actions:
            add.append(address)
        if "delete" in actions:
            destroy.append(address)
        if actions == ["update"]:
            change.append(address)
    outputs = [name for name, c in (show_json.get("output_changes") or {}).items() if c.get("actions") != ["no-op"]]
    text = f"Plan: {len(add)} to add, {len(change)} to change, {len(destroy)} to destroy."
    if not (add or change or destroy):
        text = "No changes. Your infrastructure matches the configuration."
    return {
        "add": len(add),
        "change": len(change),
        "destroy": len(destroy),
        "text": text,
        "resources": {"add": add, "change": change, "destroy": destroy},
        "outputsChanged": outputs,
    }


def plan_state_mark(planfile: bytes) -> StateMark:
    """The state a plan file was made against (its ``tfstate`` member: lineage and serial)."""
    with zipfile.ZipFile(io.BytesIO(planfile)) as archive:
        state = json.loads(archive.read("tfstate"))
    return StateMark(str(state.get("lineage") or ""), int(state.get("serial") or 0))


def state_mark(state_text: str) -> StateMark:
    """The mark of a state as ``terraform state pull`` prints it (empty: no state yet)."""
    if not state_text.strip():
        return StateMark("", 0)
    state = json.loads(state_text)
    return StateMark(str(state.get("lineage") or ""), int(state.get("serial") or 0))


def outputs(output_json: dict[str, Any]) -> dict[str, Any]:
    """``terraform output -json`` as Armory shows it (``{name: {value, type, sensitive}}``), sensitive values hidden."""
    shown = {}
    for name, entry in output_json.items():
        if not isinstance(entry, dict):
            continue
        sensitive = bool(entry.get("sensitive"))
        shown[name] = {
            "value": "(sensitive)" if sensitive else entry.get("value"),
            "type": entry.get("type"),
            "sensitive": sensitive,
        }
    return shown
