"""The trigger every typed trigger is, and payload constraints (key -> regex) that several share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .checks import JSON, _fail, _flag, _jsonable, _merge_extra, _strings, _text


@dataclass(eq=False, init=False)
class Trigger:
    """An automated trigger. ``Trigger("docker", account=..., repository=...)`` writes any type
    (keywords verbatim, Spinnaker spelling); typed ones subclass it. Common fields: ``enabled``,
    ``run_as_user`` (service account), ``description``, ``expected_artifact_ids``, ``extra``."""

    TYPE: ClassVar[str] = ""

    enabled: bool = field(default=True, kw_only=True)
    run_as_user: str | None = field(default=None, kw_only=True)
    description: str | None = field(default=None, kw_only=True)
    expected_artifact_ids: Sequence[str] = field(default=(), kw_only=True)
    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True)

    def __init__(
        self,
        type: str,
        /,
        *,
        enabled: bool = True,
        run_as_user: str | None = None,
        description: str | None = None,
        expected_artifact_ids: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        self._type = _text(type, "Trigger.type")
        self.fields: JSON = dict(fields)
        self.enabled = enabled
        self.run_as_user = run_as_user
        self.description = description
        self.expected_artifact_ids = expected_artifact_ids
        self.extra = dict(extra or {})
        self.__post_init__()

    def __post_init__(self) -> None:
        self.to_json()

    @property
    def trigger_type(self) -> str:
        return getattr(self, "_type", None) or self.TYPE

    def _where(self, attr: str) -> str:
        return f"{type(self).__name__}({self.trigger_type!r}).{attr}"

    def _fields(self) -> JSON:
        if "type" in self.fields:
            raise _fail(self._where("type"), "is the first argument")
        return _jsonable(self.fields, self._where("fields"))

    def to_json(self) -> JSON:
        out: JSON = {"type": self.trigger_type, "enabled": _flag(self.enabled, self._where("enabled"))}
        out.update(self._fields())
        if self.run_as_user is not None:
            out["runAsUser"] = _text(self.run_as_user, self._where("run_as_user"))
        if self.description is not None:
            out["description"] = _text(self.description, self._where("description"))
        ids = _strings(self.expected_artifact_ids, self._where("expected_artifact_ids"))
        if ids:
            out["expectedArtifactIds"] = ids
        _merge_extra(out, self.extra, self._where("extra"), ("type",))
        return out


def _constraints(value: Any, where: str) -> JSON:
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be a dict of key -> regex, got {value!r}")
    for key, pattern in value.items():
        _text(key, f"{where} key")
        _text(pattern, f"{where}.{key}")
    return dict(value)


@dataclass(eq=False)
class BuildTrigger(Trigger):
    """What every build server's trigger has (``jenkins``, ``travis``, ``github-actions``, ``gitlab-ci``; Igor's
    build events): the server, the job, a property file read into the trigger's ``properties`` and
    ``payloadConstraints`` on them."""

    master: str
    job: str
    property_file: str | None = field(default=None, kw_only=True)
    payload_constraints: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def _fields(self) -> JSON:
        out: JSON = {"master": _text(self.master, self._where("master")), "job": _text(self.job, self._where("job"))}
        if self.property_file is not None:
            out["propertyFile"] = _text(self.property_file, self._where("property_file"))
        if self.payload_constraints:
            out["payloadConstraints"] = _constraints(self.payload_constraints, self._where("payload_constraints"))
        return out
