"""Orca's rules for waiting on instances (``AbstractInstancesCheckTask``, ``WaitForUpInstancesTask``), as pure
functions with table tests: how many must be Up, how often to look, how long a new group may take to show.

* ``targetHealthyDeployPercentage``: a whole percentage 0..100 of the desired size, rounded half up
  (``Math.round``), and never 0 when the percentage and the size are not (Orca's guard against rounding);
* checks every 10 s, every minute after the task has run 30 minutes, every 2 minutes after an hour;
* the task gives up after 2 hours (a stage's ``stageTimeoutMs`` can shorten that);
* a deploy's new group that is not there yet is waited for up to 10 minutes before the task fails.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from core.errors import InvalidInputError

BACKOFF = timedelta(seconds=10)
TIMEOUT = timedelta(hours=2)
SERVER_GROUP_WAIT = timedelta(minutes=10)


class PercentageError(InvalidInputError, ValueError):
    """A health percentage outside 0..100; the message names the field."""


def percentage(value: Any, field: str) -> int | None:
    """A health percentage field as Orca reads it (an integer 0..100), or None when absent."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PercentageError(f"{field}: {value!r} is not a number between 0 and 100") from None
    if not 0 <= number <= 100:
        raise PercentageError(f"{field}: must be between 0 and 100, got {value!r}")
    return int(number)


def healthy_target(desired: int, pct: int | None) -> int:
    """How many of ``desired`` instances must be Up at ``pct`` percent (None: all of them)."""
    if pct is None:
        return desired
    target = math.floor(pct * desired / 100 + 0.5)  # Java's Math.round: half up
    if target == 0 and pct != 0 and desired > 0:
        return 1
    return target


def backoff_ms(running_for: timedelta) -> int:
    """Orca's dynamic backoff: 10 s, then 1 minute after 30 minutes, then 2 minutes after an hour."""
    if running_for > timedelta(minutes=60):
        return int(timedelta(minutes=2).total_seconds() * 1000)
    if running_for > timedelta(minutes=30):
        return int(timedelta(minutes=1).total_seconds() * 1000)
    return int(BACKOFF.total_seconds() * 1000)
