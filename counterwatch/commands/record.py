"""The capture agent: `counterwatch record`, through the API with a token bound to its counter."""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from counterwatch.commands.common import data_option, fail, settings_of
from counterwatch.metrics_http import serve_metrics
from counterwatch.settings import Settings
from counterwatch.stack import StackError, paths, read_secret, read_state
from domain.audio import SILENCE_DBFS

if TYPE_CHECKING:
    from domain.chunks import ChunkMeta
    from recorder.agent import Heartbeat
    from recorder.client import AgentClient, Binding

logger = logging.getLogger("counterwatch")
#: Warn when the agent's token expires within this long.
EXPIRY_WARNING_S = 14 * 86400.0


@click.command()
@click.option("--counter", "counter_name", required=True, help="Counter name (its token is bound to it).")
@click.option("--source", required=True,
              help="pyaudio:<device name or index> or ffmpeg:<input> (RTSP/SDP URL, ALSA device, or a file "
                   "played in real time).")
@click.option("--api", "api_url", default=None,
              help="The counterwatch API, e.g. https://cw.hall.local [COUNTERWATCH_API_URL; default: the embedded "
                   "stack of --data].")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The agent's token, from `counterwatch agent token` (mode 0600) [COUNTERWATCH_TOKEN_FILE; "
                   "default DATA/agents/COUNTER.token].")
@click.option("--channels", "n_channels", type=click.IntRange(1, 2), default=None,
              help="Channels to capture (default: 2 unless the counter is registered as mono).")
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
def record(ctx: click.Context, counter_name: str, source: str, api_url: str | None, token_file: Path | None,
           n_channels: int | None, chunk_s: float | None, live_s: float | None, spool_dir: Path | None,
           spool_quota_mb: float | None, metrics_port: int | None, data_dir: Path | None) -> None:
    """Record a counter's intercom continuously, sending it to the API.

    The agent needs the API's address and its token only: no database URL, no store key. Audio
    goes to a local spool first (fsync) and is sent in order; the API checks every chunk and
    stores it once. While the API (or its store or database) is down, recording goes on into
    the spool and sending is retried with a capped, logged backoff. A chunk the API refuses for
    good is moved to the spool's quarantine folder. Ctrl-C once finishes the current chunk and
    sends what is spooled; twice stops at once (the spool keeps the rest for the next start).
    """
    from recorder import metrics
    from recorder.agent import Agent, handle_signals
    from recorder.client import AgentClient, TransportError
    from recorder.sources import SourceError, parse_source

    s = settings_of(ctx, data_dir=data_dir, chunk_s=chunk_s, live_s=live_s, spool_dir=spool_dir,
                    spool_quota_mb=spool_quota_mb, api_url=api_url, token_file=token_file)
    stop = threading.Event()
    try:
        client = AgentClient(api_url=_api_url(s), token=read_secret(_token_file(s, counter_name), "agent token"))
    except (StackError, ValueError) as e:
        fail(str(e))
    binding = _hello(client, counter_name, stop)
    channels = n_channels or (1 if binding.channels == "mono" else 2)
    src = parse_source(source, channels=channels)

    def on_heartbeat(hb: Heartbeat) -> None:
        try:
            client.heartbeat(level_dbfs=hb.rms_dbfs if hb.rms_dbfs is not None else SILENCE_DBFS, status=hb.status,
                             quarantined_chunks=hb.quarantined_chunks)
        except TransportError as e:
            logger.warning("counter %s: heartbeat not delivered: %s", counter_name, e)
            return
        metrics.observe_heartbeat(counter_name)

    def on_stored(meta: ChunkMeta) -> None:
        metrics.observe_stored(meta)

    agent = Agent(site=binding.site, counter=binding.counter, source=src, spool_dir=s.spool_dir or paths(s).spool,
                  sink=client, chunk_s=s.chunk_s, quota_bytes=int(s.spool_quota_mb * 2**20),
                  on_stored=on_stored, on_heartbeat=on_heartbeat, heartbeat_s=s.heartbeat_s, live_s=s.live_s)
    if metrics_port:
        metrics.register_agent(agent)
        serve_metrics(metrics_port, actor=f"counter {counter_name}")
    handle_signals(agent, stop)
    logger.info("counter %s: recording %s (session %s) to %s", counter_name, src, agent.session, client.api_url)
    try:
        stats = agent.run(stop)
    except SourceError as e:
        _end_session(client, agent.session)
        fail(str(e))
    _end_session(client, agent.session)
    quarantine = f", {stats.quarantined_chunks} refused and kept aside" if stats.quarantined_chunks else ""
    click.echo(f"counter {binding.site}/{binding.counter}: session {stats.session}: {stats.chunks_uploaded} chunks stored, "
               f"{stats.frames_captured / src.sample_rate_hz:.1f} s captured, {stats.dropped_samples} samples dropped, "
               f"{stats.leftover_chunks} left in the spool{quarantine}")


