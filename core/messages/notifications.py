"""The notifications' reader: its workflow's type, id and state, its activities' inputs and results
(``workflows/notification_delivery.py``, ``activities/notification_events.py``, which holds the read's result:
it carries the activity's send inputs)."""

from __future__ import annotations

from dataclasses import dataclass

WORKFLOW_TYPE = "DeliverNotifications"
READ_NOTIFICATIONS = "read_notifications"
RECORD_NOTIFICATION_FAILURE = "record_notification_failure"
WORKFLOW_ID_PREFIX = "notifications-delivery:"
#: the reader's cursor in ``echo_event_cursors`` is this prefix and its task queue
CURSOR_PREFIX = "notifications:"
#: the engine data key and value of an execution whose notifications the reader sends (an older build's workflows
#: send their executions' notifications themselves)
ENGINE_MARK = ("notify", "events")


def workflow_id(task_queue: str) -> str:
    """One reader per deployment (its task queue): the engine of that deployment writes the outbox it reads."""
    return WORKFLOW_ID_PREFIX + task_queue


def cursor_name(task_queue: str) -> str:
    return (CURSOR_PREFIX + task_queue)[:64]


@dataclass
class DeliverNotificationsInput:
    #: the deployment's task queue (names the workflow and the cursor)
    task_queue: str
    #: the last outbox sequence number whose notifications were started; None: the stored cursor, else the head
    cursor: int | None = None
    #: totals carried over continue-as-new
    started: int = 0
    failed: int = 0
    #: started on a versioned worker deployment: each new run (continue-as-new) moves to the current build
    versioned: bool = False


@dataclass
class NotificationFailure:
    """A send that gave up: a ``systemNotifications`` entry for its execution (Deck's banner)."""

    execution_id: str
    message: str
    created_at: int
