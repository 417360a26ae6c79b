#!/usr/bin/env python3
"""counterwatch analysis next to bare faster-whisper, same model, settings and files.

    python bench/speed.py [FILE...] [--rounds N] [--threads T]

Each side runs in its own process (so peak memory is its own), loads the model once (not
timed), then processes every file; rounds alternate baseline and counterwatch so that machine
noise hits both. Prints wall time per side (best round), the ratio counterwatch / baseline,
the realtime factor (processing seconds per audio second) and peak resident memory.
Default files: the two shift recordings and four single dialogues of the corpus (counter-like
audio with long silences), or tests/data when the corpus is not there.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _default_files() -> list[str]:
    corpus = ROOT.parent / "shared" / "corpus"
    names = ["shift01-stereo-clean.flac", "shift01-mono-noisy.flac", "dev05-stereo-clean.flac",
             "dev24-mono-noisy.flac", "dev14-stereo-clean.flac", "dev08-mono-noisy.flac"]
    if all((corpus / n).exists() for n in names):
        return [str(corpus / n) for n in names]
    return sorted(str(p) for p in (ROOT / "tests" / "data").glob("*.flac"))


def _side(side: str, files: list[str], threads: int) -> dict:
    """Run in a child process: time one side over all files."""
    from transcribe.asr import AsrOptions
    from transcribe.model import resolve_model

    model_dir = resolve_model(None)
    opts = AsrOptions()
    if side == "baseline":
        from faster_whisper import WhisperModel

        model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)

        def run(path: str) -> int:
            segments, _ = model.transcribe(path, **opts.transcribe_kwargs())
            return sum(1 for _ in segments)
    else:
        from transcribe.analyze import Analyzer
        from transcribe.asr import Transcriber
        from transcribe.rules import load_rulebook

        analyzer = Analyzer(Transcriber(model_dir, compute_type="int8", cpu_threads=threads, options=opts),
                            load_rulebook())

        def run(path: str) -> int:
            return len(analyzer.analyze_file(path, channels="staff,customer").segments)

    t0 = time.perf_counter()
    count = sum(run(f) for f in files)
    wall = time.perf_counter() - t0
    return {"side": side, "wall_s": wall, "items": count,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="CTranslate2 CPU threads (both sides)")
    ap.add_argument("--child", choices=["baseline", "counterwatch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    files = args.files or _default_files()
    if args.child:
        print(json.dumps(_side(args.child, files, args.threads)))
        return 0

    from transcribe.audio import load_audio

    audio_s = sum(load_audio(f).duration_s for f in files)
    runs: dict[str, list[dict]] = {"baseline": [], "counterwatch": []}
    for r in range(args.rounds):
        order = ["baseline", "counterwatch"] if r % 2 == 0 else ["counterwatch", "baseline"]
        for side in order:
            out = subprocess.run([sys.executable, __file__, "--child", side, "--threads", str(args.threads), *files],
                                 capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            runs[side].append(res)
            print(f"round {r + 1} {side:<13} {res['wall_s']:7.2f} s  peak {res['peak_rss_mib']:6.0f} MiB",
                  file=sys.stderr)
    best = {s: min(v, key=lambda x: x["wall_s"]) for s, v in runs.items()}
    b, c = best["baseline"], best["counterwatch"]
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}, "
          f"{len(__import__('os').sched_getaffinity(0))} cores, Python {platform.python_version()}")
    print(f"files: {len(files)}, audio {audio_s:.1f} s, threads {args.threads}, rounds {args.rounds} (best taken)")
    print(f"{'side':<14} {'wall s':>8} {'RTF':>7} {'x realtime':>11} {'peak MiB':>9}")
    for name, r in (("faster-whisper", b), ("counterwatch", c)):
        print(f"{name:<14} {r['wall_s']:8.2f} {r['wall_s'] / audio_s:7.3f} {audio_s / r['wall_s']:11.1f} "
              f"{r['peak_rss_mib']:9.0f}")
    ratio = c["wall_s"] / b["wall_s"]
    print(f"ratio counterwatch / faster-whisper: {ratio:.3f} (target <= 1.10: {'met' if ratio <= 1.10 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
