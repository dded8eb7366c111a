"""Spinnaker's Quartz cron expressions as Temporal schedule specs, converted exactly.

Echo schedules cron triggers with Quartz 2.3 (``org.quartz.CronExpression``): ``sec min hour
day-of-month month day-of-week [year]`` with ``?``, ``L``, ``L-n``, ``nW``, ``LW``, ``nL``, ``n#k``,
names, ranges that wrap (``FRI-MON``), steps, lists, and Echo's ``H`` (a value hashed from the
trigger id). Temporal's cron strings misread several of these (``5#3`` runs every Friday there),
so an expression becomes a union of ``ScheduleCalendarSpec`` entries instead: the third Thursday is
Thursday AND days 15-21, ``L`` is one entry per month length (February split into leap and common
years), and so on. Forms whose Quartz meaning is accidental (text Quartz silently ignores, or loops
on) are refused with the reason. docs/triggers-cron.md lists the rules and the known differences.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.client import ScheduleCalendarSpec, ScheduleRange, ScheduleSpec


class CronError(ValueError):
    """An expression we cannot schedule; the message starts with the field at fault and says why."""


@dataclass(frozen=True)
class CronSchedule:
    """A Quartz expression and the Temporal spec that fires at the same times."""

    expression: str
    spec: ScheduleSpec
    description: str = ""


# Temporal's calendar specs take years 2000-2100 and compute no time after 2100
# (temporalio/temporal service/worker/scheduler/calendar.go: minCalendarYear, maxCalendarYear).
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] stands for low + i
    max_step: int | None = None  # Quartz's checkIncrementRange; None: no limit

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def bounds(self) -> str:
        named = f" ({self.names[0]}-{self.names[-1]})" if self.names else ""
        return f"{self.low}-{self.high}{named}"


SECONDS = _Field("seconds", 0, 59, max_step=59)
MINUTES = _Field("minutes", 0, 59, max_step=59)
HOURS = _Field("hours", 0, 23, max_step=23)
DAY_OF_MONTH = _Field("day-of-month", 1, 31, max_step=31)
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # Quartz's 1-7; Temporal's 0-6
MONTH = _Field("month", 1, 12, MONTH_NAMES, max_step=12)
DAY_OF_WEEK = _Field("day-of-week", 1, 7, DAY_NAMES, max_step=7)
YEAR = _Field("year", 1970, 2199)  # the years Quartz documents; Temporal's are FIRST_YEAR..LAST_YEAR

_ITEM = re.compile(r"(?:(?P<star>\*)|(?P<start>\d+|[A-Z]+)(?:-(?P<end>\d+|[A-Z]+))?)?(?:/(?P<step>\d+))?")
_LAST = re.compile(r"L(?:-(?P<offset>\d+))?(?P<weekday>W?)")
_HASH_RANGE = re.compile(r"H\((\d+)-(\d+)\)(/\d+)?")
_HASH_TOKEN = re.compile(r"(?<![A-Z])H")  # H as a token, not the H of THU

_ALL_DAYS = frozenset(range(1, 32))
_ALL_WEEK = frozenset(range(7))  # Temporal numbers the week 0 (Sunday) to 6
_MON_FRI, _MON, _FRI = frozenset(range(1, 6)), frozenset({1}), frozenset({5})
_LEAP = frozenset(y for y in range(FIRST_YEAR, LAST_YEAR + 1) if calendar.isleap(y))
_COMMON = frozenset(range(FIRST_YEAR, LAST_YEAR + 1)) - _LEAP
# (days in the month, the months, the years) for every length a month can have
_MONTH_LENGTHS: tuple[tuple[int, frozenset[int], frozenset[int] | None], ...] = (
    (31, frozenset({1, 3, 5, 7, 8, 10, 12}), None),
    (30, frozenset({4, 6, 9, 11}), None),
    (29, frozenset({2}), _LEAP),
    (28, frozenset({2}), _COMMON),
)
FUZZY_DESCRIPTION = "No description available for fuzzy cron expressions"  # Echo's words for H expressions


def _error(field: _Field, reason: str) -> CronError:
    return CronError(f"{field.name}: {reason}")


# --- Echo's H -------------------------------------------------------------------------------------


def java_string_hash(text: str) -> int:
    """``String.hashCode()`` as Java computes it: over UTF-16 code units, wrapping at 32 bits."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def _fuzz(text: str, field: _Field, trigger_id: str) -> str:
    """Replace Echo's ``H`` in one field by the trigger's hash, as ``CronExpressionFuzzer`` does.

    Echo writes ``abs(id.hashCode() % 60)`` (``% 24`` for hours) in place of every ``H``, so ``H/15`` is
    ``<hash>/15``. ``H(a-b)`` is Jenkins' form: Echo's text replacement leaves ``<hash>(a-b)``, whose
    bracket Quartz silently drops; we keep the value inside ``a-b`` as the writer meant.
    """
    if "H" not in text:
        return text
    h = abs(java_string_hash(trigger_id))
    items = []
    for item in text.split(","):
        ranged = _HASH_RANGE.fullmatch(item)
        if ranged:
            low, high = int(ranged[1]), int(ranged[2])
            if not field.low <= low <= high <= field.high:
                raise _error(field, f"'{item}': the range in H(a-b) must lie within {field.bounds()}")
            value = low + h % (high - low + 1)
            item = f"{value}-{high}{ranged[3]}" if ranged[3] else str(value)
        items.append(item.replace("H", str(h % field.size)))
    return ",".join(items)


