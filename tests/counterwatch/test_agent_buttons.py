"""The hall's hardware call button on a capture agent's box (issue 21 item 1): `counterwatch agent
call` and `counterwatch agent buttons` as an operator runs them, with the agent's own token file,
against the real API served on a loopback port: the next ticket of the agent's counter is
called, and the token cannot act on another counter."""
from __future__ import annotations

import os
import pty
import subprocess
import time
from pathlib import Path

import pytest

from services.tokens import issue_agent_token
from tests.support.cli import popen_cli, run_cli
from tests.support.net import serve_app
from tests.support.stack import AppEnv

pytestmark = pytest.mark.slow


def _hall(env: AppEnv, tmp_path: Path) -> dict:
    sup = env.client(env.make_user("supervisor"))
    svc = sup.post("/api/v1/queue/services", json={"site": "hall", "name": "综合业务", "prefix": "A",
                                                    "counters": ["c1", "c2"]})
    assert svc.status_code == 201, svc.text
    admin = env.client(env.make_user("admin"))
    kiosk = env.client(admin.post("/api/v1/devices", json={"role": "kiosk", "site": "hall", "name": "k1"}).json()["token"])
    tickets = [kiosk.post("/api/v1/queue/tickets", json={"site": "hall", "service_id": svc.json()["id"]}).json()["code"]
               for _ in range(3)]
    token = tmp_path / "c1.token"
    token.write_text(issue_agent_token(env.engine, site="hall", counter="c1", actor="t").token)
    token.chmod(0o600)
    return {"sup": sup, "tickets": tickets, "token": str(token),
            "c1": env.counter_id("hall", "c1"), "c2": env.counter_id("hall", "c2")}


def _serving(env: AppEnv, h: dict, counter: str) -> dict:
    return h["sup"].get(f"/api/v1/queue/counters/{h[counter]}").json()


def test_agent_call_calls_its_own_counter_only(app_env: AppEnv, tmp_path: Path):
    h = _hall(app_env, tmp_path)
    env = {"COUNTERWATCH_DATA": str(tmp_path / "data")}
    with serve_app(app_env.app) as base:
        args = ("--counter", "c1", "--api", base, "--token-file", h["token"])
        called = run_cli("agent", "call", "next", *args, env=env)
        assert called.returncode == 0, called.stderr
        assert called.stdout.strip() == f"c1: {h['tickets'][0]}"
        assert _serving(app_env, h, "c1")["ticket"] == h["tickets"][0]
        again = run_cli("agent", "call", "recall", *args, env=env)
        assert again.returncode == 0 and again.stdout.strip() == f"c1: {h['tickets'][0]}", again.stderr
        assert run_cli("agent", "call", "pause", *args, env=env).returncode == 0
        assert _serving(app_env, h, "c1")["paused"] is True
        assert run_cli("agent", "call", "resume", *args, env=env).returncode == 0
        assert _serving(app_env, h, "c1")["paused"] is False
        # the token is c1's: naming c2 on the command line changes nothing, the API refuses c2
        other = run_cli("agent", "call", "next", "--counter", "c2", "--api", base, "--token-file", h["token"], env=env)
        assert other.returncode == 0 and other.stdout.startswith("c1: "), other.stderr
        assert _serving(app_env, h, "c2").get("ticket") is None
        from recorder.client import AgentClient, ApiRefused

        client = AgentClient(api_url=base, token=Path(h["token"]).read_text())
        with pytest.raises(ApiRefused) as refused:
            client.queue(h["c2"], "call-next")
        assert refused.value.status == 403
        client.close()
        bad = run_cli("agent", "call", "next", "--counter", "c1", "--api", base, "--token-file",
                      str(tmp_path / "missing.token"), env=env)
        assert bad.returncode == 2 and "missing.token" in bad.stderr and "Traceback" not in bad.stderr
        wrong = tmp_path / "wrong.token"
        wrong.write_text("cw_not-a-real-token")
        wrong.chmod(0o600)
        bad = run_cli("agent", "call", "next", "--counter", "c1", "--api", base, "--token-file", str(wrong), env=env)
        assert bad.returncode == 2 and "401" in bad.stderr and "Traceback" not in bad.stderr
    audit = [(r.action, r.user_name) for r in app_env.audit_rows() if r.action.startswith("queue.")]
    assert ("queue.call", "agent:hall/c1") in audit


def test_agent_buttons_reads_a_keypad_on_a_pipe_and_on_a_terminal(app_env: AppEnv, tmp_path: Path):
    h = _hall(app_env, tmp_path)
    env = {"COUNTERWATCH_DATA": str(tmp_path / "data")}
    with serve_app(app_env.app) as base:
        args = ("agent", "buttons", "--counter", "c1", "--api", base, "--token-file", h["token"])
        # a pipe (evtest / a udev hook writing key names): one key per line
        p = popen_cli(*args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
        out, err = p.communicate("KEY_KP1\nbogus\n3\n", timeout=120)
        assert p.returncode == 0, err
        assert "2 press(es) sent" in err and "bogus" in err
        state = _serving(app_env, h, "c1")
        assert state["ticket"] == h["tickets"][0] and state["paused"] is True
        # a terminal (the keypad typing into the box's console): each key acts at once, no Enter
        master, slave = pty.openpty()
        p = popen_cli(*args, env=env, stdin=slave, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
        os.close(slave)
        try:
            assert "ready" in p.stderr.readline()        # the binding is checked first
            os.write(master, b"4")
            deadline = time.monotonic() + 90
            while _serving(app_env, h, "c1")["paused"]:
                assert time.monotonic() < deadline, "the resume key did nothing"
                time.sleep(0.3)
            os.write(master, b"1")
            while _serving(app_env, h, "c1")["ticket"] != h["tickets"][1]:
                assert time.monotonic() < deadline, "the call-next key did nothing"
                time.sleep(0.3)
            os.write(master, b"\x04")
            _, err = p.communicate(timeout=60)
            assert p.returncode == 0 and "2 press(es) sent" in err, err
        finally:
            if p.poll() is None:
                p.kill()
            os.close(master)
