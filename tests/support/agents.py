"""Capture agents through the real API: an app over a database and a store served by uvicorn on a
loopback port, a counter with an agent token bound to it, and the agent's HTTP client."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from api.app import create_app
from recorder.client import AgentClient
from services.catalog import Catalog, UnknownCounter
from services.tokens import issue_agent_token
from storage.engine import make_engine
from storage.objects import ObjectStore
from storage.schema import upgrade
from tests.support.net import AppServer, free_port


@dataclass
class AgentApi:
    """The API an agent of ``site/counter`` sends to; :meth:`stop` and :meth:`start` take it
    down and bring it back on the same port (an API restart)."""

    engine: Engine
    store: ObjectStore
    site: str
    counter: str
    token: str
    port: int = field(default_factory=free_port)
    server: AppServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def catalog(self) -> Catalog:
        return Catalog(self.engine)

    def start(self) -> AgentApi:
        self.server = AppServer(create_app(engine=self.engine, store=self.store), self.port).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def client(self, *, timeout_s: float = 3.0, token: str | None = None) -> AgentClient:
        return AgentClient(api_url=self.url, token=token or self.token, timeout_s=timeout_s)

    def token_for(self, counter: str, *, site: str | None = None, channels: str = "staff,customer") -> str:
        """A token of another counter (registered now)."""
        self.catalog.add_counter(site or self.site, counter, channels=channels)
        return issue_agent_token(self.engine, site=site or self.site, counter=counter, actor="test").token


def agent_env(api_url: str, token_file: Path, **extra: str) -> dict[str, str]:
    """An agent box's environment for ``counterwatch record``: the API and the token file, and
    nothing of the database or the store (this process's COUNTERWATCH_* left out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERWATCH_")}
    return {**env, "COUNTERWATCH_API_URL": api_url, "COUNTERWATCH_TOKEN_FILE": str(token_file), **extra}


@contextmanager
def serve_agent_api(engine: Engine, store: ObjectStore, *, site: str = "s1", counter: str = "c1",
                    channels: str | None = None) -> Iterator[AgentApi]:
    """A running API over ``engine`` and ``store`` with ``site/counter`` registered (with
    ``channels``, or as it is) and an agent token bound to it."""
    catalog = Catalog(engine)
    try:
        if channels is not None:
            raise UnknownCounter(site, counter)     # (re)register with these channels
        catalog.counter(site, counter)
    except UnknownCounter:
        catalog.add_counter(site, counter, channels=channels or "staff,customer")
    token = issue_agent_token(engine, site=site, counter=counter, actor="test").token
    api = AgentApi(engine=engine, store=store, site=site, counter=counter, token=token).start()
    try:
        yield api
    finally:
        api.stop()


@contextmanager
def agent_api(store: ObjectStore, *, db_url: str | None = None, tmp_path: Path | None = None, site: str = "s1",
              counter: str = "c1", channels: str = "staff,customer") -> Iterator[AgentApi]:
    """A running API over ``db_url`` (a migrated database; default: a new SQLite file in
    ``tmp_path``) and ``store`` (its bucket made), with ``site/counter`` registered and its token."""
    if db_url is None:
        assert tmp_path is not None, "give db_url or tmp_path"
        db_url = f"sqlite:///{tmp_path / f'agent-{uuid.uuid4().hex[:8]}.db'}"
        first = make_engine(db_url)
        upgrade(first)
        first.dispose()
    engine = make_engine(db_url)
    store.ensure_bucket()
    try:
        with serve_agent_api(engine, store, site=site, counter=counter, channels=channels) as api:
            yield api
    finally:
        engine.dispose()