# --- fields as sets of values ---------------------------------------------------------------------


def _value(token: str, field: _Field) -> int:
    if token.isdigit():
        value = int(token)
        if not field.low <= value <= field.high:
            raise _error(field, f"'{token}' is out of range {field.bounds()}")
        return value
    if token in field.names:
        return field.low + field.names.index(token)
    kind = {"month": "a month name", "day-of-week": "a day name"}.get(field.name)
    raise _error(field, f"'{token}' is not {kind} ({field.bounds()})" if kind else f"'{token}' is not a number")


def _span(start: int, end: int, step: int, field: _Field, item: str) -> set[int]:
    """``start-end/step``; Quartz lets a range run past the field's end and wrap (22-2, FRI-MON)."""
    if end < start:
        if field is YEAR:
            raise _error(field, f"range '{item}' runs backwards")
        end += field.size
    return {field.low + (i - field.low) % field.size for i in range(start, end + 1, step)}


def _item(item: str, field: _Field) -> set[int]:
    """One list item: ``*``, ``a``, ``a-b``, each with an optional ``/step``."""
    match = _ITEM.fullmatch(item)
    if not item or match is None:
        raise _error(field, f"'{item}' is not a value, a range or a step")
    step = int(match["step"]) if match["step"] else None
    if step is not None and not 1 <= step <= (field.max_step or step):
        limit = f" and at most {field.max_step}" if field.max_step else ""
        raise _error(field, f"the step in '{item}' must be at least 1{limit}")
    start, end = match["start"], match["end"]
    if start is None:  # '*', '*/n' and Quartz's shorthand '/n'
        return set(range(field.low, field.high + 1, step or 1))
    named = [token.isalpha() for token in (start, end) if token is not None]
    if any(named) and (step is not None or not all(named)):
        # Quartz reads the name and drops the rest ('JAN/2' is January only), or fails on 'MON-5'
        raise _error(field, f"'{item}': write names alone or as a name range (MON-FRI), numbers for steps")
    first = _value(start, field)
    if end is None:
        return set(range(first, field.high + 1, step)) if step else {first}
    return _span(first, _value(end, field), step or 1, field, item)


def _values(text: str, field: _Field) -> frozenset[int]:
    """A comma list of items, as the set of values it covers."""
    if "?" in text:
        where = (
            "must stand alone"
            if field in (DAY_OF_MONTH, DAY_OF_WEEK)
            else "is only allowed in day-of-month or day-of-week"
        )
        raise _error(field, f"'?' {where}")
    values: set[int] = set()
    for item in text.split(","):
        values |= _item(item, field)
    return frozenset(values)


