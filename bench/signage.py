"""Signage player benchmark: the gap between items (switch request to the new picture on
screen, ms) and resident memory over many transitions, the player as shipped next to the
design before issue 12 (stills through libVLC too), each in its own process, in the same run.

    python bench/signage.py --transitions 10000 [--baseline-transitions 3000]

Runs the real player (Tk window + VLC) on a private Xvfb display unless DISPLAY is set, from a
local cache (no server): a playlist alternating two small videos and two images, 1 s each,
with the clock stepped one item at a time so transitions come back to back.
Targets (issue 5, 12): gap p95 ≤ 200 ms on an idle machine; RSS flat over 10,000 mixed
transitions (slope within its error of zero).
"""
from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signage.player import Player, PlayerOptions  # noqa: E402
from signage.schedule import (  # noqa: E402
    Content,
    NowPlaying,
    Playlist,
    PlaylistItem,
    Schedule,
    ScheduleEntry,
    resolve,
    schedule_to_dict,
)
from signage.sync import ContentCache  # noqa: E402


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _fit(points: list[tuple[int, int]]) -> tuple[float | None, float | None]:
    """Least-squares slope of y on x, and its standard error."""
    if len(points) < 3:
        return None, None
    xs, ys = [float(x) for x, _ in points], [float(y) for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    resid = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys)) / (len(xs) - 2)
    return b, (resid / sxx) ** 0.5


def _py_state():  # noqa: ANN202 - (tracemalloc snapshot, {type name: count})
    import gc
    import tracemalloc

    gc.collect()
    counts: dict[str, int] = {}
    for o in gc.get_objects():
        counts[type(o).__name__] = counts.get(type(o).__name__, 0) + 1
    return tracemalloc.take_snapshot(), counts


class OldDesignPlayer(Player):
    """The player before issue 12, for the baseline: stills (images and slides) played by libVLC
    as still images in the same video output as the videos."""

    def _new_media(self, path: Path, kind: str):  # noqa: ANN202
        m = self._instance.media_new_path(str(path))
        m.add_option(":input-repeat=65535" if kind == "video" else ":image-duration=-1")
        return m

    def _play(self, path: Path, kind: str) -> None:
        self._switch_t = time.monotonic()
        self._current_kind = "video"    # every item is libVLC's output here
        self._saw_video = False
        media = self._media(path, kind)
        self._mp.set_media(media)
        media.release()
        self._mp.play()
        self.stats.switches += 1

    def _visual(self, np: NowPlaying, local: dt.datetime):  # noqa: ANN202
        if np.content is not None and np.content.kind == "image":
            return self.cache.path(np.content.sha256), "image", ()
        return super()._visual(np, local)

    def _preload(self, at: dt.datetime) -> None:
        nxt = resolve(self._schedule, self._ref, at, skip_content=frozenset(self.stats.skipped))
        if nxt.content is None or nxt.content.kind == "text" or not self.cache.has(nxt.content.sha256):
            return
        path = self.cache.path(nxt.content.sha256)
        key = f"{nxt.content.kind}:{path}"
        if key in self._preloaded:
            return
        m = self._new_media(path, nxt.content.kind)
        m.parse_with_options(self._vlc.MediaParseFlag.local, 2000)
        self._drop_preloaded()
        self._preloaded = {key: m}
        self._preload_check = (nxt.content.id, m, time.monotonic())


