"""Stage execution windows (``restrictExecutionDuringTimeWindow``), as pure functions.

A stage with ``restrictExecutionDuringTimeWindow: true`` may only start while the wall clock, in the
configured time zone, reads an allowed day and time::

    "restrictedExecutionWindow": {
        "whitelist": [{"startHour": 9, "startMin": 0, "endHour": 17, "endMin": 0}],
        "days": [2, 3, 4, 5, 6],
        "jitter": {"enabled": true, "minDelay": 0, "maxDelay": 600, "skipManual": true}
    }

Semantics follow Orca's ``RestrictExecutionDuringTimeWindow`` (orca-core, ``SuspendExecutionDuringTimeWindowTask``):

* ``days`` use ``java.util.Calendar.DAY_OF_WEEK`` numbering: 1 = Sunday, 2 = Monday ... 7 = Saturday
  (Deck's day picker writes ``[2, 3, 4, 5, 6]`` for "Weekdays" and ``[1, 7]`` for "Weekend").
  An empty list means every day.
* A window is compared at minute precision with both ends inclusive: 09:00-17:00 admits 17:00:59.
* A window whose end is before its start crosses midnight and is split into ``start-23:59`` and
  ``00:00-end``. Each piece belongs to the calendar day on which it falls, so the day filter applies
  to the early-morning piece's own day (22:00-02:00 on Fridays admits Friday 00:00-02:00 and Friday
  22:00-23:59, not Saturday 00:00-02:00).
* An empty whitelist means the whole day (on allowed days). An empty whitelist *and* no days means no
  restriction at all (Orca fails the stage in that case; we let it run).
* Jitter is an extra wait, a whole number of seconds drawn uniformly from ``[minDelay, maxDelay]``,
  taken after the window opens; only when ``enabled`` and ``maxDelay > 0``; never for a manual
  trigger when ``skipManual``.

Nothing here reads a clock, the environment or global randomness: workflows pass ``now`` and a
seeded ``random.Random``. ``zoneinfo`` loads time-zone data on first use of a zone and caches it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.fields import boolean, integer

from .errors import InvalidPipelineError

DEFAULT_TIMEZONE = "America/Los_Angeles"

#: Spinnaker's day numbers (java.util.Calendar.DAY_OF_WEEK) to names.
DAY_NAMES = {1: "Sun", 2: "Mon", 3: "Tue", 4: "Wed", 5: "Thu", 6: "Fri", 7: "Sat"}

_MINUTES_PER_DAY = 24 * 60
_LAST_MINUTE = _MINUTES_PER_DAY - 1


# --------------------------------------------------------------------------------------------
# parsed config


@dataclass(frozen=True)
class TimeWindow:
    """One ``whitelist`` entry: a daily window, both ends inclusive at minute precision."""

    start_hour: int
    start_min: int
    end_hour: int
    end_min: int

    @property
    def start(self) -> int:
        """Minute of the day the window opens."""
        return self.start_hour * 60 + self.start_min

    @property
    def end(self) -> int:
        """Last minute of the day (inclusive) the window is open."""
        return self.end_hour * 60 + self.end_min

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def segments(self) -> tuple[tuple[int, int], ...]:
        """The window as inclusive ``(first_minute, last_minute)`` ranges within one calendar day."""
        if self.crosses_midnight:
            return ((0, self.end), (self.start, _LAST_MINUTE))
        return ((self.start, self.end),)

    def __str__(self) -> str:
        return f"{self.start_hour:02d}:{self.start_min:02d}-{self.end_hour:02d}:{self.end_min:02d}"


@dataclass(frozen=True)
class Jitter:
    """``restrictedExecutionWindow.jitter``; delays are in seconds."""

    enabled: bool = False
    min_delay: int = 0
    max_delay: int = 0
    skip_manual: bool = False

    @property
    def active(self) -> bool:
        """Whether any jitter is ever applied (Orca needs ``enabled`` and ``maxDelay > 0``)."""
        return self.enabled and self.max_delay > 0


@dataclass(frozen=True)
class ExecutionWindow:
    """A stage's ``restrictedExecutionWindow`` (plus ``skipWindowText``), validated."""

    whitelist: tuple[TimeWindow, ...] = ()
    days: frozenset[int] = frozenset()  # Spinnaker numbering, 1 = Sunday ... 7 = Saturday
    jitter: Jitter = Jitter()
    skip_window_text: str | None = None

    @property
    def unrestricted(self) -> bool:
        """No time and no day restriction: always open."""
        return not self.whitelist and not self.days

    def segments(self) -> tuple[tuple[int, int], ...]:
        """Allowed minutes of an allowed day as inclusive ranges (whole day for an empty whitelist)."""
        if not self.whitelist:
            return ((0, _LAST_MINUTE),)
        return tuple(sorted(seg for window in self.whitelist for seg in window.segments()))

    @classmethod
    def parse(cls, stage_context: dict[str, Any], field_prefix: str = "") -> ExecutionWindow:
        """Read ``restrictedExecutionWindow`` and ``skipWindowText`` from a stage map.

        ``field_prefix`` (e.g. ``stages[2]``) is prepended to the field named in errors. Numbers may
        be given as numeric strings (Deck writes some as strings); anything else is refused.
        """
        prefix = field_prefix if not field_prefix or field_prefix.endswith(".") else field_prefix + "."
        if not isinstance(stage_context, dict):
            raise InvalidPipelineError(
                f"must be an object, got {type(stage_context).__name__}", field=field_prefix or None
            )

        text = stage_context.get("skipWindowText")
        if text is not None and not isinstance(text, str):
            raise InvalidPipelineError(f"must be a string, got {text!r}", field=f"{prefix}skipWindowText")

        where = f"{prefix}restrictedExecutionWindow"
        raw = stage_context.get("restrictedExecutionWindow")
        if raw is None:
            return cls(skip_window_text=text)
        if not isinstance(raw, dict):
            raise InvalidPipelineError(f"must be an object, got {type(raw).__name__}", field=where)

        whitelist = _list(raw.get("whitelist"), f"{where}.whitelist")
        windows = tuple(_time_window(entry, f"{where}.whitelist[{i}]") for i, entry in enumerate(whitelist))

        days_raw = _list(raw.get("days"), f"{where}.days")
        days = frozenset(_int(d, f"{where}.days[{i}]", 1, 7) for i, d in enumerate(days_raw))

        return cls(
            whitelist=windows,
            days=days,
            jitter=_jitter(raw.get("jitter"), f"{where}.jitter"),
            skip_window_text=text,
        )


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidPipelineError(f"must be a list, got {type(value).__name__}", field=field)
    return value


