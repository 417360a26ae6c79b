"""Pipeline commands: counters, the capture agent, the worker, the embedded stack, queries."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import click

from counterwatch.cli import EXIT_BAD_INPUT, _settings, build_analyzer, cli
from counterwatch.metrics_http import serve_metrics
from counterwatch.settings import Settings
from counterwatch.stack import (StackError, engine, object_store, paths, read_state, redact_url,
                               write_state)

logger = logging.getLogger("counterwatch")

data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                           envvar="COUNTERWATCH_DATA",
                           help="State directory of the embedded stack [COUNTERWATCH_DATA; default ./counterwatch-data].")
site_option = click.option("--site", default=None, help="Site name [COUNTERWATCH_SITE; default hall].")


def _fail(msg: str, code: int = EXIT_BAD_INPUT) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def _engine(s: Settings):  # noqa: ANN202
    try:
        return engine(s)
    except Exception as e:  # SQLAlchemy raises many kinds for a bad URL or a down server
        if s.database_url is None:
            _fail(f"database {paths(s).db}: {e.__class__.__name__}: {e}")
        url = s.database_url.get_secret_value()
        _fail(redact_url(f"database {url}: {e.__class__.__name__}: {e}", url))


def _store(s: Settings):  # noqa: ANN202
    try:
        return object_store(s)
    except StackError as e:
        _fail(str(e))


def stop_on_signals(stop: threading.Event, what: str, on_second=None) -> None:  # noqa: ANN001
    """First SIGINT/SIGTERM: finish the current work and stop; second: stop now."""

    def handler(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if not stop.is_set():
            logger.warning("%s: %s: finishing current work (again to stop now)", what, name)
            stop.set()
        elif on_second is not None:
            logger.warning("%s: %s again: stopping now", what, name)
            on_second()
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


# -- counters and events ----------------------------------------------------------------------

@cli.group()
def counter() -> None:
    """Register and list counters (窗口)."""


@counter.command("add")
@click.argument("name")
@site_option
@click.option("--channels", type=click.Choice(["staff,customer", "customer,staff", "mono"]), default="staff,customer",
              help="Which side each stereo channel of this counter's intercom carries.")
@data_option
@click.pass_context
def counter_add(ctx: click.Context, name: str, site: str | None, channels: str, data_dir: Path | None) -> None:
    """Register counter NAME (idempotent; updates its channel map)."""
    from recorder.chunk import BadName
    from storage.catalog import Catalog, CatalogError

    s = _settings(ctx, site=site, data_dir=data_dir)
    try:
        info = Catalog(_engine(s)).add_counter(s.site, name, channels=channels)
    except (BadName, CatalogError) as e:
        _fail(str(e))
    click.echo(f"counter {info.site}/{info.name} (#{info.id}) channels={info.channels}")


@counter.command("list")
@data_option
@click.pass_context
def counter_list(ctx: click.Context, data_dir: Path | None) -> None:
    """List counters with their health."""
    from storage.catalog import Catalog

    s = _settings(ctx, data_dir=data_dir)
    for c in Catalog(_engine(s)).counters():
        click.echo(f"{c.site}/{c.name}\t#{c.id}\t{c.channels}")


@cli.command()
@click.argument("kind", type=click.Choice(["queue_call", "rating", "pause", "resume"]))
@click.option("--counter", "counter_name", required=True, help="Counter name.")
@site_option
@click.option("--at", "at_s", type=float, default=None, help="Unix time of the event (default: now).")
@click.option("--ticket", default=None, help="Queue ticket (queue_call), e.g. A012.")
@click.option("--level", type=click.Choice(["非常满意", "满意", "一般", "不满意"]), default=None,
              help="Rating level (rating).")
@data_option
@click.pass_context
def event(ctx: click.Context, kind: str, counter_name: str, site: str | None, at_s: float | None,
          ticket: str | None, level: str | None, data_dir: Path | None) -> None:
    """Record a hall event: a queue call, a rating press, or a pause/resume (暂停服务).

    Queue calls and rating presses bound interactions in the recordings.
    """
    from storage.catalog import Catalog, CatalogError

    s = _settings(ctx, site=site, data_dir=data_dir)
    if kind == "rating" and not level:
        _fail("a rating needs --level")
    payload = {k: v for k, v in (("ticket", ticket), ("level", level)) if v}
    try:
        eid = Catalog(_engine(s)).add_event(s.site, counter_name, kind=kind, at_s=at_s or time.time(), payload=payload)
    except CatalogError as e:
        _fail(str(e))
    click.echo(f"event #{eid} {kind} {s.site}/{counter_name} {json.dumps(payload, ensure_ascii=False)}")


@cli.group()
def staff() -> None:
    """Who is on duty at which counter (interactions and reports are attributed to them)."""


@staff.command("on")
@click.argument("name")
@click.option("--counter", "counter_name", required=True)
@site_option
@click.option("--at", "at_s", type=float, default=None, help="Unix time the shift starts (default: now).")
@data_option
@click.pass_context
def staff_on(ctx: click.Context, name: str, counter_name: str, site: str | None, at_s: float | None,
             data_dir: Path | None) -> None:
    """NAME starts a shift at the counter (ending whoever was on duty there)."""
    from storage.catalog import Catalog, CatalogError

    s = _settings(ctx, site=site, data_dir=data_dir)
    try:
        sid = Catalog(_engine(s)).start_shift(s.site, counter_name, name, at_s=at_s)
    except CatalogError as e:
        _fail(str(e))
    click.echo(f"shift #{sid}: {name} on duty at {s.site}/{counter_name}")


@staff.command("off")
@click.option("--counter", "counter_name", required=True)
@site_option
@click.option("--at", "at_s", type=float, default=None, help="Unix time the shift ends (default: now).")
@data_option
@click.pass_context
def staff_off(ctx: click.Context, counter_name: str, site: str | None, at_s: float | None,
              data_dir: Path | None) -> None:
    """End the shift at the counter."""
    from storage.catalog import Catalog, CatalogError

    s = _settings(ctx, site=site, data_dir=data_dir)
    try:
        n = Catalog(_engine(s)).end_shift(s.site, counter_name, at_s=at_s)
    except CatalogError as e:
        _fail(str(e))
    click.echo(f"{n} shift(s) ended at {s.site}/{counter_name}")


# -- capture agent ------------------------------------------------------------------------------

@cli.command()
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
    from storage.catalog import Catalog, CatalogError

    s = _settings(ctx, site=site, data_dir=data_dir, chunk_s=chunk_s, live_s=live_s, spool_dir=spool_dir,
                  spool_quota_mb=spool_quota_mb)
    catalog = Catalog(_engine(s))
    try:
        info = catalog.counter(s.site, counter_name)
    except CatalogError as e:
        _fail(str(e))
    store = _store(s)
    channels = n_channels or (1 if info.channels == "mono" else 2)
    try:
        src = parse_source(source, channels=channels)
    except SourceError as e:
        _fail(str(e))

    def on_heartbeat(hb) -> None:  # noqa: ANN001
        catalog.heartbeat(s.site, counter_name, level_dbfs=hb.rms_dbfs if hb.rms_dbfs is not None else -120.0,
                          status=hb.status)
        metrics.observe_heartbeat(counter_name)

    def on_stored(meta, _info) -> None:  # noqa: ANN001
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
    stop = threading.Event()
    handle_signals(agent, stop)
    logger.info("counter %s: recording %s (session %s)", counter_name, src, agent.session)
    try:
        stats = agent.run(stop)
    except SourceError as e:
        _end_session(catalog, agent.session)
        _fail(str(e))
    _end_session(catalog, agent.session)
    click.echo(f"counter {s.site}/{counter_name}: session {stats.session}: {stats.chunks_uploaded} chunks stored, "
               f"{stats.frames_captured / src.sample_rate_hz:.1f} s captured, {stats.dropped_samples} samples dropped, "
               f"{stats.leftover_chunks} left in the spool")


def _end_session(catalog, session: str) -> None:  # noqa: ANN001 - storage.catalog.Catalog
    """Mark the session ended; with the database away, say so and go on: nothing is lost, the
    worker closes a session that has been idle for a while by itself."""
    from storage.db import DB_UNAVAILABLE

    try:
        catalog.end_session(session)
    except DB_UNAVAILABLE as e:     # as the worker: a restart (OperationalError) or a cut connection
        logger.warning("session %s: could not mark it ended (database unavailable: %s); the worker "
                       "closes it when it has been idle", session, type(e).__name__)


# -- worker and the embedded stack ------------------------------------------------------------------

def alarm_options(s: Settings) -> dict:
    """The health-alarm thresholds from the settings, as keyword arguments of
    ``Catalog.evaluate_alarms`` (and fields of ``WorkerOptions``): one place for the worker's
    sweep, `up`'s health loop and `status`."""
    lo, hi = (int(x) for x in s.opening_hours.split("-"))
    return dict(silent_after_s=s.silent_after_s, gone_after_s=s.gone_after_s,
                screen_gone_after_s=s.screen_gone_after_s, opening_hours=(lo, hi))


