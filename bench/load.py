#!/usr/bin/env python3
"""Bounded loopback load on the whole stack (issue 12, item 1).

    python bench/load.py [--levels 10,50,100,200] [--level-s 20] [--agents 8] [--backend both]

For each backend (SQLite in WAL mode, then a private PostgreSQL cluster) it starts, each as
its own OS process: the rclone S3 server, ``counterwatch api`` (uvicorn), ``counterwatch
worker`` (the real speech model, one CTranslate2 thread) and ``--agents`` ``counterwatch
record`` agents playing real dialogues (tests/data, with silences between them) in real time
through the ffmpeg file source, each with a live publisher. The database is seeded with
interactions (transcripts, flags for the review queue) and one interaction with real stored
audio. Then, for each level, N console clients (asyncio + httpx, bearer tokens of a supervisor)
loop for ``--level-s`` seconds over a mix of: transcript search (a third with a counter
filter), one interaction's transcript (audited), a Range request into the recording (audited;
64 KiB at a random offset, what a seeking browser sends), ``GET /counters`` and the review
queue (``GET /flags?review_state=open``). Every request is authenticated.

Per level it prints req/s, p50/p95/p99, errors (non-2xx or no answer within 30 s) and, from
the agents' logs, heartbeat failures, chunk-registration retries and live-segment failures in
that level; at the end each agent is stopped (SIGTERM) and its own summary gives chunks
spooled vs chunks in the catalog (lost) and live blocks dropped / segments skipped.

Targets (issue 12): at 100 clients 0 errors, p95 <= 300 ms, p99 <= 1 s, agents lose nothing.
The machine load (``uptime``) is printed next to each level.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ off the path (bench/signage.py would hide the signage package), the checkout on it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

RATE = 16000
SITE = "hall"
TIMEOUT_S = 30.0
KINDS = ("search", "transcript", "playback", "counters", "review")
WEIGHTS = (4, 2, 2, 1, 1)


def _make_input():  # noqa: ANN202 - bench/soak_env.py's input maker, by path (bench/ is no package)
    import runpy

    return runpy.run_path(str(Path(__file__).with_name("soak_env.py")))["make_input"]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1].strip()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


@dataclass
class Seed:
    token: str
    interactions: list[int]
    audio_interaction: int
    audio_bytes: int
    queries: list[str]
    counters: list[str]


@dataclass
class Level:
    clients: int
    seconds: float
    lat: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=dict)
    heartbeat_failures: int = 0
    register_retries: int = 0
    live_failures: int = 0
    api_cpu_s: float = 0.0
    load: str = ""

    @property
    def all(self) -> list[float]:
        return [x for v in self.lat.values() for x in v]


class _Proc:
    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self.f = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.p = subprocess.Popen(cmd, env=env, stdout=self.f, stderr=subprocess.STDOUT, start_new_session=True)
        self.read_to = 0

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def new_text(self) -> str:
        t = self.text()
        out, self.read_to = t[self.read_to:], len(t)
        return out

    def stop(self, timeout_s: float = 60.0, *, signalled: bool = False) -> int:
        """SIGTERM (unless ``signalled`` already: a second one means "stop now" to an agent),
        then wait up to ``timeout_s`` before SIGKILL."""
        if self.p.poll() is None:
            if not signalled:
                self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.f.close()
        return self.p.returncode


def cw(*args: str) -> list[str]:
    return [sys.executable, "-m", "counterwatch", *args]


def _utterances() -> list[str]:
    entries = json.loads((ROOT / "tests" / "data" / "labels.json").read_text(encoding="utf-8"))
    return sorted({u["text"] for e in entries for u in e.get("utterances", [])})


def seed(db_url: str, store, agent_counters: list[str], n_interactions: int, rng: random.Random) -> Seed:  # noqa: ANN001
    """Counters, a supervisor, ``n_interactions`` analysed interactions and one with real audio."""
    from services.accounts import add_user
    from storage.engine import make_engine
    from storage.schema import upgrade
    from tests.support import recordings
    from tests.support.stack import make_app_env

    upgrade(make_engine(db_url))
    hall = ("c1", "c2", "c3", "c4", *agent_counters)
    env = make_app_env(db_url, store, counters={SITE: hall})
    texts = _utterances()
    now = time.time()
    ids = []
    for i in range(n_interactions):
        segs, t = [], 0.0
        for k in range(6):
            text = rng.choice(texts)
            segs.append((t, t + 0.25 * len(text), "staff" if k % 2 == 0 else "customer", text))
            t += 0.25 * len(text) + 0.5
        flags = [{"type": "forbidden", "rule": "F-OFF-DUTY", "phrase": "下班"}] if i % 5 == 0 else []
        ids.append(env.add_interaction(counter=rng.choice(hall[:4]), wall_start_s=now - rng.random() * 7 * 86400,
                                       duration_s=60.0, staff=rng.choice(("张伟", "王芳", "李娜")),
                                       segments=segs, flags=flags))
    pcm = recordings.join_speech(ROOT / "tests" / "data", "dev01-stereo-clean.flac", "dev05-stereo-clean.flac")
    stored = env.store_session(pcm, counter="c1", chunk_s=10.0, wall0=now - 3600)
    audio_id = env.add_interaction(session=stored.id, counter="c1", start_sample=0, end_sample=len(pcm))
    token = add_user(env.engine, "load-sup", role="supervisor", sites=[SITE]).token
    queries = []
    while len(queries) < 200:
        t = rng.choice(texts).strip("。？！，")
        k = rng.randint(3, 5)
        if len(t) >= k:
            a = rng.randrange(len(t) - k + 1)
            if not any(c in t[a:a + k] for c in "，。？！"):
                queries.append(t[a:a + k])
    env.engine.dispose()
    return Seed(token, ids, audio_id, len(pcm) * 2 * 2 + 44, queries, list(hall[:4]))


async def client_loop(c: httpx.AsyncClient, s: Seed, rng: random.Random, until: float, level: Level) -> None:
    while time.monotonic() < until:
        kind = rng.choices(KINDS, WEIGHTS)[0]
        headers = {}
        if kind == "search":
            params = {"q": rng.choice(s.queries)}
            if rng.random() < 0.33:
                params["counter"] = rng.choice(s.counters)
            req = ("/api/v1/interactions/search", params)
        elif kind == "transcript":
            req = (f"/api/v1/interactions/{rng.choice(s.interactions)}", None)
        elif kind == "playback":
            a = rng.randrange(44, s.audio_bytes - 65536)
            headers = {"Range": f"bytes={a}-{a + 65535}"}
            req = (f"/api/v1/interactions/{s.audio_interaction}/audio", None)
        elif kind == "counters":
            req = ("/api/v1/counters", None)
        else:
            req = ("/api/v1/flags", {"review_state": "open", "limit": 50})
        t0 = time.perf_counter()
        try:
            r = await c.get(req[0], params=req[1], headers=headers)
            await r.aread()
            status = str(r.status_code) if r.status_code >= 400 else ""
        except httpx.HTTPError as e:
            status = type(e).__name__
        dt = time.perf_counter() - t0
        if status:
            key = f"{kind}:{status}"
            level.errors[key] = level.errors.get(key, 0) + 1
        else:
            level.lat[kind].append(dt)


async def run_level(url: str, s: Seed, n: int, seconds: float, rng: random.Random) -> Level:
    level = Level(n, seconds)
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {s.token}"}, limits=limits,
                                 timeout=TIMEOUT_S) as c:
        until = time.monotonic() + seconds
        t0 = time.monotonic()
        await asyncio.gather(*(client_loop(c, s, random.Random(rng.random()), until, level) for _ in range(n)))
        level.seconds = time.monotonic() - t0
    return level


class Stack:
    """S3 server, database, API, worker and agents of one backend."""

    def __init__(self, backend: str, work: Path, opts: argparse.Namespace) -> None:
        self.backend, self.work, self.opts = backend, work, opts
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pg = None
        self.procs: list[_Proc] = []
        self.agents: list[_Proc] = []
        self.s3 = None
        self.env: dict[str, str] = {}

    def start(self, rng: random.Random) -> tuple[str, Seed]:
        from storage.objects import ObjectStore
        from storage.s3server import S3Server, free_port

        self.s3 = S3Server(data_dir=self.work / "s3")
        self.s3.start()
        if self.backend == "sqlite":
            url = f"sqlite:///{self.work / 'cw.db'}"
        else:
            from tests.support.postgres import PgCluster

            self.pg = PgCluster()
            self.pg.start(max_connections=200)
            url = self.pg.url
        store = ObjectStore(endpoint=self.s3.endpoint, access_key=self.s3.access_key,
                            secret_key=self.s3.secret_key, bucket="counterwatch", timeout_s=10.0)
        store.ensure_bucket()
        names = [f"a{i + 1}" for i in range(self.opts.agents)]
        sd = seed(url, store, names, self.opts.interactions, rng)
        self.env = {**os.environ, "COUNTERWATCH_DATABASE_URL": url, "COUNTERWATCH_S3_ENDPOINT": self.s3.endpoint,
                    "COUNTERWATCH_S3_ACCESS_KEY": self.s3.access_key, "COUNTERWATCH_S3_SECRET_KEY": self.s3.secret_key,
                    "COUNTERWATCH_S3_BUCKET": "counterwatch", "COUNTERWATCH_SITE": SITE,
                    "COUNTERWATCH_DATA": str(self.work / "data"), "COUNTERWATCH_CPU_THREADS": "1",
                    "COUNTERWATCH_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
        port = free_port()
        self.api = _Proc("api", cw("api", "--port", str(port)), self.env, self.logs / "api.log")
        self.worker = _Proc("worker", cw("worker"), self.env, self.logs / "worker.log")
        self.procs += [self.api, self.worker]
        make_input = _make_input()
        length = len(self.opts.levels) * (self.opts.level_s + 5) + 120
        url_api = f"http://127.0.0.1:{port}"
        # An agent box holds the API's address and its own token, nothing of the database or the store.
        box_env = {k: v for k, v in self.env.items() if not k.startswith(("COUNTERWATCH_DATABASE", "COUNTERWATCH_S3"))}
        from services.tokens import issue_agent_token
        from storage.engine import make_engine

        token_engine = make_engine(url)
        for i, name in enumerate(names):
            channels = 1 if i % 4 == 3 else 2
            wav = self.work / f"{name}.wav"
            make_input(wav, channels=channels, length_s=length, rng=rng)
            token_file = self.work / f"{name}.token"
            token_file.write_text(issue_agent_token(token_engine, site=SITE, counter=name, actor="bench").token + "\n")
            token_file.chmod(0o600)
            a = _Proc(name, cw("record", "--counter", name, "--source", f"ffmpeg:{wav}", "--channels", str(channels),
                               "--spool-dir", str(self.work / "spool" / name)),
                      {**box_env, "COUNTERWATCH_API_URL": url_api, "COUNTERWATCH_TOKEN_FILE": str(token_file)},
                      self.logs / f"{name}.log")
            self.agents.append(a)
        token_engine.dispose()
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url_api + "/api/v1/counters", headers={"Authorization": f"Bearer {sd.token}"},
                             timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.api.p.poll() is not None:
                raise RuntimeError(f"the API did not start: see {self.api.log}")
            time.sleep(0.2)
        for a in self.agents:
            while " recording from " not in a.text():
                if a.p.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"agent {a.name} did not start recording: see {a.log}")
                time.sleep(0.2)
            a.new_text()
        return url_api, sd

    def agent_events(self, level: Level) -> None:
        for a in self.agents:
            t = a.new_text()
            level.heartbeat_failures += t.count("heartbeat callback failed")
            level.register_retries += len(re.findall(r"; retry \d+ in ", t))
            level.live_failures += len(re.findall(r"live segment (?:skipped|not encoded)", t))
            if a.p.poll() is not None:
                raise RuntimeError(f"agent {a.name} exited with {a.p.returncode}: see {a.log}")
        if self.worker.p.poll() is not None:
            raise RuntimeError(f"the worker exited with {self.worker.p.returncode}: see {self.worker.log}")

    def stop(self) -> dict:
        """Stop the agents cleanly and compare what each spooled with what the catalog holds."""
        from sqlalchemy import func, select

        from storage.engine import make_engine, read_session
        from storage.tables import Chunk

        out = {"chunks_spooled": 0, "chunks_catalogued": 0, "live_dropped_blocks": 0, "live_skipped": 0,
               "agent_exits": []}
        for a in self.agents:
            a.p.send_signal(signal.SIGTERM)
        if not self.env:
            self._stop_services()
            return out
        engine = make_engine(self.env["COUNTERWATCH_DATABASE_URL"])
        for a in self.agents:
            rc = a.stop(120, signalled=True)
            t = a.text()
            out["agent_exits"].append(rc)
            m = re.search(r"session ([0-9a-f]{32}) done: \d+ frames, (\d+) chunk\(s\) spooled", t)
            live = re.search(r"live publisher stopped: \d+ segment\(s\), (\d+) skipped, (\d+) block\(s\) dropped", t)
            if live:
                out["live_skipped"] += int(live.group(1))
                out["live_dropped_blocks"] += int(live.group(2))
            if m:
                out["chunks_spooled"] += int(m.group(2))
                with read_session(engine) as s:
                    out["chunks_catalogued"] += s.scalar(select(func.count()).select_from(Chunk)
                                                         .where(Chunk.session_id == m.group(1)))
        engine.dispose()
        self._stop_services()
        return out

    def _stop_services(self) -> None:
        for p in self.procs:
            p.stop(30)
        if self.s3 is not None:
            self.s3.stop()
        if self.pg is not None:
            self.pg.stop_immediate()
            self.pg.remove()


def table(backend: str, levels: list[Level], end: dict) -> str:
    lines = [f"### {backend}", "",
             "| clients | req/s | p50 ms | p95 ms | p99 ms | requests | errors | heartbeat failures "
             "| registration retries | live failures | API CPU ms/req | load (1/5/15 min) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for lv in levels:
        xs = lv.all
        n_err = sum(lv.errors.values())
        lines.append(f"| {lv.clients} | {(len(xs) + n_err) / lv.seconds:.1f} | {pct(xs, 50) * 1e3:.0f} "
                     f"| {pct(xs, 95) * 1e3:.0f} | {pct(xs, 99) * 1e3:.0f} | {len(xs) + n_err} | {n_err} "
                     f"| {lv.heartbeat_failures} | {lv.register_retries} | {lv.live_failures} "
                     f"| {lv.api_cpu_s * 1e3 / max(1, len(xs) + n_err):.1f} | {lv.load} |")
    lines.append("")
    lines.append("p95 ms by request kind: " + "; ".join(
        f"{lv.clients} clients: " + ", ".join(f"{k} {pct(v, 95) * 1e3:.0f}" for k, v in lv.lat.items())
        for lv in levels))
    errs = {lv.clients: lv.errors for lv in levels if lv.errors}
    if errs:
        lines.append(f"errors by kind: {errs}")
    lines.append(f"agents: {end['chunks_spooled']} chunks spooled, {end['chunks_catalogued']} in the catalog "
                 f"(lost: {end['chunks_spooled'] - end['chunks_catalogued']}), live blocks dropped "
                 f"{end['live_dropped_blocks']}, live segments skipped {end['live_skipped']}, "
                 f"exit codes {end['agent_exits']}")
    return "\n".join(lines)


def run_backend(backend: str, opts: argparse.Namespace, rng: random.Random) -> str:
    work = Path(tempfile.mkdtemp(prefix=f"cw-load-{backend}-"))
    stack = Stack(backend, work, opts)
    levels: list[Level] = []
    try:
        url, sd = stack.start(rng)
        print(f"[{backend}] stack up ({work}); warming", flush=True)
        asyncio.run(run_level(url, sd, 5, 3.0, rng))
        stack.agent_events(Level(0, 0))
        for n in opts.levels:
            cpu0 = cpu_s(stack.api.p.pid)
            lv = asyncio.run(run_level(url, sd, n, opts.level_s, rng))
            lv.api_cpu_s = cpu_s(stack.api.p.pid) - cpu0
            lv.load = uptime()
            stack.agent_events(lv)
            levels.append(lv)
            print(table(backend, levels[-1:], {"chunks_spooled": 0, "chunks_catalogued": 0, "live_dropped_blocks": 0,
                                                "live_skipped": 0, "agent_exits": []}).splitlines()[4], flush=True)
    finally:
        end = stack.stop()
    return table(backend, levels, end)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", default="10,50,100,200", help="client counts, comma-separated")
    ap.add_argument("--level-s", type=float, default=20.0, help="seconds per level")
    ap.add_argument("--agents", type=int, default=8, help="recording agents streaming meanwhile")
    ap.add_argument("--interactions", type=int, default=600, help="analysed interactions seeded")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--seed", type=int, default=1)
    opts = ap.parse_args(argv)
    opts.levels = [int(x) for x in opts.levels.split(",")]
    rng = random.Random(opts.seed)
    print(f"load before: {uptime()}  ({time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores)", flush=True)
    out = []
    for b in (("sqlite", "postgresql") if opts.backend == "both" else (opts.backend,)):
        out.append(run_backend(b, opts, rng))
        print(out[-1], flush=True)
    print("\n\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
