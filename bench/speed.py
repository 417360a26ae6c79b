#!/usr/bin/env python3
"""counterwatch analysis next to bare faster-whisper, same model, settings and files.

    python bench/speed.py [FILE...] [--rounds N] [--threads T] [--device cpu|cuda] [--compute-type T]
                          [--batch-size N]

Each side runs in its own process (so peak memory is its own), loads the model once (not
timed), then processes every file; rounds alternate baseline and counterwatch so that machine
noise hits both. Both sides decode the same way: faster-whisper's batched pipeline with
``--batch-size`` windows (default: counterwatch's, 8), or the sequential decoder with 0, on
``--device`` (``cuda``: the GPU; CPU threads do not apply there) with ``--compute-type``
(default int8 on CPU, float16 on CUDA). Prints wall time per side (best round), the ratio counterwatch / baseline,
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


def _side(side: str, files: list[str], threads: int, device: str, compute_type: str, batch_size: int) -> dict:
    """Run in a child process: time one side over all files."""
    from transcribe.asr import AsrOptions
    from transcribe.model import resolve_model

    model_dir = resolve_model(None)
    opts = AsrOptions(batch_size=batch_size)
    if side == "baseline":
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from transcribe.asr import check_device

        model = WhisperModel(model_dir, device=check_device(device, compute_type), compute_type=compute_type,
                             cpu_threads=threads)
        batched = BatchedInferencePipeline(model)

        def run(path: str) -> int:
            if batch_size:
                segments, _ = batched.transcribe(path, **opts.batched_kwargs())
            else:
                segments, _ = model.transcribe(path, **opts.transcribe_kwargs())
            return sum(1 for _ in segments)
    else:
        from transcribe.analyze import Analyzer
        from transcribe.asr import Transcriber
        from transcribe.rules import load_rulebook

        analyzer = Analyzer(Transcriber(model_dir, device=device, compute_type=compute_type, cpu_threads=threads,
                                        options=opts), load_rulebook())

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
    ap.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu", help="where the model runs (both sides)")
    ap.add_argument("--compute-type", default=None, help="CTranslate2 compute type (default int8; float16 on cuda)")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="speech windows decoded together (default counterwatch's); 0: sequential (both sides)")
    ap.add_argument("--child", choices=["baseline", "counterwatch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    files = args.files or _default_files()
    from transcribe.asr import AsrOptions

    compute = args.compute_type or ("float16" if args.device == "cuda" else "int8")
    batch = AsrOptions().batch_size if args.batch_size is None else args.batch_size
    if args.child:
        print(json.dumps(_side(args.child, files, args.threads, args.device, compute, batch)))
        return 0
    from transcribe.asr import check_device
    from transcribe.errors import DeviceError

    try:
        where = check_device(args.device, compute)
    except DeviceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3

    from transcribe.audio import load_audio

    audio_s = sum(load_audio(f).duration_s for f in files)
    runs: dict[str, list[dict]] = {"baseline": [], "counterwatch": []}
    for r in range(args.rounds):
        order = ["baseline", "counterwatch"] if r % 2 == 0 else ["counterwatch", "baseline"]
        for side in order:
            out = subprocess.run([sys.executable, __file__, "--child", side, "--threads", str(args.threads),
                                  "--device", args.device, "--compute-type", compute, "--batch-size", str(batch),
                                  *files], capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            runs[side].append(res)
            print(f"round {r + 1} {side:<13} {res['wall_s']:7.2f} s  peak {res['peak_rss_mib']:6.0f} MiB",
                  file=sys.stderr)
    best = {s: min(v, key=lambda x: x["wall_s"]) for s, v in runs.items()}
    b, c = best["baseline"], best["counterwatch"]
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}, "
          f"{len(__import__('os').sched_getaffinity(0))} cores, Python {platform.python_version()}")
    print(f"files: {len(files)}, audio {audio_s:.1f} s, device {where}, {compute}, "
          f"{f'batched, {batch} windows' if batch else 'sequential'}, "
          f"{f'threads {args.threads}, ' if where == 'cpu' else ''}rounds {args.rounds} (best taken), "
          f"load average {__import__('os').getloadavg()[0]:.2f}")
    print(f"{'side':<14} {'wall s':>8} {'RTF':>7} {'x realtime':>11} {'peak MiB':>9}")
    for name, r in (("faster-whisper", b), ("counterwatch", c)):
        print(f"{name:<14} {r['wall_s']:8.2f} {r['wall_s'] / audio_s:7.3f} {audio_s / r['wall_s']:11.1f} "
              f"{r['peak_rss_mib']:9.0f}")
    ratio = c["wall_s"] / b["wall_s"]
    print(f"ratio counterwatch / faster-whisper: {ratio:.3f} (target <= 1.10: {'met' if ratio <= 1.10 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