def make_media(d: Path) -> list[tuple[str, Path]]:
    from PIL import Image

    out = []
    for colour in ("red", "green"):
        p = d / f"{colour}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:s=640x360:d=2",
                        "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(p)], check=True)
        out.append(("video", p))
    for rgb in ((0, 0, 230), (230, 230, 0)):
        p = d / f"img{rgb[0]}.png"
        Image.new("RGB", (1280, 720), rgb).save(p)
        out.append(("image", p))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transitions", type=int, default=10000)
    ap.add_argument("--baseline-transitions", type=int, default=None,
                    help="transitions of the design before issue 12 (default: as --transitions; 0: skip it)")
    ap.add_argument("--design", choices=["shipped", "old"], default=None,
                    help="run one design in this process and print its figures (default: both, each in a child)")
    ap.add_argument("--kinds", default="video,image",
                    help="which items of the playlist to keep: video, image or both (default video,image)")
    ap.add_argument("--every", type=int, default=100,
                    help="RSS block: one sample and one floor (lowest RSS seen) per N transitions (default 100)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="transitions before the fit (default min(500, transitions/5))")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="diff Python allocations and object counts between warm-up and end (slower)")
    ap.add_argument("--vlc-arg", action="append", default=[], help="extra libVLC argument (repeatable)")
    ap.add_argument("--arena-max", type=int, default=PlayerOptions.malloc_arena_max,
                    help="the player's cap on glibc malloc arenas (0: glibc's default; default %(default)s)")
    ap.add_argument("--mmap-threshold", type=int, default=PlayerOptions.malloc_mmap_threshold,
                    help="the player's glibc mmap threshold in bytes (0: glibc's default; default %(default)s)")
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) after every transition (experiment)")
    ap.add_argument("--rss-out", type=Path, help="write the RSS samples (transition, KiB) to this file")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    if args.design is None:
        return compare(args)
    kinds = set(args.kinds.split(","))
    warmup = args.warmup if args.warmup is not None else min(500, args.transitions // 5)
    work = Path(tempfile.mkdtemp(prefix="cw-signage-bench-"))
    xvfb = None
    if not os.environ.get("DISPLAY"):
        # Xvfb picks a free display itself and writes its number (no race with other runs)
        r, w = os.pipe()
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            os.environ["DISPLAY"] = ":" + f.readline().strip()
    try:
        cache = ContentCache(work / "cache")
        contents, items = {}, []
        for i, (kind, path) in enumerate([m for m in make_media(work) if m[0] in kinds], 1):
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            cache.put(sha, data)
            contents[i] = Content(i, kind, path.name, sha)
            items.append(PlaylistItem(i, 1.0))
        sched = Schedule(contents=contents, playlists={1: Playlist(1, "bench", tuple(items))},
                         entries=(ScheduleEntry(1, 1, screens=frozenset({"bench"})),))
        cache.save_manifest({"screen": "bench", "timezone": "UTC", "hall": "bench", "schedule": schedule_to_dict(sched),
                             "now_serving": []})
        t = [dt.datetime(2026, 11, 23, 9, 0, 0, 500000, tzinfo=dt.UTC).timestamp()]
        opts = PlayerOptions(vlc_args=tuple(args.vlc_arg), malloc_arena_max=args.arena_max or None,
                             malloc_mmap_threshold=args.mmap_threshold or None)
        cls = OldDesignPlayer if args.design == "old" else Player
        player = cls(screen="bench", cache=cache, clock=lambda: t[0], options=opts)
        player.stats.gaps_ms = []   # all of them (the player keeps the last 10,000)
        player._open()
        if args.tracemalloc:
            import tracemalloc
            tracemalloc.start(8)
        libc = ctypes.CDLL(None) if args.trim else None
        rss: list[tuple[int, int]] = []      # (transition, KiB) at every --every-th transition
        floor: list[tuple[int, int]] = []    # (block start, lowest KiB after any transition of the block)
        t0 = time.monotonic()
        try:
            for n in range(args.transitions):
                player.tick()
                deadline = time.monotonic() + 2.0
                while not player._saw_video and time.monotonic() < deadline:
                    player.reveal()
                    player._tk.update()
                    time.sleep(0.002)
                player._tk.update()
                if args.trim:
                    libc.malloc_trim(0)
                now_kib = rss_kib()
                if n % args.every == 0:
                    rss.append((n, now_kib))
                    floor.append((n, now_kib))
                elif now_kib < floor[-1][1]:
                    floor[-1] = (floor[-1][0], now_kib)
                if args.tracemalloc and n == warmup:
                    snap0, types0 = _py_state()
                t[0] += 1.0
        finally:
            player._end_pop(t[0])
            player._close()
            if args.tracemalloc:
                snap1, types1 = _py_state()
        wall_s = time.monotonic() - t0
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    if args.rss_out:
        args.rss_out.write_text("".join(f"{n} {r} {f}\n" for (n, r), (_, f) in zip(rss, floor)))
    gaps = sorted(player.stats.gaps_ms)
    warm = [r for n, r in rss if n >= warmup]
    # RSS right after a switch swings by tens of MiB with the decoder's and the display's buffers;
    # the floor of each block (the lowest RSS after any of its transitions) is what would show growth
    slope, slope_se = _fit([(n, r) for n, r in floor if n >= warmup])
    sslope, sslope_se = _fit([(n, r) for n, r in rss if n >= warmup])
    fwarm = [r for n, r in floor if n >= warmup]
    fhalf = len(fwarm) // 2
    half = len(warm) // 2
    result = {
        "design": args.design, "kinds": args.kinds,
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX") or args.arena_max or "default",
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_") or args.mmap_threshold or "default",
        **({"malloc_trim": "every transition"} if args.trim else {}),
        "transitions": args.transitions, "wall_s": round(wall_s, 1), "measured": len(gaps),
        "missed_vout": args.transitions - len(gaps),
        "gap_ms_p50": round(statistics.median(gaps), 1) if gaps else None,
        "gap_ms_p95": round(gaps[int(len(gaps) * 0.95) - 1], 1) if gaps else None,
        "gap_ms_max": round(gaps[-1], 1) if gaps else None,
        "rss_mib_start": round(rss[0][1] / 1024, 1), "rss_mib_after_warmup": round(warm[0] / 1024, 1) if warm else None,
        "rss_mib_end": round(rss[-1][1] / 1024, 1),
        "rss_mib_first_half_mean": round(statistics.mean(warm[:half]) / 1024, 1) if half else None,
        "rss_mib_second_half_mean": round(statistics.mean(warm[half:]) / 1024, 1) if half else None,
        "rss_floor_mib_first_half_mean": round(statistics.mean(fwarm[:fhalf]) / 1024, 1) if fhalf else None,
        "rss_floor_mib_second_half_mean": round(statistics.mean(fwarm[fhalf:]) / 1024, 1) if fhalf else None,
        # least-squares lines after warm-up, KiB per transition ± standard error: through the block
        # floors (the figure that decides), and through the single samples (noisier)
        "rss_slope_kib_per_transition": round(slope, 3) if slope is not None else None,
        "rss_slope_stderr": round(slope_se, 3) if slope_se is not None else None,
        "rss_fit_growth_mib_per_10k": round(slope * 10000 / 1024, 1) if slope is not None else None,
        "rss_samples_slope_kib_per_transition": round(sslope, 3) if sslope is not None else None,
        "rss_samples_slope_stderr": round(sslope_se, 3) if sslope_se is not None else None,
    }
    if args.tracemalloc:
        result["py_traced_growth_kib"] = round(sum(d.size_diff for d in snap1.compare_to(snap0, "filename")) / 1024, 1)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:28} {v}")
    if args.tracemalloc:
        print("top Python allocation growth (warm-up -> end):")
        for d in snap1.compare_to(snap0, "lineno")[:12]:
            print(f"  {d.size_diff / 1024:+9.1f} KiB {d.count_diff:+7d}  {d.traceback}")
        grew = sorted(((types1.get(k, 0) - types0.get(k, 0), k) for k in set(types0) | set(types1)), reverse=True)
        print("object counts that grew:", ", ".join(f"{k} {d:+d}" for d, k in grew[:10] if d > 0) or "none")