def _int(value: Any, field: str, lo: int, hi: int | None) -> int:
    """An integer (or a numeric string, or an integral float) within ``[lo, hi]``."""
    number = integer(value)
    if number is None:
        raise InvalidPipelineError(f"must be a whole number, got {value!r}", field=field)
    if number < lo or (hi is not None and number > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise InvalidPipelineError(f"must be {bounds}, got {number}", field=field)
    return number


def _bool(value: Any, field: str) -> bool:
    if value is None:
        return False
    read = boolean(value)
    if read is None:
        raise InvalidPipelineError(f"must be a boolean, got {value!r}", field=field)
    return read


def _time_window(entry: Any, where: str) -> TimeWindow:
    if not isinstance(entry, dict):
        raise InvalidPipelineError(f"must be an object, got {type(entry).__name__}", field=where)
    values = {}
    for key, hi in (("startHour", 23), ("startMin", 59), ("endHour", 23), ("endMin", 59)):
        if entry.get(key) is None:
            raise InvalidPipelineError("is required", field=f"{where}.{key}")
        values[key] = _int(entry[key], f"{where}.{key}", 0, hi)
    return TimeWindow(values["startHour"], values["startMin"], values["endHour"], values["endMin"])


def _jitter(raw: Any, where: str) -> Jitter:
    if raw is None:
        return Jitter()
    if not isinstance(raw, dict):
        raise InvalidPipelineError(f"must be an object, got {type(raw).__name__}", field=where)
    enabled = _bool(raw.get("enabled"), f"{where}.enabled")
    skip_manual = _bool(raw.get("skipManual"), f"{where}.skipManual")
    delays = {}
    for key in ("minDelay", "maxDelay"):
        value = raw.get(key)
        delays[key] = 0 if value is None else _int(value, f"{where}.{key}", 0, None)
    # Deck resets a disabled jitter to its defaults, so only an enabled one must be coherent.
    if enabled and delays["minDelay"] > delays["maxDelay"]:
        raise InvalidPipelineError(
            f"must not exceed maxDelay ({delays['maxDelay']}), got {delays['minDelay']}",
            field=f"{where}.minDelay",
        )
    return Jitter(enabled, delays["minDelay"], delays["maxDelay"], skip_manual)


# --------------------------------------------------------------------------------------------
# evaluation


def _zone(tz_name: str) -> tzinfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {tz_name!r}") from e


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _spinnaker_day(d: date) -> int:
    """Python's Monday=0..Sunday=6 to Spinnaker's Sunday=1..Saturday=7."""
    return (d.weekday() + 1) % 7 + 1


def _open_at(window: ExecutionWindow, segments: tuple[tuple[int, int], ...], instant: datetime, tz: tzinfo) -> bool:
    local = instant.astimezone(tz)
    if window.days and _spinnaker_day(local.date()) not in window.days:
        return False
    minute = local.hour * 60 + local.minute
    return any(first <= minute <= last for first, last in segments)


def is_open(window: ExecutionWindow, at: datetime, tz_name: str) -> bool:
    """Whether the wall clock in ``tz_name`` at instant ``at`` (aware) is inside the window."""
    if window.unrestricted:
        _utc(at)
        return True
    return _open_at(window, window.segments(), _utc(at), _zone(tz_name))


def _offset_changes(tz: tzinfo, start: datetime, end: datetime) -> list[datetime]:
    """Instants in ``(start, end]`` at which the zone's UTC offset changes (to the second)."""
    found = []
    step = timedelta(hours=1)
    prev, prev_off = start, start.astimezone(tz).utcoffset()
    while prev < end:
        cur = min(prev + step, end)
        cur_off = cur.astimezone(tz).utcoffset()
        if cur_off != prev_off:
            lo, hi = int(prev.timestamp()), int(cur.timestamp()) + 1  # offset(lo) == prev_off != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == prev_off:
                    lo = mid
                else:
                    hi = mid
            found.append(datetime.fromtimestamp(hi, UTC))
        prev, prev_off = cur, cur_off
    return found


def next_window_start(window: ExecutionWindow, now: datetime, tz_name: str) -> datetime:
    """``now`` (as UTC) if the window is open at ``now``, else the UTC instant it next opens.

    "Open" means the wall clock in ``tz_name`` shows an allowed day and minute. The window can only
    open at an allowed day's segment start or where the wall clock jumps (a DST transition), so the
    answer is the earliest such instant after ``now`` at which the window is open. A window that
    falls in a spring-forward gap opens when the clock jumps past its start (or not at all that day
    if it lies wholly in the gap); after a fall-back the repeated hour is open both times.
    """
    now_utc = _utc(now)
    if window.unrestricted:
        return now_utc
    tz = _zone(tz_name)
    segments = window.segments()
    if _open_at(window, segments, now_utc, tz):
        return now_utc

    first_day = now_utc.astimezone(tz).date() - timedelta(days=1)
    for horizon in (16, 400):
        candidates = set(_offset_changes(tz, now_utc, now_utc + timedelta(days=horizon)))
        for n in range(horizon + 2):
            day = first_day + timedelta(days=n)
            if window.days and _spinnaker_day(day) not in window.days:
                continue
            for first, _ in segments:
                wall = datetime.combine(day, time(first // 60, first % 60), tzinfo=tz)
                for fold in (0, 1):  # both readings of an ambiguous / nonexistent wall time
                    candidates.add(wall.replace(fold=fold).astimezone(UTC))
        for candidate in sorted(c for c in candidates if c > now_utc):
            if _open_at(window, segments, candidate, tz):
                return candidate
    raise ValueError(f"execution window {describe(window, tz_name)} never opens")  # pragma: no cover


def jitter_delay(window: ExecutionWindow, rng: random.Random, manual_trigger: bool) -> timedelta:
    """Extra wait after the window opens: whole seconds in ``[minDelay, maxDelay]``, or zero.

    Zero when jitter is disabled, when ``maxDelay`` is 0, or for a manual trigger with ``skipManual``.
    """
    jitter = window.jitter
    if not jitter.active or (jitter.skip_manual and manual_trigger):
        return timedelta(0)
    return timedelta(seconds=rng.randint(jitter.min_delay, jitter.max_delay))


# --------------------------------------------------------------------------------------------
# display

_MONDAY_FIRST = (2, 3, 4, 5, 6, 7, 1)


def _describe_days(days: frozenset[int]) -> str:
    if not days or len(days) == 7:
        return "every day"
    # Runs of consecutive days, Monday-first, joining a run that wraps from Sunday to Monday.
    order = list(_MONDAY_FIRST)
    start = next(i for i, d in enumerate(order) if d not in days)
    order = order[start:] + order[:start]  # begins on an excluded day, so no run is split
    runs: list[list[int]] = []
    previous_allowed = False
    for d in order:
        if d in days:
            if previous_allowed:
                runs[-1].append(d)
            else:
                runs.append([d])
        previous_allowed = d in days
    parts = []
    for run in sorted(runs, key=lambda r: _MONDAY_FIRST.index(r[0])):
        if len(run) == 1:
            parts.append(DAY_NAMES[run[0]])
        else:
            parts.append(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}")
    return ",".join(parts)


def describe(window: ExecutionWindow, tz_name: str) -> str:
    """A one-line summary, e.g. ``Mon-Fri 09:00-17:00 America/Los_Angeles``."""
    if window.unrestricted:
        text = "any time"
    else:
        times = ", ".join(str(w) for w in sorted(window.whitelist, key=lambda w: w.start)) or "all day"
        text = f"{_describe_days(window.days)} {times}"
    text = f"{text} {tz_name}"
    if window.jitter.active:
        text += f" (+{window.jitter.min_delay}-{window.jitter.max_delay}s jitter"
        text += ", not for manual runs)" if window.jitter.skip_manual else ")"
    return text
