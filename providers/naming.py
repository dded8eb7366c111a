"""Spinnaker's naming (Frigga, Moniker): ``app-stack-detail-v003``.

A cluster is ``app``, ``app-stack`` or ``app-stack-detail`` (``app--detail`` when there is no stack); a
server group adds ``-vNNN`` (000-999, wrapping). Names hold letters, digits, ``_``, ``.`` and ``^`` per
part, as Frigga accepts, and nothing that could reach a shell or a URL path differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.errors import ProviderError

_PART = re.compile(r"^[a-zA-Z0-9_.^~]*$")
_APP = re.compile(r"^[a-zA-Z0-9_.^~]+$")
_VERSIONED = re.compile(r"^(?P<cluster>.+?)-v(?P<sequence>\d{3,})$")
MAX_SEQUENCE = 1000


class NameError_(ProviderError, ValueError):  # noqa: N801 - "NameError" is a builtin
    """A name Spinnaker's naming refuses; the message names the part."""


@dataclass(frozen=True)
class Moniker:
    app: str
    stack: str = ""
    detail: str = ""
    sequence: int | None = None

    @property
    def cluster(self) -> str:
        if self.detail:
            return f"{self.app}-{self.stack}-{self.detail}"
        return f"{self.app}-{self.stack}" if self.stack else self.app

    def server_group_name(self, sequence: int) -> str:
        return f"{self.cluster}-v{sequence % MAX_SEQUENCE:03d}"

    @classmethod
    def of(cls, app: str, stack: str | None = None, detail: str | None = None) -> Moniker:
        """Checked parts: letters, digits and ``_.^~``; the application must not be empty."""
        if not isinstance(app, str) or not _APP.match(app):
            raise NameError_(f"application: {app!r} must be letters, digits, '_', '.', '^' or '~'")
        for label, part in (("stack", stack), ("freeFormDetails", detail)):
            if part is not None and (not isinstance(part, str) or not _PART.match(part)):
                raise NameError_(f"{label}: {part!r} must be letters, digits, '_', '.', '^' or '~' (no '-')")
        return cls(app, stack or "", detail or "")

    @classmethod
    def parse(cls, name: str) -> Moniker:
        """Frigga's reading of a cluster or server group name."""
        sequence: int | None = None
        match = _VERSIONED.match(name)
        cluster = name
        if match:
            cluster, sequence = match.group("cluster"), int(match.group("sequence"))
        parts = cluster.split("-", 2)
        app = parts[0]
        stack = parts[1] if len(parts) > 1 else ""
        detail = parts[2] if len(parts) > 2 else ""
        return cls(app, stack, detail, sequence)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"app": self.app, "cluster": self.cluster}
        if self.stack:
            out["stack"] = self.stack
        if self.detail:
            out["detail"] = self.detail
        if self.sequence is not None:
            out["sequence"] = self.sequence
        return out


def next_name(moniker: Moniker, existing: list[tuple[str, int]]) -> str:
    """The next server group name of the cluster, from ``(name, created ms)`` of the groups there are: one
    past the most recently created group's sequence (wrapping after 999), as Clouddriver picks it."""
    ours = [
        (created, m.sequence) for name, created in existing if (m := Moniker.parse(name)).cluster == moniker.cluster
    ]
    sequences = [(created, seq) for created, seq in ours if seq is not None]
    if not sequences:
        return moniker.server_group_name(0)
    taken = {seq for _, seq in sequences}
    sequence = max(sequences)[1] + 1
    while sequence % MAX_SEQUENCE in taken and len(taken) < MAX_SEQUENCE:
        sequence += 1  # never reuse the name of a group that still exists
    return moniker.server_group_name(sequence)
