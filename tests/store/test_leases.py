"""Leases (core/store/leases.py): one holder at a time per name, taken over once lapsed, kept a while after release."""

from __future__ import annotations

import threading
import uuid

from core.store import Store


def _name() -> str:
    """Names of the test's own (the shared databases keep leases between tests: the table is not emptied)."""
    return f"startup-{uuid.uuid4().hex[:8]}"


def test_one_holder_at_a_time(store: Store) -> None:
    startup, other = _name(), _name()
    assert store.leases.claim(startup, "a", 60_000)
    assert not store.leases.claim(startup, "b", 60_000)
    assert store.leases.claim(startup, "a", 60_000)  # the holder extends it
    assert store.leases.holder(startup) == "a"
    assert store.leases.claim(other, "b", 60_000)  # names are independent


def test_a_lapsed_lease_is_taken_over(store: Store) -> None:
    startup = _name()
    assert store.leases.claim(startup, "a", -1)  # lapsed at once: a holder that died
    assert store.leases.holder(startup) is None
    assert store.leases.claim(startup, "b", 60_000)
    assert store.leases.holder(startup) == "b"


def test_release_keeps_the_lease_for_a_while_and_only_for_its_holder(store: Store) -> None:
    startup = _name()
    assert store.leases.claim(startup, "a", 60_000)
    store.leases.release(startup, "b")  # not b's: nothing happens
    assert store.leases.holder(startup) == "a"
    store.leases.release(startup, "a", keep_ms=60_000)
    assert not store.leases.claim(startup, "b", 60_000)
    store.leases.release(startup, "a")
    assert store.leases.claim(startup, "b", 60_000)


def test_concurrent_claims_of_a_new_name_have_one_winner(store: Store) -> None:
    race, barrier = _name(), threading.Barrier(6)
    won: list[str] = []

    def claim(holder: str) -> None:
        barrier.wait()
        if store.leases.claim(race, holder, 60_000):
            won.append(holder)

    threads = [threading.Thread(target=claim, args=(f"h{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and store.leases.holder(race) == won[0]
