"""Python's garbage collector in a long-running process: its pauses measured, and kept short.

Temporal's Python SDK fails a workflow task that does not yield within 2 s ("TMPRL1101 Potential deadlock detected").
A full collection that starts in a workflow thread, or holds the GIL while one waits, counts against that budget, and
a full collection walks every object alive: about 0.1 s for a worker's 200,000 objects after start-up, seconds for a
few million. Most of those objects are the modules, classes and settings loaded at start-up, alive for as long as
the process: :func:`settle` moves them out of the collector's view once start-up is over (``gc.freeze``), so later
full collections walk only what is newer.

:func:`install` times every collection. The times go to ``gennaker_gc_pause_seconds`` (by generation) and a full
collection longer than :data:`SLOW_S` is logged as a warning. The callback runs inside the collector, in whichever
thread triggered it, and takes no lock: prometheus-client's values take a non-reentrant one, and so may a logging
handler, which the interrupted thread may hold. It only updates plain counters, which a collector reads at scrape
time, and notes slow collections, which a daemon thread logs within a second.
"""

from __future__ import annotations

import bisect
import gc
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

#: pause buckets, seconds: a young collection takes microseconds, a full one of a large heap seconds
BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
#: a full collection longer than this is logged: workflow tasks get 2 s in all
SLOW_S = 0.5
#: at most one warning this often (a process in trouble collects often)
WARN_EVERY_S = 60.0
FAMILY = "gennaker_gc_pause_seconds"


class _Pauses:
    """Per generation: counts per bucket (the last is +Inf), the sum, and the longest pause seen."""

    def __init__(self) -> None:
        self.started = 0.0
        self.buckets = [[0] * (len(BUCKETS) + 1) for _ in range(3)]
        self.sums = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self.last_warning = float("-inf")
        #: (seconds, objects collected, objects frozen) of the slow full collections not yet reported
        self.slow: list[tuple[float, int, int]] = []

    def callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        self.observe(int(info.get("generation", 2)), time.perf_counter() - self.started, info)

    def observe(self, generation: int, seconds: float, info: dict[str, int] | None = None) -> None:
        generation = min(max(generation, 0), 2)
        self.buckets[generation][bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sums[generation] += seconds
        self.longest[generation] = max(self.longest[generation], seconds)
        if generation == 2 and seconds > SLOW_S and len(self.slow) < 1000:
            self.slow.append((seconds, int((info or {}).get("collected", 0)), gc.get_freeze_count()))

    def report(self) -> None:
        """Log the slow full collections noted since the last report (their count and the longest), at most once a
        minute. Runs outside the collector (the reporter thread), so logging is safe here."""
        if not self.slow or time.monotonic() - self.last_warning < WARN_EVERY_S:
            return
        noted = len(self.slow)
        seconds, collected, frozen = max(self.slow[:noted])
        del self.slow[:noted]  # the callback only appends: what it adds meanwhile stays for the next report
        self.last_warning = time.monotonic()
        log.warning(
            "%d full garbage collection(s) over %.1f s, the longest %.2f s (%d objects collected, %d frozen): workflow"
            " tasks have 2 s before Temporal calls them deadlocked",
            noted,
            SLOW_S,
            seconds,
            collected,
            frozen,
        )

    def keep_reporting(self, every_s: float = 1.0) -> None:
        while True:
            time.sleep(every_s)
            self.report()


class PauseCollector(Collector):
    """``gennaker_gc_pause_seconds`` at scrape time, from :class:`_Pauses`."""

    def __init__(self, pauses: _Pauses) -> None:
        self.pauses = pauses

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            FAMILY,
            "Garbage collection pauses of this process, by generation (2: a full collection).",
            labels=["generation"],
        )
        for generation in range(3):
            counts = list(self.pauses.buckets[generation])
            cumulative, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            family.add_metric([str(generation)], buckets, self.pauses.sums[generation])
        yield family


PAUSES = _Pauses()
_installed: dict[str, Any] = {}


def install(registry: Any = None) -> None:
    """Time this process's collections (once per process) and expose them on ``registry`` (Gennaker's own by
    default; once per registry)."""
    if "callback" not in _installed:
        gc.callbacks.append(PAUSES.callback)
        _installed["callback"] = True
        threading.Thread(target=PAUSES.keep_reporting, name="gc-pause-reporter", daemon=True).start()
    if registry is None:
        from core.observability.metrics import REGISTRY

        registry = REGISTRY
    key = f"registry:{id(registry)}"
    if key not in _installed:
        registry.register(PauseCollector(PAUSES))
        _installed[key] = registry


def settle(reason: str) -> int:
    """Collect what start-up left behind and freeze what is still alive (the modules, the settings, the clients):
    later full collections skip it. Call once a process's start-up is over, not per request or per test.
    Returns the number of objects now frozen."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("%s: %d objects frozen out of garbage collection (%.2f s)", reason, frozen, time.perf_counter() - started)
    return frozen


def longest_full_pause() -> float:
    """The longest full collection this process has had since :func:`install`, in seconds."""
    return PAUSES.longest[2]