def _worker(s: Settings, *, name: str | None = None):  # noqa: ANN202
    from transcribe.worker import Worker, WorkerOptions

    return Worker(engine=_engine(s), store=_store(s), analyzer=build_analyzer(s), name=name,
                  options=WorkerOptions(lease_s=s.lease_s, split_silence_s=s.split_silence_s, **alarm_options(s)))


@cli.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--max-jobs", type=int, default=None, help="Exit after this many jobs.")
@click.option("--max-idle-s", type=float, default=None, help="Exit after this long without a job.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None, envvar="COUNTERWATCH_WORKER_METRICS_PORT",
              help="Serve Prometheus metrics on 127.0.0.1:PORT [COUNTERWATCH_WORKER_METRICS_PORT; default off].")
@data_option
@click.pass_context
def worker(ctx: click.Context, burst: bool, max_jobs: int | None, max_idle_s: float | None,
           metrics_port: int | None, data_dir: Path | None) -> None:
    """Transcribe and check stored recordings: cut sessions into interactions, analyse each.

    Any number of workers may run against PostgreSQL; with SQLite, run them on one machine.
    Ctrl-C once finishes the current job; twice stops now (the job's lease runs out and
    another worker takes it).
    """
    s = _settings(ctx, data_dir=data_dir)
    w = _worker(s)
    if metrics_port:
        serve_metrics(metrics_port, actor=f"worker {w.name}")
    stop = threading.Event()
    stop_on_signals(stop, f"worker {w.name}")
    n = w.work(stop, burst=burst, max_jobs=max_jobs, max_idle_s=max_idle_s)
    click.echo(f"worker {w.name}: {n} jobs done")


