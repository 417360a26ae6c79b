#!/usr/bin/env python3
"""Search and seek latency of the supervisor API at scale.

    python bench/search.py [--segments 1000000] [--queries 300] [--seeks 40]

1. Search: builds ``--segments`` transcript segments (utterances of the corpus labels, varied
   with ticket numbers, names, amounts and cut-offs) in a temporary SQLite database migrated to
   head (FTS5 trigram index), spread over 90 days, 12 counters and 3 sites; then times
   ``GET /api/v1/interactions/search`` through a real HTTP server (uvicorn, authenticated) next
   to the same search statement and the bare FTS5 MATCH run on a raw sqlite3 connection.
2. Seek: stores one hour of real speech as 360 FLAC chunks of 10 s on an rclone S3 server,
   one interaction over the whole hour, and times the first byte of ``Range: bytes=N-`` at
   random points in the middle (what a browser sends when the user seeks).
3. Live: times from a chunk being registered to its audio reaching a listener of
   ``GET /api/v1/counters/{id}/live``.
4. Sound-alike: over the same database (each segment with its pinyin key, migration 0017),
   phrases written with other characters that sound the same (every character swapped for a
   homophone, as the recogniser mishears) through ``GET /api/v1/interactions?q=`` (the
   recordings browser: as written, sounding alike, a rule's flags; ranked, counted), next to the
   bare FTS5 MATCH on the key index and the plain text search of part 1, in the same run.

Targets (issue #4): search p95 <= 20 ms through the API; first byte of a seek <= 100 ms.
Issue #13: sound-alike search p95 <= 50 ms at 1M segments. ``--only sound`` runs parts 1 and 4.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import socket
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import case, func, or_, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from api.app import create_app  # noqa: E402
from domain.chunks import ChunkMeta  # noqa: E402
from domain.flac import decode_flac, encode_flac  # noqa: E402
from services.accounts import add_user  # noqa: E402
from services.catalog import Catalog  # noqa: E402
from services.search import CANDIDATE_CAP, SearchFilters, search_segments, search_statement, sound_matches, text_matches  # noqa: E402
from storage.engine import make_engine, read_session, sqlite_url  # noqa: E402
from storage.objects import ObjectStore  # noqa: E402
from storage.queries import rating_of  # noqa: E402
from storage.s3server import S3Server  # noqa: E402
from storage.schema import upgrade  # noqa: E402
from storage.tables import Counter, Interaction, Segment  # noqa: E402
from transcribe.soundalike import sound_key  # noqa: E402

RATE = 16000
SITES = {"north": ("c1", "c2", "c3", "c4"), "south": ("c1", "c2", "c3", "c4"), "east": ("c1", "c2", "c3", "c4")}
NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴丽")
BUSINESS = ("社保卡", "医保", "公积金", "营业执照", "身份证", "居住证", "护照", "户口", "驾驶证", "税务登记")


def _utterances() -> list[str]:
    for path in (ROOT.parent / "shared" / "corpus" / "labels.json", ROOT / "tests" / "data" / "labels.json"):
        if path.exists():
            entries = json.loads(path.read_text(encoding="utf-8"))
            texts = [u["text"] for e in entries for u in e.get("utterances", [])]
            if texts:
                return sorted(set(texts))
    raise SystemExit("no labels.json with utterances found")


def _vary(rng: random.Random, base: list[str]) -> str:
    t = rng.choice(base)
    r = rng.random()
    if r < 0.25:
        t = f"{rng.choice('ABCDE')}{rng.randrange(1000):03d}号，" + t
    elif r < 0.45:
        t = t.rstrip("。？！") + f"，{rng.choice(NAMES)}您看一下{rng.choice(BUSINESS)}的材料。"
    elif r < 0.6:
        t = t + f"一共{rng.randrange(10, 5000)}元。"
    elif r < 0.75 and len(t) > 6:
        a = rng.randrange(len(t) // 2)
        t = t[a:]                                   # cut off by the segmenter
    return t


_KEYS: dict[str, str] = {}


def _key(text: str) -> str:
    """sound_key, remembered (the varied texts repeat)."""
    k = _KEYS.get(text)
    if k is None:
        k = _KEYS[text] = sound_key(text)
    return k


def build_db(path: Path, n_segments: int, rng: random.Random) -> tuple[float, list[str]]:
    """Create and fill the database; returns (seconds, base utterances)."""
    t0 = time.perf_counter()
    engine = make_engine(sqlite_url(path))
    upgrade(engine)
    catalog = Catalog(engine)
    counters = [catalog.add_counter(site, c).id for site, cs in SITES.items() for c in cs]
    engine.dispose()
    site_of = {cid: i // 4 for i, cid in enumerate(counters)}
    base = _utterances()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    per = 8
    n_inter = n_segments // per
    now = time.time()
    span_s = 90 * 86400
    with con:
        con.executemany("INSERT INTO staff (id, site_id, name) VALUES (?, (SELECT id FROM sites WHERE name = ?), ?)",
                        [(k * len(NAMES) + j + 1, site, name) for k, site in enumerate(SITES)
                         for j, name in enumerate(NAMES)])
        sessions = {}
        for cid in counters:
            for day in range(90):
                sid = uuid.uuid4().hex
                sessions[(cid, day)] = sid
        con.executemany("INSERT INTO sessions (id, counter_id, wall_start_s, sample_rate_hz, channels, "
                        "planned_until_sample) VALUES (?, ?, ?, 16000, 2, 0)",
                        [(sid, cid, now - span_s + day * 86400) for (cid, day), sid in sessions.items()])
        inters, segs = [], []
        for i in range(1, n_inter + 1):
            cid = rng.choice(counters)
            wall = now - span_s + rng.random() * span_s
            day = min(89, int((wall - (now - span_s)) // 86400))
            start = int((wall - (now - span_s) - day * 86400) * RATE)
            inters.append((i, cid, sessions[(cid, day)], start + i % 1000, start + i % 1000 + 120 * RATE, wall,
                           wall + 120, "bench", wall + 130, "", site_of[cid] * len(NAMES) + rng.randrange(len(NAMES)) + 1))
            t = 0.0
            for _ in range(per):
                text = _vary(rng, base)
                d = 0.25 * len(text)
                segs.append((i, t, t + d, rng.choice("SC"), 0.9, text, _key(text)))
                t += d + 0.5
        con.executemany("INSERT INTO interactions (id, counter_id, session_id, start_sample, end_sample, "
                        "wall_start_s, wall_end_s, rulebook_version, analyzed_s, text, staff_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", inters)
        con.executemany("INSERT INTO segments (interaction_id, start_s, end_s, speaker, speaker_confidence, text, "
                        "sound) VALUES (?, ?, ?, ?, ?, ?, ?)", segs)     # the FTS triggers index each row
    con.execute("ANALYZE")
    con.close()
    return time.perf_counter() - t0, base


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def _row(name: str, ms: list[float], note: str = "") -> str:
    return (f"| {name:<44} | {len(ms):>5} | {pct(ms, 50):>7.2f} | {pct(ms, 95):>7.2f} | {pct(ms, 99):>7.2f} "
            f"| {note} |")


class Server:
    """The app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app) -> None:  # noqa: ANN001
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.should_exit = True
        self.thread.join(10)


