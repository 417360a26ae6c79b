"""The worker yields the CPU (issue 23): its niceness is raised, for its own thread inside another
process, for every thread in a process of its own; the other threads keep theirs."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

from transcribe.priority import yield_cpu


def _nice(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


def test_a_worker_thread_lowers_only_its_own_priority_and_what_it_starts() -> None:
    seen: dict[str, int] = {}
    before = _nice(threading.get_native_id())       # the suite may itself run niced (nice -n 10)

    def worker() -> None:
        seen["changed"] = yield_cpu(7, whole_process=False)
        child = threading.Thread(target=lambda: seen.setdefault("child", _nice(threading.get_native_id())))
        child.start()
        child.join()
        seen["worker"] = _nice(threading.get_native_id())
        assert yield_cpu(3, whole_process=False) == 0      # never raised back

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == {"changed": 1 if before < 7 else 0, "worker": max(7, before), "child": max(7, before)}
    assert _nice(threading.get_native_id()) == before         # this thread (the "API") untouched


def test_a_worker_process_lowers_every_thread() -> None:
    code = """
import os, threading, time
from transcribe.priority import yield_cpu
ev = threading.Event()
t = threading.Thread(target=ev.wait, daemon=True); t.start()      # a pool thread started before
n = yield_cpu(9, whole_process=True)
nices = {os.getpriority(os.PRIO_PROCESS, int(x)) for x in os.listdir("/proc/self/task")}
print(n, sorted(nices)); ev.set()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                         cwd=os.getcwd()).stdout.split(maxsplit=1)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert int(out[0]) >= (2 if base < 9 else 0) and out[1].strip() == f"[{max(9, base)}]"
