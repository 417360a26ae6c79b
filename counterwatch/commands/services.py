"""Long-running services: the worker, the embedded stack (`up`), the API."""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from counterwatch.commands.analysis import build_analyzer
from counterwatch.commands.common import (
    alarm_options,
    asr_options,
    data_option,
    fail,
    open_engine,
    open_store,
    settings_of,
    stop_on_signals,
)
from counterwatch.metrics_http import serve_metrics
from counterwatch.settings import Settings
from counterwatch.stack import (
    StackError,
    StackPaths,
    database_url,
    paths,
    private_dir,
    read_state,
    write_secret,
    write_state,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from storage.objects import ObjectStore
    from transcribe.analyze import Analyzer
    from transcribe.worker import Worker

logger = logging.getLogger("counterwatch")


def make_worker(s: Settings, engine: Engine, store: ObjectStore, *, name: str | None = None,
                analyzer: Analyzer | None = None) -> Worker:
    """A worker over ``engine`` and ``store`` whose sweeps also evaluate the health alarms (so a
    deployment without `counterwatch up` still raises them). ``analyzer``: default, from ``s``."""
    from services import alarms, rulebooks
    from transcribe.worker import Worker, WorkerOptions

    options = alarm_options(s)
    analyzer = analyzer or build_analyzer(s)
    from_settings = analyzer.rulebook

    def on_sweep() -> None:
        alarms.evaluate(engine, options)
        # A rulebook applied in the rule bench takes over from the settings' file (issue 14).
        rulebooks.follow(engine, analyzer, from_settings)

    return Worker(engine=engine, store=store, analyzer=analyzer, name=name,
                  options=WorkerOptions(lease_s=s.lease_s, split_silence_s=s.split_silence_s,
                                        batch_interactions=s.worker_batch_interactions, nice=s.worker_nice),
                  on_sweep=on_sweep)


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--max-jobs", type=int, default=None, help="Exit after this many jobs.")
@click.option("--max-idle-s", type=float, default=None, help="Exit after this long without a job.")
@asr_options
@click.option("--batch-interactions", "worker_batch_interactions", type=click.IntRange(1, 64), default=None,
              help="Queued interactions transcribed in one batch [COUNTERWATCH_WORKER_BATCH_INTERACTIONS; default 8].")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None, envvar="COUNTERWATCH_WORKER_METRICS_PORT",
              help="Serve Prometheus metrics on 127.0.0.1:PORT [COUNTERWATCH_WORKER_METRICS_PORT; default off].")
@data_option
@click.pass_context
def worker(ctx: click.Context, burst: bool, max_jobs: int | None, max_idle_s: float | None, device: str | None,
           compute_type: str | None, asr_batch_size: int | None, worker_batch_interactions: int | None,
           metrics_port: int | None, data_dir: Path | None) -> None:
    """Transcribe and check stored recordings: cut sessions into interactions, analyse each.

    Any number of workers may run against PostgreSQL; with SQLite, run them on one machine.
    Ctrl-C once finishes the current job; twice stops now (the job's lease runs out and
    another worker takes it).
    """
    s = settings_of(ctx, data_dir=data_dir, device=device, compute_type=compute_type, asr_batch_size=asr_batch_size,
                    worker_batch_interactions=worker_batch_interactions)
    stop = threading.Event()
    analyzer = build_analyzer(s)    # a model that cannot load (or no GPU) fails before the database is opened
    w = make_worker(s, open_engine(s, service=True, stop=stop), open_store(s), analyzer=analyzer)
    if metrics_port:
        serve_metrics(metrics_port, actor=f"worker {w.name}")
    stop_on_signals(stop, f"worker {w.name}")
    n = w.work(stop, burst=burst, max_jobs=max_jobs, max_idle_s=max_idle_s)
    click.echo(f"worker {w.name}: {n} jobs done")


@click.command()
@click.option("--s3-port", type=int, default=0, help="Port of the embedded S3 server (default: as last time, or free).")
@click.option("--api-port", type=int, default=8000, help="Port of the API and web console (0: any free port).")
@click.option("--workers", type=click.IntRange(1, 8), default=1, help="Worker threads.")
@data_option
@click.pass_context
def up(ctx: click.Context, s3_port: int, api_port: int, workers: int, data_dir: Path | None) -> None:
    """Run the embedded stack on 127.0.0.1: S3 server, SQLite, worker(s). Ctrl-C stops it.

    All state lives under --data DIR. Other commands reach this stack with the same --data
    (or COUNTERWATCH_DATA). The database schema is brought up to date first.
    """
    from storage.engine import make_engine
    from storage.s3server import S3Server, S3ServerError
    from storage.schema import upgrade

    s = settings_of(ctx, data_dir=data_dir)
    p = paths(s)
    private_dir(p.root)
    p.s3_dir.mkdir(parents=True, exist_ok=True)
    old: dict = {}
    if p.state.exists():
        try:
            old = read_state(p)
        except StackError:
            old = {}
        if old.get("pid") and old["pid"] != os.getpid() and _alive(old["pid"]):
            fail(f"a stack already runs on {p.root} (pid {old['pid']})")
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
            fail(str(e))
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        write_state(p, endpoint=server.endpoint, access_key=server.access_key, secret_key=server.secret_key,
                    pid=os.getpid())
        store = open_store(s)
        store.ensure_bucket()
        upgrade(make_engine(database_url(s)))
        eng = open_engine(s)
        for i in range(workers):
            w = make_worker(s, eng, store, name=f"up-worker-{i}")
            t = threading.Thread(target=w.work, args=(stop,), name=f"worker-{i}")
            t.start()
            threads.append(t)
        health = threading.Thread(target=_health_loop, args=(eng, s, stop), name="health")
        health.start()
        threads.append(health)
        api_server, api_thread = start_api(eng, store, host="127.0.0.1", port=api_port, rules=s.rules)
        issued = _agent_tokens(eng, p)
        threads.append(api_thread)
        write_state(p, endpoint=server.endpoint, access_key=server.access_key, secret_key=server.secret_key,
                    pid=os.getpid(), api_url=f"http://127.0.0.1:{api_server.port}")
        click.echo(f"counterwatch is up (data {p.root})")
        click.echo(f"  S3 server  http://{server.endpoint}  bucket {s.s3_bucket}  (rclone serve s3)")
        click.echo(f"  database   sqlite:///{p.db}")
        click.echo(f"  workers    {workers}")
        click.echo(f"  API        http://127.0.0.1:{api_server.port}/api/v1  (OpenAPI at /docs)")
        click.echo(f"  console    http://127.0.0.1:{api_server.port}/")
        click.echo(f"  agents     tokens in {p.agents}" + (f" (new: {', '.join(issued)})" if issued else ""))
        click.echo(f"  record:    counterwatch record --data {p.root} --counter NAME --source ffmpeg:FILE")
        click.echo(f"  a counter added later: counterwatch agent token --data {p.root} --counter NAME")
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


