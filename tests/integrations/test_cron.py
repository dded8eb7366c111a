"""Quartz cron expressions as Temporal schedule specs: fire times, refusals, Echo's H, Gate's validate answer.

The expected fire times were worked out by hand from a calendar and agree with Quartz 2.3.2's own
``CronExpression.getTimeAfter`` (the Quartz Echo runs), called in a chain as a running trigger does.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleState,
)

from integrations.triggers.cron import (
    FUZZY_DESCRIPTION,
    CronError,
    CronSchedule,
    java_string_hash,
    next_fire_times,
    parse_quartz,
    validate_for_gate,
)

LA = ZoneInfo("America/Los_Angeles")


def local(text: str) -> datetime:
    """A wall-clock time in Los Angeles, 'YYYY-MM-DD HH:MM[:SS]' (never inside a DST change)."""
    return datetime.fromisoformat(text).replace(tzinfo=LA)


def fires(expression: str, after: str, count: int, trigger_id: str = "") -> list[str]:
    schedule = parse_quartz(expression, trigger_id=trigger_id)
    return [t.astimezone(LA).strftime("%Y-%m-%d %H:%M:%S") for t in next_fire_times(schedule, local(after), count)]


# expression, after (Los Angeles wall time), the fire times that follow
FIRE_TIMES = [
    pytest.param(
        "0 0 12 ? * 5#3",
        "2027-01-01 00:00",
        ["2027-01-21 12:00", "2027-02-18 12:00", "2027-03-18 12:00", "2027-04-15 12:00", "2027-05-20 12:00"],
        id="third-thursday",
    ),
    pytest.param(
        "0 0 0 L * ?",
        "2027-12-15 00:00",
        ["2027-12-31 00:00", "2028-01-31 00:00", "2028-02-29 00:00", "2028-03-31 00:00", "2028-04-30 00:00"],
        id="last-day-leap-february",
    ),
    pytest.param(
        "0 0 0 L * ?", "2027-01-15 00:00", ["2027-01-31 00:00", "2027-02-28 00:00"], id="last-day-common-february"
    ),
    pytest.param(
        "0 0 0 L-2 * ?",
        "2028-01-01 00:00",
        ["2028-01-29 00:00", "2028-02-27 00:00", "2028-03-29 00:00", "2028-04-28 00:00"],
        id="two-before-last-leap",
    ),
    pytest.param("0 0 0 L-2 * ?", "2027-02-01 00:00", ["2027-02-26 00:00"], id="two-before-last-common"),
    pytest.param(
        "0 0 9 15W * ?",
        "2027-05-01 00:00",
        ["2027-05-14 09:00", "2027-06-15 09:00", "2027-07-15 09:00", "2027-08-16 09:00"],
        id="15W-saturday-back-sunday-forward",
    ),
    pytest.param(
        "0 0 9 1W * ?",
        "2027-04-15 00:00",
        ["2027-05-03 09:00", "2027-06-01 09:00", "2027-07-01 09:00", "2027-08-02 09:00"],
        id="1W-never-into-the-month-before",
    ),
    pytest.param(
        "0 0 9 LW * ?",
        "2027-01-01 00:00",
        ["2027-01-29 09:00", "2027-02-26 09:00", "2027-03-31 09:00", "2027-04-30 09:00"]
        + ["2027-05-31 09:00", "2027-06-30 09:00", "2027-07-30 09:00"],
        id="last-weekday",
    ),
    pytest.param("0 0 9 LW * ?", "2028-02-01 00:00", ["2028-02-29 09:00"], id="last-weekday-leap"),
    pytest.param(
        "0 0 0 ? * 6L",
        "2027-12-01 00:00",
        ["2027-12-31 00:00", "2028-01-28 00:00", "2028-02-25 00:00", "2028-03-31 00:00"],
        id="last-friday",
    ),
    pytest.param(
        "0 0/5 * * * ?", "2027-01-01 00:00", ["2027-01-01 00:05", "2027-01-01 00:10", "2027-01-01 00:15"], id="every-5"
    ),
    pytest.param(
        "0 15 10 ? * MON-FRI",
        "2027-01-01 00:00",
        ["2027-01-01 10:15", "2027-01-04 10:15", "2027-01-05 10:15", "2027-01-06 10:15"],
        id="weekdays-by-name",
    ),
    pytest.param(
        "0 0 0 1W 1/1 ? *",
        "2027-04-15 00:00",
        ["2027-05-03 00:00", "2027-06-01 00:00", "2027-07-01 00:00", "2027-08-02 00:00", "2027-09-01 00:00"],
        id="deck-default",
    ),
    pytest.param(
        "0 0 12 ? * 1",
        "2027-01-01 00:00",
        ["2027-01-03 12:00", "2027-01-10 12:00", "2027-01-17 12:00"],
        id="quartz-1-is-sunday",
    ),
    pytest.param(
        "0 0 12 ? * 2-6",
        "2027-01-01 00:00",
        ["2027-01-01 12:00", "2027-01-04 12:00", "2027-01-05 12:00", "2027-01-06 12:00", "2027-01-07 12:00"],
        id="quartz-2-6-is-monday-friday",
    ),
    pytest.param(
        "0 30 8,17 ? JAN,JUL MON,WED",
        "2027-01-01 00:00",
        ["2027-01-04 08:30", "2027-01-04 17:30", "2027-01-06 08:30", "2027-01-06 17:30", "2027-01-11 08:30"],
        id="names-and-lists",
    ),
    pytest.param(
        "0 0 0 29 2 ?",
        "2027-01-01 00:00",
        ["2028-02-29 00:00", "2032-02-29 00:00", "2036-02-29 00:00"],
        id="february-29",
    ),
    pytest.param("0 0 0 ? * L", "2027-01-01 00:00", ["2027-01-02 00:00", "2027-01-09 00:00"], id="lone-L-is-saturday"),
    pytest.param(
        "0 0 0 ? * 2#5",
        "2027-01-01 00:00",
        ["2027-03-29 00:00", "2027-05-31 00:00", "2027-08-30 00:00", "2027-11-29 00:00"],
        id="fifth-monday",
    ),
    pytest.param(
        "0 0 0 ? NOV-FEB SAT#1",
        "2027-01-01 00:00",
        ["2027-01-02 00:00", "2027-02-06 00:00", "2027-11-06 00:00", "2027-12-04 00:00", "2028-01-01 00:00"],
        id="wrapping-months",
    ),
    pytest.param(
        "0 0 22-2 ? * FRI-MON",
        "2027-01-01 00:00",
        ["2027-01-01 01:00", "2027-01-01 02:00", "2027-01-01 22:00", "2027-01-01 23:00", "2027-01-02 00:00"],
        id="wrapping-hours-and-days",
    ),
    pytest.param(
        "0 50-10/10 9 ? * MON",
        "2027-01-01 00:00",
        ["2027-01-04 09:00", "2027-01-04 09:10", "2027-01-04 09:50", "2027-01-11 09:00"],
        id="wrapping-step",
    ),
    pytest.param(
        "0 0 9 28W * ?",
        "2027-01-01 00:00",
        ["2027-01-28 09:00", "2027-02-26 09:00", "2027-03-29 09:00"],
        id="28W-sunday-last-day",
    ),
    pytest.param(
        "0 0 9 31W * ?",
        "2027-03-01 00:00",
        ["2027-03-31 09:00", "2027-04-30 09:00", "2027-05-31 09:00", "2027-07-30 09:00"],
        id="31W-in-30-day-months",
    ),
    pytest.param("0 0 9 30W FEB ?", "2036-01-01 00:00", ["2036-02-29 09:00", "2064-02-29 09:00"], id="30W-february"),
    pytest.param(
        "0 0 9 L-27W * ?",
        "2027-01-01 00:00",
        ["2027-01-04 09:00", "2027-02-01 09:00", "2027-03-04 09:00"],
        id="L-27W",
    ),
    pytest.param(
        "15,45 0 12 ? * 1 2030-2032",
        "2027-01-01 00:00",
        ["2030-01-06 12:00:15", "2030-01-06 12:00:45", "2030-01-13 12:00:15"],
        id="years-and-seconds",
    ),
]


@pytest.mark.parametrize(("expression", "after", "expected"), FIRE_TIMES)
def test_fire_times(expression: str, after: str, expected: list[str]) -> None:
    want = [local(t).strftime("%Y-%m-%d %H:%M:%S") for t in expected]
    assert fires(expression, after, len(expected)) == want


def test_a_year_list_runs_out() -> None:
    assert fires("0 0 0 1 1 ? 2030-2032", "2027-01-01 00:00", 5) == [
        "2030-01-01 00:00:00",
        "2031-01-01 00:00:00",
        "2032-01-01 00:00:00",
    ]


def test_nothing_after_2100() -> None:
    """Temporal computes no time past 2100; Quartz would go on."""
    assert fires("0 0 0 1 1 ?", "2099-06-01 00:00", 5) == ["2100-01-01 00:00:00"]


def test_dst_in_los_angeles() -> None:
    """Spring forward: times in the skipped hour do not happen (as in Quartz). Fall back: Temporal fires in
    both copies of the repeated hour, where Quartz fires only in the second (standard time) copy."""

    def utc(expression: str, after: str, count: int) -> list[str]:
        schedule = parse_quartz(expression)
        start = datetime.fromisoformat(after)
        return [t.strftime("%m-%d %H:%M") for t in next_fire_times(schedule, start, count)]

    # 2027-03-14: 02:00 PST becomes 03:00 PDT
    assert utc("0 0/30 * * * ?", "2027-03-14T08:15:00Z", 4) == [
        "03-14 08:30",
        "03-14 09:00",
        "03-14 09:30",
        "03-14 10:00",
    ]
    assert utc("0 30 2 * * ?", "2027-03-13T12:00:00Z", 2) == ["03-15 09:30", "03-16 09:30"]  # none on the 14th
    # 2027-11-07: 02:00 PDT becomes 01:00 PST; 01:30 comes twice
    assert utc("0 30 1 * * ?", "2027-11-06T12:00:00Z", 3) == ["11-07 08:30", "11-07 09:30", "11-08 09:30"]
    assert utc("0 0/30 * * * ?", "2027-11-07T07:45:00Z", 4) == [
        "11-07 08:00",
        "11-07 08:30",
        "11-07 09:00",
        "11-07 09:30",
    ]


def test_the_spec_sets_every_field() -> None:
    """ScheduleCalendarSpec defaults second, minute and hour to 0; every field is given instead."""
    spec = parse_quartz("* * * 15W * ?", time_zone="Europe/Paris").spec
    assert spec.time_zone_name == "Europe/Paris"
    assert not spec.cron_expressions and not spec.intervals
    every_second = ScheduleCalendarSpec(
        second=(ScheduleRange(0, 59),),
        minute=(ScheduleRange(0, 59),),
        hour=(ScheduleRange(0, 23),),
        day_of_month=(ScheduleRange(15),),
        month=(ScheduleRange(1, 12),),
        year=(),
        day_of_week=(ScheduleRange(1, 5),),
        comment="Quartz: * * * 15W * ?",
    )
    assert spec.calendars[0] == every_second
    assert [(c.day_of_month, c.day_of_week) for c in spec.calendars[1:]] == [
        ((ScheduleRange(14),), (ScheduleRange(5),)),  # the 15th is a Saturday: Friday the 14th
        ((ScheduleRange(16),), (ScheduleRange(1),)),  # a Sunday: Monday the 16th
    ]


def test_nth_weekday_is_one_calendar() -> None:
    (third_thursday,) = parse_quartz("0 0 12 ? * 5#3").spec.calendars
    assert third_thursday.day_of_week == (ScheduleRange(4),)  # Quartz 5 is Temporal 4, Thursday
    assert third_thursday.day_of_month == (ScheduleRange(15, 21),)


def test_last_day_splits_february_by_leap_years() -> None:
    calendars = parse_quartz("0 0 0 L * ?").spec.calendars
    assert [(c.day_of_month[0].start, c.year) for c in calendars] == [
        (31, ()),
        (30, ()),
        (29, (ScheduleRange(2000, 2096, 4),)),
        (
            28,
            (
                ScheduleRange(2001, 2097, 4),
                ScheduleRange(2002, 2098, 4),
                ScheduleRange(2003, 2099, 4),
                ScheduleRange(2100),
            ),
        ),
    ]
    assert calendars[0].month == (ScheduleRange(1, 7, 2), ScheduleRange(8, 12, 2))  # the 31-day months


def test_description() -> None:
    assert parse_quartz("0 0 12 ? * 5#3").description == "at 12:00:00, on the third Thursday of the month"
    assert parse_quartz("0 0/5 * * * ?").description == "seconds 0, minutes 0-55/5, every hour, every day"
    assert parse_quartz("0 0 9 LW 1,7 ? 2030").description == (
        "at 09:00:00, on the weekday nearest the last day of the month, in January, July, in 2030"
    )


# --- Echo's H ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "java"),
    [
        ("abcd", 2987074),
        ("", 0),
        ("3f9a1c2e-7b4d-4e21-9c55-0d8e6f1a2b3c", -2101595668),
        ("déploiement-🚀", 1855386888),  # UTF-16: the rocket is two code units
        ("polygenelubricants", -(2**31)),
    ],
)
def test_java_string_hash(text: str, java: int) -> None:
    """Values printed by Java's ``String.hashCode()``."""
    assert java_string_hash(text) == java


