"""The answer cache of the hot listings (issue 19, docs/performance.md "The API"): an application's executions
(``GET /applications/{app}/pipelines``) and its pipeline or strategy configs, kept as the response's bytes per
process and validated on every request by one primary-key read of the scope's change counter
(core/store/changes.py), which every write of that scope moves in its own transaction, whichever API process or
worker wrote. So an answer is never stale across processes, and a client that saved (or whose pipeline moved)
reads its write: the write committed, and the counter with it, before that client's next request reads it.

The counter is read *before* the answer is computed: an answer stored under number N reflects at least every write
up to N, and is served only while the counter still reads N. Answers are cached after the route's permission check
and before nothing caller-specific: these answers do not depend on who asks (Fiat only decides whether they may),
and the key holds everything else the answer depends on (the query, the settings' secret fields are the app's own).

An ``ETag`` (the scope, its number and the query, hashed) comes with each cached answer; a request whose
``If-None-Match`` names it is answered 304 without a body.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response

MAX_ENTRIES = 256  # answers kept per process (a listing of 500 executions is ~750 KB)
MAX_BYTES = 32 << 20  # and bytes (per process): the least recently used go first


class AnswerCache:
    """Response bytes by (scope, key), each with the scope's change counter it was computed at."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._entries: OrderedDict[tuple[str, str], tuple[int, bytes, str]] = OrderedDict()
        self._bytes = 0
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.hits = self.misses = 0
        self.flights: dict[tuple[str, str, int], asyncio.Future[tuple[bytes, str]]] = {}
        #: the scope of an answer known by a key alone (an execution's application, learnt from its first read)
        self.scopes: OrderedDict[str, str] = OrderedDict()

    def learn_scope(self, key: str, scope: str) -> None:
        self.scopes[key] = scope
        self.scopes.move_to_end(key)
        while len(self.scopes) > self.max_entries * 16:
            self.scopes.popitem(last=False)

    def get(self, scope: str, key: str, seq: int) -> tuple[bytes, str] | None:
        found = self._entries.get((scope, key))
        if found is None or found[0] != seq:
            return None
        self._entries.move_to_end((scope, key))
        return found[1], found[2]

    def put(self, scope: str, key: str, seq: int, body: bytes) -> str:
        etag = '"' + hashlib.blake2b(f"{scope}\0{key}\0{seq}".encode(), digest_size=12).hexdigest() + '"'
        old = self._entries.pop((scope, key), None)
        if old is not None:
            self._bytes -= len(old[1])
        if len(body) <= self.max_bytes:
            self._entries[(scope, key)] = (seq, body, etag)
            self._bytes += len(body)
        while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
            _, (_, dropped, _) = self._entries.popitem(last=False)
            self._bytes -= len(dropped)
        return etag


def cache_of(request: Request) -> AnswerCache:
    state = request.app.state
    cache = getattr(state, "answers", None)
    if cache is None:
        cache = state.answers = AnswerCache()
    return cache


async def answer(
    request: Request, store: Any, scope: str, key: str, compute: Callable[[], Awaitable[Response]]
) -> Response:
    """The cached answer of (scope, key) while the scope's counter has not moved, else ``compute()``'s (kept when
    it is a 200). 304 when the request's ``If-None-Match`` names the answer's ETag."""
    cache = cache_of(request)
    seq = await asyncio.to_thread(store.changes.seq, scope)
    found = cache.get(scope, key, seq)
    if found is None:
        # one computation per (scope, key, number): the requests that arrive while it runs wait for it
        flight = (scope, key, seq)
        pending = cache.flights.get(flight)
        if pending is not None:
            try:
                body, etag = await asyncio.shield(pending)
                cache.hits += 1
            except _Uncached:  # the computation failed or answered no 200: compute this request's own
                return await compute()
        else:
            cache.misses += 1
            done: asyncio.Future[tuple[bytes, str]] = asyncio.get_running_loop().create_future()
            cache.flights[flight] = done
            try:
                response = await compute()
            except BaseException:
                done.set_exception(_Uncached(None))
                done.exception()  # retrieved: no "never retrieved" warning when nobody waited
                raise
            finally:
                cache.flights.pop(flight, None)
            if response.status_code != 200:
                done.set_exception(_Uncached(response))
                done.exception()
                return response
            body = bytes(response.body)
            etag = cache.put(scope, key, seq, body)
            done.set_result((body, etag))
    else:
        cache.hits += 1
        body, etag = found
    if etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(content=body, media_type="application/json", headers={"ETag": etag})


class _Uncached(Exception):  # noqa: N818 - never leaves this module
    """The computation a request waited for answered something else than a 200: the waiter computes its own."""

    def __init__(self, response: Response | None) -> None:
        super().__init__(None if response is None else response.status_code)


def _etags(header: str | None) -> list[str]:
    if not header:
        return []
    return [part.strip().removeprefix("W/") for part in header.split(",")]