#: How long `record` waits for an embedded stack that is still starting (its API) before it
#: gives up (issue 18: the README's commands typed right after `up`; `counter add` writes the
#: counter's token at once).
STACK_WAIT_S = 120.0


def _wait_for(what: str, ready, timeout_s: float = STACK_WAIT_S):  # noqa: ANN001, ANN202
    """``ready()`` until it is truthy; says once that it waits. Raises StackError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    said = False
    while True:
        try:
            got = ready()
        except StackError:
            got = None
        if got:
            return got
        if time.monotonic() > deadline:
            return None
        if not said:
            click.echo(f"waiting for {what} (up to {timeout_s:.0f} s)...", err=True)
            said = True
        time.sleep(0.5)


def _api_url(s: Settings) -> str:
    if s.api_url:
        return s.api_url
    p = paths(s)
    url = read_state(p).get("api_url")      # no stack at all: says so at once
    if not url:     # `up` is still starting: its API comes soon
        url = _wait_for(f"the embedded stack at {p.root} to start its API", lambda: read_state(p).get("api_url"))
    if not url:
        raise StackError(f"the embedded stack at {p.root} has no API yet (is `counterwatch up --data {p.root}` "
                         f"running?); give --api URL")
    return str(url)


def _token_file(s: Settings, counter: str) -> Path:
    path = s.token_file or paths(s).agents / f"{counter}.token"
    if not path.exists():
        raise StackError(f"no agent token for counter {counter} at {path} (is the counter registered? issue one "
                         f"with `counterwatch agent token --counter {counter} --out {path}`)")
    return path


def _hello(client: AgentClient, counter: str, stop: threading.Event) -> Binding:
    """The token's binding; while the API cannot be reached this waits, as long as it takes,
    with a capped and logged backoff (an agent outlives an API restart)."""
    from recorder.client import ApiRefused, ApiUnavailable

    attempt = 0
    while True:
        try:
            binding = client.hello()
            break
        except ApiRefused as e:
            fail(f"counter {counter}: the API refused the agent token ({e}); issue a new one with "
                 f"`counterwatch agent token --counter {counter}`")
        except ApiUnavailable as e:
            attempt += 1
            delay = min(30.0, 0.5 * 2 ** min(attempt - 1, 10))
            logger.warning("counter %s: API unavailable (%s); retry %d in %.1f s", counter, e, attempt, delay)
            if stop.wait(delay):
                fail(f"counter {counter}: stopped before the API answered")
    if binding.counter != counter:
        fail(f"the token is for counter {binding.site}/{binding.counter}, not {counter}")
    if binding.token_expires_s is not None and binding.token_expires_s - time.time() < EXPIRY_WARNING_S:
        logger.warning("counter %s: the agent token expires in %.1f days; issue a new one with `counterwatch agent "
                       "token --counter %s`", counter, (binding.token_expires_s - time.time()) / 86400, counter)
    return binding


def _end_session(client: AgentClient, session: str) -> None:
    """Mark the session ended; with the API away, say so and go on: nothing is lost, the
    worker closes a session that has been idle for a while by itself."""
    from recorder.client import TransportError

    try:
        client.end_session(session)
    except TransportError as e:
        logger.warning("session %s: could not mark it ended (%s); the worker closes it when it has been idle",
                       session, e)
