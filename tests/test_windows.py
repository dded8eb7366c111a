"""Stage execution windows: parsing, next opening, jitter, description."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.errors import InvalidPipelineError
from workflows.windows import (
    ExecutionWindow,
    Jitter,
    TimeWindow,
    describe,
    is_open,
    jitter_delay,
    next_window_start,
)

LA = "America/Los_Angeles"
SUN, MON, TUE, WED, THU, FRI, SAT = 1, 2, 3, 4, 5, 6, 7


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, *, fold: int = 0, tz: str = LA) -> datetime:
    """A wall-clock time in ``tz`` as an aware UTC instant."""
    return datetime(y, mo, d, h, mi, s, fold=fold, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def win(*spans: str, days: list[int] | None = None, **raw: Any) -> ExecutionWindow:
    """``win("09:00-17:00", days=[MON])`` -> a parsed window."""
    whitelist = []
    for span in spans:
        start, end = span.split("-")
        (sh, sm), (eh, em) = (map(int, start.split(":")), map(int, end.split(":")))
        whitelist.append({"startHour": sh, "startMin": sm, "endHour": eh, "endMin": em})
    return ExecutionWindow.parse({"restrictedExecutionWindow": {"whitelist": whitelist, "days": days or [], **raw}})


# 2024-01-15 is a Monday; 2024-01-19 a Friday; 2024-01-20/21 Saturday/Sunday.
# US DST 2024: spring forward Sunday 2024-03-10 02:00 PST -> 03:00 PDT; fall back Sunday 2024-11-03
# 02:00 PDT -> 01:00 PST.
CASES = [
    # (id, window, now, expected)
    ("inside", win("09:00-17:00"), local(2024, 1, 15, 10), local(2024, 1, 15, 10)),
    ("at start", win("09:00-17:00"), local(2024, 1, 15, 9), local(2024, 1, 15, 9)),
    ("second before start", win("09:00-17:00"), local(2024, 1, 15, 8, 59, 59), local(2024, 1, 15, 9)),
    ("before", win("09:00-17:00"), local(2024, 1, 15, 6, 30), local(2024, 1, 15, 9)),
    ("end minute inclusive", win("09:00-17:00"), local(2024, 1, 15, 17, 0, 59), local(2024, 1, 15, 17, 0, 59)),
    ("after", win("09:00-17:00"), local(2024, 1, 15, 17, 1), local(2024, 1, 16, 9)),
    ("two windows, between", win("16:00-18:00", "10:00-13:00"), local(2024, 1, 15, 13, 30), local(2024, 1, 15, 16)),
    ("two windows, in 2nd", win("16:00-18:00", "10:00-13:00"), local(2024, 1, 15, 12), local(2024, 1, 15, 12)),
    ("two windows, after", win("16:00-18:00", "10:00-13:00"), local(2024, 1, 15, 18, 1), local(2024, 1, 16, 10)),
    ("one-minute window", win("00:00-00:00"), local(2024, 1, 15, 0, 0, 30), local(2024, 1, 15, 0, 0, 30)),
    ("one-minute window missed", win("00:00-00:00"), local(2024, 1, 15, 0, 1), local(2024, 1, 16)),
    ("midnight: late part", win("22:00-05:00"), local(2024, 1, 15, 23), local(2024, 1, 15, 23)),
    ("midnight: early part", win("22:00-05:00"), local(2024, 1, 15, 1), local(2024, 1, 15, 1)),
    ("midnight: end inclusive", win("22:00-05:00"), local(2024, 1, 15, 5, 0, 30), local(2024, 1, 15, 5, 0, 30)),
    ("midnight: daytime", win("22:00-05:00"), local(2024, 1, 15, 5, 1), local(2024, 1, 15, 22)),
    ("midnight: same hour", win("10:30-10:15"), local(2024, 1, 15, 10, 20), local(2024, 1, 15, 10, 30)),
    ("midnight: same hour open", win("10:30-10:15"), local(2024, 1, 15, 3), local(2024, 1, 15, 3)),
    # Days: 1 = Sunday ... 7 = Saturday.
    ("day allowed", win("09:00-17:00", days=[MON]), local(2024, 1, 15, 10), local(2024, 1, 15, 10)),
    ("day later this week", win("09:00-17:00", days=[WED]), local(2024, 1, 15, 10), local(2024, 1, 17, 9)),
    ("day wraps to next week", win("09:00-17:00", days=[MON]), local(2024, 1, 15, 18), local(2024, 1, 22, 9)),
    ("Sunday is 1", win("09:00-17:00", days=[SUN]), local(2024, 1, 15, 10), local(2024, 1, 21, 9)),
    ("Saturday is 7", win("09:00-17:00", days=[SAT]), local(2024, 1, 15, 10), local(2024, 1, 20, 9)),
    (
        "weekdays, Friday evening",
        win("09:00-17:00", days=[MON, TUE, WED, THU, FRI]),
        local(2024, 1, 19, 18),
        local(2024, 1, 22, 9),
    ),
    ("weekdays, Saturday", win("09:00-17:00", days=[2, 3, 4, 5, 6]), local(2024, 1, 20, 10), local(2024, 1, 22, 9)),
    (
        "midnight piece belongs to its own day",
        win("22:00-05:00", days=[FRI]),
        local(2024, 1, 20, 1),
        local(2024, 1, 26, 0),
    ),
    ("midnight piece on an allowed day", win("22:00-05:00", days=[FRI]), local(2024, 1, 19, 1), local(2024, 1, 19, 1)),
    ("midnight late piece", win("22:00-05:00", days=[FRI]), local(2024, 1, 19, 6), local(2024, 1, 19, 22)),
    # Empty whitelist: all day on allowed days; nothing at all: always.
    ("empty whitelist, all days", win(days=[1, 2, 3, 4, 5, 6, 7]), local(2024, 1, 15, 3), local(2024, 1, 15, 3)),
    ("empty whitelist, weekend", win(days=[SUN, SAT]), local(2024, 1, 19, 12), local(2024, 1, 20)),
    ("empty whitelist, next day", win(days=[TUE]), local(2024, 1, 15, 23, 59, 59), local(2024, 1, 16)),
    ("unrestricted", win(), local(2024, 1, 15, 3, 7, 11), local(2024, 1, 15, 3, 7, 11)),
    # Spring forward: 02:00-02:59 does not exist on 2024-03-10.
    ("spring: window in gap skipped", win("02:00-02:30"), local(2024, 3, 10, 1), local(2024, 3, 11, 2)),
    (
        "spring: window straddles gap",
        win("02:30-03:30"),
        local(2024, 3, 10, 1),
        datetime(2024, 3, 10, 10, tzinfo=UTC),
    ),  # the jump itself: 01:59:59 PST -> 03:00 PDT
    ("spring: gap on only day", win("02:00-02:30", days=[SUN]), local(2024, 3, 10), local(2024, 3, 17, 2)),
    ("spring: day window", win("09:00-17:00"), local(2024, 3, 9, 18), datetime(2024, 3, 10, 16, tzinfo=UTC)),
    ("spring: midnight window", win("22:00-03:00"), local(2024, 3, 10, 1), local(2024, 3, 10, 1)),
    ("spring: open after jump", win("03:00-04:00"), local(2024, 3, 10, 1, 30), datetime(2024, 3, 10, 10, tzinfo=UTC)),
    # Fall back: 01:00-01:59 happens twice on 2024-11-03 (PDT, then PST).
    ("fall: first 01:00", win("01:00-01:30"), local(2024, 11, 3, 0, 30), datetime(2024, 11, 3, 8, tzinfo=UTC)),
    ("fall: second 01:00", win("01:00-01:30"), local(2024, 11, 3, 1, 45), datetime(2024, 11, 3, 9, tzinfo=UTC)),
    (
        "fall: inside second",
        win("01:00-01:30"),
        local(2024, 11, 3, 1, 15, fold=1),
        datetime(2024, 11, 3, 9, 15, tzinfo=UTC),
    ),
    ("fall: after both", win("01:00-01:30"), local(2024, 11, 3, 1, 45, fold=1), local(2024, 11, 4, 1)),
    ("fall: day window", win("09:00-17:00"), local(2024, 11, 2, 20), datetime(2024, 11, 3, 17, tzinfo=UTC)),
]


@pytest.mark.parametrize(("window", "now", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_next_window_start(window: ExecutionWindow, now: datetime, expected: datetime) -> None:
    result = next_window_start(window, now, LA)
    assert result == expected
    assert result.utcoffset() == timedelta(0)
    assert is_open(window, result, LA)


def test_other_time_zones() -> None:
    window = win("09:00-17:00", days=[MON])
    monday_utc_8am = datetime(2024, 1, 15, 8, tzinfo=UTC)
    assert next_window_start(window, monday_utc_8am, "UTC") == datetime(2024, 1, 15, 9, tzinfo=UTC)
    # 08:00 UTC is 13:30 in Kolkata: inside.
    assert next_window_start(window, monday_utc_8am, "Asia/Kolkata") == monday_utc_8am
    # 08:00 UTC Monday is Sunday 00:00 PST: next Monday 09:00 PST is 17:00 UTC.
    assert next_window_start(window, monday_utc_8am, LA) == datetime(2024, 1, 15, 17, tzinfo=UTC)


def test_now_in_other_offset_is_normalised() -> None:
    now = datetime(2024, 1, 15, 10, tzinfo=ZoneInfo(LA))
    assert next_window_start(win("09:00-17:00"), now, LA) == now
    assert next_window_start(win("09:00-17:00"), now, LA).tzinfo is UTC


def test_naive_now_and_bad_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_window_start(win("09:00-17:00"), datetime(2024, 1, 15, 10), LA)
    with pytest.raises(ValueError, match="unknown time zone"):
        next_window_start(win("09:00-17:00"), local(2024, 1, 15, 10), "Mars/Olympus_Mons")


def test_pacific_apia_skipped_day() -> None:
    # Samoa skipped Friday 2011-12-30 entirely (UTC-10 -> UTC+14).
    window = win("09:00-10:00", days=[FRI])
    now = local(2011, 12, 29, 12, tz="Pacific/Apia")
    assert next_window_start(window, now, "Pacific/Apia") == local(2012, 1, 6, 9, tz="Pacific/Apia")


# ------------------------------------------------------------------------------------------------
# parsing


def test_parse_full() -> None:
    window = ExecutionWindow.parse(
        {
            "restrictExecutionDuringTimeWindow": True,
            "restrictedExecutionWindow": {
                "whitelist": [{"startHour": "9", "startMin": " 05 ", "endHour": 17.0, "endMin": 0}],
                "days": ["2", 3, 3],
                "jitter": {"enabled": "true", "minDelay": "60", "maxDelay": 600, "skipManual": False},
            },
            "skipWindowText": "Ask #deploys first",
        }
    )
    assert window == ExecutionWindow(
        whitelist=(TimeWindow(9, 5, 17, 0),),
        days=frozenset({MON, TUE}),
        jitter=Jitter(enabled=True, min_delay=60, max_delay=600, skip_manual=False),
        skip_window_text="Ask #deploys first",
    )


def test_parse_defaults() -> None:
    assert ExecutionWindow.parse({}) == ExecutionWindow()
    assert ExecutionWindow.parse({"restrictedExecutionWindow": None}).unrestricted
    assert ExecutionWindow.parse({"restrictedExecutionWindow": {"whitelist": None, "days": None}}).unrestricted
    # A disabled jitter with stale values is tolerated, as Deck leaves it.
    parsed = ExecutionWindow.parse({"restrictedExecutionWindow": {"jitter": {"minDelay": 9, "maxDelay": 1}}})
    assert parsed.jitter == Jitter(False, 9, 1, False)


W = "restrictedExecutionWindow"
GOOD = {"startHour": 9, "startMin": 0, "endHour": 17, "endMin": 0}

INVALID = [
    ({W: "9-5"}, W),
    ({W: []}, W),
    ({W: {"whitelist": {}}}, f"{W}.whitelist"),
    ({W: {"whitelist": ["9-5"]}}, f"{W}.whitelist[0]"),
    ({W: {"whitelist": [GOOD, {**GOOD, "startHour": 24}]}}, f"{W}.whitelist[1].startHour"),
    ({W: {"whitelist": [{**GOOD, "startHour": -1}]}}, f"{W}.whitelist[0].startHour"),
    ({W: {"whitelist": [{**GOOD, "startHour": True}]}}, f"{W}.whitelist[0].startHour"),
    ({W: {"whitelist": [{**GOOD, "startHour": 9.5}]}}, f"{W}.whitelist[0].startHour"),
    ({W: {"whitelist": [{**GOOD, "startHour": "9am"}]}}, f"{W}.whitelist[0].startHour"),
    ({W: {"whitelist": [{**GOOD, "startMin": 60}]}}, f"{W}.whitelist[0].startMin"),
    ({W: {"whitelist": [{**GOOD, "startMin": "1.5"}]}}, f"{W}.whitelist[0].startMin"),
    ({W: {"whitelist": [{**GOOD, "endHour": "24"}]}}, f"{W}.whitelist[0].endHour"),
    ({W: {"whitelist": [{**GOOD, "endHour": [17]}]}}, f"{W}.whitelist[0].endHour"),
    ({W: {"whitelist": [{**GOOD, "endMin": -5}]}}, f"{W}.whitelist[0].endMin"),
    ({W: {"whitelist": [{k: v for k, v in GOOD.items() if k != "endMin"}]}}, f"{W}.whitelist[0].endMin"),
    ({W: {"whitelist": [{**GOOD, "startMin": None}]}}, f"{W}.whitelist[0].startMin"),
    ({W: {"days": "weekdays"}}, f"{W}.days"),
    ({W: {"days": [2, 0]}}, f"{W}.days[1]"),
    ({W: {"days": [8]}}, f"{W}.days[0]"),
    ({W: {"days": ["Mon"]}}, f"{W}.days[0]"),
    ({W: {"days": [False]}}, f"{W}.days[0]"),
    ({W: {"jitter": True}}, f"{W}.jitter"),
    ({W: {"jitter": {"enabled": "yes"}}}, f"{W}.jitter.enabled"),
    ({W: {"jitter": {"enabled": True, "skipManual": 1}}}, f"{W}.jitter.skipManual"),
    ({W: {"jitter": {"enabled": True, "minDelay": -1, "maxDelay": 10}}}, f"{W}.jitter.minDelay"),
    ({W: {"jitter": {"enabled": True, "minDelay": 0, "maxDelay": "ten"}}}, f"{W}.jitter.maxDelay"),
    ({W: {"jitter": {"enabled": False, "maxDelay": -3}}}, f"{W}.jitter.maxDelay"),
    ({W: {"jitter": {"enabled": True, "minDelay": 600, "maxDelay": 60}}}, f"{W}.jitter.minDelay"),
    ({"skipWindowText": 42}, "skipWindowText"),
]


@pytest.mark.parametrize(("context", "field"), INVALID, ids=[f for _, f in INVALID])
def test_invalid_config_names_the_field(context: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidPipelineError) as err:
        ExecutionWindow.parse(context)
    assert err.value.field == field
    with pytest.raises(InvalidPipelineError) as err:
        ExecutionWindow.parse(context, field_prefix="stages[3]")
    assert err.value.field == f"stages[3].{field}"


def test_stage_must_be_an_object() -> None:
    with pytest.raises(InvalidPipelineError) as err:
        ExecutionWindow.parse(["not", "a", "stage"], field_prefix="stages[1]")  # type: ignore[arg-type]
    assert err.value.field == "stages[1]"


def test_field_prefix_with_trailing_dot() -> None:
    with pytest.raises(InvalidPipelineError) as err:
        ExecutionWindow.parse({W: {"whitelist": [{**GOOD, "startHour": 99}]}}, field_prefix="stages[0].")
    assert err.value.field == "stages[0].restrictedExecutionWindow.whitelist[0].startHour"
    assert "between 0 and 23" in str(err.value)


# ------------------------------------------------------------------------------------------------
# jitter


def jittered(**jitter: Any) -> ExecutionWindow:
    return win("09:00-17:00", jitter=jitter)


def test_jitter_bounds_and_whole_seconds() -> None:
    window = jittered(enabled=True, minDelay=60, maxDelay=600)
    rng = random.Random(7)
    delays = [jitter_delay(window, rng, manual_trigger=False) for _ in range(2000)]
    assert all(timedelta(seconds=60) <= d <= timedelta(seconds=600) for d in delays)
    assert all(d.total_seconds().is_integer() for d in delays)
    assert min(delays) < timedelta(seconds=100) and max(delays) > timedelta(seconds=560)
    # Both ends are reachable (inclusive, like Orca's nextLong(min, max + 1)).
    small = jittered(enabled=True, minDelay=1, maxDelay=2)
    assert {jitter_delay(small, rng, False) for _ in range(200)} == {timedelta(seconds=1), timedelta(seconds=2)}


def test_jitter_is_deterministic_for_a_seed() -> None:
    window = jittered(enabled=True, minDelay=0, maxDelay=3600)
    first = [jitter_delay(window, random.Random(42), False) for _ in range(3)]
    assert first[0] == first[1] == first[2]


@pytest.mark.parametrize(
    ("jitter", "manual", "expected"),
    [
        ({}, False, timedelta(0)),
        ({"enabled": False, "minDelay": 60, "maxDelay": 600}, False, timedelta(0)),
        ({"enabled": True, "minDelay": 0, "maxDelay": 0}, False, timedelta(0)),
        ({"enabled": True, "minDelay": 30, "maxDelay": 30}, False, timedelta(seconds=30)),
        ({"enabled": True, "minDelay": 30, "maxDelay": 30, "skipManual": True}, True, timedelta(0)),
        ({"enabled": True, "minDelay": 30, "maxDelay": 30, "skipManual": True}, False, timedelta(seconds=30)),
        ({"enabled": True, "minDelay": 30, "maxDelay": 30, "skipManual": False}, True, timedelta(seconds=30)),
    ],
)
def test_jitter_cases(jitter: dict[str, Any], manual: bool, expected: timedelta) -> None:
    assert jitter_delay(jittered(**jitter), random.Random(1), manual_trigger=manual) == expected


# ------------------------------------------------------------------------------------------------
# describe


@pytest.mark.parametrize(
    ("window", "text"),
    [
        (win("09:00-17:00", days=[2, 3, 4, 5, 6]), "Mon-Fri 09:00-17:00 America/Los_Angeles"),
        (win("09:00-17:00"), "every day 09:00-17:00 America/Los_Angeles"),
        (win("13:00-14:00", "09:05-12:00", days=[MON, WED]), "Mon,Wed 09:05-12:00, 13:00-14:00 America/Los_Angeles"),
        (win(days=[SUN, SAT]), "Sat-Sun all day America/Los_Angeles"),
        (win("22:00-02:00", days=[FRI, SAT, SUN, MON]), "Fri-Mon 22:00-02:00 America/Los_Angeles"),
        (win(days=[1, 2, 3, 4, 5, 6, 7]), "every day all day America/Los_Angeles"),
        (win(), "any time America/Los_Angeles"),
        (
            win("09:00-17:00", jitter={"enabled": True, "maxDelay": 600}),
            "every day 09:00-17:00 America/Los_Angeles (+0-600s jitter)",
        ),
        (
            win("09:00-17:00", jitter={"enabled": True, "minDelay": 5, "maxDelay": 60, "skipManual": True}),
            "every day 09:00-17:00 America/Los_Angeles (+5-60s jitter, not for manual runs)",
        ),
    ],
)
def test_describe(window: ExecutionWindow, text: str) -> None:
    assert describe(window, LA) == text


# ------------------------------------------------------------------------------------------------
# property: the answer is open, not before now, and nothing earlier is open


def oracle_open(raw: dict[str, Any], instant: datetime, tz: str) -> bool:
    """Independent restatement of the rule, straight from the config map."""
    wall = instant.astimezone(ZoneInfo(tz))
    days = raw["days"]
    if days and wall.isoweekday() % 7 + 1 not in days:  # isoweekday: Mon=1..Sun=7 -> Sun=1..Sat=7
        return False
    if not raw["whitelist"]:
        return True
    minute = wall.hour * 60 + wall.minute
    for w in raw["whitelist"]:
        start, end = w["startHour"] * 60 + w["startMin"], w["endHour"] * 60 + w["endMin"]
        if (start <= minute <= end) if start <= end else (minute >= start or minute <= end):
            return True
    return False


time_windows = st.fixed_dictionaries(
    {
        "startHour": st.integers(0, 23),
        "startMin": st.sampled_from([0, 1, 15, 30, 45, 59]),
        "endHour": st.integers(0, 23),
        "endMin": st.sampled_from([0, 14, 29, 30, 59]),
    }
)
configs = st.fixed_dictionaries(
    {"whitelist": st.lists(time_windows, max_size=3), "days": st.lists(st.integers(1, 7), max_size=4, unique=True)}
)
ZONES = [LA, "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "America/St_Johns", "UTC"]
# Instants near DST transitions are the interesting ones; mix them with arbitrary ones.
NEAR_TRANSITIONS = [
    datetime(2024, 3, 10, 9, tzinfo=UTC),
    datetime(2024, 11, 3, 8, tzinfo=UTC),
    datetime(2024, 3, 31, 0, tzinfo=UTC),
    datetime(2024, 10, 27, 0, tzinfo=UTC),
    datetime(2024, 4, 6, 14, tzinfo=UTC),
    datetime(2024, 10, 5, 15, tzinfo=UTC),
]
instants = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda base, offset: base + timedelta(seconds=offset),
        st.sampled_from(NEAR_TRANSITIONS),
        st.integers(-3 * 86400, 86400),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=configs, now=instants, tz=st.sampled_from(ZONES))
def test_next_window_start_is_the_earliest_open_instant(raw: dict[str, Any], now: datetime, tz: str) -> None:
    window = ExecutionWindow.parse({"restrictedExecutionWindow": raw})
    result = next_window_start(window, now, tz)
    assert result >= now
    assert oracle_open(raw, result, tz)
    assert is_open(window, result, tz) == oracle_open(raw, result, tz)
    if result == now:
        return
    assert result - now <= timedelta(days=15)
    assert not oracle_open(raw, now, tz)
    # Offsets in these zones are whole minutes, so openness only changes on UTC minute boundaries:
    # checking each one strictly between now and the result covers every earlier instant.
    t = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t < result:
        assert not oracle_open(raw, t, tz), f"open earlier at {t}"
        t += timedelta(minutes=1)
