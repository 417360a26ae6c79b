"""The worker yields the CPU: a higher niceness, so an API on the same box is served first (issue 23).

On Linux the nice value belongs to each thread, and threads inherit it when they are created.
A worker process (``counterwatch worker``: the loop in the main thread) raises every thread of
the process, the speech model's pool included; a worker thread inside another process (the
embedded stack) raises its own, the threads its speech model started as it loaded
(``Transcriber.threads``) and what it starts afterwards, never the API's threads.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)


def _threads(whole_process: bool, also: Iterable[int]) -> list[int]:
    tasks = Path("/proc/self/task")
    if whole_process and tasks.is_dir():
        return sorted(int(t.name) for t in tasks.iterdir())
    return sorted({threading.get_native_id(), *also})


def yield_cpu(nice: int, *, whole_process: bool, also: Iterable[int] = ()) -> int:
    """Raise the niceness of this thread and the threads ``also`` (``whole_process``: of every
    thread of the process) to at least ``nice`` (0: leave it); returns how many threads were
    changed. Never lowers it."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return 0
    changed = 0
    for tid in _threads(whole_process, also):
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                changed += 1
        except ProcessLookupError:      # the thread ended meanwhile
            continue
        except OSError as e:
            logger.warning("worker: niceness %d not set on thread %d: %s", nice, tid, e)
    return changed
