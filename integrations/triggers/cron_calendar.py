"""A Quartz reading as calendar entries, and the times a calendar fires at, as Temporal's scheduler computes them.

Temporal's cron strings misread several Quartz forms (``5#3`` runs every Friday there), so an expression becomes a
union of calendar entries instead: the third Thursday is Thursday AND days 15-21, ``L`` is one entry per month
length (February split into leap and common years), and so on. docs/triggers-cron.md lists the rules.

Pure (no Temporal): :func:`compile_quartz` is the whole check the engine makes before it schedules an expression,
so the SDK refuses exactly what the engine refuses.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from .cron_quartz import (
    ALL_DAYS,
    ECHO_TIME_ZONE,
    FIRST_YEAR,
    LAST_YEAR,
    CronError,
    DayRule,
    QuartzCron,
    Range,
    ranges,
    read_quartz,
)

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

# --- the day rule as calendar clauses -------------------------------------------------------------

_Clause = tuple[frozenset[int], frozenset[int]]  # days of the month AND Temporal days of the week


def _nearest_weekday(day: int, length: int) -> list[_Clause]:
    """Quartz's weekday nearest ``day``: a Saturday moves back, a Sunday forward, never out of the month."""
    return [
        (frozenset({day}), _MON_FRI),
        (frozenset({3}), _MON) if day == 1 else (frozenset({day - 1}), _FRI),  # the day is a Saturday
        (frozenset({day - 2}), _FRI) if day == length else (frozenset({day + 1}), _MON),  # a Sunday
    ]


def _clauses(days: DayRule, length: int, months: frozenset[int]) -> list[_Clause]:
    """The day rule in a month of ``length`` days (``months``: the expression's months)."""
    week = frozenset(d - 1 for d in days.values)
    if days.kind == "dom":
        return [(days.values, _ALL_WEEK)]
    if days.kind == "dow":
        return [(ALL_DAYS, week)]
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


def _depends_on_length(days: DayRule) -> bool:
    return days.kind in ("last", "last-weekday", "last-dow") or (days.kind == "weekday" and days.n > 27)


def _meet(a: frozenset[int] | None, b: frozenset[int] | None) -> frozenset[int] | None:
    """Intersect two year sets where None means every year."""
    return b if a is None else a if b is None else a & b


_Group = tuple[frozenset[int], frozenset[int], frozenset[int] | None]  # days of month, of week, years


def _day_groups(days: DayRule, months: frozenset[int], years: frozenset[int] | None) -> dict[_Group, set[int]]:
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


# --- calendar entries -----------------------------------------------------------------------------


class RangeLike(Protocol):
    """A run of values: our :class:`Range` or Temporal's ``ScheduleRange``."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def step(self) -> int: ...


class Ranges(Protocol):
    """A calendar entry's fields: ours (:class:`CalendarEntry`) or Temporal's ``ScheduleCalendarSpec``."""

    @property
    def second(self) -> Sequence[RangeLike]: ...
    @property
    def minute(self) -> Sequence[RangeLike]: ...
    @property
    def hour(self) -> Sequence[RangeLike]: ...
    @property
    def day_of_month(self) -> Sequence[RangeLike]: ...
    @property
    def month(self) -> Sequence[RangeLike]: ...
    @property
    def year(self) -> Sequence[RangeLike]: ...
    @property
    def day_of_week(self) -> Sequence[RangeLike]: ...


@dataclass(frozen=True)
class CalendarEntry:
    """One calendar entry: a time matches when every field holds it (empty ``year``: every year)."""

    second: tuple[Range, ...]
    minute: tuple[Range, ...]
    hour: tuple[Range, ...]
    day_of_month: tuple[Range, ...]
    month: tuple[Range, ...]
    year: tuple[Range, ...]
    day_of_week: tuple[Range, ...]  # Temporal's numbers: 0 = Sunday


def calendar_entries(cron: QuartzCron) -> list[CalendarEntry]:
    """The calendar entries whose union fires exactly when Quartz fires ``cron``."""
    return [
        CalendarEntry(
            second=ranges(cron.seconds),
            minute=ranges(cron.minutes),
            hour=ranges(cron.hours),
            day_of_month=ranges(day),
            month=ranges(ms),
            year=ranges(ys) if ys is not None else (),
            day_of_week=ranges(weekday),
        )
        for (day, weekday, ys), ms in _day_groups(cron.days, cron.months, cron.years).items()
    ]


@dataclass(frozen=True)
class CompiledCron:
    """A Quartz expression read, as calendar entries, checked to fire at least once in Temporal's years."""

    cron: QuartzCron
    calendars: list[CalendarEntry]


def compile_quartz(expression: str, *, trigger_id: str = "", time_zone: str = ECHO_TIME_ZONE) -> CompiledCron:
    """Everything the engine checks before it schedules ``expression``; a :class:`CronError` says what is wrong."""
    cron = read_quartz(expression, trigger_id=trigger_id, time_zone=time_zone)
    calendars = calendar_entries(cron)
    if not fire_times(calendars, time_zone, datetime(FIRST_YEAR - 1, 12, 30, tzinfo=UTC), 1):
        raise CronError(f"expression: never fires between {FIRST_YEAR} and {LAST_YEAR}")
    return CompiledCron(cron, calendars)


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
    def of(cls, spec: Ranges) -> _Matcher:
        def values(ranges: Sequence[RangeLike]) -> frozenset[int]:
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


def fire_times(
    calendars: Sequence[Ranges],
    time_zone: str | None,
    after: datetime,
    count: int,
    *,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
) -> list[datetime]:
    """The next ``count`` times after ``after`` that Temporal fires the union of ``calendars`` at, in UTC.

    Computed as Temporal's scheduler computes them, in ``time_zone`` (no jitter), so it agrees with a
    schedule's ``next_action_times``, at DST changes too, and honours ``start_at``/``end_at``. UTC because
    Python never finds a zone-local time in a repeated hour equal to the same instant in another zone
    (PEP 495); ``astimezone`` gives the wall-clock time.
    """
    if after.tzinfo is None:
        raise ValueError("after must carry a time zone")
    zone = ZoneInfo(time_zone or "UTC")
    matchers = [_Matcher.of(c) for c in calendars]
    t = math.floor(after.timestamp())
    if start_at is not None:
        t = max(t, math.floor(start_at.timestamp()) - 1)
    end = end_at.timestamp() if end_at is not None else math.inf
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
