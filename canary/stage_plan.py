"""The kayentaCanary stage's arithmetic, pure: its context read as Orca reads it, the interval plan
(``RunCanaryIntervalsStage.buildRequestScopes``), relative retrospective windows (``last 3h``, ``before
stage Deploy``), the per-interval verdict (``MonitorKayentaCanaryTask``) and the final decision
(``AggregateCanaryResultsTask``). No I/O, no clock: callers pass ``now``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import CanaryError

Json = dict[str, Any]

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_RELATIVE = re.compile(
    r"^\s*last\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|m|min|h|d)\s*"
    r"(?:(?:ending\s+(?:at\s+)?)?(?:(?P<gap>\d+(?:\.\d+)?)\s*(?P<gunit>s|m|min|h|d)\s+)?(?P<rel>before|at)\s+stage\s+"
    r"(?P<stage>.+?))?\s*$",
    re.IGNORECASE,
)
_UNITS = {"s": 1 / 60, "m": 1.0, "min": 1.0, "h": 60.0, "d": 1440.0}


class PlanError(CanaryError, ValueError):
    """A context the stage cannot run; ``field`` names the key at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def parse_duration_minutes(text: str, field: str = "lifetimeDuration") -> float:
    """An ISO-8601 duration (``PT1H``, ``PT30M``, ``P1D``) in minutes."""
    match = _DURATION.match(str(text).strip().upper())
    if not match or not any(match.groupdict().values()):
        raise PlanError(f"{field} must be an ISO-8601 duration such as PT1H, got {text!r}", field)
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return parts.get("d", 0) * 1440 + parts.get("h", 0) * 60 + parts.get("m", 0) + parts.get("s", 0) / 60


