"""Long-running services: the worker and the API (the embedded stack, `up`, is counterwatch.commands.up)."""
from __future__ import annotations

import logging
import os
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

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from services.evidence import EvidenceLimits
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


def evidence_limits(s: Settings) -> EvidenceLimits:
    """How far the API believes agents' clocks (issue 18), from the settings."""
    from services.evidence import DAY_S, EvidenceLimits

    return EvidenceLimits(clock_skew_s=s.agent_clock_skew_s, max_backlog_s=s.agent_backlog_days * DAY_S)


def start_api(eng: Engine, store: ObjectStore, *, host: str, port: int, rules: Path | None = None,
              trusted_proxies: str = "", reuse_port: bool = False,
              evidence: EvidenceLimits | None = None) -> tuple[ApiServer, threading.Thread]:
    from api.app import create_app
    from transcribe.rules import load_rulebook

    proxies = tuple(p for p in trusted_proxies.split(",") if p.strip())
    try:
        app = create_app(engine=eng, store=store, rulebook=load_rulebook(rules), trusted_proxies=proxies,
                         evidence=evidence)
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
@click.option("--parent-pid", type=int, default=None, hidden=True,
              help="Stop when this process is no longer the parent (an API process of `up --api-processes`).")
@data_option
@click.pass_context
def api(ctx: click.Context, host: str, port: int, reuse_port: bool, parent_pid: int | None,
        data_dir: Path | None) -> None:
    """Serve the API and the web console. Several can run behind a load balancer, or on one
    port of one machine with --reuse-port."""
    s = settings_of(ctx, data_dir=data_dir)
    server, t = start_api(open_engine(s, service=True), open_store(s), host=host, port=port, rules=s.rules,
                          evidence=evidence_limits(s),
                          trusted_proxies=s.trusted_proxies, reuse_port=reuse_port)
    click.echo(f"API http://{host}:{server.port}/api/v1  console http://{host}:{server.port}/")
    stop = threading.Event()
    stop_on_signals(stop, "api")
    while not stop.wait(0.5) and t.is_alive():
        if parent_pid is not None and os.getppid() != parent_pid:
            logger.error("api: the parent process %d is gone; stopping", parent_pid)
            break
    server.should_exit = True
    t.join()
