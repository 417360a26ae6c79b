#!/usr/bin/env python3
"""What one API request costs, next to a bare FastAPI + SQLAlchemy app, in the same run (issue 23).

    python bench/api_cost.py [--seconds 15] [--connections 10,100] [--profile bench/profiles]

Seeds a fresh SQLite database (WAL) as the issue measured it: one site, four counters, one
analysed recording (six segments, one of them with 您好), a supervisor's bearer token. Serves
it with one uvicorn process each (the real app: ``api.app.create_app``, uvicorn settings of
``counterwatch api``; the baseline: ``bench/baseline_app.py``, a bearer-token check and a small
read), and drives each route with wrk (2 threads, N connections, keep-alive). The baseline is
measured before and after the routes at each level; the ratio is to their mean. The load
average of the shared box is printed with every level, and beside req/s each row gives the serving
process's CPU time per request (from /proc; "cpu ms") and the baseline's over it: on a box shared
with other work that ratio moves far less than req/s, and it is what one free core would serve.

``--profile DIR``: also record a py-spy flame graph (SVG) of the API process for each route
while wrk drives it (10 connections), and a speedscope file with the same samples.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROUTES = {
    "GET /api/v1/counters": "/api/v1/counters",
    "GET /api/v1/interactions/{id}": "/api/v1/interactions/{iid}",
    "GET /api/v1/interactions?q=您好": "/api/v1/interactions?q=%E6%82%A8%E5%A5%BD",
}
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
BASELINE = "baseline (FastAPI + SQLAlchemy, token check + small read)"


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def serve(kind: str, db_url: str, port: int) -> None:
    """Child process: serve the real app (from ``BENCH_APP_ROOT`` if set: another source tree)
    or the baseline on 127.0.0.1:port until SIGTERM."""
    if kind == "app" and os.environ.get("BENCH_APP_ROOT"):
        sys.path.insert(0, os.environ["BENCH_APP_ROOT"])
        for name in [m for m in sys.modules if m.split(".")[0] in ("api", "services", "storage", "domain",
                                                                    "transcribe", "recorder", "signage")]:
            del sys.modules[name]
    import uvicorn

    from storage.engine import make_engine

    engine = make_engine(db_url)
    if kind == "app":
        from api.app import create_app
        from storage.objects import ObjectStore

        store = ObjectStore(endpoint=os.environ["BENCH_S3"], access_key=os.environ["BENCH_S3_KEY"],
                            secret_key=os.environ["BENCH_S3_SECRET"], bucket="bench")
        app = create_app(engine=engine, store=store)
    else:
        from baseline_app import create_baseline_app  # bench/ is on sys.path as the script's folder

        app = create_baseline_app(engine)
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, proxy_headers=False,
                                  server_header=False, access_log=False, lifespan="off",
                                  timeout_keep_alive=75)).run()


def seed(db_url: str, store) -> tuple[str, int]:  # noqa: ANN001
    from services.accounts import add_user
    from storage.engine import make_engine
    from storage.schema import upgrade
    from tests.support.stack import make_app_env

    upgrade(make_engine(db_url))
    env = make_app_env(db_url, store, counters={"hall": ("c1", "c2", "c3", "c4")})
    texts = ["您好，请问办理什么业务？", "我来交社保。", "请出示您的身份证。", "好的，给您。",
             "请稍等，马上为您办理。", "谢谢您，请慢走。"]
    segs, t = [], 0.0
    for k, text in enumerate(texts):
        segs.append((t, t + 0.25 * len(text), "staff" if k % 2 == 0 else "customer", text))
        t += 0.25 * len(text) + 0.5
    iid = env.add_interaction(counter="c1", wall_start_s=time.time() - 3600, duration_s=60.0, staff="张伟",
                              segments=segs, flags=[{"type": "forbidden", "rule": "F-OFF-DUTY", "phrase": "下班"}])
    token = add_user(env.engine, "bench-sup", role="supervisor", sites=["hall"]).token
    env.engine.dispose()
    return token, iid


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    #: the serving process's CPU (user + system) per request, ms: on a box shared with other
    #: work this moves far less than req/s does (None: not measured)
    cpu_ms: float | None = None


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(v: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    assert m, v
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def wrk(url: str, token: str, connections: int, seconds: int, pid: int | None = None) -> Result:
    cpu0 = cpu_s(pid) if pid else 0.0
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s",
                          "-H", f"Authorization: Bearer {token}", url], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    dist = out.split("Latency Distribution", 1)[1]
    p50 = _ms(re.search(r"50%\s+(\S+)", dist).group(1))
    p99 = _ms(re.search(r"99%\s+(\S+)", dist).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    cpu = (cpu_s(pid) - cpu0) * 1000 / max(n, 1) if pid else None
    return Result(rps, p50, p99, n, errors, cpu)


def _start(kind: str, db_url: str, port: int, env: dict, app_root: Path | None = None) -> subprocess.Popen:
    import httpx

    if app_root is not None:
        env = {**env, "BENCH_APP_ROOT": str(app_root)}
    p = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--db", db_url, "--port", str(port)],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return p
        except httpx.HTTPError:
            time.sleep(0.1)
    p.kill()
    raise SystemExit(f"{kind} did not start: {p.stderr.read().decode()[-2000:] if p.stderr else ''}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", choices=["app", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=int, default=15, help="wrk duration per route and level")
    ap.add_argument("--connections", default="10,100", help="comma-separated wrk connection counts")
    ap.add_argument("--profile", type=Path, default=None, help="write py-spy flame graphs (SVG) here")
    ap.add_argument("--profile-format", choices=["flamegraph", "raw", "speedscope"], default="flamegraph",
                    help="py-spy's output: flamegraph (SVG), raw (collapsed stacks), speedscope")
    ap.add_argument("--compare-root", type=Path, default=None,
                    help="also serve the app from this source tree (e.g. `git archive` of an older commit) and "
                         "time the same routes on it, in the same run")
    ap.add_argument("--profile-only", action="store_true", help="profile, then stop (no timed levels)")
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.db, args.port)
        return 0
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    from storage.objects import ObjectStore
    from storage.s3server import S3Server
    from tests.support.net import free_port

    work = Path(tempfile.mkdtemp(prefix="cw-apicost-"))
    db_url = f"sqlite:///{work / 'cw.db'}"
    levels = [int(c) for c in args.connections.split(",")]
    print(f"api_cost: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"wrk -t2 -d{args.seconds}s, SQLite (WAL), one uvicorn process per side; load {load()}")
    procs: list[subprocess.Popen] = []
    try:
        with S3Server(data_dir=work / "s3") as s3:
            store = ObjectStore(endpoint=s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key,
                                bucket="bench")
            store.ensure_bucket()
            token, iid = seed(db_url, store)
            env = {**os.environ, "BENCH_S3": s3.endpoint, "BENCH_S3_KEY": s3.access_key,
                   "BENCH_S3_SECRET": s3.secret_key, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"}
            app_port, base_port = free_port(), free_port()
            app = _start("app", db_url, app_port, env)
            base = _start("baseline", db_url, base_port, env)
            procs += [app, base]
            urls = {BASELINE: f"http://127.0.0.1:{base_port}/baseline",
                    **{k: f"http://127.0.0.1:{app_port}{v.format(iid=iid)}" for k, v in ROUTES.items()}}
            compared: dict[str, str] = {}
            old_app = app
            if args.compare_root:
                old_port = free_port()
                old_app = _start("app", db_url, old_port, env, args.compare_root)
                procs.append(old_app)
                compared = {f"{k} [{args.compare_root.name}]": f"http://127.0.0.1:{old_port}{v.format(iid=iid)}"
                            for k, v in ROUTES.items()}
            import httpx
            for name, url in {**urls, **compared}.items():      # each answers 200 before it is timed
                r = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
                assert r.status_code == 200, (name, r.status_code, r.text[:300])
                wrk(url, token, 4, 2)               # warm-up
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                for name, url in urls.items():
                    pid = base.pid if name == BASELINE else app.pid
                    slug = "baseline" if name == BASELINE else re.sub(r"[^a-z]+", "-", name.split("?")[0].lower()
                                                                     ).strip("-") + ("-search" if "?q=" in name else "")
                    ext = {"flamegraph": "svg", "raw": "txt", "speedscope": "json"}[args.profile_format]
                    svg = args.profile / f"flame-{slug}.{ext}"
                    spy = subprocess.Popen([PY_SPY, "record", "-p", str(pid), "-o", str(svg), "-r", "250",
                                            "-f", args.profile_format,
                                            "-d", str(args.seconds), "--nonblocking"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(1.0)
                    r = wrk(url, token, 10, args.seconds - 2)
                    spy.wait(args.seconds + 30)
                    print(f"  profile {name}: {svg} ({r.rps:.0f} req/s while sampled)")
                if args.profile_only:
                    return 0
            for c in levels:
                res: dict[str, Result] = {}
                before = load()
                b1 = wrk(urls[BASELINE], token, c, args.seconds, base.pid)
                for name in ROUTES:
                    res[name] = wrk(urls[name], token, c, args.seconds, app.pid)
                old = {name: wrk(url, token, c, args.seconds, old_app.pid) for name, url in compared.items()}
                b2 = wrk(urls[BASELINE], token, c, args.seconds, base.pid)
                base_rps = (b1.rps + b2.rps) / 2
                base_cpu = (b1.cpu_ms + b2.cpu_ms) / 2
                print(f"\n{c} connections; load (1/5/15 min) {before} before, {load()} after")
                print(f"  {'request':<62} {'req/s':>8} {'x base':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
                      f"{'cpu ms':>7} {'x base':>7}")
                rows = [(f"{BASELINE}, before", b1), *res.items(), *old.items(), (f"{BASELINE}, after", b2)]
                for name, r in rows:
                    print(f"  {name:<62} {r.rps:8.0f} {r.rps / base_rps:7.2f} {r.p50_ms:8.1f} {r.p99_ms:8.1f} "
                          f"{r.errors:7d} {r.cpu_ms:7.2f} {base_cpu / r.cpu_ms:7.2f}")
                light = min(res[k].rps for k in list(ROUTES)[:2]) / base_rps
                search = res[list(ROUTES)[2]].rps / base_rps
                print(f"  targets: light reads >= 0.50 x baseline: {light:.2f} "
                      f"({'met' if light >= 0.5 else 'NOT met'}); search >= 0.30 x: {search:.2f} "
                      f"({'met' if search >= 0.3 else 'NOT met'})")
                light_cpu = base_cpu / max(res[k].cpu_ms for k in list(ROUTES)[:2])
                search_cpu = base_cpu / res[list(ROUTES)[2]].cpu_ms
                print(f"  by CPU per request (what one core would serve): light reads {light_cpu:.2f} x the baseline, "
                      f"search {search_cpu:.2f} x")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
