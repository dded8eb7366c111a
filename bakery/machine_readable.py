"""Packer's ``-machine-readable`` output: ``timestamp,target,type,data...``, one record a line.

Commas inside data are written ``%!(PACKER_COMMA)``, newlines ``\\n`` and carriage returns ``\\r``.
A :class:`Transcript` folds records into what the bakery needs: the human log (the ``ui`` lines),
the artifacts (``artifact,0,id,us-east-1:ami-...``) and the errors packer reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

COMMA = "%!(PACKER_COMMA)"
ERROR_LINES_KEPT = 20
#: the image name as the builders announce it (amazon-ebs, amazon-chroot, older packers, googlecompute)
_IMAGE_NAME = re.compile(
    r"(?:Creating AMI (\S+) from instance|Creating the AMI: (\S+)|A disk image was created: (\S+))"
)


@dataclass(frozen=True)
class Record:
    timestamp: str
    target: str
    type: str
    data: tuple[str, ...]


@dataclass
class Artifact:
    """One ``artifact,<n>,...`` group: the builder, its id (``region:ami,...`` or a GCE image name)."""

    builder: str
    builder_id: str | None = None
    id: str | None = None
    description: str | None = None


def unescape(text: str) -> str:
    return text.replace(COMMA, ",").replace("\\n", "\n").replace("\\r", "\r")


def parse_line(line: str) -> Record | None:
    """A machine-readable record, or None for any other line (a panic, a plugin's stray output)."""
    parts = line.rstrip("\r\n").split(",")
    if len(parts) < 3 or not parts[0].isdigit():
        return None
    return Record(parts[0], parts[1], parts[2], tuple(unescape(p) for p in parts[3:]))


def amazon_images(artifact_id: str) -> dict[str, str]:
    """``us-east-1:ami-1,us-west-2:ami-2`` → ``{region: ami}``."""
    images = {}
    for item in artifact_id.split(","):
        region, _, image = item.strip().partition(":")
        if region and image:
            images[region] = image
    return images


@dataclass
class Transcript:
    """What a packer run said, record by record."""

    artifacts: dict[tuple[str, str], Artifact] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    ui_errors: list[str] = field(default_factory=list)
    image_name: str | None = None

    def feed(self, line: str) -> str | None:
        """Take one output line; returns the text to append to the human log (None: nothing)."""
        record = parse_line(line)
        if record is None:
            return line.rstrip("\r\n")
        if record.type == "ui" and len(record.data) >= 2:
            text = record.data[1]
            if record.data[0] == "error":
                self._keep(self.ui_errors, text)
            named = _IMAGE_NAME.search(text)
            if named:
                self.image_name = next(g for g in named.groups() if g)
            return text
        if record.type == "artifact" and len(record.data) >= 2:
            self._artifact(record)
        elif record.type == "error" and record.data:
            self._keep(self.errors, f"{record.target}: {record.data[0]}" if record.target else record.data[0])
        return None

    def _artifact(self, record: Record) -> None:
        key = (record.target, record.data[0])
        artifact = self.artifacts.setdefault(key, Artifact(record.target))
        kind, value = record.data[1], record.data[2] if len(record.data) > 2 else ""
        if kind == "builder-id":
            artifact.builder_id = value
        elif kind == "id":
            artifact.id = value
        elif kind == "string":
            artifact.description = value

    @staticmethod
    def _keep(into: list[str], text: str) -> None:
        into.append(text.strip())
        del into[:-ERROR_LINES_KEPT]

    def error_summary(self) -> str:
        """The errors to show a user: packer's build errors, else its last ``ui`` error lines."""
        lines = self.errors or self.ui_errors
        return "\n".join(line for line in lines[-5:] if line)
