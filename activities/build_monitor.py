"""What every build monitor's activities share, Jenkins (``jenkins_triggers.py``) and the other build services
(``ci_triggers.py``): the pipelines as triggers see them (cached a few seconds), firing a finished build's
pipelines once each (Echo's ``BuildEventHandler``: property file read once per name, ``payloadConstraints``,
the launch under the trigger-event claim), reading what a build carries without failing the poll over it, and
the cursor commit. Each monitor brings how it polls, how it reads a build and how it names the trigger.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from integrations.ci.triggers import constraints_met, property_file
from integrations.jenkins.properties import PropertyFileError
from integrations.triggers.launcher import Launcher
from integrations.triggers.model import Match

JSON = dict[str, Any]
CONFIG_CACHE_S = 5.0  # how stale the pipeline configs may be (Echo's own cache refreshes every 30 s)


class BuildMonitor:
    """The store, the launcher and the pipeline cache of one build monitor's activities."""

    #: the Temporal error type of a failure worth retrying (the next poll or attempt may succeed)
    retryable_error = "BuildServiceRetryable"
    #: the monitor's own error class (``retryable`` and ``message`` attributes)
    error_class: type[Exception] = Exception

    def __init__(self, store: Any, launcher: Launcher, *, handle_first_builds: bool = False) -> None:
        self.store = store
        self.launcher = launcher
        self.handle_first_builds = handle_first_builds
        self._configs: tuple[float, list[JSON]] | None = None

    async def pipelines(self) -> list[JSON]:
        now = time.monotonic()
        if self._configs is None or now - self._configs[0] > CONFIG_CACHE_S:
            self._configs = (now, await asyncio.to_thread(_trigger_views, self.store))
        return self._configs[1]

    async def fire(
        self,
        event_key: str,
        matches: list[tuple[JSON, JSON]],
        *,
        read_build: Callable[[], Any],
        read_properties: Callable[[Any, str], JSON | None],
        make_trigger: Callable[[JSON, JSON, Any, JSON | None], Match],
    ) -> list[JSON]:
        """Start each matching pipeline once for the build ``event_key`` names; what became of each."""
        build = await asyncio.to_thread(read_build)
        files: dict[str, JSON | None] = {}
        launched: list[JSON] = []
        for pipeline, config in matches:
            name = property_file(config)
            if name is not None and name not in files:
                files[name] = await asyncio.to_thread(read_properties, build, name)
            properties = files.get(name) if name is not None else None
            if not constraints_met(config, properties):
                activity.logger.info("pipeline %s: payload constraints not met by %s", pipeline.get("id"), event_key)
                continue
            match = make_trigger(pipeline, config, build, properties)
            outcome = await self.launcher.launch(pipeline, match.trigger, event_key, run_as=match.run_as_user)
            launched.append(outcome.to_json())
        return launched

    def soft_read(self, read: Callable[[], Any], what: str) -> Any:
        """``read()``, or None when what it reads is missing or invalid (logged: the pipeline starts without it);
        an outage is raised as retryable, so the build is handled again rather than fired without its data."""
        try:
            return read()
        except PropertyFileError as err:
            activity.logger.warning("%s is invalid: %s", what, err)
            return None
        except self.error_class as err:
            if getattr(err, "retryable", False):
                raise self.activity_error(err) from None
            activity.logger.warning("%s not read: %s", what, getattr(err, "message", err))
            return None

    def activity_error(self, err: Exception) -> ApplicationError:
        retryable = bool(getattr(err, "retryable", False))
        kind = self.retryable_error if retryable else type(err).__name__
        return ApplicationError(str(getattr(err, "message", err)), type=kind, non_retryable=not retryable)

    def save_cursors(self, key: str, cursors: dict[str, JSON]) -> None:
        """Igor's ``commitDelta``: the cursors move once the poll's events were handled (names are unique across
        Jenkins masters and build services, so one table serves all)."""
        self.store.jenkins_cursors.save(key, cursors)


def _trigger_views(store: Any) -> list[JSON]:
    """Pipelines as triggers see them: templated ones with their rendered triggers (templates/stored.py)."""
    from templates.stored import trigger_views

    return trigger_views(store, store.pipelines.all())
