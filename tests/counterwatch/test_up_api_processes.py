"""Issue 23, item 2: `counterwatch up --api-processes 2` runs a second API process (`counterwatch
api --reuse-port`) on its API port; both listen, requests on fresh connections all succeed, a
killed child is started again, and Ctrl-C leaves no child running."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.net import wait_for

pytestmark = pytest.mark.slow


def _children(pid: int) -> set[int]:
    """Live (not zombie) `counterwatch api` processes whose parent is ``pid`` (not its S3 server)."""
    out = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and b"api" in argv and b"--reuse-port" in argv:
            out.add(int(d.name))
    return out


def _listeners(port: int, pids: set[int]) -> set[int]:
    """Which of ``pids`` hold a socket listening on TCP ``port`` (from /proc: inode → fd)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "0A":      # 0A: LISTEN
                inodes.add(f"socket:[{f[9]}]")
    found = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    found.add(pid)
            except OSError:
                continue
    return found


def test_up_with_two_api_processes_shares_the_port_restarts_a_child_and_stops_them(tmp_path: Path):
    data = tmp_path / "data"
    env = {**os.environ, "COUNTERWATCH_DATA": str(data), "COUNTERWATCH_CPU_THREADS": "2",
           "COUNTERWATCH_LOG_LEVEL": "INFO"}
    err = open(tmp_path / "up.err", "wb")  # noqa: SIM115 - up writes it; closed with the test
    up = subprocess.Popen([sys.executable, "-m", "counterwatch", "up", "--api-processes", "2", "--api-port", "0"],
                          env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    seen: set[int] = set()
    try:
        lines: list[str] = []
        while not any("Ctrl-C" in line for line in lines):
            line = up.stdout.readline()
            assert line, f"up exited early: {lines} {(tmp_path / 'up.err').read_text()}"
            lines.append(line)
        out = "".join(lines)
        api = re.search(r"API\s+(http://127\.0\.0\.1:(\d+))/api/v1", out)
        url, port = api.group(1), int(api.group(2))
        assert f"API processes 2 on port {port}" in out, out

        def two_listen() -> bool:
            kids = _children(up.pid)
            seen.update(kids)
            return len(kids) == 1 and _listeners(port, {up.pid} | kids) == {up.pid} | kids
        wait_for(two_listen, 120, "up and its API child both listening on the API port")
        (child,) = _children(up.pid)

        added = subprocess.run([sys.executable, "-m", "counterwatch", "user", "add", "ops-two", "--role", "admin"],
                               env=env, capture_output=True, text=True, timeout=300)
        assert added.returncode == 0, added.stderr
        token = added.stdout.strip().splitlines()[-1]
        codes = []
        for _ in range(40):             # a new connection each: the kernel picks a process per connection
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
                r = c.get("/api/v1/auth/me")
                codes.append(r.status_code)
                assert r.status_code != 200 or r.json()["name"] == "ops-two", r.text
        assert codes == [200] * 40

        os.kill(child, signal.SIGKILL)
        wait_for(lambda: (kids := _children(up.pid)) and child not in kids
                 and _listeners(port, {up.pid} | kids) == {up.pid} | kids, 60,
                 "a new API child listening after the old one was killed")
        seen.update(_children(up.pid))
        assert up.poll() is None
        assert re.search(rf"API process 1 pid={child} exited status=-9",
                         (tmp_path / "up.err").read_text()), (tmp_path / "up.err").read_text()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            assert c.get("/api/v1/auth/me").status_code == 200
    finally:
        up.send_signal(signal.SIGINT)
        try:
            rc = up.wait(120)
        finally:
            left = []
            for pid in seen:             # never leave a child behind, even after a failure
                try:
                    os.kill(pid, signal.SIGKILL)
                    left.append(pid)
                except ProcessLookupError:
                    pass
            err.close()
    assert not left, f"API children {left} still ran after up stopped"
    assert rc == 0, (tmp_path / "up.err").read_text()
    assert len(seen) == 2
    assert "counterwatch stopped" in up.stdout.read()
    assert not (data / "stack.json").exists()


def _all_children(pid: int) -> set[int]:
    """Every live process whose parent is ``pid`` (the API children and the S3 server)."""
    out = set()
    for d in Path("/proc").iterdir():
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split() if d.name.isdigit() else None
        except OSError:
            continue
        if fields is not None and int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(d.name))
    return out


def test_api_processes_stop_by_themselves_when_up_is_killed_outright(tmp_path: Path):
    """SIGKILL gives up no chance to stop its children: each API process notices its parent is
    gone (``api --parent-pid``) and stops, so none is left holding the port."""
    env = {**os.environ, "COUNTERWATCH_DATA": str(tmp_path / "data"), "COUNTERWATCH_CPU_THREADS": "2"}
    up = subprocess.Popen([sys.executable, "-m", "counterwatch", "up", "--api-processes", "2", "--api-port", "0"],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    spawned: set[int] = set()
    try:
        while "Ctrl-C" not in (line := up.stdout.readline()):
            assert line, "up exited early"
        wait_for(lambda: len(_children(up.pid)) == 1, 120, "up's API child started")
        (child,) = _children(up.pid)
        spawned = _all_children(up.pid)          # the child and the S3 server
        up.kill()
        up.wait(60)
        wait_for(lambda: not Path(f"/proc/{child}").exists()
                 or (Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"),
                 60, "the API child stopped after up was killed")
    finally:
        if up.poll() is None:
            up.kill()
        for pid in spawned:          # the S3 server is up's to stop; killed outright, up cannot
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
