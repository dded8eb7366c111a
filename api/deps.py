"""What routes depend on: the settings, the Temporal client, the store, the caller (``Annotated`` deps)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from core.auth.principal import Principal
from core.settings import Settings

if TYPE_CHECKING:  # the store and the Temporal client are built in the app's lifespan, not at import
    from temporalio.client import Client

    from core.store import Store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_client(request: Request) -> Client:
    return request.app.state.temporal  # type: ignore[no-any-return]


def get_store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def get_principal(request: Request) -> Principal:
    """The caller with its roles (api/auth/authenticate.py); anonymous while authentication is off, a 401 for
    credentials that are not accepted. Computed once per request."""
    from .auth.authenticate import resolve

    return resolve(request)


def get_user(request: Request) -> str:
    """The caller's name, for the routes that only record who did something."""
    return get_principal(request).name


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClientDep = Annotated["Client", Depends(get_client)]
StoreDep = Annotated["Store", Depends(get_store)]
UserDep = Annotated[str, Depends(get_user)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
