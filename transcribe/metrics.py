"""Prometheus metrics of the transcription worker (issue 6, item 5).

Registered on prometheus_client's default registry; ``counterwatch worker --metrics-port``
serves them on 127.0.0.1. Labels are job kinds and outcomes only: no names, ids or text.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

JOBS = Counter("counterwatch_worker_jobs", "Jobs run by this worker process, by kind and outcome",
               ["kind", "outcome"])      # outcome: done | retry | failed
AUDIO_SECONDS = Counter("counterwatch_worker_audio_seconds", "Seconds of audio analysed")
PROCESSING_SECONDS = Counter("counterwatch_worker_processing_seconds", "Seconds spent analysing that audio")
REALTIME_FACTOR = Histogram("counterwatch_worker_realtime_factor",
                            "Analysis time divided by audio duration, per analyze job (below 1: faster than real time)",
                            buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0))


def observe_analysis(*, audio_s: float, processing_s: float) -> None:
    if audio_s > 0:
        AUDIO_SECONDS.inc(audio_s)
        PROCESSING_SECONDS.inc(processing_s)
        REALTIME_FACTOR.observe(processing_s / audio_s)