Ranges = Sequence[ScheduleRange]


def seconds_minutes_hours(expression: str, trigger_id: str) -> tuple[Ranges, Ranges, Ranges]:
    (cal, *_) = parse_quartz(expression, trigger_id=trigger_id).spec.calendars
    return cal.second, cal.minute, cal.hour


def test_h_as_echo_fuzzes_it() -> None:
    """Echo's CronExpressionFuzzerSpec: id "abcd" puts 34 in seconds, "abcde" puts 3 in hours."""
    assert seconds_minutes_hours("H * * * * ?", "abcd")[0] == (ScheduleRange(34),)
    assert seconds_minutes_hours("* * H * * ?", "abcde")[2] == (ScheduleRange(3),)
    # H/5 is <hash>/5: from the hash to the end of the minute, so six times here, not twelve
    assert seconds_minutes_hours("H/5 * * * * ?", "abcd")[0] == (ScheduleRange(34, 59, 5),)
    trigger = "3f9a1c2e-7b4d-4e21-9c55-0d8e6f1a2b3c"
    assert seconds_minutes_hours("H H H ? * MON", trigger) == (
        (ScheduleRange(28),),
        (ScheduleRange(28),),
        (ScheduleRange(4),),
    )
    assert seconds_minutes_hours("H H H ? * MON", "polygenelubricants") == (
        (ScheduleRange(8),),
        (ScheduleRange(8),),
        (ScheduleRange(8),),
    )


