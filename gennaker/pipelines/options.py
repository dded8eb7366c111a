"""What a stage does on failure (Deck's "If stage fails") and when it may run (execution windows)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from enum import Enum, IntEnum
from typing import Any

from .checks import JSON, _fail, _flag, _seconds, _text


class FailureOption(Enum):
    """Deck's "If stage fails" choices (``OverrideFailure.tsx``) and the three flags each one writes."""

    #: halt the entire pipeline (Spinnaker's default)
    HALT_PIPELINE = "fail"
    #: halt this branch of the pipeline
    HALT_BRANCH = "stop"
    #: halt this branch and fail the pipeline once other branches complete
    HALT_BRANCH_FAIL_PIPELINE = "faileventual"
    #: ignore the failure (stage ends FAILED_CONTINUE, downstream runs)
    IGNORE = "ignore"

    def to_json(self) -> JSON:
        fail_pipeline, continue_pipeline, complete_then_fail = _FAILURE_FLAGS[self]
        return {
            "failPipeline": fail_pipeline,
            "continuePipeline": continue_pipeline,
            "completeOtherBranchesThenFail": complete_then_fail,
        }


_FAILURE_FLAGS: dict[FailureOption, tuple[bool, bool, bool]] = {
    FailureOption.HALT_PIPELINE: (True, False, False),
    FailureOption.HALT_BRANCH: (False, False, False),
    FailureOption.HALT_BRANCH_FAIL_PIPELINE: (False, False, True),
    FailureOption.IGNORE: (False, True, False),
}


class Day(IntEnum):
    """Days as Spinnaker numbers them (``java.util.Calendar``): 1 = Sunday ... 7 = Saturday."""

    SUNDAY = 1
    MONDAY = 2
    TUESDAY = 3
    WEDNESDAY = 4
    THURSDAY = 5
    FRIDAY = 6
    SATURDAY = 7


#: Deck's "Weekdays" and "Weekend" buttons.
WEEKDAYS: tuple[Day, ...] = (Day.MONDAY, Day.TUESDAY, Day.WEDNESDAY, Day.THURSDAY, Day.FRIDAY)
WEEKEND: tuple[Day, ...] = (Day.SUNDAY, Day.SATURDAY)

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _clock(value: Any, where: str) -> tuple[int, int]:
    if isinstance(value, time):
        if value.second or value.microsecond:
            raise _fail(where, f"must be a whole minute, got {value!r}")
        return value.hour, value.minute
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 23:
            raise _fail(where, f"hour must be between 0 and 23, got {value}")
        return value, 0
    if isinstance(value, str):
        m = _HHMM.match(value.strip())
        if m:
            hour, minute = int(m.group(1)), int(m.group(2))
            if hour > 23 or minute > 59:
                raise _fail(where, f"must be a time between 00:00 and 23:59, got {value!r}")
            return hour, minute
    raise _fail(where, f"must be 'HH:MM', a datetime.time or an hour (0-23), got {value!r}")


@dataclass(frozen=True)
class TimeWindow:
    """A daily window, both ends included at minute precision. ``TimeWindow("22:00", "05:00")`` runs overnight."""

    start: str | time | int
    end: str | time | int

    def __post_init__(self) -> None:
        self.to_json()

    def to_json(self) -> JSON:
        start_hour, start_min = _clock(self.start, "TimeWindow.start")
        end_hour, end_min = _clock(self.end, "TimeWindow.end")
        return {"startHour": start_hour, "startMin": start_min, "endHour": end_hour, "endMin": end_min}


@dataclass(frozen=True)
class Jitter:
    """A random extra wait (whole seconds in ``[min_delay, max_delay]``) once the window opens."""

    min_delay: int | timedelta = 0
    max_delay: int | timedelta = 600
    skip_manual: bool = False

    def __post_init__(self) -> None:
        self.to_json()

    def to_json(self) -> JSON:
        low = _seconds(self.min_delay, "Jitter.min_delay")
        high = _seconds(self.max_delay, "Jitter.max_delay")
        if low > high:
            raise _fail("Jitter.min_delay", f"must not exceed max_delay ({low} > {high})")
        return {
            "enabled": True,
            "minDelay": low,
            "maxDelay": high,
            "skipManual": _flag(self.skip_manual, "Jitter.skip_manual"),
        }


@dataclass(frozen=True)
class ExecutionWindow:
    """Deck's "Restrict execution to specific time windows": allowed times of day and days.

    ``days`` use Spinnaker's numbers (:class:`Day`; 1 = Sunday); empty means every day. Empty
    ``windows`` means all day (on the allowed days). The time zone is the server's
    (``GENNAKER_EXECUTION_WINDOW_TIMEZONE``), not part of the pipeline.
    """

    windows: Sequence[TimeWindow] = ()
    days: Sequence[int] = ()
    jitter: Jitter | None = None
    skip_window_text: str | None = None

    def __post_init__(self) -> None:
        self.to_json()

    def to_json(self) -> JSON:
        if isinstance(self.windows, TimeWindow):
            raise _fail("ExecutionWindow.windows", "must be a list of TimeWindow, got a single TimeWindow")
        whitelist = []
        for i, w in enumerate(self.windows):
            if not isinstance(w, TimeWindow):
                raise _fail(f"ExecutionWindow.windows[{i}]", f"must be a TimeWindow, got {w!r}")
            whitelist.append(w.to_json())
        days: set[int] = set()
        for i, d in enumerate(self.days):
            if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7:
                raise _fail(f"ExecutionWindow.days[{i}]", f"must be a day 1-7 (1 = Sunday, see Day), got {d!r}")
            days.add(int(d))
        if not whitelist and not days:
            raise _fail("ExecutionWindow", "restricts nothing: give at least one of windows or days")
        window: JSON = {"whitelist": whitelist}
        if days:
            window["days"] = sorted(days)
        if self.jitter is not None:
            if not isinstance(self.jitter, Jitter):
                raise _fail("ExecutionWindow.jitter", f"must be a Jitter, got {self.jitter!r}")
            window["jitter"] = self.jitter.to_json()
        out: JSON = {"restrictExecutionDuringTimeWindow": True, "restrictedExecutionWindow": window}
        if self.skip_window_text is not None:
            out["skipWindowText"] = _text(self.skip_window_text, "ExecutionWindow.skip_window_text")
        return out
