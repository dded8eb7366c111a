"""Fiat's settings: ``GENNAKER_AUTH__*``. Off by default, as Spinnaker runs with authentication off."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AuthSettings(BaseModel):
    """Authentication and permissions. With ``enabled`` false every caller is anonymous and allowed everything."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    #: callers holding any of these roles are admins (Fiat's ``fiat.admin.roles``)
    admin_roles: list[str] = Field(default_factory=list)
    #: the roles an application's missing EXECUTE list falls back to (Fiat's ``fiat.executeFallback``)
    execute_fallback: Literal["READ", "WRITE"] = "READ"
    #: whether applications the store does not know are open (Fiat's ``fiat.allowAccessToUnknownApplications``)
    allow_access_to_unknown_applications: bool = False
