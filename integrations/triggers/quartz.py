"""Spinnaker's Quartz cron expressions as Temporal schedule specs, converted exactly.

Quartz (what Echo schedules with) reads ``sec min hour day-of-month month day-of-week [year]``, with
``?``, ``L``, ``L-n``, ``LW``, ``nW``, ``nL`` and ``n#k``, names (``JAN``, ``MON``), ranges that may
wrap (``FRI-MON``), steps, lists, and Echo's ``H`` (a value hashed from the trigger id, in the
seconds, minutes and hours fields). Temporal's own cron strings mis-read several of these (``5#3``
runs every Friday there), so we never hand it a string: every expression becomes a union of
``ScheduleCalendarSpec`` entries, each exact, e.g.

* ``5#3`` (the third Thursday) = day-of-week Thursday AND day-of-month 15-21;
* ``L`` (the last day) = one entry per month length, with February split into leap and common years;
* ``15W`` (the weekday nearest the 15th) = {15th, Mon-Fri} ∪ {14th, Fri} ∪ {16th, Mon};
* ``6L`` (the last Friday) = Friday AND the month's last seven days, per month length.

What cannot be expressed exactly is refused with the reason (``nW`` for n ≥ 28, where the nearest
weekday depends on the month's length in ways Quartz itself treats inconsistently).
Years are those Temporal accepts in calendar specs, 2000-2099 (Quartz allows up to 2099 too).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio.client import ScheduleCalendarSpec, ScheduleRange, ScheduleSpec

FIRST_YEAR, LAST_YEAR = 2000, 2099
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]  # Quartz numbers them 1-7
FIELDS = ("seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year")
BOUNDS = {
    "seconds": (0, 59),
    "minutes": (0, 59),
    "hours": (0, 23),
    "day-of-month": (1, 31),
    "month": (1, 12),
    "day-of-week": (1, 7),
    "year": (FIRST_YEAR, LAST_YEAR),
}


class CronError(ValueError):
    """An expression Quartz would refuse, or one we cannot schedule exactly; the message names the field."""


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    spec: ScheduleSpec
    description: str = ""


def java_hash(text: str) -> int:
    """Java's ``String.hashCode`` (Echo hashes the trigger id with it for ``H``)."""
    h = 0
    for ch in text:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def fuzz(expression: str, trigger_id: str) -> str:
    """Echo's ``CronExpressionFuzzer``: ``H`` in the first three fields becomes ``|hash(id) % (max+1)|``."""
    parts = expression.split()
    for index, top in ((0, 59), (1, 59), (2, 23)):
        if index < len(parts) and "H" in parts[index]:
            h = java_hash(trigger_id)
            value = abs(int(h - (top + 1) * int(h / (top + 1))))  # Java's %, which keeps the dividend's sign
            parts[index] = parts[index].replace("H", str(value))
    return " ".join(parts)


def _number(text: str, name: str, names: list[str] | None) -> int:
    low, high = BOUNDS[name]
    upper = text.upper()
    if names is not None and upper in names:
        return names.index(upper) + 1
    if not text.isdigit():
        known = f" or a name ({names[0]}-{names[-1]})" if names else ""
        raise CronError(f"{name}: '{text}' is not a number{known}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: '{text}' is out of range {low}-{high}" + (" (SUN-SAT)" if names == DAYS else ""))
    return value


def _values(text: str, name: str) -> set[int]:
    """The values a plain field (numbers, names, ranges, steps, lists, ``*``) selects."""
    names = MONTHS if name == "month" else DAYS if name == "day-of-week" else None
    low, high = BOUNDS[name]
    out: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{name}: empty list item in '{text}'")
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: step '{step_text}' must be a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _number(a, name, names), _number(b, name, names)
        else:
            start = _number(base, name, names)
            end = high if step_text else start  # Quartz: "5/15" runs from 5 to the field's end
        span = (end - start) % (high - low + 1) if end < start else end - start  # ranges may wrap (FRI-MON)
        out.update(low + (start - low + k) % (high - low + 1) for k in range(0, span + 1, step))
    return out