def _years(text: str) -> frozenset[int] | None:
    """The year field within Temporal's years; None for every year."""
    years: set[int] = set()
    for item in text.split(","):
        values = _item(item, YEAR)
        open_ended = item.startswith(("*", "/")) or ("/" in item and "-" not in item)
        if not open_ended and max(values) > LAST_YEAR:
            raise _error(YEAR, f"{max(values)} is after {LAST_YEAR}, the last year Temporal schedules")
        years |= {y for y in values if FIRST_YEAR <= y <= LAST_YEAR}
    if not years:
        raise _error(YEAR, f"'{text}' has no year between {FIRST_YEAR} and {LAST_YEAR}")
    return None if len(years) == LAST_YEAR - FIRST_YEAR + 1 else frozenset(years)


# --- the day rule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Days:
    """Which days fire. ``kind``: dom, last, weekday, last-weekday (day-of-month); dow, nth, last-dow."""

    kind: str
    values: frozenset[int] = frozenset()  # days of the month, or Quartz days of the week (1 = SUN)
    n: int = 0  # the offset from the last day, the day for nW, or the occurrence for n#k


def _dom_rule(text: str) -> _Days:
    last = _LAST.fullmatch(text)
    if last:
        offset = int(last["offset"] or 0)
        if offset > 30:
            raise _error(DAY_OF_MONTH, f"'{text}': the offset from the last day must be 0-30")
        if last["weekday"] and offset > 27:
            # February's L-28 is day 0 or before; Quartz's nearest-weekday search then loops forever
            raise _error(DAY_OF_MONTH, f"'{text}': L-nW needs an offset of 27 or less (Quartz hangs on it)")
        return _Days("last-weekday" if last["weekday"] else "last", n=offset)
    weekday = re.fullmatch(r"(\d+)W", text)
    if weekday:
        day = int(weekday[1])
        if not 1 <= day <= 31:
            raise _error(DAY_OF_MONTH, f"'{text}': the day before W must be 1-31")
        return _Days("weekday", n=day)
    if "L" in text:
        raise _error(DAY_OF_MONTH, f"'{text}': L must stand alone (L, L-n, LW, L-nW), not in a list or a range")
    if "W" in text:
        # Quartz drops the W of '1-5W' and uses only the first day of '15W,20'
        raise _error(DAY_OF_MONTH, f"'{text}': W needs a single day (15W), not a range, a list or a step")
    return _Days("dom", _values(text, DAY_OF_MONTH))


def _dow_rule(text: str) -> _Days:
    if text == "L":  # a lone L in day-of-week is Quartz's 7, Saturday
        return _Days("dow", frozenset({7}))
    last = re.fullmatch(r"(\d+|[A-Z]+)L", text)
    if last:
        return _Days("last-dow", frozenset({_value(last[1], DAY_OF_WEEK)}))
    nth = re.fullmatch(r"(\d+|[A-Z]+)#(\d+)", text)
    if nth:
        day, occurrence = _value(nth[1], DAY_OF_WEEK), int(nth[2])
        if not 1 <= occurrence <= 5:
            raise _error(DAY_OF_WEEK, f"'{text}': the occurrence after # must be 1-5")
        return _Days("nth", frozenset({day}), occurrence)
    if "L" in text or "#" in text:
        # Quartz drops the L of '2-6L' and reads '2#3,4' as the third Monday
        raise _error(DAY_OF_WEEK, f"'{text}': L and # need a single day (6L, 6#3), not a range, a list or a step")
    return _Days("dow", _values(text, DAY_OF_WEEK))


def _day_rule(dom: _Days | None, dow: _Days | None, texts: tuple[str, str]) -> _Days:
    """The one rule Quartz allows: '?' must be in exactly one of day-of-month and day-of-week."""
    if dom is not None and dow is not None:
        raise CronError(
            f"day-of-month, day-of-week: one of them must be '?' (got '{texts[0]}' and '{texts[1]}'); "
            "Quartz does not support both"
        )
    if dom is not None:
        return dom
    if dow is not None:
        return dow
    raise CronError("day-of-month, day-of-week: only one of them may be '?'")


# --- the day rule as calendar clauses -------------------------------------------------------------

_Clause = tuple[frozenset[int], frozenset[int]]  # days of the month AND Temporal days of the week


