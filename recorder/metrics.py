"""Prometheus metrics of a capture agent (issue 6, item 5).

Most values are read from the running :class:`~recorder.agent.Agent` when Prometheus scrapes
(:class:`AgentCollector`), so the capture and upload threads do no extra work for them. The
upload lag and the last heartbeat are observed by the callbacks the entry point gives the
agent (:func:`observe_stored`, :func:`observe_heartbeat`). Served by ``counterwatch record
--metrics-port`` on 127.0.0.1. The only label is the counter name: no session ids or audio.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from domain.chunks import ChunkMeta
from domain.vocab import AGENT_STATUSES

if TYPE_CHECKING:
    from recorder.agent import Agent


UPLOAD_LAG = Histogram(
    "counterwatch_agent_upload_lag_seconds",
    "Time from the end of a chunk's audio to the API confirming it stored and catalogued",
    ["counter"], buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600))
LAST_HEARTBEAT = Gauge("counterwatch_agent_last_heartbeat_timestamp_seconds",
                       "Unix time of the agent's last heartbeat that reached the catalog", ["counter"])


def observe_stored(meta: ChunkMeta, *, now_s: float | None = None) -> None:
    """A chunk is in the store and the catalog: record its upload lag."""
    end_s = meta.wall_start_s + meta.duration_s
    UPLOAD_LAG.labels(meta.counter).observe(max(0.0, (now_s or time.time()) - end_s))


def observe_heartbeat(counter: str, *, at_s: float | None = None) -> None:
    """A heartbeat was recorded in the catalog."""
    LAST_HEARTBEAT.labels(counter).set(at_s or time.time())


class AgentCollector(Collector):
    """Counts and spool state of one agent, read at scrape time."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def collect(self) -> Iterator:
        a, label = self.agent, [self.agent.counter]
        st, up, rate = a.stats, a.uploader, a.sample_rate_hz

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            m = CounterMetricFamily(name, doc, labels=["counter"])
            m.add_metric(label, value)
            return m

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            m = GaugeMetricFamily(name, doc, labels=["counter"])
            m.add_metric(label, value)
            return m

        yield counter("counterwatch_agent_chunks_captured", "Chunks cut from the source (spooled + dropped)",
                      st.chunks_spooled + st.dropped_chunks)
        yield counter("counterwatch_agent_chunks_spooled", "Chunks written to the local spool", st.chunks_spooled)
        yield counter("counterwatch_agent_chunks_uploaded",
                      "Chunks stored and catalogued (including ones left in the spool by an earlier run)",
                      up.uploaded)
        yield counter("counterwatch_agent_chunks_dropped", "Chunks lost because the spool was full",
                      st.dropped_chunks)
        yield counter("counterwatch_agent_dropped_audio_seconds", "Seconds of audio lost to a full spool",
                      st.dropped_samples / rate)
        yield counter("counterwatch_agent_captured_audio_seconds", "Seconds of audio read from the source",
                      st.frames_captured / rate)
        yield counter("counterwatch_agent_upload_retries", "Failed upload attempts that were retried",
                      up.retries)
        yield counter("counterwatch_agent_chunks_quarantined",
                      "Chunks the API refused for good during this run, moved to the spool's quarantine",
                      up.quarantined)
        yield gauge("counterwatch_agent_spool_pending_chunks", "Chunks in the spool waiting for upload",
                    len(a.spool))
        yield gauge("counterwatch_agent_spool_pending_bytes", "Bytes of the spool in use", a.spool.usage_bytes)
        yield gauge("counterwatch_agent_spool_quota_bytes", "Spool disk quota", a.spool.quota_bytes)
        live = st.live
        yield counter("counterwatch_agent_live_segments_published", "Live segments stored for live listening",
                      live.segments if live is not None else 0)
        yield counter("counterwatch_agent_live_segments_skipped", "Live segments not stored (store down)",
                      live.skipped_segments if live is not None else 0)
        status = GaugeMetricFamily("counterwatch_agent_status", "1 for the agent's current status",
                                   labels=["counter", "status"])
        now = a.status
        for s in AGENT_STATUSES:
            status.add_metric([a.counter, s], 1.0 if s == now else 0.0)
        yield status


def register_agent(agent: Agent, registry: CollectorRegistry = REGISTRY) -> AgentCollector:
    """Expose ``agent``'s metrics on ``registry`` (the default one, served by
    ``prometheus_client.start_http_server``)."""
    collector = AgentCollector(agent)
    registry.register(collector)
    return collector
