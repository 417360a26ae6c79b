"""The embedded stack (`counterwatch up`), the composition root of a one-machine install: the
S3 server, the schema, worker threads, the health loop, the API and the agents' tokens, started
in that order and stopped in reverse."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from counterwatch.commands.common import alarm_options, data_option, fail, open_engine, open_store, settings_of, stop_on_signals
from counterwatch.commands.services import ApiServer, evidence_limits, make_worker, start_api
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

logger = logging.getLogger("counterwatch")


@click.command()
@click.option("--s3-port", type=int, default=0, help="Port of the embedded S3 server (default: as last time, or free).")
@click.option("--api-port", type=int, default=8000, help="Port of the API and web console (0: any free port).")
@click.option("--workers", type=click.IntRange(1, 8), default=1, help="Worker threads.")
@click.option("--api-processes", type=click.IntRange(1, 16), default=1, envvar="COUNTERWATCH_API_PROCESSES",
              help="API processes sharing the API port (SO_REUSEPORT): this one and N-1 `counterwatch api` "
                   "children, restarted when one exits [COUNTERWATCH_API_PROCESSES; default 1].")
@data_option
@click.pass_context
def up(ctx: click.Context, s3_port: int, api_port: int, workers: int, api_processes: int,
       data_dir: Path | None) -> None:
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
    api_server: ApiServer | None = None
    children: _ApiChildren | None = None
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
        api_server, api_thread = start_api(eng, store, host="127.0.0.1", port=api_port, rules=s.rules,
                                           evidence=evidence_limits(s), trusted_proxies=s.trusted_proxies,
                                           reuse_port=api_processes > 1)
        threads.append(api_thread)
        if api_processes > 1:
            children = _ApiChildren(_child_argv(ctx, s, p, api_server.port), api_processes - 1)
            children.start()
        issued = _agent_tokens(eng, p)
        write_state(p, endpoint=server.endpoint, access_key=server.access_key, secret_key=server.secret_key,
                    pid=os.getpid(), api_url=f"http://127.0.0.1:{api_server.port}")
        click.echo(f"counterwatch is up (data {p.root})")
        click.echo(f"  S3 server  http://{server.endpoint}  bucket {s.s3_bucket}  (rclone serve s3)")
        click.echo(f"  database   sqlite:///{p.db}")
        click.echo(f"  workers    {workers}")
        click.echo(f"  API        http://127.0.0.1:{api_server.port}/api/v1  (OpenAPI at /docs)")
        click.echo(f"  console    http://127.0.0.1:{api_server.port}/")
        if api_processes > 1:
            click.echo(f"  API processes {api_processes} on port {api_server.port} (this one and "
                       f"{api_processes - 1} `counterwatch api --reuse-port`)")
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
            elif children is not None:
                children.watch()
    finally:
        stop.set()
        if children is not None:
            children.stop()
        if api_server is not None:
            api_server.should_exit = True
        for t in threads:
            t.join()
        server.stop()
        try:
            p.state.unlink()
        except FileNotFoundError:
            pass
        click.echo("counterwatch stopped")


def _child_argv(ctx: click.Context, s: Settings, p: StackPaths, port: int) -> list[str]:
    """`counterwatch api` on ``port`` with SO_REUSEPORT, reaching this stack through ``p``'s state
    file as any other command does, with this process's --config and logging."""
    config = ctx.find_root().params.get("config")
    return [sys.executable, "-m", "counterwatch", *(["--config", str(config)] if config else []),
            "--log-level", s.log_level, "--log-format", s.log_format,
            "api", "--host", "127.0.0.1", "--port", str(port), "--reuse-port", "--data", str(p.root),
            "--parent-pid", str(os.getpid())]


class _ApiChildren:
    """The extra API processes of `up --api-processes N`, on up's API port. One that exits while
    up runs is logged and started again after ``BACKOFF_S`` (at most once per ``RESTART_EVERY_S``);
    they stop with SIGTERM, then SIGKILL after ``STOP_WAIT_S``. Each runs in its own process
    group, so a Ctrl-C at the terminal reaches up alone and up stops them, before its S3 server;
    each also stops by itself when up is gone (killed outright: ``api --parent-pid``)."""

    BACKOFF_S = 1.0
    RESTART_EVERY_S = 5.0
    STOP_WAIT_S = 20.0

    def __init__(self, argv: list[str], n: int) -> None:
        self.argv = argv
        self.procs: list[subprocess.Popen | None] = [None] * n
        self.started_at = [0.0] * n
        self.next_start = [0.0] * n

    def start(self) -> None:
        for i in range(len(self.procs)):
            self._start(i)

    def _start(self, i: int) -> None:
        # stdout (its own banner) is dropped: up printed the one that counts; its logs go to stderr
        proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, process_group=0)
        self.procs[i] = proc
        self.started_at[i] = time.monotonic()
        logger.info("up: API process %d started pid=%d", i + 1, proc.pid)

    def watch(self) -> None:
        """Note each child that has exited; start it again once its backoff has passed."""
        now = time.monotonic()
        for i, proc in enumerate(self.procs):
            if proc is not None and proc.poll() is not None:
                self.procs[i] = None
                self.next_start[i] = max(now + self.BACKOFF_S, self.started_at[i] + self.RESTART_EVERY_S)
                logger.error("up: API process %d pid=%d exited status=%s; restarting in %.1f s",
                             i + 1, proc.pid, proc.returncode, self.next_start[i] - now)
            if self.procs[i] is None and now >= self.next_start[i]:
                self._start(i)

    def stop(self) -> None:
        live = [p for p in self.procs if p is not None and p.poll() is None]
        try:
            for proc in live:
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.STOP_WAIT_S
            for proc in live:
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    logger.warning("up: API process pid=%d did not stop in %.0f s; killing it",
                                   proc.pid, self.STOP_WAIT_S)
                    proc.kill()
                    proc.wait()
        except BaseException:       # a second Ctrl-C while waiting: leave nothing running
            for proc in live:
                if proc.poll() is None:
                    proc.kill()
            raise


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


