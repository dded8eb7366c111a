"""Settings of Deck, the browser UI (``ui:`` in gennaker.yml, ``GENNAKER_UI__*``; docs/ui.md).

``gennaker up`` serves the UI on Deck's port (9000) next to Gate (8084); the pages talk to Gate through the UI
server's same-origin ``/gate`` path. ``base_url`` is where people reach the UI: notifications and ``gennaker run``
link executions as ``{base_url}/#/applications/{app}/executions/details/{id}``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Port = Annotated[int, Field(ge=1, le=65535)]


class UiSettings(BaseModel):
    """Where the UI listens and the address people use to open it."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 9000
    #: the address links use (Deck's ``spinnaker.base-url``); None → ``http://localhost:{port}``
    base_url: str | None = None
    #: the Temporal Web UI, for links to an execution's workflow; None → the dev server's (``dev_server.ui_port``)
    temporal_web_url: str | None = None

    @property
    def link_base(self) -> str:
        """The base of every link to a page of the UI, without a trailing slash."""
        return (self.base_url or f"http://localhost:{self.port}").rstrip("/")
