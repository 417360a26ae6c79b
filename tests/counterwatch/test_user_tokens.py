"""Issue 11, item 4: token lifecycle through the CLI as an operator runs it, checked against the
API on the same database (both backends): tokens expire unless ``--no-expiry``, ``user tokens``
lists them (never the token), ``user revoke`` ends one, ``user disable`` ends all and the
logins, a new password ends the other console sessions, machine and human accounts never turn
into each other."""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from services.accounts import add_user
from services.catalog import Catalog
from services.tokens import issue_agent_token
from storage.engine import make_engine
from tests.support.cli import run_cli
from tests.support.stack import PASSWORD

NEW_PASSWORD = "another horse battery"


@pytest.fixture()
def env(db_url: str, tmp_path):
    eng = make_engine(db_url)
    Catalog(eng).add_counter("hall", "c1")
    app = create_app(engine=eng, store=None)
    try:
        yield eng, app, {"COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_DATA_DIR": str(tmp_path / "data")}
    finally:
        eng.dispose()


def _me(app, token: str) -> int:
    return TestClient(app, headers={"Authorization": f"Bearer {token}"}).get("/api/v1/auth/me").status_code


def _cli(cli_env: dict[str, str], *args: str):
    r = run_cli(*args, env=cli_env)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.slow      # a dozen CLI processes: seconds each, in the full suite, not the fast loop
def test_tokens_expire_are_listed_revoked_and_disabled(env):
    eng, app, cli_env = env
    rc, first, err = _cli(cli_env, "user", "add", "王主管", "--role", "supervisor", "--site", "hall", "--ttl-days", "30")
    assert rc == 0, err
    rc, second, err = _cli(cli_env, "user", "add", "王主管", "--role", "supervisor", "--site", "hall", "--no-expiry")
    assert rc == 0, err
    first, second = first.strip(), second.strip()
    assert _me(app, first) == 200 and _me(app, second) == 200
    rc, listed, err = _cli(cli_env, "user", "tokens", "王主管")
    assert rc == 0, err
    lines = listed.strip().splitlines()
    assert len(lines) == 2 and first not in listed and second not in listed
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
    assert f"expires {day}" in lines[0] and "expires never" in lines[1], lines

    rc, out, err = _cli(cli_env, "user", "revoke", lines[0].split("\t")[0])
    assert rc == 0 and "revoked" in out, err
    assert _me(app, first) == 401 and _me(app, second) == 200

    add_user(eng, "王主管", role="supervisor", sites=["hall"], password=PASSWORD)
    anon = TestClient(app, headers={"X-Counterwatch": "1"})
    assert anon.post("/api/v1/auth/login", json={"name": "王主管", "password": PASSWORD}).status_code == 200
    rc, out, err = _cli(cli_env, "user", "disable", "王主管")
    assert rc == 0 and "disabled" in out, err
    assert _me(app, second) == 401 and anon.get("/api/v1/auth/me").status_code == 401
    assert anon.post("/api/v1/auth/login", json={"name": "王主管", "password": PASSWORD}).status_code == 401
    rc, out, err = _cli(cli_env, "user", "revoke", "999999")
    assert rc != 0 and "Traceback" not in err, err


def test_a_new_password_ends_the_other_console_sessions(env):
    eng, app, _ = env
    add_user(eng, "李主管", role="supervisor", sites=["hall"], password=PASSWORD)
    cli_token = add_user(eng, "李主管", role="supervisor", sites=["hall"]).token
    browser = TestClient(app, headers={"X-Counterwatch": "1"})
    assert browser.post("/api/v1/auth/login", json={"name": "李主管", "password": PASSWORD}).status_code == 200
    assert browser.get("/api/v1/auth/me").status_code == 200
    add_user(eng, "李主管", role="supervisor", sites=["hall"], password=NEW_PASSWORD)
    assert browser.get("/api/v1/auth/me").status_code == 401
    assert _me(app, cli_token) == 200                        # a CLI token is not a console session
    again = TestClient(app, headers={"X-Counterwatch": "1"})
    assert again.post("/api/v1/auth/login", json={"name": "李主管", "password": PASSWORD}).status_code == 401
    assert again.post("/api/v1/auth/login", json={"name": "李主管", "password": NEW_PASSWORD}).status_code == 200


@pytest.mark.slow      # a dozen CLI processes: seconds each, in the full suite, not the fast loop
def test_machine_and_human_accounts_never_turn_into_each_other(env):
    eng, app, cli_env = env
    agent = issue_agent_token(eng, site="hall", counter="c1", actor="test")
    for name, role in (("screen:lobbyA", "viewer"), (agent.user, "admin"), ("agent:hall/c9", "agent")):
        rc, out, err = _cli(cli_env, "user", "add", name, "--role", role, "--site", "hall")
        assert rc != 0 and out == "" and "machine" in err and "Traceback" not in err, (name, err)
    rc, _, err = _cli(cli_env, "user", "add", "viewer-one", "--role", "viewer", "--site", "hall")
    assert rc == 0, err
    rc, out, err = _cli(cli_env, "user", "add", "viewer-one", "--role", "screen", "--site", "hall")
    assert rc != 0 and out == "" and "machine user" in err, err
    assert _me(app, agent.token) == 200
    rc, listed, err = _cli(cli_env, "user", "tokens", agent.user)
    assert rc == 0 and "\tagent\t" in listed and "expires never" not in listed, (listed, err)
