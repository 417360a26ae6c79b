"""Scale-out (issue 12, item 5): two ``counterwatch api`` processes on one port (SO_REUSEPORT,
``--reuse-port``) serve the same console session and search: a person logs in once, through the
shared port; each process alone, the other stopped, still knows the session and answers the
search (sessions live in the database, not in a process)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from storage.s3server import free_port
from tests.support.net import wait_for
from tests.support.stack import PASSWORD, AppEnv


def _start(port: int, env: dict[str, str], tmp_path, k: int) -> subprocess.Popen:
    log = open(tmp_path / f"api{k}.log", "wb")  # noqa: SIM115 - the process writes it; closed with the test
    return subprocess.Popen([sys.executable, "-m", "counterwatch", "api", "--port", str(port), "--reuse-port",
                             "--data", str(tmp_path / f"data{k}")], env=env, stdout=log, stderr=subprocess.STDOUT)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _search_all_ok(url: str, cookies: httpx.Cookies, n: int) -> list[int]:
    """``n`` searches, each on a new connection (the kernel picks a process per connection)."""
    codes = []
    for _ in range(n):
        with httpx.Client(base_url=url, cookies=cookies, timeout=30) as c:
            r = c.get("/api/v1/interactions/search", params={"q": "办理什么"})
            codes.append(r.status_code)
            assert r.status_code != 200 or [h["interaction_id"] for h in r.json()]
    return codes


@pytest.mark.slow      # two API processes (uvicorn subprocesses) on one port: seconds each, in the full suite, not the fast loop
def test_two_api_processes_on_one_port_serve_the_same_session(app_env: AppEnv, db_url: str, s3_server, tmp_path):
    app_env.add_interaction(segments=[(0.0, 2.0, "staff", "您好，请问办理什么业务")])
    name = "sup-two-procs"
    app_env.make_user("supervisor", name=name, password=PASSWORD)
    env = {**os.environ, "COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_S3_ENDPOINT": s3_server.endpoint,
           "COUNTERWATCH_S3_ACCESS_KEY": s3_server.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3_server.secret_key,
           "COUNTERWATCH_S3_BUCKET": app_env.store.bucket}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs = [_start(port, env, tmp_path, 1), _start(port, env, tmp_path, 2)]
    try:
        wait_for(lambda: _up(url), 60, "the API on the shared port")
        wait_for(lambda: all(p.poll() is None for p in procs) and len(list(tmp_path.glob("api*.log"))) == 2
                 and all(b"API http://" in (tmp_path / f"api{k}.log").read_bytes() for k in (1, 2)), 60,
                 "both API processes listening")
        r = httpx.post(f"{url}/api/v1/auth/login", json={"name": name, "password": PASSWORD},
                       headers={"X-Counterwatch": "1"}, timeout=30)      # as the console sends it
        assert r.status_code == 200, r.text
        cookies = r.cookies
        assert _search_all_ok(url, cookies, 20) == [200] * 20
        for k in (0, 1):                        # each process alone serves the session
            procs[k].send_signal(signal.SIGTERM)
            assert procs[k].wait(30) == 0
            assert _search_all_ok(url, cookies, 10) == [200] * 10
            procs[k] = _start(port, env, tmp_path, k + 1 + 2)
            wait_for(lambda k=k: b"API http://" in (tmp_path / f"api{k + 3}.log").read_bytes(), 60, "restarted")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