def _nearest_weekday(day: int, length: int) -> list[_Clause]:
    """Quartz's weekday nearest ``day``: a Saturday moves back, a Sunday forward, never out of the month."""
    return [
        (frozenset({day}), _MON_FRI),
        (frozenset({3}), _MON) if day == 1 else (frozenset({day - 1}), _FRI),  # the day is a Saturday
        (frozenset({day - 2}), _FRI) if day == length else (frozenset({day + 1}), _MON),  # a Sunday
    ]


def _clauses(days: _Days, length: int, months: frozenset[int]) -> list[_Clause]:
    """The day rule in a month of ``length`` days (``months``: the expression's months)."""
    week = frozenset(d - 1 for d in days.values)
    if days.kind == "dom":
        return [(days.values, _ALL_WEEK)]
    if days.kind == "dow":
        return [(_ALL_DAYS, week)]
    if days.kind == "nth":
        return [(frozenset(range(7 * days.n - 6, min(7 * days.n, 31) + 1)), week)]
    if days.kind == "last-dow":
        return [(frozenset(range(length - 6, length + 1)), week)]
    if days.kind == "last":
        return [(frozenset({length - days.n}), _ALL_WEEK)] if length - days.n >= 1 else []
    if days.kind == "last-weekday":
        return _nearest_weekday(length - days.n, length)
    if days.n <= length:
        return _nearest_weekday(days.n, length)
    return _missing_weekday(days.n, length, months)


def _missing_weekday(day: int, length: int, months: frozenset[int]) -> list[_Clause]:
    """``nW`` in a month without day n, as a running Quartz trigger fires it (verified on Quartz 2.3.2).

    Quartz counts on past the month's end: the day after the last is the next month's 1st, and when
    that is a Saturday it fires on Friday the last day. It only looks when it enters the month on
    its 1st, though: after firing in the month before, it jumps to day n of the next month, which
    overflows past it. Entering on the 1st happens after a 31st (the 31st of the month before a 30-day
    month is always the firing day then) or when the month before is not in the expression.
    """
    if day != length + 1:
        return []
    if length == 30 or 1 not in months:  # 30-day months follow 31-day ones; February follows January
        return [(frozenset({length}), _FRI)]
    return []


def _depends_on_length(days: _Days) -> bool:
    return days.kind in ("last", "last-weekday", "last-dow") or (days.kind == "weekday" and days.n > 27)


def _meet(a: frozenset[int] | None, b: frozenset[int] | None) -> frozenset[int] | None:
    """Intersect two year sets where None means every year."""
    return b if a is None else a if b is None else a & b


_Group = tuple[frozenset[int], frozenset[int], frozenset[int] | None]  # days of month, of week, years


def _day_groups(days: _Days, months: frozenset[int], years: frozenset[int] | None) -> dict[_Group, set[int]]:
    """(days of month, days of week, years) -> months, merged so that identical clauses share an entry."""
    if _depends_on_length(days):
        groups = [(months & ms, _meet(years, ys), _clauses(days, length, months)) for length, ms, ys in _MONTH_LENGTHS]
        if groups[2][2] == groups[3][2]:  # February's lengths agree: one entry for every February
            groups[2:] = [(months & {2}, years, groups[2][2])]
    else:
        groups = [(months, years, _clauses(days, 31, months))]
    merged: dict[_Group, set[int]] = {}
    for group_months, group_years, clauses in groups:
        if not group_months or group_years == frozenset():
            continue
        for dom, dow in clauses:
            merged.setdefault((dom, dow, group_years), set()).update(group_months)
    return merged


def _ranges(values: Iterable[int]) -> tuple[ScheduleRange, ...]:
    """Values as few ``ScheduleRange`` entries as a step of 1-12 allows (0,5,...,55 is one; leap years one)."""
    ordered = sorted(set(values))
    best = _progressions(ordered, None)
    for step in range(2, 13):
        parts = [r for rest in range(step) for r in _progressions([v for v in ordered if v % step == rest], step)]
        if len(parts) < len(best):
            best = parts
    return tuple(sorted(best, key=lambda r: r.start))


