#!/usr/bin/env python3
"""Character error rate on real Mandarin speech: the product's recogniser beside bare faster-whisper.

    nice python bench/realspeech.py [--dir bench/realspeech] [--threads 2]

Both decode every file of the folder (its ``text`` holds the references, Kaldi format) with
the same bundled model: the product through :class:`transcribe.asr.Transcriber` with the
shipped :class:`~transcribe.asr.AsrOptions`, bare through ``WhisperModel.transcribe`` with its
defaults (language zh). Scored on letters only, traditional folded to simplified. Prints one
line per file and the mean CER and decoding time of each, same run.
"""
from __future__ import annotations

import argparse
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transcribe.asr import AsrOptions, Transcriber  # noqa: E402
from transcribe.audio import load_audio  # noqa: E402
from transcribe.model import resolve_model  # noqa: E402
from transcribe.normalize import to_simplified  # noqa: E402


def letters(text: str) -> str:
    return "".join(c for c in to_simplified(text) if unicodedata.category(c).startswith("L"))


def cer(ref: str, hyp: str) -> float:
    r, h = letters(ref), letters(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
    return d[len(h)] / max(len(r), 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=ROOT / "bench" / "realspeech")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from faster_whisper import WhisperModel

    refs = dict(line.split(None, 1) for line in (args.dir / "text").read_text(encoding="utf-8").splitlines()
                if line.strip())
    files = {k: load_audio(args.dir / f"{k}.flac").mono() for k in sorted(refs)}
    model = resolve_model(None)
    bare = WhisperModel(model, device="cpu", compute_type="int8", cpu_threads=args.threads, local_files_only=True)
    product = Transcriber(model, cpu_threads=args.threads, options=AsrOptions())
    decoders = {"bare": lambda x: "".join(s.text for s in bare.transcribe(x, language="zh")[0]),
                "product": lambda x: "".join(s.text for s in product.transcribe(x))}
    totals = {}
    for name, fn in decoders.items():
        t0, errs = time.perf_counter(), []
        for k, x in files.items():
            hyp = fn(x)
            errs.append(cer(refs[k], hyp))
            print(f"{name:8} {k[:32]:32} CER {errs[-1]:.3f}  {hyp}")
        totals[name] = (sum(errs) / len(errs), time.perf_counter() - t0)
    for name, (c, t) in totals.items():
        print(f"{name:8} mean CER {c:.3f}  decode {t:.1f} s  ({len(files)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
