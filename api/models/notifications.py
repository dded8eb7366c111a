"""Application notifications (Front50): notification lists by type, for every pipeline of an application."""

from __future__ import annotations

from .base import SpinnakerDocument
from .pipelines import Notification


class ApplicationNotifications(SpinnakerDocument):
    """``{"application": name, "slack": [...], "email": [...]}``: any notification type is a key."""

    application: str | None = None
    slack: list[Notification] | None = None
    email: list[Notification] | None = None
    sms: list[Notification] | None = None
    bearychat: list[Notification] | None = None
    googlechat: list[Notification] | None = None
    microsoftteams: list[Notification] | None = None
    pubsub: list[Notification] | None = None
