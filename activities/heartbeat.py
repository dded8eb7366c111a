"""Heartbeating from a side thread while a blocking call runs inside an activity.

An activity that makes one blocking call (a cloud API, a webhook) cannot heartbeat from its own thread. When its
task sets a heartbeat timeout, :func:`heartbeating` beats for it, so a worker that dies in the middle of the call is
noticed within that timeout and the attempt is retried on another worker, instead of after the start-to-close
timeout (a minute or more)."""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

from temporalio import activity


@contextlib.contextmanager
def heartbeating() -> Iterator[None]:
    """Beat every quarter of the activity's heartbeat timeout while the block runs; nothing when it has none (or
    outside an activity)."""
    if not activity.in_activity() or not activity.info().heartbeat_timeout:
        yield
        return
    timeout = activity.info().heartbeat_timeout
    assert timeout is not None
    interval = max(0.5, timeout.total_seconds() / 4)
    stop = threading.Event()
    context = contextvars.copy_context()

    def beat() -> None:
        while not stop.wait(interval):
            activity.heartbeat()

    thread = threading.Thread(target=context.run, args=(beat,), name="activity-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 1)