def test_h_is_stable_per_trigger_and_spread_across_triggers() -> None:
    ids = [str(uuid.UUID(int=n * 7919)) for n in range(1, 41)]
    minutes = {i: seconds_minutes_hours("0 H(0-29) 9 ? * MON-FRI", i)[1] for i in ids}
    assert minutes == {i: seconds_minutes_hours("0 H(0-29) 9 ? * MON-FRI", i)[1] for i in ids}
    values = [r.start for rs in minutes.values() for r in rs]
    assert all(0 <= v <= 29 for v in values)
    assert len(set(values)) > 10
    hours = [seconds_minutes_hours("0 0 H(9-17)/4 ? * *", i)[2] for i in ids]
    for first, *_ in hours:  # type: ignore[misc]
        assert 9 <= first.start <= 17 and first.step in (1, 4) and first.end <= 17
    assert fires("0 H 9 ? * MON", "2027-01-01 00:00", 1, trigger_id="abcd") == ["2027-01-04 09:34:00"]


# --- refused ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "expression: expected 6 or 7 fields"),
        ("0 12 * * MON", "expression: expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week"),
        ("0 0 0 1 1 ? 2030 extra", "got 8"),
        ("0 0 10 * * 1", "day-of-month, day-of-week: one of them must be '?' (got '*' and '1')"),
        ("0 0 10 15 * MON", "one of them must be '?'"),
        ("0 0 10 ? * ?", "day-of-month, day-of-week: only one of them may be '?'"),
        ("0 0 12 ? * 8", "day-of-week: '8' is out of range 1-7 (SUN-SAT)"),
        ("0 0 12 ? * 0", "day-of-week: '0' is out of range 1-7 (SUN-SAT)"),
        ("60 0 12 * * ?", "seconds: '60' is out of range 0-59"),
        ("0 60 12 * * ?", "minutes: '60' is out of range 0-59"),
        ("0 0 24 * * ?", "hours: '24' is out of range 0-23"),
        ("0 0 12 32 * ?", "day-of-month: '32' is out of range 1-31"),
        ("0 0 12 * 13 ?", "month: '13' is out of range 1-12 (JAN-DEC)"),
        ("0 0 12 ? FOO *", "month: 'FOO' is not a month name (1-12 (JAN-DEC))"),
        ("0 0 12 ? * FUN", "day-of-week: 'FUN' is not a day name"),
        ("0 0 12 ? * MONDAY", "day-of-week: 'MONDAY' is not a day name"),
        ("0 0 12 ? * 6#6", "day-of-week: '6#6': the occurrence after # must be 1-5"),
        ("0 0 12 ? * 6#0", "the occurrence after # must be 1-5"),
        ("0 0 12 ? * 2#3,4", "day-of-week: '2#3,4': L and # need a single day"),
        ("0 0 12 ? * 2-6L", "L and # need a single day"),
        ("0 0 12 1-5W * ?", "day-of-month: '1-5W': W needs a single day (15W), not a range"),
        ("0 0 12 15W,20 * ?", "W needs a single day"),
        ("0 0 12 0W * ?", "day-of-month: '0W': the day before W must be 1-31"),
        ("0 0 12 L,15 * ?", "day-of-month: 'L,15': L must stand alone"),
        ("0 0 12 L-31 * ?", "the offset from the last day must be 0-30"),
        ("0 0 12 L-28W * ?", "L-nW needs an offset of 27 or less"),
        ("0 0 12 ? JAN/2 *", "month: 'JAN/2': write names alone or as a name range"),
        ("0 0 12 ? * MON-5", "day-of-week: 'MON-5'"),
        ("0 */0 12 * * ?", "minutes: the step in '*/0' must be at least 1 and at most 59"),
        ("0 0/61 12 * * ?", "the step in '0/61' must be at least 1 and at most 59"),
        ("0 0 12 ? * 1 2101", "year: 2101 is after 2100, the last year Temporal schedules"),
        ("0 0 12 ? * 1 1990-1995", "year: '1990-1995' has no year between 2000 and 2100"),
        ("0 0 12 ? * 1 2030-2020", "year: range '2030-2020' runs backwards"),
        ("0 0 0 30 2 ?", "expression: never fires between 2000 and 2100"),
        ("0 0 12 H * ?", "day-of-month: H is only supported in the seconds, minutes and hours fields"),
        ("0 0 12 ? * H", "day-of-week: H is only supported"),
        ("H(30-10) 0 12 * * ?", "seconds: 'H(30-10)': the range in H(a-b) must lie within 0-59"),
        ("0 0 ? * * ?", "hours: '?' is only allowed in day-of-month or day-of-week"),
        ("0 0 12 ?,1 * ?", "day-of-month: '?' must stand alone"),
        ("every day at noon please", "expression: expected 6 or 7 fields"),
        ("a b c d e f", "seconds: 'A' is not a number"),
        ("0 0 12 1--5 * ?", "day-of-month: '1--5' is not a value, a range or a step"),
        ("0 0 12 1,,5 * ?", "day-of-month: '' is not a value"),
    ],
)
def test_refused(expression: str, message: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_quartz(expression)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_unknown_time_zone() -> None:
    with pytest.raises(CronError, match="time zone: 'Mars/Olympus' is not an IANA time zone name"):
        parse_quartz("0 0 12 * * ?", time_zone="Mars/Olympus")


def test_next_fire_times_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="time zone"):
        next_fire_times(parse_quartz("0 0 12 * * ?"), datetime(2027, 1, 1), 1)


