"""Request sessions that cannot run the connection pool dry.

Each request that reads holds one pooled connection for its read session and, while it audits
or changes something, a second one for a short write transaction. FastAPI runs the pieces of a
request (its dependencies, then the route) as separate calls on a shared thread pool, so
without a bound, more requests than the pool has connections deadlock: threads of new requests
wait in the pool for a connection while holding every thread, and the requests that hold the
connections wait for a thread to finish on (the load bench saw every request of 100 clients
time out). So the read sessions are gated: at most :func:`slots` of them are open at once, the
others wait in the event loop (no thread, no connection) until one closes. The session closes
as the route function returns (api.deps.ReadDb, ``scope="function"``), before a streamed body
goes out, which frees its slot as well.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

#: Slots where the pool does not say its size (SQLite in memory, NullPool).
DEFAULT_SLOTS = 16


def slots(engine: Engine) -> int:
    """Read sessions open at once over ``engine``: half its pool (each may hold a second
    connection for a write), at least 1."""
    pool = engine.pool
    if isinstance(pool, QueuePool):
        return max(1, (pool.size() + max(0, pool._max_overflow)) // 2)
    return DEFAULT_SLOTS


class GatedSession(Session):
    """A read session holding one slot of the gate until it is closed (once)."""

    _release: Callable[[], None] | None = None

    def close(self) -> None:
        super().close()
        release, self._release = self._release, None
        if release is not None:
            release()


def _gate(app: FastAPI, engine: Engine) -> asyncio.Semaphore:
    gate = getattr(app.state, "db_gate", None)
    if gate is None:
        gate = app.state.db_gate = asyncio.Semaphore(slots(engine))
    return gate


async def gated_session(app: FastAPI, engine: Engine) -> AsyncIterator[Session]:
    """A read session for one request, after waiting (in the event loop) for a free slot."""
    gate = _gate(app, engine)
    await gate.acquire()
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    lock = threading.Lock()

    def release() -> None:
        with lock:
            if threading.get_ident() == loop_thread:
                gate.release()
            else:   # the route ran on a worker thread: hand the release to the event loop
                try:
                    loop.call_soon_threadsafe(gate.release)
                except RuntimeError:    # the loop is gone (a test client's portal): nobody waits
                    pass

    s = GatedSession(engine)
    s._release = release
    try:
        yield s
    finally:
        s.close()
