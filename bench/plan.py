#!/usr/bin/env python3
"""Planning cost per chunk while one interaction stays open, incremental next to full re-decode.

    python bench/plan.py [--minutes 15] [--chunk-s 10]

A counter talks without a pause of 8 s for ``--minutes`` (tests/data dialogues joined by 2 s
gaps), stored chunk by chunk as an agent stores it (rclone S3 server, SQLite). After each chunk
the worker's plan job runs, as it does in service (the session's VAD stream, issue 12). At 1,
5 and 15 minutes open, the baseline (the plan before issue 12: decode every chunk since the
session's cursor, VAD over all of it, group) runs on the same stored audio in the same process.
Prints the per-chunk time of each (median of the chunks around each mark) and their ratio.
Target: the incremental plan's per-chunk time flat in the interaction's length.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATE = 16000
MARKS_MIN = (1, 5, 15)
AROUND = 2          # chunks either side of a mark


def baseline_plan(worker, sid: str, cursor: int, avail: int, split_silence_s: float, max_len_s: float) -> int:  # noqa: ANN001
    """What a plan job did per chunk before issue 12: decode from the cursor, VAD, group."""
    from transcribe.interactions import group_spans
    from transcribe.speakers import speech_regions

    audio = worker.load(sid, cursor, avail)
    mono = audio.mean(axis=0) if audio.shape[0] > 1 else audio[0]
    regions = [(cursor + int(a * RATE), cursor + int(b * RATE)) for a, b in speech_regions(mono, RATE)]
    return len(group_spans(regions, gap=int(split_silence_s * RATE), max_len=int(max_len_s * RATE)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=15.0, help="how long the interaction stays open")
    ap.add_argument("--chunk-s", type=float, default=10.0)
    args = ap.parse_args()

    import numpy as np

    from services.catalog import Catalog
    from storage.engine import make_engine
    from storage.objects import ObjectStore
    from storage.s3server import S3Server
    from storage.schema import upgrade
    from storage.tables import RecordingSession
    from tests.support.recordings import join_speech, store_chunk
    from transcribe.analyze import Analyzer
    from transcribe.asr import AsrOptions, Transcriber
    from transcribe.model import resolve_model
    from transcribe.rules import load_rulebook
    from transcribe.worker import Worker, WorkerOptions

    data = ROOT / "tests" / "data"
    talk = join_speech(data, "dev01-stereo-clean.flac", "dev05-stereo-clean.flac", "dev07-stereo-clean.flac",
                       "dev14-stereo-clean.flac", gap_s=2.0)
    gap = np.zeros((2 * RATE, 2), np.int16)
    need = int(args.minutes * 60 * RATE) + int(args.chunk_s * RATE) * (AROUND + 1)
    pcm = np.concatenate([np.concatenate([talk, gap])] * (need // (len(talk) + len(gap)) + 1))[:need]
    n = int(args.chunk_s * RATE)
    marks = {int(m * 60 * RATE) // n - 1: m for m in MARKS_MIN if m <= args.minutes}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"{len(pcm) / RATE / 60:.1f} min of talk without an 8 s pause, {args.chunk_s:g} s chunks")
    work = Path(tempfile.mkdtemp(prefix="cw-bench-plan-"))
    inc: dict[int, float] = {}
    base: dict[int, float] = {}
    try:
        with S3Server(data_dir=work / "s3") as server:
            store = ObjectStore(endpoint=server.endpoint, access_key=server.access_key,
                                secret_key=server.secret_key, bucket="bench")
            store.ensure_bucket()
            eng = make_engine(f"sqlite:///{work / 'plan.db'}")
            upgrade(eng)
            catalog = Catalog(eng)
            catalog.add_counter("hall", "c1")
            # The plan job needs no speech model; a sequential transcriber is loaded only because
            # the worker holds an analyzer.
            opts = WorkerOptions(max_interaction_s=3600.0)
            worker = Worker(engine=eng, store=store, name="bench-plan", options=opts,
                            analyzer=Analyzer(Transcriber(resolve_model(None), cpu_threads=1,
                                                          options=AsrOptions(batch_size=0)), load_rulebook()))
            sid, wall0 = uuid.uuid4().hex, time.time() - 7200
            for seq, start in enumerate(range(0, len(pcm) - n + 1, n)):
                store_chunk(catalog, store, site="hall", counter="c1", session=sid, wall0=wall0, seq=seq,
                            start=start, part=pcm[start:start + n])
                job = worker.queue.claim(worker.name, lease_s=60.0, kinds=("plan",))
                assert job is not None
                t0 = time.perf_counter()
                worker.run_jobs([job])
                inc[seq] = time.perf_counter() - t0
                if any(abs(seq - k) <= AROUND for k in marks):
                    with eng.connect() as c:
                        cursor = c.execute(RecordingSession.__table__.select().where(
                            RecordingSession.id == sid)).mappings().one()["planned_until_sample"]
                    t0 = time.perf_counter()
                    groups = baseline_plan(worker, sid, cursor, start + n, opts.split_silence_s, opts.max_interaction_s)
                    base[seq] = time.perf_counter() - t0
                    assert groups >= 1
            with eng.connect() as c:
                cursor = c.execute(RecordingSession.__table__.select().where(
                    RecordingSession.id == sid)).mappings().one()["planned_until_sample"]
            eng.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"cursor still at {cursor / RATE:.1f} s: the interaction stayed open throughout")
    print(f"\n{'open for':>9} {'incremental ms/chunk':>21} {'full re-decode ms/chunk':>24} {'ratio':>6}")
    for k, m in marks.items():
        near = [s for s in inc if abs(s - k) <= AROUND]
        i_ms = statistics.median(inc[s] for s in near) * 1000
        b_ms = statistics.median(base[s] for s in near if s in base) * 1000
        print(f"{m:>6g} min {i_ms:21.1f} {b_ms:24.1f} {b_ms / i_ms:6.1f}")
    first = [inc[s] for s in inc if s < 6]
    last = [inc[s] for s in sorted(inc)[-6:]]
    print(f"incremental, first 6 chunks median {statistics.median(first) * 1000:.1f} ms, last 6 "
          f"{statistics.median(last) * 1000:.1f} ms (target: flat)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
