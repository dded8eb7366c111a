"""A real Prometheus (Debian's package) on a free 127.0.0.1 port, with a temp data dir filled by promtool's
OpenMetrics backfill: deterministic series at fixed past instants, so every query has a known answer."""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from gennaker.localstack import free_port

#: the window every series covers: one hour from 2025-01-01T00:00:00Z, a point every 10 s
START = 1735689600
POINTS = 360
STEP = 10
START_ISO = "2025-01-01T00:00:00Z"
END_ISO = "2025-01-01T01:00:00Z"


@dataclass(frozen=True)
class Prometheus:
    url: str


def _noisy(seed: int, level: float) -> list[float]:
    rng = random.Random(seed)
    return [round(level * (1 + rng.uniform(-0.1, 0.1)), 6) for _ in range(POINTS)]


def series() -> dict[str, list[tuple[str, list[float]]]]:
    """family → [(labels, values)]: error rates for a baseline, a good canary (same level, other noise) and a bad
    canary (50 % more), per-pod latency whose pod labels never match across sides, and sparse errors."""
    sparse_canary = [0.0] * POINTS
    for i in range(0, POINTS, 40):
        sparse_canary[i] = 0.5
    return {
        "shop_error_rate": [
            ('app="shop",build="baseline"', _noisy(1, 2.0)),
            ('app="shop",build="canary-good"', _noisy(2, 2.0)),
            ('app="shop",build="canary-bad"', _noisy(3, 3.0)),
        ],
        "shop_latency_seconds": [
            ('app="shop",build="baseline",pod="baseline-a1"', _noisy(4, 0.2)),
            ('app="shop",build="canary-good",pod="canary-b2"', _noisy(5, 0.2)),
        ],
        "shop_panics": [
            ('app="shop",build="baseline"', [0.0] * POINTS),
            ('app="shop",build="canary-sparse"', sparse_canary),
        ],
    }


def openmetrics() -> str:
    lines = []
    for family, members in series().items():
        lines.append(f"# TYPE {family} gauge")
        for labels, values in members:
            lines.extend(f"{family}{{{labels}}} {v} {START + i * STEP}" for i, v in enumerate(values))
    return "\n".join([*lines, "# EOF", ""])


@contextmanager
def serve(tmp: Path) -> Iterator[Prometheus]:
    """Backfill, start ``prometheus`` and wait until ``/-/ready`` answers; stop it afterwards."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        raise RuntimeError("Debian's prometheus is not installed: run `make tools`")
    data = tmp / "data"
    data.mkdir(parents=True)
    (tmp / "series.om").write_text(openmetrics())
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(tmp / "series.om"), str(data)],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    (tmp / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\n")
    port = free_port()
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(tmp / 'prometheus.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready in 60 s")
            time.sleep(0.1)  # waiting on the server's readiness endpoint, not on a guess
        yield Prometheus(url)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()
