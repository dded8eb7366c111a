"""`Store`, the one object the rest of Gennaker is handed (the store's composition root): it opens the database
once and hands it to one repository per aggregate, each an attribute, each its own module.

Every repository method is one transaction and returns plain dicts. Documents are kept whole as JSON text, so
unknown keys round-trip; a few fields are copied into columns to look up, sort and filter by. Database and driver
errors are translated into `core.store.errors` by `session.py` and never escape. docs/store.md says which
repository holds what.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from .applications import Applications
from .auth import ApiTokens, AuditTrail, Roles, ServiceAccounts
from .bakes import Bakes
from .canary import CanaryStore
from .changes import Changes
from .cloud_cache import CloudCache
from .dinghy import DinghyStore
from .events import EventOutbox
from .executions import Executions
from .jenkins_cursors import JenkinsCursors
from .leases import Leases
from .notifications import Notifications
from .pipelines import Pipelines
from .projects import Projects
from .session import Database
from .templates import PipelineTemplates
from .terraform import TerraformStore
from .trigger_events import TriggerEvents

#: Where each method of the one-class store of before went: ``store.save_pipeline(...)`` is now
#: ``store.pipelines.save(...)``. Only read to say so in the AttributeError of a caller that was not migrated.
MOVED = {
    "list_applications": "applications.all",
    "get_application": "applications.get",
    "save_application": "applications.save",
    "delete_application": "applications.delete",
    "list_pipelines": "pipelines.all",
    "get_pipeline": "pipelines.get",
    "check_pipeline_id": "pipelines.check_id",
    "get_pipeline_by_name": "pipelines.get_by_name",
    "save_pipeline": "pipelines.save",
    "delete_pipeline": "pipelines.delete",
    "pipeline_history": "pipelines.history",
    "reorder_pipelines": "pipelines.reorder",
    "list_projects": "projects.all",
    "get_project": "projects.get",
    "save_project": "projects.save",
    "delete_project": "projects.delete",
    "save_execution": "executions.save",
    "apply_execution_update": "executions.apply_update",
    "get_execution": "executions.get",
    "get_execution_text": "executions.get_text",
    "get_execution_engine": "executions.get_engine",
    "unhandled_finish": "executions.unhandled_finish",
    "mark_finish_handled": "executions.mark_finish_handled",
    "unfinished_executions": "executions.unfinished",
    "execution_header": "executions.header",
    "list_executions": "executions.query",
    "delete_execution": "executions.delete",
    "get_notifications": "notifications.get",
    "save_notifications": "notifications.save",
    "delete_notifications": "notifications.delete",
    "notification_entries": "notifications.entries",
    "replace_cloud_cache": "cloud_cache.replace",
    "put_cloud_cache_item": "cloud_cache.put_item",
    "drop_cloud_cache_item": "cloud_cache.drop_item",
    "cloud_cache": "cloud_cache.items",
    "cloud_cache_status": "cloud_cache.status",
    "claim_trigger_event": "trigger_events.claim",
    "jenkins_cursors": "jenkins_cursors.get",
    "save_jenkins_cursors": "jenkins_cursors.save",
    "delete_jenkins_cursors": "jenkins_cursors.delete",
    "create_bake": "bakes.create",
    "get_bake": "bakes.get",
    "bakes_for_key": "bakes.for_key",
    "cached_bake": "bakes.cached",
    "retire_bakes": "bakes.retire",
    "update_bake": "bakes.update",
    "add_bake_requester": "bakes.add_requester",
    "save_api_token": "api_tokens.save",
    "find_api_token": "api_tokens.find",
    "list_api_tokens": "api_tokens.all",
    "revoke_api_token": "api_tokens.revoke",
    "touch_api_token": "api_tokens.touch",
    "list_service_accounts": "service_accounts.all",
    "get_service_account": "service_accounts.get",
    "save_service_account": "service_accounts.save",
    "delete_service_account": "service_accounts.delete",
    "get_user_roles": "user_roles.get",
    "get_user_roles_record": "user_roles.record",
    "put_user_roles": "user_roles.put",
    "delete_user_roles": "user_roles.delete",
    "record_audit": "audit.record",
    "list_audit": "audit.query",
}


class Store:
    """Front50's documents, the execution projection and the other services' state in one SQL database (SQLite,
    PostgreSQL or MySQL/MariaDB); safe to share between threads (a session per call)."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.dialect = self.db.dialect
        # Front50
        self.applications = Applications(self.db)
        self.projects = Projects(self.db)
        self.pipelines = Pipelines(self.db)
        self.notifications = Notifications(self.db)
        self.service_accounts = ServiceAccounts(self.db)
        self.templates = PipelineTemplates(self.db)
        # Orca's execution repository: the engine's projection
        self.executions = Executions(self.db)
        # Fiat
        self.api_tokens = ApiTokens(self.db)
        self.user_roles = Roles(self.db)
        self.audit = AuditTrail(self.db)
        # Echo, Igor, Rosco, Clouddriver, Kayenta, Dinghy, Terraformer
        self.trigger_events = TriggerEvents(self.db)
        self.jenkins_cursors = JenkinsCursors(self.db)
        self.bakes = Bakes(self.db)
        self.cloud_cache = CloudCache(self.db)
        self.canary = CanaryStore(self.db)
        self.dinghy = DinghyStore(self.db)
        self.terraform = TerraformStore(self.db)
        self.events = EventOutbox(self.db)  # Echo's event stream (an outbox the projection writes)
        self.leases = Leases(self.db)  # work one of N processes does (the API's start-up reconciliation)
        self.changes = Changes(self.db)  # change counters: the API's answer cache validates with them

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for tools and tests that look at the database from outside the repositories."""
        return self.db.engine

    def migrate(self) -> None:
        """Bring the schema to the newest revision (`alembic upgrade head`); harmless when already there."""
        self.db.migrate()

    def close(self) -> None:
        self.db.close()

    if not TYPE_CHECKING:  # mypy keeps checking attributes: a missing one is an error there, not Any

        def __getattr__(self, name: str) -> Any:
            """Only reached for a missing attribute: a method of the old one-class store names its new place."""
            if name in MOVED:
                raise AttributeError(f"Store.{name} moved: use store.{MOVED[name]}")
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
