"""The embedded stack (`counterwatch up`), the composition root of a one-machine install: the
S3 server, the schema, worker threads, the health loop, the API and the agents' tokens, started
in that order and stopped in reverse."""
from __future__ import annotations

import logging
import os
import sys
import threading
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
    api_server: ApiServer | None = None
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
                                           evidence=evidence_limits(s))
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


