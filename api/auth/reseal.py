"""``gennaker auth reseal``: seal every stored config's webhook header values again with the current key.

After a rotation (docs/security-auth.md) the values sealed with a previous key still open, and each save seals them
again with the current key; this does it for every pipeline and strategy config at once, so the previous key can be
removed. A config changed by someone else while this runs is left (their save sealed it already, through the API)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.sealing import reseal, seal_config, sealed_values

#: who the configs' ``lastModifiedBy`` and the audit trail name
BY = "gennaker-reseal"
KINDS = ("pipeline", "strategy")


@dataclass
class ResealReport:
    #: sealed values looked at
    checked: int = 0
    #: values sealed again (or, with ``dry_run``, that would be)
    resealed: int = 0
    #: configs saved (or to save), each ``{kind, id, application, name, values}``
    configs: list[dict[str, Any]] = field(default_factory=list)
    #: configs with values no configured key opens (their webhook stages fail until saved with clear values)
    unopenable: list[dict[str, Any]] = field(default_factory=list)
    #: configs changed by someone else meanwhile (left as that save wrote them)
    stale: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return asdict(self)


def reseal_configs(store: Any, settings: Any, *, dry_run: bool = False) -> ResealReport:
    """Seal again, with ``auth.seal_key``, every stored value only a previous key opens."""
    from core.store import StaleError

    report = ResealReport()
    for kind in KINDS:
        for doc in store.pipelines.all(kind=kind):
            values = sealed_values(doc)
            if not values:
                continue
            states = [reseal(settings, value)[1] for value in values]
            where = {"kind": kind, "id": doc.get("id"), "application": doc.get("application"), "name": doc.get("name")}
            report.checked += len(values)
            if "unopenable" in states:
                report.unopenable.append({**where, "values": states.count("unopenable")})
            moved = states.count("resealed")
            if not moved:
                continue
            if not dry_run:
                try:
                    store.pipelines.save(seal_config(settings, doc), BY, stale_check=True, kind=kind)
                except StaleError:
                    report.stale.append(where)
                    continue
            report.resealed += moved
            report.configs.append({**where, "values": moved})
    return report
