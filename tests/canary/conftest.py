"""Fixtures of the canary tests: one real Prometheus per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.canary.prometheus_server import Prometheus, serve


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with serve(Path(tmp_path_factory.mktemp("prometheus"))) as server:
        yield server