def queries(rng: random.Random, base: list[str], n: int) -> list[str]:
    """Substrings of real utterances, 3 to 6 characters, like a supervisor types them."""
    out = []
    while len(out) < n:
        t = rng.choice(base).strip("。？！，")
        k = rng.randint(3, 6)
        if len(t) >= k:
            a = rng.randrange(len(t) - k + 1)
            q = t[a:a + k]
            if not any(c in q for c in "，。？！"):
                out.append(q)
    return out


def bench_search(db: Path, base: list[str], store: ObjectStore, n_queries: int, rng: random.Random,
                 pg_url: str | None = None) -> list[str]:
    lines = []
    engine = make_engine(sqlite_url(db))
    admin = add_user(engine, "bench-admin", role="admin").token
    supervisor = add_user(engine, "bench-sup", role="supervisor", sites=["north"]).token
    app = create_app(engine=engine, store=store)
    qs = queries(rng, base, n_queries)
    fixed = ["下班", "不知道", "自己看", "快下班", "社保卡", "身份证复印件", "请稍等", "没有这句话的"]
    raw = sqlite3.connect(db)
    hits_per_q = []
    raw_match, raw_full, api_ms, api_sup, api_two, api_filt, api_staff = [], [], [], [], [], [], []
    with Server(app) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}) as c, \
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {supervisor}"}) as cs:
        for q in qs[:20]:                                    # warm the page cache and the pools
            c.get("/api/v1/interactions/search", params={"q": q})
        for q in qs:
            t0 = time.perf_counter()
            n = raw.execute("SELECT count(*) FROM (SELECT rowid FROM segments_fts WHERE segments_fts MATCH ?)",
                            ('"' + q.replace('"', '""') + '"',)).fetchone()[0]
            raw_match.append((time.perf_counter() - t0) * 1000)
            hits_per_q.append(n)
            stmt = search_statement(q, dialect="sqlite", limit=50).compile(engine)
            sql, params = str(stmt), stmt.construct_params()
            args = [params[k] for k in stmt.positiontup]
            t0 = time.perf_counter()
            raw.execute(sql, args).fetchall()
            raw_full.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            r = c.get("/api/v1/interactions/search", params={"q": q})
            api_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            t0 = time.perf_counter()
            r = cs.get("/api/v1/interactions/search", params={"q": q})
            api_sup.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200 and all(h["site"] == "north" for h in r.json())
            t0 = time.perf_counter()
            r = c.get("/api/v1/interactions/search", params={"q": q, "counter": "c2",
                                                                   "since_s": time.time() - 7 * 86400})
            api_filt.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            t0 = time.perf_counter()
            r = c.get("/api/v1/interactions/search", params={"q": q, "staff": "张伟", "since_s": time.time() - 30 * 86400,
                                                                   "until_s": time.time()})
            api_staff.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
        twos = [q[:2] for q in qs[: max(20, n_queries // 5)]]
        for q in twos:
            t0 = time.perf_counter()
            c.get("/api/v1/interactions/search", params={"q": q})
            api_two.append((time.perf_counter() - t0) * 1000)
        fixed_rows = []
        for q in fixed:
            ms = []
            for _ in range(5):
                t0 = time.perf_counter()
                r = c.get("/api/v1/interactions/search", params={"q": q})
                ms.append((time.perf_counter() - t0) * 1000)
            n = raw.execute("SELECT count(*) FROM segments WHERE text LIKE ?", (f"%{q}%",)).fetchone()[0]
            fixed_rows.append(f"| {q:<12} | {n:>8,} | {len(r.json()):>4} | {statistics.median(ms):>7.2f} |")
    raw.close()
    filt = bench_filters(engine, qs, "SQLite")
    engine.dispose()
    if pg_url:
        pg_s = build_pg(db, pg_url)
        pg_engine = make_engine(pg_url)
        filt += [f"PostgreSQL: the same rows copied in {pg_s:.1f} s (pg_trgm GIN index)"]
        filt += bench_filters(pg_engine, qs, "PostgreSQL")
        pg_engine.dispose()
    lines += [f"text search query mix: {len(qs)} substrings (3-6 chars) of corpus utterances; matching segments per query: "
              f"median {statistics.median(hits_per_q):,.0f}, p95 {pct(hits_per_q, 95):,.0f}, max {max(hits_per_q):,}",
              "",
              "| search (ms)                                  |     n |     p50 |     p95 |     p99 | note |",
              "|----------------------------------------------|-------|---------|---------|---------|------|",
              _row("raw FTS5 MATCH (count all hits)", raw_match, "sqlite3, no join"),
              _row("raw match-first statement (join all, sort)", raw_full, "sqlite3; API picks scan"),
              _row("API /interactions/search, admin", api_ms, "HTTP, auth, JSON"),
              _row("API, supervisor of one site", api_sup, "site scope"),
              _row("API, counter + last 7 days", api_filt, "filters"),
              _row("API, staff + month", api_staff, "filters"),
              _row("API, 2-char queries (LIKE fallback)", api_two, "no trigram"),
              "",
              "| fixed query  | segments | hits | API ms (median of 5) |",
              "|--------------|----------|------|---------|", *fixed_rows, "",
              "| filtered search, service level (ms)          |     n |     p50 |     p95 |     p99 | note |",
              "|----------------------------------------------|-------|---------|---------|---------|------|", *filt]
    return lines


def filter_cases(now: float) -> list[tuple[str, SearchFilters]]:
    """The two filtered paths of issue 12: a counter over the last 7 days, a staff member over a month."""
    return [("counter + last 7 days", SearchFilters(counter="c2", since_s=now - 7 * 86400)),
            ("staff + month", SearchFilters(staff="张伟", since_s=now - 30 * 86400, until_s=now))]


def bench_filters(engine, qs: list[str], label: str) -> list[str]:  # noqa: ANN001
    """Service-level p50/p95/p99 of the filtered paths: the old plan (every FTS/trigram match
    joined and sorted, what these filters always took) next to :func:`search_segments`, in the
    same run on the same database; the hits of both are compared."""
    dialect = engine.dialect.name
    rows, mismatches = [], 0
    with read_session(engine) as s:
        for name, f in filter_cases(time.time()):
            old, new = [], []
            for q in qs[:10]:                                           # warm
                search_segments(s, q, filters=f)
            for q in qs:
                t0 = time.perf_counter()
                a = [r[0] for r in s.execute(search_statement(q, dialect=dialect, filters=f, limit=50))]
                old.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                b = [h.segment_id for h in search_segments(s, q, filters=f, limit=50)]
                new.append((time.perf_counter() - t0) * 1000)
                mismatches += a != b
            rows += [_row(f"{label} {name}: old plan (sort all matches)", old, "baseline"),
                     _row(f"{label} {name}: search_segments", new, "target p95 <= 20 ms")]
    return rows + [f"({label}: old and new plan returned different hits for {mismatches} of "
                   f"{2 * len(qs)} queries)"]


def build_pg(sqlite_db: Path, url: str) -> float:
    """Copy the SQLite bench database into PostgreSQL (migrated to head, trigram index)."""
    import psycopg

    t0 = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    src = sqlite3.connect(sqlite_db)
    tables = {"sites": None, "counters": None, "staff": None, "sessions": None, "interactions": None,
              "segments": None}
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as pg:
        pg.execute("DELETE FROM counters")
        pg.execute("DELETE FROM sites")
        for t in tables:
            cur = src.execute(f"SELECT * FROM {t}")
            cols = [d[0] for d in cur.description]
            with pg.cursor().copy(f"COPY {t} ({', '.join(cols)}) FROM STDIN") as cp:
                for row in cur:
                    cp.write_row(row)
        for t in tables:
            pg.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
                       if t != "sessions" else "SELECT 1")
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")
    src.close()
    return time.perf_counter() - t0


def _speech_hour() -> np.ndarray:
    corpus = ROOT.parent / "shared" / "corpus"
    files = sorted(corpus.glob("shift*-stereo-clean.flac")) or sorted((ROOT / "tests" / "data").glob("*stereo*.flac"))
    parts = [decode_flac(f.read_bytes()) for f in files[:4]]
    pcm = np.concatenate(parts)
    reps = -(-3600 * RATE // len(pcm))
    return np.tile(pcm, (reps, 1))[:3600 * RATE]


def bench_seek(tmp: Path, store: ObjectStore, n_seeks: int, rng: random.Random) -> list[str]:
    engine = make_engine(sqlite_url(tmp / "seek.db"))
    upgrade(engine)
    catalog = Catalog(engine)
    catalog.add_counter("north", "c1")
    pcm = _speech_hour()
    session, wall0, n = uuid.uuid4().hex, time.time() - 7200, 10 * RATE
    t0 = time.perf_counter()
    for seq in range(360):
        part = pcm[seq * n:(seq + 1) * n]
        data = encode_flac(part, RATE)
        meta = ChunkMeta(site="north", counter="c1", session=session, seq=seq, start_sample=seq * n, samples=n,
                         sample_rate_hz=RATE, channels=2, codec="flac", sha256=hashlib.sha256(data).hexdigest(),
                         size_bytes=len(data), session_wall_start_s=wall0, rms_dbfs=-30, peak_dbfs=-6)
        store.put_bytes(meta.key, data, content_type="audio/flac")
        catalog.register_chunk(meta)
    store_s = time.perf_counter() - t0
    from sqlalchemy.orm import Session

    from storage.tables import Interaction
    with Session(engine) as s, s.begin():
        inter = Interaction(counter_id=catalog.counter("north", "c1").id, session_id=session, start_sample=0,
                            end_sample=3600 * RATE, wall_start_s=wall0, wall_end_s=wall0 + 3600)
        s.add(inter)
        s.flush()
        iid = inter.id
    token = add_user(engine, "bench-seek", role="supervisor", sites=["north"]).token
    size = 44 + 3600 * RATE * 4
    ttfb, first_64k = [], []
    with Server(create_app(engine=engine, store=store)) as url, \
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        c.get(f"/api/v1/interactions/{iid}/audio", headers={"Range": "bytes=0-1023"})
        for _ in range(n_seeks):
            pos = 44 + rng.randrange(size // 4, 3 * size // 4) // 4 * 4
            t0 = time.perf_counter()
            with c.stream("GET", f"/api/v1/interactions/{iid}/audio", headers={"Range": f"bytes={pos}-"}) as r:
                assert r.status_code == 206 and r.headers["content-range"] == f"bytes {pos}-{size - 1}/{size}"
                buf = bytearray()
                for part in r.iter_raw():
                    if not buf:
                        ttfb.append((time.perf_counter() - t0) * 1000)
                    buf += part
                    if len(buf) >= 65536:
                        first_64k.append((time.perf_counter() - t0) * 1000)
                        break
            frame = (pos - 44) // 4
            assert bytes(buf[:4096]) == pcm[frame:frame + 1024].astype("<i2").tobytes(), "wrong audio served"
    engine.dispose()
    return [f"recording: 1 h stereo 16 kHz, 360 FLAC chunks of 10 s stored on rclone S3 in {store_s:.1f} s; "
            f"WAV size {size / 2**20:.0f} MiB; requests 'Range: bytes=N-' at random points in the middle half",
            "",
            "| seek (ms)                                    |     n |     p50 |     p95 |     p99 | note |",
            "|----------------------------------------------|-------|---------|---------|---------|------|",
            _row("time to first byte", ttfb, "1 chunk fetched + decoded"),
            _row("time to first 64 KiB", first_64k, "0.5 s of audio")]


def bench_live(tmp: Path, store: ObjectStore, rng: random.Random) -> list[str]:
    engine = make_engine(sqlite_url(tmp / "live.db"))
    upgrade(engine)
    catalog = Catalog(engine)
    cid = catalog.add_counter("north", "c1").id
    token = add_user(engine, "bench-live", role="supervisor", sites=["north"]).token
    pcm = _speech_hour()[:20 * RATE]
    session, wall0, n = uuid.uuid4().hex, time.time(), RATE     # 1 s chunks, as for live listening

    def put(seq: int) -> None:
        part = pcm[seq * n:(seq + 1) * n]
        data = encode_flac(part, RATE)
        meta = ChunkMeta(site="north", counter="c1", session=session, seq=seq, start_sample=seq * n, samples=n,
                         sample_rate_hz=RATE, channels=2, codec="flac", sha256=hashlib.sha256(data).hexdigest(),
                         size_bytes=len(data), session_wall_start_s=wall0, rms_dbfs=-30, peak_dbfs=-6)
        store.put_bytes(meta.key, data, content_type="audio/flac")
        catalog.register_chunk(meta)

    put(0)
    delays, block = [], n * 4
    with Server(create_app(engine=engine, store=store)) as url:
        arrivals: list[tuple[float, int]] = []
        done = threading.Event()

        def listen() -> None:
            got = 0
            with httpx.stream("GET", f"{url}/api/v1/counters/{cid}/live?max_s=12",
                              headers={"Authorization": f"Bearer {token}"}, timeout=30) as r:
                for part in r.iter_raw():
                    got += len(part)
                    arrivals.append((time.perf_counter(), got))
            done.set()

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        while not arrivals or arrivals[-1][1] < 44 + block:
            time.sleep(0.01)
        registered = []
        for seq in range(1, 11):
            time.sleep(1.0 - rng.random() * 0.1)
            put(seq)
            registered.append(time.perf_counter())
        done.wait(30)
        for k, at in enumerate(registered, start=2):
            delays.append((next(ts for ts, g in arrivals if g >= 44 + k * block) - at) * 1000)
    engine.dispose()
    return ["live: 1 s chunks; delay from a chunk's catalog registration to its last byte at the listener "
            "(audio delay = chunk length + upload + this)", "",
            "| live (ms)                                    |     n |     p50 |     p95 |     p99 | note |",
            "|----------------------------------------------|-------|---------|---------|---------|------|",
            _row("registered -> heard by listener", delays, "poll 250 ms")]


def _homophones() -> dict[str, list[str]]:
    """Sound-alike key -> the common Han characters (U+4E00-U+9FA5) that have it."""
    out: dict[str, list[str]] = {}
    for cp in range(0x4E00, 0x9FA6):
        ch = chr(cp)
        k = sound_key(ch)
        if len(k) == 1 and k != ch:
            out.setdefault(k, []).append(ch)
    return out


def misheard(rng: random.Random, base: list[str], n: int) -> list[tuple[str, str]]:
    """(as said, as misheard): 3-6 Han characters of a real utterance, and the same with every
    character that has a homophone swapped for one (same sound-alike key, other characters)."""
    homo = _homophones()
    common = {c for t in base for c in t}           # prefer the characters people's speech is written with
    out: list[tuple[str, str]] = []
    while len(out) < n:
        t = rng.choice(base)
        k = rng.randint(3, 6)
        if len(t) < k:
            continue
        a = rng.randrange(len(t) - k + 1)
        said = t[a:a + k]
        if not all("\u4e00" <= c <= "\u9fa5" for c in said) or len(sound_key(said)) != k:
            continue
        alike = [[h for h in homo.get(sound_key(c), [c]) if h != c] for c in said]
        heard = "".join(rng.choice([h for h in hs if h in common] or hs or [c]) for c, hs in zip(said, alike, strict=True))
        if heard != said and sound_key(heard) == sound_key(said):
            out.append((said, heard))
    return out


def _old_browse(s: Session, phrase: str) -> int:
    """The browser's plan before the candidate cap (baseline): every interaction with an exact or
    sound-alike match counted, and all of them ranked for the first page; returns the total."""
    key = sound_key(phrase)
    exact = text_matches(phrase, dialect="sqlite").with_only_columns(Segment.interaction_id)
    sound = sound_matches(key, dialect="sqlite").with_only_columns(Segment.interaction_id)
    stmt = (select(Interaction.id, Interaction.wall_start_s, rating_of()).join(Counter, Interaction.counter_id == Counter.id)
            .where(or_(Interaction.id.in_(exact), Interaction.id.in_(sound))))
    total = s.execute(select(func.count()).select_from(stmt.with_only_columns(Interaction.id).subquery())).scalar_one()
    order = (case((Interaction.id.in_(exact), 0), (Interaction.id.in_(sound), 1), else_=2), Interaction.wall_start_s.desc())
    s.execute(stmt.order_by(*order).limit(20)).all()
    return total


def bench_sound(db: Path, base: list[str], store: ObjectStore, n_queries: int, rng: random.Random) -> list[str]:
    engine = make_engine(sqlite_url(db))
    admin = add_user(engine, "bench-sound-admin", role="admin").token
    supervisor = add_user(engine, "bench-sound-sup", role="supervisor", sites=["north"]).token
    app = create_app(engine=engine, store=store)
    pairs = misheard(rng, base, n_queries)
    raw = sqlite3.connect(db)
    raw_key, raw_text, api_heard, api_said, api_sup, api_filt, hits = [], [], [], [], [], [], []
    old_plan: list[float] = []
    sound_first = capped = 0
    url_q = "/api/v1/interactions"
    with Server(app) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=120) as c, \
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {supervisor}"}, timeout=120) as cs:
        for _, heard in pairs[:5]:                          # warm the page cache and the pools
            c.get(url_q, params={"q": heard})
        for said, heard in pairs:
            key = '"' + sound_key(heard).replace('"', '""') + '"'
            t0 = time.perf_counter()
            n = raw.execute("SELECT count(*) FROM (SELECT rowid FROM segments_sound_fts WHERE segments_sound_fts "
                            "MATCH ?)", (key,)).fetchone()[0]
            raw_key.append((time.perf_counter() - t0) * 1000)
            hits.append(n)
            t0 = time.perf_counter()
            raw.execute("SELECT count(*) FROM (SELECT rowid FROM segments_fts WHERE segments_fts MATCH ?)",
                        ('"' + said + '"',)).fetchone()
            raw_text.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            r = c.get(url_q, params={"q": heard})
            api_heard.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            page = r.json()
            assert page["total"] >= 1, f"{heard} (for {said}) found nothing"
            sound_first += page["items"][0]["match"] == "sound"
            capped += page["total_capped"]
            t0 = time.perf_counter()
            r = c.get(url_q, params={"q": said})
            api_said.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200 and r.json()["items"][0]["match"] == "exact", r.text
            t0 = time.perf_counter()
            r = cs.get(url_q, params={"q": heard})
            api_sup.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200 and all(i["site"] == "north" for i in r.json()["items"])
            t0 = time.perf_counter()
            r = c.get(url_q, params={"q": heard, "counter": "c2", "since_s": time.time() - 7 * 86400})
            api_filt.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            with Session(engine) as s:
                t0 = time.perf_counter()
                old_total = _old_browse(s, heard)
                old_plan.append((time.perf_counter() - t0) * 1000)
            assert old_total >= page["total"], (heard, old_total, page["total"])
    raw.close()
    engine.dispose()
    return [f"sound-alike query mix: {len(pairs)} phrases of 3-6 characters of corpus utterances, every character "
            f"swapped for a homophone, one the corpus uses where there is one (e.g. {pairs[0][0]} -> {pairs[0][1]}); "
            f"segments sounding alike per query: "
            f"median {statistics.median(hits):,.0f}, p95 {pct(hits, 95):,.0f}, max {max(hits):,}; "
            f"first row a sound-alike hit for {sound_first} of {len(pairs)} (else the misheard text itself exists); "
            f"ranked within the newest {CANDIDATE_CAP:,} matching lines (total a lower bound) for {capped}",
            "",
            "| sound-alike search (ms)                      |     n |     p50 |     p95 |     p99 | note |",
            "|----------------------------------------------|-------|---------|---------|---------|------|",
            _row("raw FTS5 MATCH on the key index (baseline)", raw_key, "sqlite3, count all, no join"),
            _row("raw FTS5 MATCH on the text, as said", raw_text, "sqlite3, count all, no join"),
            _row("old plan: count and rank every match", old_plan, "baseline, in-process, no HTTP"),
            _row("API /interactions?q=misheard, admin", api_heard, "target p95 <= 50 ms"),
            _row("API /interactions?q=as said, admin", api_said, "exact hits ranked first"),
            _row("API, misheard, supervisor of one site", api_sup, "site scope"),
            _row("API, misheard, counter + last 7 days", api_filt, "filters")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seeks", type=int, default=40)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--postgresql", action="store_true", help="also the filtered paths on PostgreSQL (same data)")
    ap.add_argument("--sound-queries", type=int, default=40)
    ap.add_argument("--only", choices=("all", "search", "sound"), default="all",
                    help="search: text search only; sound: text and sound-alike search (no seek, no live)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="cw-bench-search-") as d, S3Server(data_dir=Path(d) / "s3") as s3:
        tmp = Path(d)
        store = ObjectStore(endpoint=s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key,
                            bucket="bench-search")
        store.ensure_bucket()
        out = [f"# bench/search.py  (sqlite {sqlite3.sqlite_version}, python {sys.version.split()[0]}, "
               f"load at start {os.getloadavg()[0]:.2f})", ""]
        db = tmp / "search.db"
        build_s, base = build_db(db, args.segments, rng)
        out += [f"database: {args.segments:,} segments built and indexed in {build_s:.1f} s "
                f"({db.stat().st_size / 2**20:.0f} MiB with the FTS5 trigram indexes of text and sound)"]
        print("\n".join(out), flush=True)                 # each part as it ends: a long run keeps what it measured
        pg = None
        if args.postgresql:
            from tests.support.postgres import PgCluster

            pg = PgCluster()
            pg.start(fsync=False)
        try:
            print("\n".join(["", *bench_search(db, base, store, args.queries, rng, pg.url if pg else None)]), flush=True)
        finally:
            if pg is not None:
                pg.stop_immediate()
                pg.remove()
        parts = [] if args.only == "search" else [lambda: bench_sound(db, base, store, args.sound_queries, rng)]
        if args.only == "all":
            parts += [lambda: bench_seek(tmp, store, args.seeks, rng), lambda: bench_live(tmp, store, rng)]
        for part in parts:
            print("\n".join(["", *part()]), flush=True)
    print(f"load average at the end (1/5/15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
