"""Front50's notification documents (``/notifications/{level}/{name}``): one per application plus the global one,
whose entries every application's answer carries too."""

from __future__ import annotations

import copy
import json

from .errors import ValidationError
from .models import NotificationConfig
from .session import Database
from .values import Doc, dumps, now_ms

GLOBAL_NOTIFICATIONS = "__GLOBAL"
#: Front50's NOTIFICATION_FORMATS: the keys of a notification document that hold lists of entries
NOTIFICATION_TYPES = ("bearychat", "email", "githubStatus", "googlechat", "microsoftteams", "pubsub", "slack", "sms")


class Notifications:
    """Notification documents by application (``None``: the global one)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, application: str) -> Doc:
        """An application's notifications with the global ones appended per type, as Front50 answers them."""
        app = application.strip().lower()
        with self._db.session() as s:
            own = s.get(NotificationConfig, ("application", app))
            glob = s.get(NotificationConfig, ("global", GLOBAL_NOTIFICATIONS))
            doc: Doc = json.loads(own.body) if own is not None else {"application": app}
            extra: Doc = json.loads(glob.body) if glob is not None else {}
        for kind, entries in extra.items():
            if isinstance(entries, list):
                doc.setdefault(kind, [])
                if isinstance(doc[kind], list):
                    doc[kind] = [*doc[kind], *entries]
        return doc

    def save(self, application: str | None, doc: Doc, user: str) -> Doc:
        """Replace an application's notification document (``None``: the global one)."""
        if not isinstance(doc, dict):
            raise ValidationError("notifications must be a JSON object of lists by type", field="notifications")
        for kind, entries in doc.items():
            if kind in NOTIFICATION_TYPES and not (
                isinstance(entries, list) and all(isinstance(e, dict) for e in entries)
            ):
                raise ValidationError(f"notifications '{kind}' must be a list of objects", field=kind)
        level, name = ("application", application.strip().lower()) if application else ("global", GLOBAL_NOTIFICATIONS)
        body = {**copy.deepcopy(doc), "lastModified": now_ms(), "lastModifiedBy": user}
        if application:
            body["application"] = name
        with self._db.session(write=True) as s:
            row = s.get(NotificationConfig, (level, name), with_for_update=True)
            if row is None:
                s.add(NotificationConfig(level=level, name=name, updated_at=now_ms(), body=dumps(body)))
            else:
                row.body, row.updated_at = dumps(body), now_ms()
        return body

    def delete(self, application: str) -> None:
        with self._db.session(write=True) as s:
            row = s.get(NotificationConfig, ("application", application.strip().lower()))
            if row is not None:
                s.delete(row)

    def entries(self, application: str) -> list[Doc]:
        """The application's (and global) notification entries as one list, each with its ``type``."""
        doc = self.get(application)
        return [
            {**entry, "type": entry.get("type") or kind}
            for kind, entries in doc.items()
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict)
        ]