def _ranges(values: set[int]) -> list[ScheduleRange]:
    """Values as few ScheduleRanges as possible (consecutive runs)."""
    out: list[ScheduleRange] = []
    for v in sorted(values):
        if out and out[-1].end == v - 1:
            out[-1] = ScheduleRange(out[-1].start, v)
        else:
            out.append(ScheduleRange(v, v))
    return out


_LEAP = {y for y in range(FIRST_YEAR, LAST_YEAR + 1) if calendar.isleap(y)}


@dataclass
class _Days:
    """One part of the day selection: days of the month AND days of the week (0=SUN), within months and years."""

    dom: set[int]
    dow: set[int]
    months: set[int]
    years: set[int] | None  # None: every year


def _by_month_length(months: set[int], years: set[int] | None) -> list[tuple[int, set[int], set[int] | None]]:
    """(length, months, years) groups: 31- and 30-day months, then February in leap and in common years."""
    every = years if years is not None else set(range(FIRST_YEAR, LAST_YEAR + 1))
    groups = [
        (31, months & {1, 3, 5, 7, 8, 10, 12}, years),
        (30, months & {4, 6, 9, 11}, years),
        (29, months & {2}, every & _LEAP),
        (28, months & {2}, every - _LEAP),
    ]
    return [(length, ms, ys) for length, ms, ys in groups if ms and (ys is None or ys)]


WEEKDAYS = {1, 2, 3, 4, 5}


def _day_of_month(text: str, months: set[int], years: set[int] | None) -> list[_Days]:
    every_dow = set(range(7))
    upper = text.upper()
    if upper.startswith("L"):
        rest = upper[1:]
        if rest == "W":  # the last weekday of the month
            return [
                part
                for length, ms, ys in _by_month_length(months, years)
                for part in (
                    _Days({length}, WEEKDAYS, ms, ys),
                    _Days({length - 1}, {5}, ms, ys),  # the last day is a Saturday: Friday before
                    _Days({length - 2}, {5}, ms, ys),  # a Sunday: the Friday two days before
                )
            ]
        offset = 0
        if rest:
            if not rest.startswith("-") or not rest[1:].isdigit() or not 0 <= int(rest[1:]) <= 30:
                raise CronError(f"day-of-month: '{text}' is not L, L-n (n 0-30) or LW")
            offset = int(rest[1:])
        return [
            _Days({length - offset}, every_dow, ms, ys)
            for length, ms, ys in _by_month_length(months, years)
            if length - offset >= 1
        ]
    if upper.endswith("W"):
        if not upper[:-1].isdigit():
            raise CronError(f"day-of-month: W takes a single day ('15W'), not '{text}'")
        day = _number(upper[:-1], "day-of-month", None)
        if day >= 28:
            raise CronError(
                f"day-of-month: '{text}' is refused: near the end of the month the nearest weekday depends on"
                " the month's length, which Gennaker does not schedule; use LW for the last weekday"
            )
        if day == 1:  # never crosses into the month before: a Saturday or Sunday 1st moves to Monday
            return [_Days({1}, WEEKDAYS, months, years), _Days({2, 3}, {1}, months, years)]
        return [
            _Days({day}, WEEKDAYS, months, years),
            _Days({day - 1}, {5}, months, years),
            _Days({day + 1}, {1}, months, years),
        ]
    if any(c in upper for c in "L#W"):
        raise CronError(f"day-of-month: '{text}' mixes L or W with other values, which Quartz refuses")
    return [_Days(_values(text, "day-of-month"), every_dow, months, years)]


def _day_of_week(text: str, months: set[int], years: set[int] | None) -> list[_Days]:
    every_dom = set(range(1, 32))
    upper = text.upper()
    if "#" in upper:
        day_text, _, nth = upper.partition("#")
        day = _number(day_text, "day-of-week", DAYS)
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise CronError(f"day-of-week: '#{nth}' must be 1-5 (the nth such day of the month)")
        k = int(nth)
        return [_Days(set(range(7 * (k - 1) + 1, min(7 * k, 31) + 1)), {day - 1}, months, years)]
    if upper == "L":
        return [_Days(every_dom, {6}, months, years)]  # Quartz: "L" alone is the 7th day, Saturday
    if upper.endswith("L"):
        day = _number(upper[:-1], "day-of-week", DAYS)
        return [
            _Days(set(range(length - 6, length + 1)), {day - 1}, ms, ys)
            for length, ms, ys in _by_month_length(months, years)
        ]
    if any(c in upper for c in "LW"):
        raise CronError(f"day-of-week: '{text}' mixes L with other values, which Quartz refuses")
    return [_Days(every_dom, {d - 1 for d in _values(text, "day-of-week")}, months, years)]