def compare(args: argparse.Namespace) -> None:
    """Both designs, each in a child process (resident memory is per process), side by side."""
    forward = [f"--kinds={args.kinds}", f"--every={args.every}", f"--arena-max={args.arena_max}",
               f"--mmap-threshold={args.mmap_threshold}", *(f"--vlc-arg={a}" for a in args.vlc_arg)]
    if args.warmup is not None:
        forward.append(f"--warmup={args.warmup}")
    runs = {}
    base_n = args.transitions if args.baseline_transitions is None else args.baseline_transitions
    load0 = os.getloadavg()
    for design, n in (("shipped", args.transitions), ("old", base_n)):
        if not n:
            continue
        print(f"running {design}: {n} transitions ...", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, __file__, "--design", design, f"--transitions={n}", "--json", *forward],
                             capture_output=True, text=True, check=True)
        runs[design] = json.loads(out.stdout.strip().splitlines()[-1])
    load1 = os.getloadavg()
    keys = [k for k in runs["shipped"] if k not in ("design",)]
    print(f"load average before {load0[0]:.2f} / after {load1[0]:.2f} (1 min), {load0[2]:.2f} / {load1[2]:.2f} (15 min)")
    print(f"{'':30} {'shipped (stills by Tk)':>24} {'before (stills by libVLC)':>26}")
    for k in keys:
        print(f"{k:30} {str(runs['shipped'].get(k)):>24} {str(runs.get('old', {}).get(k, '-')):>26}")
    s = runs["shipped"]
    flat = s["rss_slope_kib_per_transition"] is not None and abs(s["rss_slope_kib_per_transition"]) <= \
        2 * s["rss_slope_stderr"] + 0.5
    print(f"RSS slope (shipped) {s['rss_slope_kib_per_transition']} ± {s['rss_slope_stderr']} KiB/transition: "
          f"{'flat' if flat else 'NOT flat'}; gap p95 {s['gap_ms_p95']} ms (target ≤ 200: "
          f"{'met' if s['gap_ms_p95'] is not None and s['gap_ms_p95'] <= 200 else 'NOT met'})")


if __name__ == "__main__":
    main()
