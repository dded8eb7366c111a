"""Spinnaker's cron expressions read as Quartz 2.3 reads them (``org.quartz.CronExpression``), as Echo runs them.

``sec min hour day-of-month month day-of-week [year]`` with ``?``, ``L``, ``L-n``, ``nW``, ``LW``, ``nL``, ``n#k``,
names, ranges that wrap (``FRI-MON``), steps, lists, and Echo's ``H`` (a value hashed from the trigger id). An
expression reads into a :class:`QuartzCron`: the values each field allows and the one day rule; forms whose
Quartz meaning is accidental (text Quartz silently ignores, or loops on) are refused with the reason.

Pure (no Temporal): the SDK checks a builder's cron expression with the same reader the engine schedules with.
``cron_calendar`` turns a reading into calendar entries, ``cron`` into a Temporal Schedule spec.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInputError


class CronError(InvalidInputError, ValueError):
    """An expression we cannot schedule; the message starts with the field at fault and says why."""


# Temporal's calendar specs take years 2000-2100 and compute no time after 2100
# (temporalio/temporal service/worker/scheduler/calendar.go: minCalendarYear, maxCalendarYear).
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: the zone Echo reads cron expressions in unless configured (``scheduler.cron.timezone``; ``cron_timezone`` here)
ECHO_TIME_ZONE = "America/Los_Angeles"


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

ALL_DAYS = frozenset(range(1, 32))
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
class DayRule:
    """Which days fire. ``kind``: dom, last, weekday, last-weekday (day-of-month); dow, nth, last-dow."""

    kind: str
    values: frozenset[int] = frozenset()  # days of the month, or Quartz days of the week (1 = SUN)
    n: int = 0  # the offset from the last day, the day for nW, or the occurrence for n#k


def _dom_rule(text: str) -> DayRule:
    last = _LAST.fullmatch(text)
    if last:
        offset = int(last["offset"] or 0)
        if offset > 30:
            raise _error(DAY_OF_MONTH, f"'{text}': the offset from the last day must be 0-30")
        if last["weekday"] and offset > 27:
            # February's L-28 is day 0 or before; Quartz's nearest-weekday search then loops forever
            raise _error(DAY_OF_MONTH, f"'{text}': L-nW needs an offset of 27 or less (Quartz hangs on it)")
        return DayRule("last-weekday" if last["weekday"] else "last", n=offset)
    weekday = re.fullmatch(r"(\d+)W", text)
    if weekday:
        day = int(weekday[1])
        if not 1 <= day <= 31:
            raise _error(DAY_OF_MONTH, f"'{text}': the day before W must be 1-31")
        return DayRule("weekday", n=day)
    if "L" in text:
        raise _error(DAY_OF_MONTH, f"'{text}': L must stand alone (L, L-n, LW, L-nW), not in a list or a range")
    if "W" in text:
        # Quartz drops the W of '1-5W' and uses only the first day of '15W,20'
        raise _error(DAY_OF_MONTH, f"'{text}': W needs a single day (15W), not a range, a list or a step")
    return DayRule("dom", _values(text, DAY_OF_MONTH))


def _dow_rule(text: str) -> DayRule:
    if text == "L":  # a lone L in day-of-week is Quartz's 7, Saturday
        return DayRule("dow", frozenset({7}))
    last = re.fullmatch(r"(\d+|[A-Z]+)L", text)
    if last:
        return DayRule("last-dow", frozenset({_value(last[1], DAY_OF_WEEK)}))
    nth = re.fullmatch(r"(\d+|[A-Z]+)#(\d+)", text)
    if nth:
        day, occurrence = _value(nth[1], DAY_OF_WEEK), int(nth[2])
        if not 1 <= occurrence <= 5:
            raise _error(DAY_OF_WEEK, f"'{text}': the occurrence after # must be 1-5")
        return DayRule("nth", frozenset({day}), occurrence)
    if "L" in text or "#" in text:
        # Quartz drops the L of '2-6L' and reads '2#3,4' as the third Monday
        raise _error(DAY_OF_WEEK, f"'{text}': L and # need a single day (6L, 6#3), not a range, a list or a step")
    return DayRule("dow", _values(text, DAY_OF_WEEK))


def _day_rule(dom: DayRule | None, dow: DayRule | None, texts: tuple[str, str]) -> DayRule:
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


# --- the expression as a whole --------------------------------------------------------------------


@dataclass(frozen=True)
class QuartzCron:
    """What a Quartz expression allows: the values of each field and the day rule (``years`` None: every year)."""

    expression: str
    time_zone: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: DayRule
    months: frozenset[int]
    years: frozenset[int] | None

    @property
    def description(self) -> str:
        """A short English reading of the expression, for people (Deck shows Echo's description)."""
        return _describe(self.seconds, self.minutes, self.hours, self.days, self.months, self.years)


def read_quartz(expression: str, *, trigger_id: str = "", time_zone: str = ECHO_TIME_ZONE) -> QuartzCron:
    """Read a Quartz expression (Echo's, ``H`` hashed from ``trigger_id``) to be run in ``time_zone``."""
    fields = expression.upper().split()
    if len(fields) not in (6, 7):
        raise CronError(
            "expression: expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), "
            f"got {len(fields)}"
        )
    zone(time_zone)
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
    return QuartzCron(expression, time_zone, seconds, minutes, hours, days, months, years)


def is_fuzzy(expression: str) -> bool:
    """Whether the expression uses Echo's ``H`` (Echo then gives no description)."""
    return any("H" in text for text in expression.upper().split()[:3])


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or a :class:`CronError` saying it is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"time zone: '{name}' is not an IANA time zone name") from None


# --- values as arithmetic runs --------------------------------------------------------------------


class Range(NamedTuple):
    """``start`` to ``end`` (both included) by ``step``: one run of values, as a Temporal ``Range``."""

    start: int
    end: int
    step: int = 1


def ranges(values: Iterable[int]) -> tuple[Range, ...]:
    """Values as few runs as a step of 1-12 allows (0,5,...,55 is one; leap years one)."""
    ordered = sorted(set(values))
    best = _progressions(ordered, None)
    for step in range(2, 13):
        parts = [r for rest in range(step) for r in _progressions([v for v in ordered if v % step == rest], step)]
        if len(parts) < len(best):
            best = parts
    return tuple(sorted(best, key=lambda r: r.start))


def _progressions(values: Sequence[int], step: int | None) -> list[Range]:
    """Split sorted values into runs with a constant difference (``step``, or whatever the run starts with)."""
    out: list[Range] = []
    i = 0
    while i < len(values):
        gap = step or (values[i + 1] - values[i] if i + 1 < len(values) else 1)
        j = i
        while j + 1 < len(values) and values[j + 1] - values[j] == gap:
            j += 1
        if j - i == 1 and gap > 1:  # two values read better as two
            j = i
        out.append(Range(values[i], values[j], gap if j > i else 1))
        i = j + 1
    return out


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
    for r in ranges(values):
        text = name(r.start) if r.end == r.start else f"{name(r.start)}-{name(r.end)}"
        parts.append(text + (f"/{r.step}" if r.step > 1 and r.end > r.start else ""))
    return ", ".join(parts)


def _describe_days(days: DayRule) -> str:
    kind, n = days.kind, days.n
    if kind == "dom":
        return "every day" if days.values == ALL_DAYS else f"on day {_listed(days.values, DAY_OF_MONTH)}"
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
    days: DayRule,
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