# --- Gate's /cron/validate ----------------------------------------------------------------------------


def test_validate_for_gate() -> None:
    assert validate_for_gate("0 0 10 ? * THU") == {"valid": True, "description": "at 10:00:00, on Thursday"}
    assert validate_for_gate("H 0 10 ? * 1") == {"valid": True, "description": FUZZY_DESCRIPTION}
    assert validate_for_gate("0 0 10 * * 1") == {
        "valid": False,
        "message": "Invalid CRON expression: '0 0 10 * * 1' explanation: day-of-month, day-of-week: "
        "one of them must be '?' (got '*' and '1'); Quartz does not support both",
    }


# --- on the real Temporal dev server ------------------------------------------------------------------


def starting(schedule: CronSchedule, at: datetime) -> CronSchedule:
    """The schedule with ``start_at``, so that Temporal's next action times begin at a chosen instant."""
    return dataclasses.replace(schedule, spec=dataclasses.replace(schedule.spec, start_at=at))


def next_dst_change(month: int, sunday: int, hour: int, minute: int) -> datetime:
    """A UTC time on the coming day Los Angeles changes clocks (the 2nd Sunday of March, the 1st of November)."""
    now = datetime.now(UTC)
    for year in (now.year, now.year + 1):
        first = datetime(year, month, 1, hour, minute, tzinfo=UTC)
        at = first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (sunday - 1))
        if at > now:
            return at
    raise AssertionError("unreachable")


