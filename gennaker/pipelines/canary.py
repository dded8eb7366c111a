"""Typed builder for the ``kayentaCanary`` stage (Orca's automated canary analysis)::

    deploy = Stage("deploy", name="Deploy", ...)
    canary = KayentaCanary("shop-errors", control_scope="baseline", experiment_scope="canary",
                           lifetime=timedelta(hours=1), interval=timedelta(minutes=15), after=[deploy])
    # a retrospective over the hour before the deploy ended (fits a reusable pipeline: no fixed instants)
    retro = KayentaCanary("shop-errors", control_scope="baseline", experiment_scope="canary",
                          relative_window="last 1h before stage Deploy", interval=timedelta(minutes=30))

See docs/canary.md (the stage).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .checks import JSON, _fail, _jsonable, _text
from .stage import Stage


def _minutes(value: Any, where: str, error: Any) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds() / 60
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise error(where, f"must be a timedelta or non-negative minutes, got {value!r}")
    return int(value) if float(value).is_integer() else float(value)


def _iso_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return (
        "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{seconds}S" if seconds else "")
    )


def _instant(value: datetime | str) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


_MINUTES = (
    ("interval", "canaryAnalysisIntervalMins"),
    ("warmup", "beginCanaryAnalysisAfterMins"),
    ("baseline_offset", "baselineAnalysisOffsetInMins"),
    ("lookback", "lookbackMins"),
)


@dataclass(eq=False)
class KayentaCanary(Stage):
    """``kayentaCanary``: compare ``experiment_scope`` with ``control_scope`` using the canary config ``config``
    (its name in the application, or ``config_id=``). Real time with ``lifetime`` (windows from when the stage
    starts), or retrospective with ``start``/``end`` or ``relative_window`` ("last 3h", "last 1h before stage
    Deploy"). ``interval`` splits the analysis; ``lookback`` slides the windows; ``warmup`` delays real-time
    analysis; ``baseline_offset`` moves the control's windows back."""

    TYPE: ClassVar[str] = "kayentaCanary"
    DEFAULT_NAME: ClassVar[str] = "Canary Analysis"

    config: str | None = None
    control_scope: str = field(default="", kw_only=True)
    experiment_scope: str = field(default="", kw_only=True)
    config_id: str | None = field(default=None, kw_only=True)
    scope_name: str = field(default="default", kw_only=True)
    control_location: str = field(default="", kw_only=True)
    experiment_location: str = field(default="", kw_only=True)
    step: int = field(default=60, kw_only=True)
    lifetime: timedelta | None = field(default=None, kw_only=True)
    start: datetime | str | None = field(default=None, kw_only=True)
    end: datetime | str | None = field(default=None, kw_only=True)
    relative_window: str | None = field(default=None, kw_only=True)
    interval: timedelta | float | None = field(default=None, kw_only=True)
    warmup: timedelta | float | None = field(default=None, kw_only=True)
    baseline_offset: timedelta | float | None = field(default=None, kw_only=True)
    lookback: timedelta | float | None = field(default=None, kw_only=True)
    pass_threshold: float = field(default=75, kw_only=True)
    marginal_threshold: float = field(default=50, kw_only=True)
    metrics_account: str | None = field(default=None, kw_only=True)
    storage_account: str | None = field(default=None, kw_only=True)
    extended_scope_params: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def _fields(self) -> JSON:
        if (self.config is None) == (self.config_id is None):
            raise self._error("config", "give the config's name, or config_id=, not both")
        scope: JSON = {
            "scopeName": _text(self.scope_name, self._where("scope_name")),
            "controlScope": _text(self.control_scope, self._where("control_scope")),
            "experimentScope": _text(self.experiment_scope, self._where("experiment_scope")),
            "controlLocation": self.control_location,
            "experimentLocation": self.experiment_location,
            "step": self.step,
            "extendedScopeParams": _jsonable(dict(self.extended_scope_params), self._where("extended_scope_params")),
        }
        if isinstance(self.step, bool) or not isinstance(self.step, int) or self.step <= 0:
            raise self._error("step", f"must be whole seconds above 0, got {self.step!r}")
        retrospective = self.end is not None or self.relative_window is not None
        if self.relative_window is not None:
            if self.start is not None or self.end is not None:
                raise self._error("relative_window", "replaces start/end: give one or the other")
            scope["window"] = _text(self.relative_window, self._where("relative_window"))
        if self.start is not None:
            scope["startTimeIso"] = _instant(self.start)
        if self.end is not None:
            if self.start is None:
                raise self._error("start", "a retrospective with end= needs start=")
            scope["endTimeIso"] = _instant(self.end)
        if not retrospective and self.lifetime is None:
            raise self._error("lifetime", "a real-time analysis needs lifetime= (or give end= / relative_window=)")
        body: JSON = {
            "scopes": [scope],
            "scoreThresholds": {"pass": self.pass_threshold, "marginal": self.marginal_threshold},
        }
        if self.config_id is not None:
            body["canaryConfigId"] = _text(self.config_id, self._where("config_id"))
        else:
            body["canaryConfigName"] = _text(self.config, self._where("config"))
        if self.lifetime is not None and not retrospective:
            body["lifetimeDuration"] = _iso_duration(self.lifetime)
        for attr, key in _MINUTES:
            value = getattr(self, attr)
            if value is not None:
                body[key] = _minutes(value, self._where(attr), _fail)
        if self.metrics_account:
            body["metricsAccountName"] = self.metrics_account
        if self.storage_account:
            body["storageAccountName"] = self.storage_account
        return {"analysisType": "retrospective" if retrospective else "realTime", "canaryConfig": body}