def parse_quartz(expression: str, *, trigger_id: str = "", time_zone: str = "America/Los_Angeles") -> CronSchedule:
    """The Temporal spec for a Quartz expression in ``time_zone``; ``CronError`` says what is wrong."""
    if not isinstance(expression, str) or not expression.strip():
        raise CronError("expression: empty")
    fields = fuzz(expression.strip(), trigger_id).split()
    if len(fields) not in (6, 7):
        raise CronError(
            f"expression: expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]),"
            f" got {len(fields)}"
        )
    seconds, minutes, hours, dom, month, dow = fields[:6]
    years = None if len(fields) == 6 or fields[6] == "*" else _values(fields[6], "year")
    if (dom == "?") == (dow == "?"):
        raise CronError(
            "day-of-month/day-of-week: exactly one of them must be '?' (Quartz cannot combine a day of the month"
            " with a day of the week)"
        )
    if "?" in (seconds, minutes, hours, month) or (years is None and len(fields) == 7 and fields[6] == "?"):
        raise CronError("'?' is allowed only in day-of-month or day-of-week")
    times = {
        "second": _values(seconds, "seconds"),
        "minute": _values(minutes, "minutes"),
        "hour": _values(hours, "hours"),
    }
    months = _values(month, "month")
    days = _day_of_week(dow, months, years) if dom == "?" else _day_of_month(dom, months, years)
    calendars = [
        ScheduleCalendarSpec(
            second=_ranges(times["second"]),
            minute=_ranges(times["minute"]),
            hour=_ranges(times["hour"]),
            day_of_month=_ranges({d for d in part.dom if 1 <= d <= 31}),
            month=_ranges(part.months),
            year=_ranges(part.years) if part.years is not None else [],
            day_of_week=_ranges(part.dow),
            comment=expression.strip(),
        )
        for part in days
        if part.dom and part.dow and part.months and (part.years is None or part.years)
    ]
    if not calendars:
        raise CronError(f"expression: '{expression}' never fires")
    ZoneInfo(time_zone)  # an unknown zone fails here, not in Temporal
    return CronSchedule(expression.strip(), ScheduleSpec(calendars=calendars, time_zone_name=time_zone))


def _in(ranges: Sequence[ScheduleRange], value: int, default: tuple[int, int]) -> bool:
    if not ranges:
        return default[0] <= value <= default[1]
    return any(r.start <= value <= max(r.start, r.end) and (value - r.start) % (r.step or 1) == 0 for r in ranges)


def next_fire_times(schedule: CronSchedule, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` times (aware, in the schedule's zone) strictly after ``after``, for previews and tests.
    Local times that do not exist (a spring-forward gap) are skipped."""
    zone = ZoneInfo(schedule.spec.time_zone_name or "UTC")
    start = after.astimezone(zone)
    found: list[datetime] = []
    day = start.date()
    end = date(LAST_YEAR, 12, 31)
    while len(found) < count and day <= end:
        dow = (day.weekday() + 1) % 7
        for cal in schedule.spec.calendars:
            if not (
                _in(cal.year, day.year, (FIRST_YEAR, LAST_YEAR))
                and _in(cal.month, day.month, (1, 12))
                and _in(cal.day_of_month, day.day, (1, 31))
                and _in(cal.day_of_week, dow, (0, 6))
            ):
                continue
            for h in range(24):
                if not _in(cal.hour, h, (0, 23)):
                    continue
                for m in range(60):
                    if not _in(cal.minute, m, (0, 59)):
                        continue
                    for s in range(60):
                        if _in(cal.second, s, (0, 59)):
                            moment = datetime.combine(day, time(h, m, s), zone)
                            exists = moment.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
                            if moment > start and exists == moment.replace(tzinfo=None) and moment not in found:
                                found.append(moment)
        day += timedelta(days=1)
    return sorted(found)[:count]
