"""Echo's notification channels: render a message for a pipeline, stage or manual judgment event
and send it to Slack, email, Microsoft Teams, Google Chat or a webhook.

:mod:`.render` is pure (event + execution + notification entry → :class:`Message`); each channel
module turns a message into its payload (pure) and sends it behind the :class:`Channel` interface.
``activities/notify.py`` wraps it all in the ``send_notification`` activity.
"""

from core.settings.notify import NotificationSettings

from .base import Channel, InvalidNotificationError, NotifyError, SendResult
from .registry import CHANNEL_TYPES, build_channels, channel_for
from .render import (
    WHEN_EVENTS,
    Event,
    ExecutionSummary,
    Message,
    execution_link,
    parse_when,
    render_message,
    summarize,
    wants,
)

__all__ = [
    "CHANNEL_TYPES",
    "WHEN_EVENTS",
    "Channel",
    "Event",
    "ExecutionSummary",
    "InvalidNotificationError",
    "Message",
    "NotificationSettings",
    "NotifyError",
    "SendResult",
    "build_channels",
    "channel_for",
    "execution_link",
    "parse_when",
    "render_message",
    "summarize",
    "wants",
]