@cli.command()
@click.option("--s3-port", type=int, default=0, help="Port of the embedded S3 server (default: as last time, or free).")
@click.option("--api-port", type=int, default=8000, help="Port of the API and web console (0: any free port).")
@click.option("--workers", type=click.IntRange(1, 8), default=1, help="Worker threads.")
@data_option
@click.pass_context
def up(ctx: click.Context, s3_port: int, api_port: int, workers: int, data_dir: Path | None) -> None:
    """Run the embedded stack on 127.0.0.1: S3 server, SQLite, worker(s). Ctrl-C stops it.

    All state lives under --data DIR. Other commands reach this stack with the same --data
    (or COUNTERWATCH_DATA).
    """
    from storage.catalog import Catalog
    from storage.s3server import S3Server, S3ServerError

    s = _settings(ctx, data_dir=data_dir)
    p = paths(s)
    p.s3_dir.mkdir(parents=True, exist_ok=True)
    old: dict = {}
    if p.state.exists():
        try:
            old = read_state(p)
        except StackError:
            old = {}
        if old.get("pid") and old["pid"] != os.getpid() and _alive(old["pid"]):
            _fail(f"a stack already runs on {p.root} (pid {old['pid']})")
    port = s3_port or int(str(old.get("s3_endpoint", ":0")).rsplit(":", 1)[1] or 0)
    keys = {k: old[k] for k in ("access_key", "secret_key") if k in old}
    if "s3_access_key" in old:
        keys = {"access_key": old["s3_access_key"], "secret_key": old["s3_secret_key"]}
    server = S3Server(data_dir=p.s3_dir, port=port, **keys)
    try:
        server.start()
    except S3ServerError as e:
        if port and s3_port == 0:   # last time's port is taken now: take any
            server = S3Server(data_dir=p.s3_dir, port=0, **keys)
            server.start()
        else:
            _fail(str(e))
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        write_state(p, endpoint=server.endpoint, access_key=server.access_key, secret_key=server.secret_key,
                    pid=os.getpid())
        store = _store(s)
        store.ensure_bucket()
        eng = _engine(s)
        catalog = Catalog(eng)
        for i in range(workers):
            w = _worker(s, name=f"up-worker-{i}")
            t = threading.Thread(target=w.work, args=(stop,), name=f"worker-{i}")
            t.start()
            threads.append(t)
        health = threading.Thread(target=_health_loop, args=(catalog, s, stop), name="health")
        health.start()
        threads.append(health)
        api_server, api_thread = start_api(eng, store, host="127.0.0.1", port=api_port)
        threads.append(api_thread)
        write_state(p, endpoint=server.endpoint, access_key=server.access_key, secret_key=server.secret_key,
                    pid=os.getpid(), api_url=f"http://127.0.0.1:{api_server.port}")
        click.echo(f"counterwatch is up (data {p.root})")
        click.echo(f"  S3 server  http://{server.endpoint}  bucket {s.s3_bucket}  (rclone serve s3)")
        click.echo(f"  database   sqlite:///{p.db}")
        click.echo(f"  workers    {workers}")
        click.echo(f"  API        http://127.0.0.1:{api_server.port}/api/v1  (OpenAPI at /docs)")
        click.echo(f"  console    http://127.0.0.1:{api_server.port}/")
        click.echo(f"  record:    counterwatch record --data {p.root} --counter NAME --source ffmpeg:FILE")
        click.echo(f"  users:     counterwatch user add NAME --role admin --data {p.root} --password")
        click.echo("Ctrl-C to stop.", nl=True)
        sys.stdout.flush()
        stop_on_signals(stop, "up")
        while not stop.wait(0.5):
            if not server.running:
                logger.error("up: the S3 server exited; stopping")
                stop.set()
    finally:
        stop.set()
        if "api_server" in locals():
            api_server.should_exit = True
        for t in threads:
            t.join()
        server.stop()
        try:
            p.state.unlink()
        except FileNotFoundError:
            pass
        click.echo("counterwatch stopped")


