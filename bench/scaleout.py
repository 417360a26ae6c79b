#!/usr/bin/env python3
"""Worker throughput with one and with two ``counterwatch worker`` processes, each pinned to a
core of its own (``taskset``), sharing one PostgreSQL queue (issue 12, item 5).

    python bench/scaleout.py [--sessions 8]

Each round stores ``--sessions`` counters' sessions of real speech (tests/data dialogues) on an
rclone S3 server, as an agent does, then starts the workers (the real model, one CTranslate2
thread each) and times from their start until every job is done: audio seconds analysed per
wall second. The model load of each process is timed separately (its log line "started") and
left out. Rounds: 1 worker on core 0, then 2 workers on cores 0 and 1 (same audio, fresh
database). The machine load (``uptime``) is printed with each round.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

FILES = ("dev05-stereo-clean.flac", "dev01-stereo-clean.flac", "dev07-stereo-clean.flac", "dev14-stereo-clean.flac")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.split("load average:")[-1].strip()


def round_(n_workers: int, n_sessions: int, work: Path) -> tuple[float, float, str]:
    from sqlalchemy import func, select

    from services.catalog import Catalog
    from storage.engine import make_engine, read_session
    from storage.objects import ObjectStore
    from storage.s3server import S3Server
    from storage.schema import upgrade
    from storage.tables import Job
    from tests.support.postgres import PgCluster
    from tests.support.recordings import join_speech, store_session

    pg = PgCluster()
    pg.start(fsync=False)
    s3 = S3Server(data_dir=work / f"s3-{n_workers}")
    s3.start()
    try:
        eng = make_engine(pg.url)
        upgrade(eng)
        store = ObjectStore(endpoint=s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key,
                            bucket="counterwatch")
        store.ensure_bucket()
        catalog = Catalog(eng)
        audio_s = 0.0
        for i in range(n_sessions):
            catalog.add_counter("hall", f"c{i + 1}")
            pcm = join_speech(ROOT / "tests" / "data", FILES[i % len(FILES)])
            audio_s += len(pcm) / 16000
            store_session(catalog, store, pcm, counter=f"c{i + 1}", chunk_s=10.0, wall0=time.time() - 3600, end=True)
        env = {**os.environ, "COUNTERWATCH_DATABASE_URL": pg.url, "COUNTERWATCH_S3_ENDPOINT": s3.endpoint,
               "COUNTERWATCH_S3_ACCESS_KEY": s3.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3.secret_key,
               "COUNTERWATCH_S3_BUCKET": "counterwatch", "COUNTERWATCH_CPU_THREADS": "1",
               "COUNTERWATCH_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
        logs = [work / f"w{n_workers}-{k}.log" for k in range(n_workers)]
        procs = [subprocess.Popen(["taskset", "-c", str(k % (os.cpu_count() or 1)), sys.executable, "-m",
                                   "counterwatch", "worker", "--data", str(work / f"d{k}")], env=env,
                                  stdout=open(log, "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
                 for k, log in enumerate(logs)]
        while not all("started (rulebook" in log.read_text(errors="replace") for log in logs):
            time.sleep(0.1)
        t0 = time.monotonic()
        while True:
            with read_session(eng) as s:
                left = s.scalar(select(func.count()).select_from(Job).where(Job.state != "done"))
            if not left:
                break
            time.sleep(0.2)
        wall = time.monotonic() - t0
        load = uptime()
        for p in procs:
            p.terminate()
            p.wait(30)
        per = [len(re.findall(r" done in ", log.read_text(errors="replace"))) for log in logs]
        eng.dispose()
        return audio_s, wall, f"{load}; jobs per worker {per}"
    finally:
        s3.stop()
        pg.stop_immediate()
        pg.remove()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=8)
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cw-scaleout-"))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load {uptime()}")
    rows = []
    for n in (1, 2):
        audio_s, wall, note = round_(n, opts.sessions, work)
        rows.append((n, audio_s, wall, note))
        print(f"| {n} | {audio_s:.0f} | {wall:.1f} | {audio_s / wall:.2f} | {note} |", flush=True)
    print("\n| workers (1 core each) | audio s | wall s | audio s per wall s | load (1/5/15), jobs |\n|---|---|---|---|---|")
    for n, a, w, note in rows:
        print(f"| {n} | {a:.0f} | {w:.1f} | {a / w:.2f} | {note} |")
    print(f"\nspeed-up 2 vs 1: {(rows[1][1] / rows[1][2]) / (rows[0][1] / rows[0][2]):.2f}x (linear: 2.00x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
