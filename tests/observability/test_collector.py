"""Garbage collection pauses: timed without taking a lock inside the collector, exposed as a histogram, a slow full
collection warned about (at most once a minute), and start-up's objects frozen out of later collections."""

from __future__ import annotations

import gc
import logging
import threading

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from core.observability import collector


def _buckets(registry: CollectorRegistry, generation: str) -> dict[str, float]:
    [family] = [
        f for f in text_string_to_metric_families(generate_latest(registry).decode()) if f.name == collector.FAMILY
    ]
    return {
        (s.labels.get("le") or s.name.rsplit("_", 1)[-1]): s.value
        for s in family.samples
        if s.labels.get("generation") == generation
    }


def test_pauses_land_in_cumulative_buckets_by_generation() -> None:
    pauses = collector._Pauses()
    registry = CollectorRegistry()
    registry.register(collector.PauseCollector(pauses))
    pauses.observe(1, 0.003)
    pauses.observe(1, 0.2)
    pauses.observe(2, 7.0)  # beyond the last bound: +Inf only
    young = _buckets(registry, "1")
    assert young["0.001"] == 0 and young["0.005"] == 1 and young["0.25"] == 2 and young["+Inf"] == 2
    assert young["count"] == 2 and young["sum"] == pytest.approx(0.203)
    full = _buckets(registry, "2")
    assert full["5.0"] == 0 and full["+Inf"] == 1 and full["count"] == 1
    assert _buckets(registry, "0")["count"] == 0
    assert pauses.longest == [0.0, 0.2, 7.0]


def test_a_slow_full_collection_is_warned_about_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=collector.__name__)
    pauses = collector._Pauses()

    def warned() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == collector.__name__]

    pauses.observe(0, 0.9)  # a young collection is never the deadlock's cause worth a warning
    pauses.observe(2, collector.SLOW_S / 2)
    pauses.report()
    assert warned() == []
    pauses.observe(2, 0.9)
    pauses.observe(2, 1.4)
    assert warned() == []  # never from inside the collector: the reporter logs
    pauses.report()
    assert len(warned()) == 1 and "2 full garbage collection(s) over 0.5 s, the longest 1.40 s" in warned()[0]
    assert "deadlocked" in warned()[0] and pauses.slow == []
    pauses.observe(2, 1.1)
    pauses.report()  # within the minute: kept for later, not warned again
    assert len(warned()) == 1 and len(pauses.slow) == 1
    pauses.last_warning -= collector.WARN_EVERY_S
    pauses.report()
    assert len(warned()) == 2 and "the longest 1.10 s" in warned()[1]


def test_the_reporter_thread_runs_once_per_process() -> None:
    collector.install()
    collector.install()
    reporters = [t for t in threading.enumerate() if t.name == "gc-pause-reporter"]
    assert len(reporters) == 1 and reporters[0].daemon


def test_install_times_real_collections_once_and_registers_once() -> None:
    registry = CollectorRegistry()
    collector.install(registry)
    collector.install(registry)  # a second call adds neither a callback nor a collector
    assert gc.callbacks.count(collector.PAUSES.callback) == 1
    before = _buckets(registry, "2")["count"]
    gc.collect()
    after = _buckets(registry, "2")
    assert after["count"] == before + 1 and after["sum"] > 0
    assert collector.longest_full_pause() > 0


def test_settle_freezes_what_is_alive(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=collector.__name__)
    alive = [[i] for i in range(1_000)]  # lists are tracked by the collector
    frozen = collector.settle("test started")
    assert frozen >= len(alive)  # not equal: a frozen object freed later lowers the count
    walked = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
    assert not any(id(x) in walked for x in alive)  # later collections do not walk them
    assert "test started: " in caplog.text and "objects frozen" in caplog.text
