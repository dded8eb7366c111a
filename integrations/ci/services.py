"""The configured build services by name (Igor's ``BuildServices``): one client per service, made on first
use. Each settings class names the module and class of its client in :data:`CLIENTS`; a helper adding a
service type adds its line there (the clients' libraries load only when a service of theirs is used)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from typing import Any

from core.settings.ci import BuildServiceSettings, CiSettings, ci_settings

from .base import JSON, BuildService, CiConfigError, UnknownBuildServiceError

#: settings class name → (module, client class); the client takes the settings as its one argument
CLIENTS: dict[str, tuple[str, str]] = {
    "TravisServiceSettings": ("integrations.ci.travis", "TravisService"),
    "GitHubActionsServiceSettings": ("integrations.ci.github_actions", "GitHubActionsService"),
    "GitLabCiServiceSettings": ("integrations.ci.gitlab", "GitLabCiService"),
}


#: settings class name → Igor's ``BuildServiceProvider`` (known without making a client)
PROVIDERS_BY_SETTINGS: dict[str, str] = {
    "TravisServiceSettings": "TRAVIS",
    "GitHubActionsServiceSettings": "GITHUB_ACTIONS",
    "GitLabCiServiceSettings": "GITLAB_CI",
}
PROVIDERS = frozenset(PROVIDERS_BY_SETTINGS.values())


def make_service(config: BuildServiceSettings) -> BuildService:
    module, cls = CLIENTS[type(config).__name__]
    client: BuildService = getattr(importlib.import_module(module), cls)(config)
    return client


class BuildServices:
    """Name → client for every configured build service; unknown names raise :class:`UnknownBuildServiceError`."""

    def __init__(self, configs: Iterable[BuildServiceSettings], factory: Any = None) -> None:
        self._configs = {c.name: c for c in configs}
        self._factory = factory or make_service
        self._clients: dict[str, BuildService] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, factory: Any = None) -> BuildServices:
        """The services of ``settings.ci``; a name a Jenkins master has too is a configuration error (they
        share Gate's lists, permissions and the poll cursors)."""
        ci: CiSettings = ci_settings(settings)
        jenkins = getattr(getattr(settings, "jenkins", None), "masters", None) or []
        taken = sorted({m.name for m in jenkins} & {s.name for s in ci.services()})
        if taken:
            raise CiConfigError(f"ci: build service names must differ from Jenkins masters' names: {', '.join(taken)}")
        return cls(ci.services(), factory)

    def __repr__(self) -> str:
        return f"BuildServices({sorted(self._configs)})"

    def names(self) -> list[str]:
        return list(self._configs)

    def config(self, name: str) -> BuildServiceSettings:
        try:
            return self._configs[name]
        except KeyError:
            raise UnknownBuildServiceError(f"no build service named '{name}' is configured") from None

    def has(self, name: str) -> bool:
        return name in self._configs

    def provider_of(self, name: str) -> str:
        """Igor's ``buildServiceProvider`` of the service (no client is made)."""
        return PROVIDERS_BY_SETTINGS[type(self.config(name)).__name__]

    def service(self, name: str, type_: str | None = None) -> BuildService:
        """The client of ``name``; with ``type_``, a service of another type is unknown too (a ``travis`` stage
        naming a GitHub Actions service is an error, not a surprise)."""
        config = self.config(name)
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = self._clients[name] = self._factory(config)
        if type_ is not None and client.type != type_:
            raise UnknownBuildServiceError(f"build service '{name}' is {client.type}, not {type_}")
        return client

    def of_type(self, type_: str) -> list[str]:
        return [n for n in self._configs if self.service(n).type == type_]

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


def job_config(service: BuildService, job: str) -> JSON:
    """Igor's ``GenericJobConfiguration`` of a CI job (Gate's ``/v3/builds/{name}/jobConfig``): its name and
    where it is; CI services declare no parameters Igor could list."""
    builds = service.builds(job, limit=1)
    url = builds[0].url if builds else None
    return {
        "description": None,
        "displayName": job.rsplit("/", 1)[-1],
        "name": job,
        "buildable": True,
        "color": None,
        "url": url,
        "parameterDefinitionList": None,
        "upstreamProjectList": None,
        "downstreamProjectList": None,
        "concurrentBuild": False,
    }
