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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.client import ScheduleCalendarSpec, ScheduleRange, ScheduleSpec

from .cron_calendar import CalendarEntry, compile_quartz, fire_times
from .cron_quartz import (
    ECHO_TIME_ZONE,
    FIRST_YEAR,
    FUZZY_DESCRIPTION,
    LAST_YEAR,
    CronError,
    Range,
    is_fuzzy,
    java_string_hash,
)

__all__ = [
    "FIRST_YEAR",
    "FUZZY_DESCRIPTION",
    "LAST_YEAR",
    "CronError",
    "CronSchedule",
    "java_string_hash",
    "next_fire_times",
    "parse_quartz",
    "validate_for_gate",
]


@dataclass(frozen=True)
class CronSchedule:
    """A Quartz expression and the Temporal spec that fires at the same times."""

    expression: str
    spec: ScheduleSpec
    description: str = ""


def parse_quartz(expression: str, *, trigger_id: str = "", time_zone: str = ECHO_TIME_ZONE) -> CronSchedule:
    """Convert a Quartz expression (Echo's, ``H`` hashed from ``trigger_id``) into a Temporal spec in ``time_zone``."""
    compiled = compile_quartz(expression, trigger_id=trigger_id, time_zone=time_zone)
    comment = f"Quartz: {expression.strip()}"[:200]  # Temporal keeps comments up to 200 characters
    calendars = [_calendar_spec(entry, comment) for entry in compiled.calendars]
    spec = ScheduleSpec(calendars=calendars, time_zone_name=time_zone)
    return CronSchedule(expression, spec, compiled.cron.description)


def _calendar_spec(entry: CalendarEntry, comment: str) -> ScheduleCalendarSpec:
    def temporal(ranges: tuple[Range, ...]) -> tuple[ScheduleRange, ...]:
        return tuple(ScheduleRange(r.start, r.end, r.step) for r in ranges)

    return ScheduleCalendarSpec(
        second=temporal(entry.second),
        minute=temporal(entry.minute),
        hour=temporal(entry.hour),
        day_of_month=temporal(entry.day_of_month),
        month=temporal(entry.month),
        year=temporal(entry.year),
        day_of_week=temporal(entry.day_of_week),
        comment=comment,
    )


def validate_for_gate(expression: str, *, time_zone: str = ECHO_TIME_ZONE) -> dict[str, Any]:
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
    return {"valid": True, "description": FUZZY_DESCRIPTION if is_fuzzy(expression) else schedule.description}


def next_fire_times(schedule: CronSchedule, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` times after ``after`` that Temporal fires ``schedule`` at, in UTC.

    Computed as Temporal's scheduler computes them (:func:`cron_calendar.fire_times`), in the schedule's time
    zone (calendar entries only, no jitter), honouring ``start_at``/``end_at``.
    """
    spec = schedule.spec
    if after.tzinfo is None:
        raise ValueError("after must carry a time zone")
    if spec.intervals or spec.cron_expressions or spec.skip or spec.jitter:
        raise ValueError("next_fire_times evaluates calendar specs only")
    return fire_times(spec.calendars, spec.time_zone_name, after, count, start_at=spec.start_at, end_at=spec.end_at)
