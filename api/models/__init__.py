"""Typed models at the API edge: Spinnaker's documents as Gate takes and answers them (base.py says how they keep
what they are given). One module per area; the routes import from the module they need."""

from .applications import Application, ApplicationView, Job, Project, TaskRequest, TaskView
from .auth import ApiToken, AuditEvent, ServiceAccount, TokenRequest, User, UserPermission, UserRoles
from .base import Json, SpinnakerDocument, SpinnakerPart, Status, document
from .executions import (
    AdHocPipeline,
    EventRef,
    Execution,
    ExecutionRef,
    ExecutionTrigger,
    ExpressionResult,
    ManualTrigger,
    Stage,
    Task,
)
from .misc import CronValidation, ExpressionCapabilities, Health, StageType, Version
from .notifications import ApplicationNotifications
from .pipelines import (
    BulkSaveResult,
    Notification,
    ParameterConfig,
    PipelineConfig,
    ReorderRequest,
    StageConfig,
    Trigger,
)
from .webhooks import WebhookAnswer

__all__ = [
    "AdHocPipeline",
    "ApiToken",
    "Application",
    "ApplicationNotifications",
    "ApplicationView",
    "AuditEvent",
    "BulkSaveResult",
    "CronValidation",
    "EventRef",
    "Execution",
    "ExecutionRef",
    "ExecutionTrigger",
    "ExpressionCapabilities",
    "ExpressionResult",
    "Health",
    "Job",
    "Json",
    "ManualTrigger",
    "Notification",
    "ParameterConfig",
    "PipelineConfig",
    "Project",
    "ReorderRequest",
    "ServiceAccount",
    "SpinnakerDocument",
    "SpinnakerPart",
    "Stage",
    "StageConfig",
    "StageType",
    "Status",
    "Task",
    "TaskRequest",
    "TaskView",
    "TokenRequest",
    "Trigger",
    "User",
    "UserPermission",
    "UserRoles",
    "Version",
    "WebhookAnswer",
    "document",
]