SPRING, FALL = (3, 2), (11, 1)  # 02:00 PST -> 03:00 PDT at 10:00 UTC; 02:00 PDT -> 01:00 PST at 09:00 UTC
SERVER_CASES = [
    ("0 0 12 ? * 5#3", None),
    ("0 0 0 L * ?", None),
    ("0 0 9 LW * ?", None),
    ("0 0 0 L-2 * ?", None),
    ("0 0 9 15W * ?", None),
    ("0 0 0 1W 1/1 ? *", None),
    ("0 0 9 31W * ?", None),
    ("0 0 0 ? * 6L", None),
    ("0 0 0 ? * 2#5", None),
    ("0 0 0 L 2 ? 2027-2040", None),  # leap and common Februaries
    ("0 0/20 * * * ?", (*SPRING, 9, 30)),
    ("0 30 2 * * ?", (*SPRING, 9, 0)),  # no 02:30 that day
    ("0 0/20 * * * ?", (*FALL, 7, 30)),
    ("0 30 1 * * ?", (*FALL, 7, 0)),  # 01:30 twice that day
    ("H H(0-29) 9-17/4 ? * 2-6", None),
]


@pytest.mark.temporal
@pytest.mark.parametrize(("expression", "dst_change"), SERVER_CASES)
async def test_temporal_agrees(client: Client, expression: str, dst_change: tuple[int, int, int, int] | None) -> None:
    """Temporal accepts the spec as given and its own next action times are ours."""
    schedule = parse_quartz(expression, trigger_id="9b2e4f60-1d3c-4a7b-8e95-c0ffee123456")
    if dst_change:
        schedule = starting(schedule, next_dst_change(*dst_change))
    before = datetime.now(UTC)
    handle = await client.create_schedule(
        f"cron-test-{uuid.uuid4()}",
        Schedule(
            action=ScheduleActionStartWorkflow("Pipeline", id=f"wf-{uuid.uuid4()}", task_queue=f"tq-{uuid.uuid4()}"),
            spec=schedule.spec,
            state=ScheduleState(paused=True),
        ),
    )
    try:
        described = await handle.describe()
    finally:
        await handle.delete()
    assert described.schedule.spec.calendars == schedule.spec.calendars
    theirs = described.info.next_action_times
    assert len(theirs) == 10
    ours = next_fire_times(schedule, before, 11)
    # Temporal counts from when it processed the create, a moment after `before`
    assert theirs in (ours[:10], ours[1:])