def parse_instant(value: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise PlanError(f"{field} must be an ISO-8601 instant, got {value!r}", field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RelativeWindow:
    """``last <n><unit> [ending] [<gap> before|at] stage <name>``: a retrospective window of ``minutes`` that ends
    at the plan time, or ``gap_minutes`` before the named upstream stage's end."""

    minutes: float
    stage: str | None = None
    gap_minutes: float = 0.0


def parse_relative(text: Any, field: str = "canaryConfig.scopes[0].window") -> RelativeWindow:
    match = _RELATIVE.match(str(text))
    if not match:
        raise PlanError(
            f"{field}: expected 'last 3h', 'last 90m before stage Deploy' or 'last 1h ending 10m before stage Deploy', "
            f"got {text!r}",
            field,
        )
    minutes = float(match["n"]) * _UNITS[match["unit"].lower()]
    gap = float(match["gap"]) * _UNITS[match["gunit"].lower()] if match["gap"] else 0.0
    stage = match["stage"].strip().strip("'\"") if match["stage"] else None
    if minutes <= 0:
        raise PlanError(f"{field}: the window must be longer than 0, got {text!r}", field)
    return RelativeWindow(minutes, stage, gap)


def _number(context: Json, key: str, default: float, field: str) -> float:
    value = context.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise PlanError(f"{field} must be a number, got {value!r}", field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlanError(f"{field} must be a number, got {value!r}", field) from None
    if number < 0:
        raise PlanError(f"{field} must not be negative, got {value!r}", field)
    return number


@dataclass(frozen=True)
class CanarySettings:
    """``canaryConfig`` as Orca's KayentaCanaryContext reads it (minutes may be fractional here)."""

    config_id: str | None
    config_name: str | None
    scopes: list[Json]
    pass_threshold: float | None
    marginal_threshold: float | None
    lifetime_mins: float | None
    warmup_mins: float
    baseline_offset_mins: float
    lookback_mins: float
    interval_mins: float | None
    start: datetime | None
    end: datetime | None
    relative: RelativeWindow | None
    step: int
    metrics_account: str | None
    storage_account: str | None

    @property
    def retrospective(self) -> bool:
        return self.end is not None or self.relative is not None


def read_settings(stage_context: Json) -> CanarySettings:
    """Check and read the stage's ``canaryConfig`` (PlanError names the field)."""
    config = stage_context.get("canaryConfig")
    if not isinstance(config, dict):
        raise PlanError("canaryConfig is required (an object)", "canaryConfig")
    config_id, name = config.get("canaryConfigId"), config.get("canaryConfigName")
    if not config_id and not name:
        raise PlanError("canaryConfig.canaryConfigId or canaryConfig.canaryConfigName is required", "canaryConfigId")
    scopes = config.get("scopes")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, dict) for s in scopes):
        raise PlanError("canaryConfig.scopes must list at least one scope", "canaryConfig.scopes")
    first = scopes[0]
    thresholds = config.get("scoreThresholds") or {}
    if not isinstance(thresholds, dict):
        raise PlanError("canaryConfig.scoreThresholds must be an object", "canaryConfig.scoreThresholds")
    pass_t = _number(thresholds, "pass", -1, "canaryConfig.scoreThresholds.pass")
    marginal_t = _number(thresholds, "marginal", -1, "canaryConfig.scoreThresholds.marginal")
    lifetime: float | None = None
    if config.get("lifetimeDuration"):
        lifetime = parse_duration_minutes(config["lifetimeDuration"], "canaryConfig.lifetimeDuration")
    elif config.get("lifetimeHours") not in (None, ""):
        lifetime = _number(config, "lifetimeHours", 0, "canaryConfig.lifetimeHours") * 60
    start = (
        parse_instant(first["startTimeIso"], "canaryConfig.scopes[0].startTimeIso")
        if first.get("startTimeIso")
        else None
    )
    end = parse_instant(first["endTimeIso"], "canaryConfig.scopes[0].endTimeIso") if first.get("endTimeIso") else None
    relative = parse_relative(first["window"]) if first.get("window") else None
    if relative is not None and (start or end):
        raise PlanError("canaryConfig.scopes[0].window replaces startTimeIso/endTimeIso: give one or the other",
                        "canaryConfig.scopes[0].window")  # fmt: skip
    if end is None and relative is None and not lifetime:
        raise PlanError("canaryConfig needs scopes[0].endTimeIso (retrospective) or lifetimeDuration (real time)",
                        "canaryConfig.lifetimeDuration")  # fmt: skip
    if start is not None and end is not None and end <= start:
        raise PlanError(
            "canaryConfig.scopes[0].endTimeIso must be after startTimeIso", "canaryConfig.scopes[0].endTimeIso"
        )
    step = _number(first, "step", 60, "canaryConfig.scopes[0].step")
    interval = _number(config, "canaryAnalysisIntervalMins", 0, "canaryConfig.canaryAnalysisIntervalMins") or None
    return CanarySettings(
        config_id=str(config_id) if config_id else None,
        config_name=str(name) if name else None,
        scopes=scopes,
        pass_threshold=None if pass_t < 0 else pass_t,
        marginal_threshold=None if marginal_t < 0 else marginal_t,
        lifetime_mins=lifetime,
        warmup_mins=_number(config, "beginCanaryAnalysisAfterMins", 0, "canaryConfig.beginCanaryAnalysisAfterMins"),
        baseline_offset_mins=_number(
            config, "baselineAnalysisOffsetInMins", 0, "canaryConfig.baselineAnalysisOffsetInMins"
        ),
        lookback_mins=_number(config, "lookbackMins", 0, "canaryConfig.lookbackMins"),
        interval_mins=interval,
        start=start,
        end=end,
        relative=relative,
        step=int(step) or 60,
        metrics_account=config.get("metricsAccountName"),
        storage_account=config.get("storageAccountName"),
    )  # fmt: skip


def lifetime_minutes(s: CanarySettings) -> float:
    """L: the retrospective span in whole minutes (Orca's Duration.between(...).toMinutes()) or the lifetime."""
    if s.relative is not None:
        return s.relative.minutes
    if s.end is not None:
        if s.start is None:
            raise PlanError("a retrospective analysis needs canaryConfig.scopes[0].startTimeIso", "startTimeIso")
        return float(int((s.end - s.start).total_seconds() // 60))
    assert s.lifetime_mins is not None
    return s.lifetime_mins


def interval_plan(s: CanarySettings) -> tuple[int, float]:
    """(N, I): how many intervals and how long each is, in minutes."""
    lifetime = lifetime_minutes(s)
    interval = s.interval_mins
    if not interval or interval > lifetime:
        interval = lifetime
    if interval <= 0:
        raise PlanError("the analysis lifetime is shorter than a minute", "canaryConfig.lifetimeDuration")
    return max(int(lifetime // interval + 1e-9), 1), interval


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    control_start: datetime
    control_end: datetime


def window(s: CanarySettings, index: int, anchor: datetime, interval: float) -> Window:
    """Interval ``index`` (1-based). ``anchor`` is S: the first scope's start, or the plan time (real time), or
    the start of a relative window (its end minus its length)."""
    minutes = timedelta(minutes=1)
    if s.retrospective:
        start, end = anchor, anchor + index * interval * minutes
    else:
        start = anchor + s.warmup_mins * minutes
        end = start + index * interval * minutes
    if s.lookback_mins > 0:
        start = end - s.lookback_mins * minutes
    offset = s.baseline_offset_mins * minutes
    return Window(start, end, start - offset, end - offset)


def relative_anchor(rel: RelativeWindow, plan_time: datetime, stage_end: datetime | None) -> datetime:
    """S of a relative window: its end (the plan time, or the named stage's end less the gap) less its length."""
    end = plan_time if rel.stage is None else stage_end
    if end is None:
        raise PlanError(f"stage '{rel.stage}' has not ended: no window can end there", "canaryConfig.scopes[0].window")
    return end - timedelta(minutes=rel.gap_minutes + rel.minutes)


def request_scopes(s: CanarySettings, win: Window) -> Json:
    """Kayenta's ``scopes`` map for one interval: every scope gets the first scope's times and step."""
    out: Json = {}
    for scope in s.scopes:
        params = dict(scope.get("extendedScopeParams") or {})

        def side(name: str, location: str, start: datetime, end: datetime, params: Json = params) -> Json:
            return {"scope": name, "location": location, "start": iso(start), "end": iso(end), "step": s.step,
                    "extendedScopeParams": params}  # fmt: skip

        out[str(scope.get("scopeName") or "default")] = {
            "controlScope": side(scope.get("controlScope") or "", scope.get("controlLocation") or "",
                                 win.control_start, win.control_end),
            "experimentScope": side(scope.get("experimentScope") or "", scope.get("experimentLocation") or "",
                                    win.start, win.end),
        }  # fmt: skip
    return out


# ---- decisions ------------------------------------------------------------------------------------


def interval_verdict(score: float, marginal: float | None) -> tuple[bool, str | None]:
    """One interval (MonitorKayentaCanaryTask): (passed, message). At or below marginal fails fast."""
    if marginal is not None and score <= marginal:
        return False, f"Canary score {score:g} is not above the marginal score threshold {marginal:g}."
    return True, None


def final_decision(scores: list[float], pass_t: float | None, marginal: float | None) -> tuple[bool, str]:
    """AggregateCanaryResultsTask: only the last interval's score decides."""
    if not scores:
        return False, "No canary interval produced a score."
    last = scores[-1]
    if pass_t is None and marginal is None:
        return True, f"Final canary score {last:g}; no score thresholds were given."
    if marginal is not None and last <= marginal:
        return False, f"Final canary score {last:g} is not above the marginal score threshold {marginal:g}."
    if pass_t is None:
        return True, f"Final canary score {last:g} is above the marginal score threshold."
    if last < pass_t:
        return False, f"Final canary score {last:g} is below the pass score threshold {pass_t:g}."
    return True, f"Final canary score {last:g} met or exceeded the pass score threshold {pass_t:g}."


def orca_score(score: float) -> int:
    """Orca keeps a run's score as an integer: the fraction is dropped."""
    return int(score)