def _progressions(values: Sequence[int], step: int | None) -> list[ScheduleRange]:
    """Split sorted values into runs with a constant difference (``step``, or whatever the run starts with)."""
    out: list[ScheduleRange] = []
    i = 0
    while i < len(values):
        gap = step or (values[i + 1] - values[i] if i + 1 < len(values) else 1)
        j = i
        while j + 1 < len(values) and values[j + 1] - values[j] == gap:
            j += 1
        if j - i == 1 and gap > 1:  # two values read better as two
            j = i
        out.append(ScheduleRange(values[i], values[j], gap if j > i else 1))
        i = j + 1
    return out


# --- public API -----------------------------------------------------------------------------------


def parse_quartz(expression: str, *, trigger_id: str = "", time_zone: str = "America/Los_Angeles") -> CronSchedule:
    """Convert a Quartz expression (Echo's, ``H`` hashed from ``trigger_id``) into a Temporal spec in ``time_zone``."""
    fields = expression.upper().split()
    if len(fields) not in (6, 7):
        raise CronError(
            "expression: expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), "
            f"got {len(fields)}"
        )
    _zone(time_zone)
    seconds, minutes, hours = (
        _values(_fuzz(text, field, trigger_id), field)
        for text, field in zip(fields[:3], (SECONDS, MINUTES, HOURS), strict=True)
    )
    for text, field in zip(fields[3:], (DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR), strict=False):
        if _HASH_TOKEN.search(text):
            raise _error(field, "H is only supported in the seconds, minutes and hours fields")
    dom = None if fields[3] == "?" else _dom_rule(fields[3])
    months = _values(fields[4], MONTH)
    dow = None if fields[5] == "?" else _dow_rule(fields[5])
    years = _years(fields[6]) if len(fields) == 7 else None
    days = _day_rule(dom, dow, (fields[3], fields[5]))
    comment = f"Quartz: {expression.strip()}"[:200]  # Temporal keeps comments up to 200 characters
    calendars = [
        ScheduleCalendarSpec(
            second=_ranges(seconds),
            minute=_ranges(minutes),
            hour=_ranges(hours),
            day_of_month=_ranges(day),
            month=_ranges(ms),
            year=_ranges(ys) if ys is not None else (),
            day_of_week=_ranges(weekday),
            comment=comment,
        )
        for (day, weekday, ys), ms in _day_groups(days, months, years).items()
    ]
    spec = ScheduleSpec(calendars=calendars, time_zone_name=time_zone)
    schedule = CronSchedule(expression, spec, _describe(seconds, minutes, hours, days, months, years))
    if not next_fire_times(schedule, datetime(FIRST_YEAR - 1, 12, 30, tzinfo=UTC), 1):
        raise CronError(f"expression: never fires between {FIRST_YEAR} and {LAST_YEAR}")
    return schedule


def validate_for_gate(expression: str, *, time_zone: str = "America/Los_Angeles") -> dict[str, Any]:
    """The body of Gate's ``GET /cron/validate?expression=``, which Gate always answers with a 200.

    Gate (spinnaker/gate gate-web/.../controllers/CronController.groovy, services/CronService.groovy)
    asks Echo and answers ``{"valid": true, "description": <Echo's>}``, or on Echo's 400
    ``{"valid": false, "message": <Echo's message>}``. Echo (spinnaker/echo echo-web/.../scheduler/
    ValidationController.java) answers ``{"response": "Cron expression is valid", "description": ...}``
    (FUZZY_DESCRIPTION for H expressions, which it hashes with the id ""), or a 400 whose message is
    "Invalid CRON expression: '<expression>' explanation: <Quartz's reason>" (InvalidCronExpressionException).
    Gate's HTTP client prefixes that with "Status: 400, Method: GET, URL: <Echo's URL>, Message: "; with
    no Echo behind us we leave the prefix out.
    """
    try:
        schedule = parse_quartz(expression, time_zone=time_zone)
    except CronError as err:
        return {"valid": False, "message": f"Invalid CRON expression: '{expression}' explanation: {err}"}
    fuzzy = any("H" in text for text in expression.upper().split()[:3])
    return {"valid": True, "description": FUZZY_DESCRIPTION if fuzzy else schedule.description}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"time zone: '{name}' is not an IANA time zone name") from None


# --- evaluation, as Temporal's scheduler does it ---------------------------------------------------


