"""Echo's ``notifications[]`` entries, on a pipeline, a stage or a manual judgment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .checks import JSON, PipelineBuildError, _fail, _merge_extra, _strings, _text

_WHEN: dict[str, tuple[str, ...]] = {
    "pipeline": ("pipeline.starting", "pipeline.complete", "pipeline.failed"),
    "stage": ("stage.starting", "stage.complete", "stage.failed"),
    "manualJudgment": (
        "stage.starting",
        "stage.complete",
        "stage.failed",
        "manualJudgment",
        "manualJudgmentContinue",
        "manualJudgmentStop",
    ),
}


@dataclass(frozen=True)
class Notification:
    """One ``notifications[]`` entry (Echo): where to send, and on which events.

    ``when`` takes Spinnaker's event names: ``pipeline.starting|complete|failed`` on a pipeline,
    ``stage.starting|complete|failed`` on a stage, plus ``manualJudgment``, ``manualJudgmentContinue``,
    ``manualJudgmentStop`` on a manual judgment. ``message`` maps an event to custom text.
    ``level`` is filled in from where the notification is used.
    """

    type: str
    address: str
    when: Sequence[str]
    message: Mapping[str, str] | None = None
    cc: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _text(self.type, "Notification.type")
        _text(self.address, "Notification.address")
        _strings(self.when, "Notification.when")
        if not self.when:
            raise _fail("Notification.when", "needs at least one event")

    def to_json(self, level: str = "pipeline", allowed: str | None = None) -> JSON:
        where = "Notification"
        events = _strings(self.when, f"{where}.when")
        known = _WHEN[allowed or level]
        for i, event in enumerate(events):
            if event not in known:
                raise _fail(f"{where}.when[{i}]", f"{event!r} is not a {level}-level event; use one of {list(known)}")
        out: JSON = {"type": self.type, "address": self.address, "level": level, "when": events}
        if self.cc is not None:
            out["cc"] = _text(self.cc, f"{where}.cc")
        if self.message:
            messages: JSON = {}
            for event, text in self.message.items():
                if event not in events:
                    raise _fail(f"{where}.message.{event}", f"is not one of the events in when ({events})")
                messages[event] = {"text": _text(text, f"{where}.message.{event}")}
            out["message"] = messages
        _merge_extra(out, self.extra, f"{where}.extra", ("type", "level", "when"))
        return out


def _notifications(items: Any, where: str, level: str, allowed: str | None = None) -> list[JSON]:
    if isinstance(items, Notification) or not isinstance(items, Iterable):
        raise _fail(where, f"must be a list of Notification, got {items!r}")
    out = []
    for i, n in enumerate(items):
        if not isinstance(n, Notification):
            raise _fail(f"{where}[{i}]", f"must be a Notification, got {n!r}")
        try:
            out.append(n.to_json(level, allowed))
        except PipelineBuildError as err:
            raise PipelineBuildError(f"{where}[{i}]: {err}") from None
    return out
