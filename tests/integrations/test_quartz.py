"""Quartz → Temporal: a table of expressions and their next runs (checked by hand against a calendar),
refusals with their reasons, and Temporal's own next run times for the tricky ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleState

from integrations.triggers.quartz import CronError, fuzz, java_hash, next_fire_times, parse_quartz

NEGATIVE = -1910022912
AFTER = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # 2026-01-01 00:00 in Los Angeles, a Thursday


def runs(expression: str, n: int = 4, tz: str = "America/Los_Angeles", trigger_id: str = "") -> list[str]:
    cron = parse_quartz(expression, trigger_id=trigger_id, time_zone=tz)
    return [t.strftime("%a %Y-%m-%d %H:%M:%S") for t in next_fire_times(cron, AFTER, n)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # the third Thursday (Quartz 5 = THU)
        ("0 0 12 ? * 5#3", ["Thu 2026-01-15 12:00:00", "Thu 2026-02-19 12:00:00", "Thu 2026-03-19 12:00:00"]),
        # the last day, February of a common year
        ("0 0 0 L * ?", ["Sat 2026-01-31 00:00:00", "Sat 2026-02-28 00:00:00", "Tue 2026-03-31 00:00:00"]),
        ("0 0 0 L-2 * ?", ["Thu 2026-01-29 00:00:00", "Thu 2026-02-26 00:00:00", "Sun 2026-03-29 00:00:00"]),
        # the weekday nearest the 15th: Sunday 15 Feb → Monday 16
        ("0 0 9 15W * ?", ["Thu 2026-01-15 09:00:00", "Mon 2026-02-16 09:00:00", "Mon 2026-03-16 09:00:00"]),
        # 1W never goes back into the previous month: Sunday 1 Feb → Monday 2
        ("0 0 9 1W * ?", ["Thu 2026-01-01 09:00:00", "Mon 2026-02-02 09:00:00", "Mon 2026-03-02 09:00:00"]),
        # the last weekday: Saturday 31 Jan → Friday 30
        ("0 0 9 LW * ?", ["Fri 2026-01-30 09:00:00", "Fri 2026-02-27 09:00:00", "Tue 2026-03-31 09:00:00"]),
        # the last Friday
        ("0 0 0 ? * 6L", ["Fri 2026-01-30 00:00:00", "Fri 2026-02-27 00:00:00", "Fri 2026-03-27 00:00:00"]),
        ("0 0/20 * * * ?", ["Thu 2026-01-01 00:20:00", "Thu 2026-01-01 00:40:00", "Thu 2026-01-01 01:00:00"]),
        ("0 15 10 ? * MON-FRI", ["Thu 2026-01-01 10:15:00", "Fri 2026-01-02 10:15:00", "Mon 2026-01-05 10:15:00"]),
        # Deck's default
        ("0 0 0 1W 1/1 ? *", ["Mon 2026-02-02 00:00:00", "Mon 2026-03-02 00:00:00", "Wed 2026-04-01 00:00:00"]),
        # numeric days of the week: 1 is Sunday, 2-6 Monday to Friday
        ("0 0 12 ? * 1", ["Sun 2026-01-04 12:00:00", "Sun 2026-01-11 12:00:00", "Sun 2026-01-18 12:00:00"]),
        ("0 0 12 ? * 2-6", ["Thu 2026-01-01 12:00:00", "Fri 2026-01-02 12:00:00", "Mon 2026-01-05 12:00:00"]),
        # a range that wraps around the week
        ("0 0 12 ? * FRI-MON", ["Fri 2026-01-02 12:00:00", "Sat 2026-01-03 12:00:00", "Sun 2026-01-04 12:00:00"]),
        # 29 February only in leap years
        ("0 0 0 29 2 ?", ["Tue 2028-02-29 00:00:00", "Sun 2032-02-29 00:00:00", "Fri 2036-02-29 00:00:00"]),
        ("0 0 0 L 2 ? 2028", ["Tue 2028-02-29 00:00:00"]),
        ("0 30 6 1,15 JAN,JUL ?", ["Thu 2026-01-01 06:30:00", "Thu 2026-01-15 06:30:00", "Wed 2026-07-01 06:30:00"]),
        ("15 5/30 22-2 1 * ?", ["Thu 2026-01-01 00:05:15", "Thu 2026-01-01 00:35:15", "Thu 2026-01-01 01:05:15"]),
    ],
)
def test_next_runs(expression: str, expected: list[str]) -> None:
    assert runs(expression, len(expected)) == expected


def test_the_time_zone_is_the_triggers_and_dst_is_followed() -> None:
    assert runs("0 0 12 ? * 5#3", 1, tz="UTC") == ["Thu 2026-01-15 12:00:00"]
    # 02:30 does not exist in Los Angeles on 8 March 2026 (clocks jump from 2:00 to 3:00): skipped
    march = parse_quartz("0 30 2 * 3 ?")
    days = [t.day for t in next_fire_times(march, datetime(2026, 3, 6, tzinfo=UTC), 4)]
    assert days == [6, 7, 9, 10]


def test_echos_hash_extension() -> None:
    assert java_hash("abc") == 96354 and java_hash("zzzzzzzz") == NEGATIVE  # Java's int overflow
    assert fuzz("H H H * * ?", "abc") == f"54 54 {96354 % 24} * * ?"
    # Java's % keeps the dividend's sign and Echo takes the absolute value: not Python's modulo
    assert fuzz("H * * * * ?", "zzzzzzzz").split()[0] == str(abs(NEGATIVE) % 60)
    one, other = runs("H H 1 * * ?", 1, trigger_id="t-1"), runs("H H 1 * * ?", 1, trigger_id="t-2")
    assert one == runs("H H 1 * * ?", 1, trigger_id="t-1") and one != other
    # Echo replaces H textually: H/15 becomes 54/15, which Quartz reads as 54 only (not 9, 24, 39, 54)
    assert runs("0 H/15 * * * ?", 2, trigger_id="abc") == ["Thu 2026-01-01 00:54:00", "Thu 2026-01-01 01:54:00"]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("0 0 12 * *", "expected 6 or 7 fields"),
        ("0 0 12 * * MON", "exactly one of them must be '?'"),
        ("0 0 12 ? * ?", "exactly one of them must be '?'"),
        ("0 0 12 ? * 8", "day-of-week: '8' is out of range 1-7 (SUN-SAT)"),
        ("0 0 12 ? * 0", "day-of-week: '0' is out of range"),
        ("60 0 12 * * ?", "seconds: '60' is out of range 0-59"),
        ("0 0 24 * * ?", "hours: '24' is out of range"),
        ("0 0 12 32 * ?", "day-of-month: '32' is out of range"),
        ("0 0 12 1 FOO ?", "month: 'FOO' is not a number or a name (JAN-DEC)"),
        ("0 0 12 ? * FRI#6", "'#6' must be 1-5"),
        ("0 0 12 1-5W * ?", "W takes a single day"),
        ("0 0 12 30W * ?", "nearest weekday depends on the month's length"),
        ("0 0/0 12 * * ?", "step '0' must be a positive number"),
        ("0 0 12 1,L * ?", "mixes L or W"),
        ("0 0 12 * * ? 1999", "year: '1999' is out of range 2000-2099"),
        ("", "expression: empty"),
        ("? 0 12 * * ?", "'?' is allowed only in day-of-month or day-of-week"),
    ],
)
def test_refused_with_the_reason(expression: str, fragment: str) -> None:
    with pytest.raises(CronError, match=None) as refused:
        parse_quartz(expression)
    assert fragment in str(refused.value)


@pytest.mark.temporal
@pytest.mark.parametrize(
    "expression", ["0 0 12 ? * 5#3", "0 0 0 L * ?", "0 0 9 15W * ?", "0 0 9 LW * ?", "0 0 0 ? * 6L", "0 0 0 1W 1/1 ? *"]
)
async def test_temporal_runs_them_when_we_say(client, expression: str) -> None:
    cron = parse_quartz(expression)
    sid = f"quartz-{uuid.uuid4()}"
    handle = await client.create_schedule(
        sid,
        Schedule(
            action=ScheduleActionStartWorkflow("Pipeline", id=sid, task_queue=f"nobody-{uuid.uuid4()}"),
            spec=cron.spec,
            state=ScheduleState(paused=True),
        ),
    )
    try:
        theirs = (await handle.describe()).info.next_action_times[:5]
        ours = next_fire_times(cron, datetime.now(UTC), len(theirs))
        assert len(theirs) == 5 and [t.astimezone(UTC) for t in theirs] == [t.astimezone(UTC) for t in ours]
    finally:
        await handle.delete()
