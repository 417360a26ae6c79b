"""Prometheus metrics of a screen player (``counterwatch signage --metrics-port``).

Items played and skipped and the transition gaps are counted by the player as they happen;
offline seconds, cache size and the last sync time are read from the syncer and the cache when
Prometheus scrapes (:class:`PlayerCollector`). Labels are kinds and reasons only.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

if TYPE_CHECKING:
    from signage.sync import ContentCache, Syncer

ITEMS_PLAYED = Counter("counterwatch_signage_items_played", "Items put on screen, by kind",
                       ["kind"])       # video | image | text | interrupt | board
ITEMS_SKIPPED = Counter("counterwatch_signage_items_skipped", "Items left out because their media is broken or absent",
                        ["reason"])    # corrupt | missing
TRANSITION_GAP_MS = Histogram("counterwatch_signage_transition_gap_ms",
                              "Milliseconds from switching media to its first picture",
                              buckets=(10, 25, 50, 100, 150, 200, 300, 500, 1000, 2000, 5000))

ANNOUNCEMENTS = Counter("counterwatch_signage_announcements", "Queue calls' spoken announcements, by outcome",
                        ["outcome"])   # spoken | chime (the server had no speech) | failed | dropped


def observe_announcement(outcome: str) -> None:
    ANNOUNCEMENTS.labels(outcome).inc()


def observe_played(kind: str) -> None:
    ITEMS_PLAYED.labels(kind).inc()


def observe_skipped(reason: str) -> None:
    ITEMS_SKIPPED.labels("corrupt" if reason.startswith("corrupt") else "missing").inc()


def observe_gap(gap_ms: float) -> None:
    TRANSITION_GAP_MS.observe(gap_ms)


class PlayerCollector(Collector):
    """Offline time, cache size and last sync of one screen, read at scrape time."""

    def __init__(self, *, syncer: Syncer, cache: ContentCache) -> None:
        self.syncer, self.cache = syncer, cache

    def collect(self) -> Iterator:
        st = self.syncer.state
        offline = sum(b - a for a, b in st.offline_periods)
        if st.offline_since_s is not None:
            offline += max(0.0, self.syncer.clock() - st.offline_since_s)
        m = CounterMetricFamily("counterwatch_signage_offline_seconds",
                                "Seconds this player could not reach the API (played from its cache)")
        m.add_metric([], offline)
        yield m
        g = GaugeMetricFamily("counterwatch_signage_cache_bytes", "Bytes of content in the player's cache")
        g.add_metric([], float(self.cache.size_bytes()))
        yield g
        g = GaugeMetricFamily("counterwatch_signage_last_sync_timestamp_seconds",
                              "Unix time of the last manifest the player got from the API (0: none yet)")
        g.add_metric([], float(st.last_sync_s or 0.0))
        yield g
        g = GaugeMetricFamily("counterwatch_signage_online", "1 while the API answers, 0 while playing from cache")
        g.add_metric([], 1.0 if st.online else 0.0)
        yield g


def register_player(*, syncer: Syncer, cache: ContentCache, registry: CollectorRegistry = REGISTRY) -> PlayerCollector:
    collector = PlayerCollector(syncer=syncer, cache=cache)
    registry.register(collector)
    return collector