class _ApiServer:
    """uvicorn in a thread, stoppable; remembers the port it bound."""

    def __init__(self, app, host: str, port: int) -> None:  # noqa: ANN001
        import uvicorn

        if port == 0 or not _port_free(host, port):
            port = _free_port(host)
        self.port = port
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None,
                                                     access_log=False, lifespan="off"))

    @property
    def should_exit(self) -> bool:
        return self._server.should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._server.should_exit = value

    def run(self) -> None:
        self._server.run()

    @property
    def started(self) -> bool:
        return self._server.started


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_api(eng, store, *, host: str, port: int) -> tuple[_ApiServer, threading.Thread]:  # noqa: ANN001
    from api.app import create_app

    server = _ApiServer(create_app(engine=eng, store=store), host, port)
    t = threading.Thread(target=server.run, name="api")
    t.start()
    deadline = time.monotonic() + 15
    while not server.started and t.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise click.ClickException(f"the API did not start on {host}:{server.port}")
    return server, t


@cli.command()
@click.option("--host", default="127.0.0.1", help="Address to bind (behind a TLS proxy in production).")
@click.option("--port", type=int, default=8000)
@data_option
@click.pass_context
def api(ctx: click.Context, host: str, port: int, data_dir: Path | None) -> None:
    """Serve the API and the web console. Several can run behind a load balancer."""
    s = _settings(ctx, data_dir=data_dir)
    server, t = start_api(_engine(s), _store(s), host=host, port=port)
    click.echo(f"API http://{host}:{server.port}/api/v1  console http://{host}:{server.port}/")
    stop = threading.Event()
    stop_on_signals(stop, "api")
    while not stop.wait(0.5) and t.is_alive():
        pass
    server.should_exit = True
    t.join()


