"""What the engine's workflows still send themselves: a manual judgment's reminders (Orca's ``notifyEveryMs``,
workflows/reminders.py), which no event announces.

Every other notification (``pipeline.*``, ``stage.*``, a judgment's start and end) is sent from the outbox by the
notifications' reader (workflows/notification_delivery.py), as Echo's notification agents send them from Orca's
events. Both run ``send_notification`` with :data:`RETRY`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

SEND_NOTIFICATION = "send_notification"
#: a send is tried five times over about half a minute, then given up (Echo tries once)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=30), maximum_attempts=5)
MIN_REMINDER = timedelta(seconds=2)


def reminder_interval(value: Any) -> timedelta | None:
    """``notifyEveryMs`` as an interval (at least :data:`MIN_REMINDER`), None when reminders are off."""
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return None
    return max(timedelta(milliseconds=ms), MIN_REMINDER) if ms > 0 else None
