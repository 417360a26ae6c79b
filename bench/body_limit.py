#!/usr/bin/env python3
"""Memory of the API while a client streams a big body at it (issue 18), beside a same-run
baseline: the same app without :class:`api.limits.BodyLimit`.

    python bench/body_limit.py [--mb 100] [--baseline-mb 20]

The app runs under uvicorn in a thread of this process (no database is touched: the body is
refused, or fails validation, before any query); the peak RSS growth of this process while the
chunked body streams is what the body cost the server. The baseline sends a smaller body (it
is read whole: a 100 MB one would cost gigabytes), so its growth is also given per MB.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from api import limits  # noqa: E402
from api.app import create_app  # noqa: E402
from tests.support.net import AppServer  # noqa: E402

MB = 1024 * 1024


def _rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmRSS:"))


def _junk(total: int, part: int = 64 * 1024):  # noqa: ANN202
    block = b'{"name": "' + b"x" * (part - 10)
    for _ in range(total // part):
        yield block


def measure(app, mb: int) -> tuple[int, float, int]:  # noqa: ANN001
    """(status, seconds, peak RSS growth in bytes) of streaming ``mb`` MB to /auth/login."""
    server = AppServer(app).start()
    peak = start = _rss()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.01):
            peak = max(peak, _rss())

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        t0 = time.monotonic()
        r = httpx.post(f"{server.url}/api/v1/auth/login", content=_junk(mb * MB), timeout=600,
                       headers={"Content-Type": "application/json", "X-Counterwatch": "1"})
        took = time.monotonic() - t0
    finally:
        stop.set()
        t.join()
        server.stop()
    return r.status_code, took, peak - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--baseline-mb", type=int, default=20)
    a = ap.parse_args()
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} on {os.cpu_count()} CPUs")
    limited = create_app(engine=None, store=None)
    status, took, grew = measure(limited, a.mb)
    print(f"with BodyLimit:    {a.mb:4d} MB -> {status} in {took:.2f} s, RSS +{grew / MB:.1f} MB")
    bare = create_app(engine=None, store=None)
    bare.user_middleware = [m for m in bare.user_middleware if m.cls is not limits.BodyLimit]
    status, took, grew = measure(bare, a.baseline_mb)
    print(f"baseline (none):   {a.baseline_mb:4d} MB -> {status} in {took:.2f} s, RSS +{grew / MB:.1f} MB "
          f"({grew / a.baseline_mb / MB:.2f} MB per MB sent)")


if __name__ == "__main__":
    main()