class ApiServer:
    """uvicorn in a thread, stoppable; remembers the port it bound. With ``reuse_port`` it
    listens with SO_REUSEPORT on exactly ``port``, so several API processes share one port and
    the kernel spreads new connections over them (sessions live in the database, so any of
    them serves any client)."""

    def __init__(self, app: Any, host: str, port: int, *, reuse_port: bool = False) -> None:
        import socket

        import uvicorn

        from storage.s3server import free_port, port_is_free

        self._sockets: list[socket.socket] | None = None
        if reuse_port:
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                sock.bind((host, port))
            except OSError as e:
                sock.close()
                raise click.ClickException(f"cannot listen on {host}:{port}: {e.strerror}") from e
            self._sockets = [sock]
            port = sock.getsockname()[1]
        elif port == 0 or not port_is_free(host, port):
            port = free_port(host)
        self.port = port
        # proxy_headers off: X-Forwarded-* are believed from the configured proxies only (api.edge).
        # Keep-alive longer than a console's pause between requests: a connection the server
        # closes just as the browser reuses it fails that request (the load bench saw a few).
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, proxy_headers=False,
                                                     server_header=False, access_log=False, lifespan="off",
                                                     timeout_keep_alive=75))

    @property
    def should_exit(self) -> bool:
        return self._server.should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._server.should_exit = value

    def run(self) -> None:
        self._server.run(sockets=self._sockets)

    @property
    def started(self) -> bool:
        return self._server.started


def start_api(eng: Engine, store: ObjectStore, *, host: str, port: int, rules: Path | None = None,
              trusted_proxies: str = "", reuse_port: bool = False) -> tuple[ApiServer, threading.Thread]:
    from api.app import create_app
    from transcribe.rules import load_rulebook

    proxies = tuple(p for p in trusted_proxies.split(",") if p.strip())
    try:
        app = create_app(engine=eng, store=store, rulebook=load_rulebook(rules), trusted_proxies=proxies)
    except ValueError as e:      # a trusted proxy that is no address
        fail(str(e))
    server = ApiServer(app, host, port, reuse_port=reuse_port)
    t = threading.Thread(target=server.run, name="api")
    t.start()
    deadline = time.monotonic() + 15
    while not server.started and t.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise click.ClickException(f"the API did not start on {host}:{server.port}")
    return server, t


@click.command()
@click.option("--host", default="127.0.0.1", help="Address to bind (behind a TLS proxy in production).")
@click.option("--port", type=int, default=8000)
@click.option("--reuse-port", is_flag=True,
              help="Listen with SO_REUSEPORT: several API processes on one port share the connections.")
@data_option
@click.pass_context
def api(ctx: click.Context, host: str, port: int, reuse_port: bool, data_dir: Path | None) -> None:
    """Serve the API and the web console. Several can run behind a load balancer, or on one
    port of one machine with --reuse-port."""
    s = settings_of(ctx, data_dir=data_dir)
    server, t = start_api(open_engine(s, service=True), open_store(s), host=host, port=port, rules=s.rules,
                          trusted_proxies=s.trusted_proxies, reuse_port=reuse_port)
    click.echo(f"API http://{host}:{server.port}/api/v1  console http://{host}:{server.port}/")
    stop = threading.Event()
    stop_on_signals(stop, "api")
    while not stop.wait(0.5) and t.is_alive():
        pass
    server.should_exit = True
    t.join()


def _agent_tokens(engine: Engine, p: StackPaths) -> list[str]:
    """Issue a token into ``DATA/agents/<counter>.token`` for each counter that has none, so
    `counterwatch record --data DATA` finds its own (the embedded stack's agents run here)."""
    from services.catalog import Catalog
    from services.tokens import issue_agent_token

    issued = []
    for c in Catalog(engine).counters():
        path = p.agents / f"{c.name}.token"
        if path.exists():
            continue
        t = issue_agent_token(engine, site=c.site, counter=c.name, actor="up")
        write_secret(path, t.token + "\n")
        issued.append(f"{c.site}/{c.name}")
    return issued


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _health_loop(engine: Engine, s: Settings, stop: threading.Event) -> None:
    from services import alarms

    options = alarm_options(s)
    while not stop.wait(15.0):
        try:
            alarms.evaluate(engine, options)
        except Exception:  # the health check must outlive a database hiccup
            logger.exception("health: alarm evaluation failed")