@dataclass(frozen=True)
class _Matcher:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    years: frozenset[int] | None  # None: every year

    @classmethod
    def of(cls, spec: ScheduleCalendarSpec) -> _Matcher:
        def values(ranges: Sequence[ScheduleRange]) -> frozenset[int]:
            return frozenset(v for r in ranges for v in range(r.start, max(r.end, r.start) + 1, r.step or 1))

        return cls(
            values(spec.second),
            values(spec.minute),
            values(spec.hour),
            values(spec.day_of_month),
            values(spec.month),
            values(spec.day_of_week),
            values(spec.year) if spec.year else None,
        )


def next_fire_times(schedule: CronSchedule, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` times after ``after`` that Temporal fires ``schedule`` at, in UTC.

    Computed as Temporal's scheduler computes them, in the schedule's time zone (calendar entries only,
    no jitter), so it agrees with a schedule's ``next_action_times``, at DST changes too, and honours
    ``start_at``/``end_at``. UTC because Python never finds a zone-local time in a repeated hour equal to
    the same instant in another zone (PEP 495); ``astimezone`` gives the wall-clock time.
    """
    spec = schedule.spec
    if after.tzinfo is None:
        raise ValueError("after must carry a time zone")
    if spec.intervals or spec.cron_expressions or spec.skip or spec.jitter:
        raise ValueError("next_fire_times evaluates calendar specs only")
    zone = ZoneInfo(spec.time_zone_name or "UTC")
    matchers = [_Matcher.of(c) for c in spec.calendars]
    t = math.floor(after.timestamp())
    if spec.start_at is not None:
        t = max(t, math.floor(spec.start_at.timestamp()) - 1)
    end = spec.end_at.timestamp() if spec.end_at is not None else math.inf
    pending = [-1] * len(matchers)  # each entry's next time, reused while still ahead; _NEVER when done
    out: list[datetime] = []
    while len(out) < count:
        for i, matcher in enumerate(matchers):
            if pending[i] <= t:
                following = _next_match(matcher, t, zone)
                pending[i] = _NEVER if following is None else following
        found = [p for p in pending if p != _NEVER]
        if not found:
            break
        t = min(found)
        if t > end or datetime.fromtimestamp(t, UTC).year > LAST_YEAR:
            break
        out.append(datetime.fromtimestamp(t, UTC))
    return out


_EPOCH = datetime(1970, 1, 1)
_NEVER = 2**63


def _offset(instant: int, zone: ZoneInfo) -> int:
    return int((datetime.fromtimestamp(instant, zone).utcoffset() or timedelta()).total_seconds())


def _wall(y: int, mo: int, d: int, h: int, mi: int, s: int, zone: ZoneInfo) -> int:
    """Go's ``time.Date``: a wall-clock time as an instant; in a DST gap or overlap Go picks as below."""
    local = (datetime(y, mo, 1) + timedelta(days=d - 1, hours=h, minutes=mi, seconds=s) - _EPOCH) // timedelta(
        seconds=1
    )
    offset = _offset(local, zone)  # Go first guesses with the offset in force at the wall time read as UTC
    if _offset(local - offset, zone) != offset:
        offset = _offset(local - offset, zone)
    return local - offset


def _next_match(m: _Matcher, after: int, zone: ZoneInfo) -> int | None:
    """The first second after ``after`` that one calendar entry matches: Temporal's ``compiledCalendar.next``.

    A port of temporalio/temporal service/worker/scheduler/calendar.go. It walks the wall clock in the
    zone; a wall time that DST skips is passed over, and an hour that DST repeats is walked twice.
    """
    now = datetime.fromtimestamp(after, zone)
    y, mo, d, h, mi, s = now.year, now.month, now.day, now.hour, now.minute, now.second
    dst = 3600 if datetime.fromtimestamp(after - 3600, zone).hour == h else 0  # in a repeated hour's second copy
    s += 1
    while True:
        if s >= 60:
            mi, s = mi + 1, 0
        if mi >= 60:
            before = _wall(y, mo, d, h, 0, 0, zone)
            h, mi = h + 1, 0
            if dst == 0 and _wall(y, mo, d, h, 0, 0, zone) - before > 3600:
                h, dst = h - 1, 3600  # the hour just left repeats: walk its second copy too
            else:
                dst = 0
        if h >= 24:
            d, h = d + 1, 0
        if mo <= 12 and d > calendar.monthrange(y, mo)[1]:
            mo, d = mo + 1, 1
        if mo > 12:
            y, mo = y + 1, 1
        if y > LAST_YEAR:
            return None
        if m.years is not None and y not in m.years:
            y, mo, d, h, mi, s, dst = y + 1, 1, 1, 0, 0, 0, 0
            continue
        while mo <= 12 and mo not in m.months:
            mo, d, h, mi, s, dst = mo + 1, 1, 0, 0, 0, 0
        if mo > 12:
            continue
        length = calendar.monthrange(y, mo)[1]
        while d <= length and (d not in m.days or _weekday(_wall(y, mo, d, h, mi, s, zone), zone) not in m.weekdays):
            d, h, mi, s, dst = d + 1, 0, 0, 0, 0
        if d > length:
            continue
        while h < 24 and h not in m.hours:
            h, mi, s, dst = h + 1, 0, 0, 0
        if h >= 24:
            continue
        while mi < 60 and mi not in m.minutes:
            mi, s = mi + 1, 0
        if mi >= 60:
            continue
        while s < 60 and s not in m.seconds:
            s += 1
        if s >= 60:
            continue
        found = _wall(y, mo, d, h, mi, s, zone)
        if datetime.fromtimestamp(found, zone).hour != h:  # a wall time that DST skips
            h, mi, s = h + 1, 0, 0
            continue
        return found + dst


def _weekday(instant: int, zone: ZoneInfo) -> int:
    return (datetime.fromtimestamp(instant, zone).weekday() + 1) % 7  # Go's Weekday: Sunday is 0


# --- description ----------------------------------------------------------------------------------

_ORDINALS = ("", "first", "second", "third", "fourth", "fifth")
_MONTH_WORDS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_WORDS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _listed(values: frozenset[int], field: _Field) -> str:
    def name(v: int) -> str:
        if field is MONTH:
            return _MONTH_WORDS[v - 1]
        return _DAY_WORDS[v - 1] if field is DAY_OF_WEEK else str(v)

    parts = []
    for r in _ranges(values):
        text = name(r.start) if r.end == r.start else f"{name(r.start)}-{name(r.end)}"
        parts.append(text + (f"/{r.step}" if r.step > 1 and r.end > r.start else ""))
    return ", ".join(parts)


def _describe_days(days: _Days) -> str:
    kind, n = days.kind, days.n
    if kind == "dom":
        return "every day" if days.values == _ALL_DAYS else f"on day {_listed(days.values, DAY_OF_MONTH)}"
    if kind in ("last", "last-weekday"):
        day = f"{n} day{'s' * (n > 1)} before the last day" if n else "the last day"
        return f"on {day} of the month" if kind == "last" else f"on the weekday nearest {day} of the month"
    if kind == "weekday":
        return f"on the weekday nearest day {n}"
    named = _listed(days.values, DAY_OF_WEEK)
    if kind == "nth":
        return f"on the {_ORDINALS[n]} {named} of the month"
    if kind == "last-dow":
        return f"on the last {named} of the month"
    return "every day" if len(days.values) == 7 else f"on {named}"


def _describe(
    seconds: frozenset[int],
    minutes: frozenset[int],
    hours: frozenset[int],
    days: _Days,
    months: frozenset[int],
    years: frozenset[int] | None,
) -> str:
    """A short English reading of the expression, for people (Deck shows Echo's description)."""
    if len(seconds) == len(minutes) == len(hours) == 1:
        parts = [f"at {min(hours):02}:{min(minutes):02}:{min(seconds):02}"]
    else:
        parts = [
            f"every {f.name[:-1]}" if len(values) == f.size else f"{f.name} {_listed(values, f)}"
            for values, f in ((seconds, SECONDS), (minutes, MINUTES), (hours, HOURS))
        ]
    parts.append(_describe_days(days))
    if len(months) < 12:
        parts.append(f"in {_listed(months, MONTH)}")
    if years is not None:
        parts.append(f"in {_listed(years, YEAR)}")
    return ", ".join(parts)
