"""The capture agent: `counterwatch record`."""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from counterwatch.commands.common import data_option, fail, open_engine, open_store, settings_of, site_option
from counterwatch.metrics_http import serve_metrics
from counterwatch.stack import paths
from domain.audio import SILENCE_DBFS

if TYPE_CHECKING:
    from domain.chunks import ChunkMeta
    from recorder.agent import Heartbeat
    from services.catalog import Catalog
    from storage.objects import ObjectInfo

logger = logging.getLogger("counterwatch")


@click.command()
@click.option("--counter", "counter_name", required=True, help="Counter name (registered with `counter add`).")
@click.option("--source", required=True,
              help="pyaudio:<device name or index> or ffmpeg:<input> (RTSP/SDP URL, ALSA device, or a file "
                   "played in real time).")
@click.option("--channels", "n_channels", type=click.IntRange(1, 2), default=None,
              help="Channels to capture (default: 2 unless the counter is registered as mono).")
@site_option
@click.option("--chunk-s", type=float, default=None, help="Chunk length in seconds (default 10).")
@click.option("--live-s", type=click.FloatRange(0, 10), default=None,
              help="Live segment length in seconds for live listening (default 1; 0: off).")
@click.option("--spool-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Local spool (default DATA/spool).")
@click.option("--quota-mb", "spool_quota_mb", type=float, default=None, help="Spool disk quota in MiB (default 2048).")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None, envvar="COUNTERWATCH_AGENT_METRICS_PORT",
              help="Serve Prometheus metrics on 127.0.0.1:PORT [COUNTERWATCH_AGENT_METRICS_PORT; default off].")
@data_option
@click.pass_context
def record(ctx: click.Context, counter_name: str, source: str, n_channels: int | None, site: str | None,
           chunk_s: float | None, live_s: float | None, spool_dir: Path | None, spool_quota_mb: float | None,
           metrics_port: int | None, data_dir: Path | None) -> None:
    """Record a counter's intercom continuously into the object store.

    Audio goes to a local spool first (fsync) and is uploaded in order with a checksum the
    store verifies; while the store is down, recording goes on into the spool. Ctrl-C once
    finishes the current chunk and uploads what is spooled; twice stops at once (the spool
    keeps the rest for the next start).
    """
    from recorder import metrics
    from recorder.agent import Agent, handle_signals
    from recorder.sources import SourceError, parse_source
    from services.catalog import Catalog, CatalogError

    s = settings_of(ctx, site=site, data_dir=data_dir, chunk_s=chunk_s, live_s=live_s, spool_dir=spool_dir,
                  spool_quota_mb=spool_quota_mb)
    stop = threading.Event()
    # An agent never gives up on a busy or restarting database: it waits, logging each retry.
    catalog = Catalog(open_engine(s, service=True, stop=stop))
    try:
        info = catalog.counter(s.site, counter_name)
    except CatalogError as e:
        fail(str(e))
    store = open_store(s)
    channels = n_channels or (1 if info.channels == "mono" else 2)
    try:
        src = parse_source(source, channels=channels)
    except SourceError as e:
        fail(str(e))

    def on_heartbeat(hb: Heartbeat) -> None:
        catalog.heartbeat(s.site, counter_name, level_dbfs=hb.rms_dbfs if hb.rms_dbfs is not None else SILENCE_DBFS,
                          status=hb.status)
        metrics.observe_heartbeat(counter_name)

    def on_stored(meta: ChunkMeta, _info: ObjectInfo) -> None:
        catalog.register_chunk(meta)
        metrics.observe_stored(meta)

    agent = Agent(site=s.site, counter=counter_name, source=src, spool_dir=s.spool_dir or paths(s).spool,
                  store=store, chunk_s=s.chunk_s, quota_bytes=int(s.spool_quota_mb * 2**20),
                  on_stored=on_stored, on_heartbeat=on_heartbeat,
                  # Object Lock (where the bucket has it): chunks locked until capture + retention.
                  retention_days=catalog.retention_days(s.site),
                  heartbeat_s=s.heartbeat_s, live_s=s.live_s,
                  on_live=lambda m: catalog.set_live(m.site, m.counter, session=m.session, seq=m.seq,
                                                     wall_start_s=m.wall_start_s, at_s=m.published_s))
    if metrics_port:
        metrics.register_agent(agent)
        serve_metrics(metrics_port, actor=f"counter {counter_name}")
    handle_signals(agent, stop)
    logger.info("counter %s: recording %s (session %s)", counter_name, src, agent.session)
    try:
        stats = agent.run(stop)
    except SourceError as e:
        _end_session(catalog, agent.session)
        fail(str(e))
    _end_session(catalog, agent.session)
    click.echo(f"counter {s.site}/{counter_name}: session {stats.session}: {stats.chunks_uploaded} chunks stored, "
               f"{stats.frames_captured / src.sample_rate_hz:.1f} s captured, {stats.dropped_samples} samples dropped, "
               f"{stats.leftover_chunks} left in the spool")


def _end_session(catalog: Catalog, session: str) -> None:
    """Mark the session ended; with the database away, say so and go on: nothing is lost, the
    worker closes a session that has been idle for a while by itself."""
    from storage.engine import DB_UNAVAILABLE

    try:
        catalog.end_session(session)
    except DB_UNAVAILABLE as e:     # as the worker: a restart (OperationalError) or a cut connection
        logger.warning("session %s: could not mark it ended (database unavailable: %s); the worker "
                       "closes it when it has been idle", session, type(e).__name__)