@cli.group()
def user() -> None:
    """Users of the API and console, and machine tokens."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "supervisor", "viewer", "agent", "screen"]), required=True)
@click.option("--site", "sites", multiple=True, help="Site the user may see (repeatable); none: all (admin).")
@click.option("--password", is_flag=True, help="Ask for a console password (or read COUNTERWATCH_USER_PASSWORD).")
@data_option
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, sites: tuple[str, ...], password: bool,
             data_dir: Path | None) -> None:
    """Create or update user NAME and print a new API token (shown once)."""
    from api.users import UserError, add_user
    from recorder.chunk import BadName

    s = _settings(ctx, data_dir=data_dir)
    pw = None
    if password:
        pw = os.environ.get("COUNTERWATCH_USER_PASSWORD") or click.prompt(
            "password", hide_input=True, confirmation_prompt=True)
    try:
        u = add_user(_engine(s), name, role=role, sites=list(sites), password=pw)
    except (UserError, BadName) as e:
        _fail(str(e))
    click.echo(f"user {u.name} (#{u.id}) role={u.role} sites={','.join(u.sites) or 'all'}", err=True)
    click.echo(u.token)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _health_loop(catalog, s: Settings, stop: threading.Event) -> None:  # noqa: ANN001
    options = alarm_options(s)
    while not stop.wait(15.0):
        try:
            catalog.evaluate_alarms(**options)
        except Exception:  # the health check must outlive a database hiccup
            logger.exception("health: alarm evaluation failed")


# -- queries -----------------------------------------------------------------------------------

def _since(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        _fail(f"--since {value!r}: use ISO format, e.g. 2026-11-22 or 2026-11-22T09:00")


def _clock(t: float) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


@cli.command()
@click.argument("query")
@click.option("--counter", "counter_name", default=None, help="Only this counter.")
@site_option
@click.option("--since", default=None, help="Only interactions from this time on (ISO date or date-time).")
@click.option("--limit", type=int, default=50)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit.")
@data_option
@click.pass_context
def search(ctx: click.Context, query: str, counter_name: str | None, site: str | None, since: str | None,
           limit: int, as_json: bool, data_dir: Path | None) -> None:
    """Find interactions whose transcript contains QUERY (substring: 下班 finds 快下班了)."""
    from sqlalchemy.orm import Session

    from storage.search import SearchError, SearchFilters, search_segments

    s = _settings(ctx, data_dir=data_dir)
    try:
        with Session(_engine(s)) as db:
            hits = search_segments(db, query, filters=SearchFilters(site=site, counter=counter_name,
                                                                    since_s=_since(since)), limit=limit)
    except SearchError as e:
        _fail(f"search {query!r}: {e.reason}")
    for h in hits:
        if as_json:
            click.echo(json.dumps({"interaction": h.interaction_id, "site": h.site, "counter": h.counter,
                                   "start": h.wall_start_s, "offset": round(h.offset_s, 2), "speaker": h.speaker,
                                   "snippet": h.snippet}, ensure_ascii=False))
        else:
            click.echo(f"#{h.interaction_id}\t{h.site}/{h.counter}\t{_clock(h.wall_start_s)}\t+{h.offset_s:6.1f}s\t"
                       f"{h.speaker}\t{h.snippet}")
    if not hits and not as_json:
        click.echo("no matches")


@cli.command()
@click.option("--rule", default=None, help="Only this rule id, e.g. F-CLOSING.")
@click.option("--type", "kind", type=click.Choice(["forbidden", "missing_courtesy"]), default=None)
@click.option("--counter", "counter_name", default=None, help="Only this counter.")
@site_option
@click.option("--limit", type=int, default=200)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per flag.")
@data_option
@click.pass_context
def flags(ctx: click.Context, rule: str | None, kind: str | None, counter_name: str | None, site: str | None,
          limit: int, as_json: bool, data_dir: Path | None) -> None:
    """List courtesy flags of analysed interactions, newest first."""
    from storage import queries

    s = _settings(ctx, data_dir=data_dir)
    rows = queries.flags(_engine(s), rule=rule, kind=kind, site=site, counter=counter_name, limit=limit)
    for f in rows:
        if as_json:
            click.echo(json.dumps({"id": f.id, "interaction": f.interaction_id, "site": f.site, "counter": f.counter,
                                   "start": f.wall_start_s, "type": f.type, "rule": f.rule, "phrase": f.phrase,
                                   "evidence": f.evidence, "offset": round(f.offset_s, 2), "speaker": f.speaker,
                                   "confidence": round(f.confidence, 3), "review": f.review_state},
                                  ensure_ascii=False))
        else:
            what = f"{f.evidence} ({f.phrase})" if f.type == "forbidden" else "-"
            click.echo(f"#{f.interaction_id}\t{f.site}/{f.counter}\t{_clock(f.wall_start_s)}\t+{f.offset_s:6.1f}s\t"
                       f"{f.type}\t{f.rule}\t{f.confidence:.2f}\t{what}")
    if not rows and not as_json:
        click.echo("no flags")


@cli.command()
@data_option
@click.pass_context
def status(ctx: click.Context, data_dir: Path | None) -> None:
    """Counters' health (heartbeat, input level, alarms) and the job queue."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.catalog import Catalog
    from storage.db import Counter, Site
    from storage.jobs import JobQueue

    s = _settings(ctx, data_dir=data_dir)
    eng = _engine(s)
    alarms = Catalog(eng).evaluate_alarms(**alarm_options(s))
    now = time.time()
    with Session(eng) as db:
        for c, site_name in db.execute(select(Counter, Site.name).join(Site).order_by(Site.name, Counter.name)):
            age = f"{now - c.last_heartbeat_s:.0f}s ago" if c.last_heartbeat_s else "never"
            level = f"{c.last_level_dbfs:.0f} dBFS" if c.last_level_dbfs is not None else "-"
            click.echo(f"{site_name}/{c.name}\theartbeat {age}\tlevel {level}\tagent {c.agent_status}"
                       f"{'  暂停服务' if c.paused else ''}")
    for where, kind, detail in alarms:
        click.echo(f"ALARM {where} {kind}: {detail}")
    click.echo(f"jobs {json.dumps(JobQueue(eng).depth())}")
    if alarms:
        sys.exit(1)


