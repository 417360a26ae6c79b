"""Agents waiting to hear whether their counter's live audio is wanted (issue 23, item 3).

An agent long-polls ``GET /api/v1/agent/live/wanted`` with the state it is in; the answer comes
as soon as that state changes, or after ``wait_s`` with the state unchanged. The listeners'
claims are in the database (:func:`services.live.want_live`), so a listener on any API process
reaches an agent waiting on any other. Each process asks the database once per
:data:`POLL_S` for every agent waiting on it (one small query, however many agents), and only
while some agent waits.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from services.live import wanted_counters
from storage.engine import read_session

logger = logging.getLogger(__name__)

#: How often a process looks up the claims while agents wait on it: an agent hears of a new
#: listener within about this long (plus its own request's round trip).
POLL_S = 0.5


@dataclass(eq=False)
class _Waiter:
    counter_id: int
    wanted: bool
    answer: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class LiveDemand:
    """The agents waiting on one API process, answered from one query per poll."""

    def __init__(self, engine: Engine, *, poll_s: float = POLL_S) -> None:
        self.engine = engine
        self.poll_s = poll_s
        self._waiters: set[_Waiter] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def wait(self, counter_id: int, *, wanted: bool, wait_s: float) -> bool:
        """Whether the counter's live audio is wanted: as soon as it differs from ``wanted``,
        else ``wanted`` after ``wait_s`` (0: the state now)."""
        if wait_s <= 0:
            return counter_id in await run_in_threadpool(self._wanted)
        loop = asyncio.get_running_loop()
        if loop is not self._loop:     # a new event loop (a test client's): start over on it
            self._loop, self._task, self._waiters = loop, None, set()
        waiter = _Waiter(counter_id, wanted)
        self._waiters.add(waiter)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        try:
            return await asyncio.wait_for(waiter.answer, wait_s)
        except TimeoutError:
            return wanted
        finally:
            self._waiters.discard(waiter)

    def _wanted(self) -> set[int]:
        with read_session(self.engine) as s:
            return wanted_counters(s)

    async def _run(self) -> None:
        while self._waiters:
            try:
                wanted = await run_in_threadpool(self._wanted)
            except SQLAlchemyError as e:     # the database is away: the agents keep their state
                logger.warning("live demand: claims not read: %s", e.__class__.__name__)
            else:
                for w in list(self._waiters):
                    now = w.counter_id in wanted
                    if now != w.wanted and not w.answer.done():
                        w.answer.set_result(now)
            await asyncio.sleep(self.poll_s)


def live_demand(app: FastAPI) -> LiveDemand:
    """The app's :class:`LiveDemand` (one per app, made on first use)."""
    demand = getattr(app.state, "live_demand", None)
    if demand is None:
        demand = app.state.live_demand = LiveDemand(app.state.engine)
    return demand
