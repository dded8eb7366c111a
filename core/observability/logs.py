"""Log lines as text (the default) or one JSON object per line, with the activity context on every line an
activity writes: ``executionId``, ``stageId`` and ``taskName``.

:class:`ActivityContextFilter` reads them from ``temporalio.activity.info()`` and from what the activity
interceptor (``core.observability.worker``) found in the task's input (a ``core.tasks.TaskInput`` names the
execution, the stage and the task); outside a task it falls back to the workflow id's execution part and the
activity's name, so engine activities (projection writes, notifications) carry an execution id too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

#: (execution id, stage id, task name) of the task activity running in this context, set by the interceptor
TASK_CONTEXT: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar(
    "gennaker_task_context", default=None
)

CONTEXT_FIELDS = ("executionId", "stageId", "taskName")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def execution_of(workflow_id: str) -> str:
    """The execution id in a workflow id: a stage workflow is ``<execution>.stage-<refId>[.restart-n]``."""
    return workflow_id.split(".stage-", 1)[0]


def activity_context() -> dict[str, str]:
    """The running activity's execution, stage and task, empty outside an activity."""
    from temporalio import activity

    try:
        info = activity.info()
    except RuntimeError:
        return {}
    task = TASK_CONTEXT.get()
    if task is not None:
        execution_id, stage_id, task_name = task
    else:
        execution_id, stage_id, task_name = execution_of(info.workflow_id or ""), "", info.activity_type
    return {"executionId": execution_id, "stageId": stage_id, "taskName": task_name}


class ActivityContextFilter(logging.Filter):
    """Adds ``executionId``, ``stageId`` and ``taskName`` to every record (empty strings outside an activity),
    so a text format may name them and the JSON format always carries them inside activities."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = activity_context()
        for key in CONTEXT_FIELDS:
            if not hasattr(record, key):
                setattr(record, key, found.get(key, ""))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the activity context when there
    is one, any ``extra=`` fields, and the exception's traceback as text."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        in_activity = bool(getattr(record, "executionId", ""))
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if value in ("", None) and not (in_activity and key in CONTEXT_FIELDS):
                continue  # inside an activity the three context keys are always there, empty or not
            doc[key] = value if isinstance(value, str | int | float | bool | dict | list) else repr(value)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def handler(log_format: Literal["text", "json"] = "text", stream: Any = None) -> logging.Handler:
    """A stream handler in the chosen format, with the activity context filter."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    out.addFilter(ActivityContextFilter())
    return out


def configure(log_format: Literal["text", "json"] = "text", level: int = logging.INFO) -> None:
    """Route the root logger through one handler of ``log_format``, replacing the plain stream handlers
    ``basicConfig`` (or an earlier call) set. Other handlers stay: a host's own (pytest's capture, a syslog
    handler an embedding program added) keep receiving the records."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if type(old) is logging.StreamHandler:  # exactly basicConfig's kind; subclasses belong to someone else
            root.removeHandler(old)
    root.addHandler(handler(log_format))
    root.setLevel(level)


def configure_server(settings: Any) -> None:
    """For the API under uvicorn: with ``observability.log_format`` json, route uvicorn's own loggers (access
    and errors) through the root's one handler too, so every line of the process is one JSON object. Text
    leaves uvicorn's setup alone."""
    if getattr(getattr(settings, "observability", None), "log_format", "text") != "json":
        return
    configure("json")
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