@cli.command()
@click.option("--counter", "counter_name", default=None, help="Only this counter.")
@site_option
@click.option("--limit", type=int, default=10, help="How many interactions (newest first).")
@click.option("--wait", "wait_s", type=float, default=0.0,
              help="First wait up to this many seconds for queued work to finish.")
@data_option
@click.pass_context
def show(ctx: click.Context, counter_name: str | None, site: str | None, limit: int, wait_s: float,
         data_dir: Path | None) -> None:
    """Print the newest interactions: transcript, speakers and flags."""
    from storage import queries
    from storage.jobs import JobQueue

    s = _settings(ctx, data_dir=data_dir)
    eng = _engine(s)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        depth = JobQueue(eng).depth()
        if not depth.get("queued") and not depth.get("running") and depth:
            break
        time.sleep(1.0)
    views = queries.interactions(eng, site=site, counter=counter_name, limit=limit)
    for v in views:
        click.echo(f"== #{v.id} {v.site}/{v.counter} {_clock(v.wall_start_s)} ({v.duration_s:.0f} s, "
                   f"rulebook {v.rulebook_version})")
        for a, b, who, text in v.segments:
            click.echo(f"   {a:6.1f}-{b:6.1f}  {who:<8} {text}")
        for f in v.flags:
            what = f"{f.evidence} ({f.phrase})" if f.type == "forbidden" else ""
            click.echo(f"   FLAG {f.type:<16} {f.rule:<14} +{f.offset_s:5.1f}s  conf {f.confidence:.2f}  {what}")
    if not views:
        click.echo("no interactions analysed yet")
