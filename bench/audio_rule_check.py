#!/usr/bin/env python3
"""Precision and recall of the channel audio rules (抢话, 冷场, 大声) under intercom crosstalk.

    python bench/audio_rule_check.py [--n 40] [--seed 7] [--variants stereo-clean,stereo-busy,stereo-verybusy]

Dialogues with KNOWN times are assembled from real rendered speech: the staff's and the
customer's turns of the held-out set (bench/heldout/*-stereo-clean.flac, each cut from its own
microphone channel at the labelled times), placed one after another with 0.5-1.2 s pauses
(polite), and in some dialogues with one of: the staff starting 2-3 s before the customer's
turn ends (a true 抢话 of 2-3 s), a 17-22 s silence before the staff answers (冷场, no excuse
said), a staff turn 15 dB louder than the others (大声). The channels get the renderer's 12 %
crosstalk each way, then bench/degrade.py's hall variants (level changes, room, babble from
bench/tuning, crosstalk up to 30 %, clipping, G.711). The default rulebook's thresholds
(A-OVERLAP 1500 ms, A-SILENCE 15 s, A-LOUD 12 dB) judge transcribe.turns.channel_turns of
the result over the whole dialogue (no recogniser: 冷场's excuse test needs none here).
A hit is right when it lies within 1.5 s of a planted event of its rule; every other hit is a
false flag. 语速 needs the recogniser and is not measured here.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import degrade  # noqa: E402

from domain.vocab import CUSTOMER, STAFF  # noqa: E402
from transcribe import audio_rules  # noqa: E402
from transcribe.rules import load_rulebook  # noqa: E402
from transcribe.turns import channel_turns  # noqa: E402

SR = 16000
XT = 0.12
TOL_S = 1.5
#: The degraded dialogues, reused between runs (delete when degrade.py or the pool changes).
CACHE = ROOT / "bench" / ".cache" / "audio_rules"
KINDS = ("polite", "overlap", "silence", "loud")


def speech_pool(folder: Path) -> dict[str, list[np.ndarray]]:
    """Every labelled turn of the folder's stereo-clean dialogues, from its own channel."""
    out: dict[str, list[np.ndarray]] = {"S": [], "C": []}
    for e in json.loads((folder / "labels.json").read_text(encoding="utf-8")):
        if e.get("variant") != "stereo-clean" or "interactions" in e:
            continue
        x = degrade.read_audio(folder / e["file"])
        for u in e["utterances"]:
            ch = 0 if u["speaker"] == "S" else 1
            seg = x[int(u["start"] * SR):int(u["end"] * SR), ch].astype(np.float64)
            if len(seg) > 0.6 * SR:
                out[u["speaker"]].append(seg)
    return out


def build(pool: dict[str, list[np.ndarray]], kind: str, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """One dialogue (n, 2) and its planted events [{rule, start, end}]."""
    n_turns = int(rng.integers(6, 10))
    placed: list[tuple[str, float, np.ndarray]] = []
    events: list[dict] = []
    t = 1.0
    special = int(rng.integers(2, n_turns - 1)) | 1      # a staff turn (odd index: C, S, C, S ...)
    if kind == "loud":
        special = max(special, 5)                         # two earlier staff turns: the baseline
    for k in range(n_turns):
        who = "C" if k % 2 == 0 else "S"
        cands = pool[who]
        if kind == "overlap" and k in (special - 1, special):
            cands = [x for x in cands if len(x) > 3.6 * SR] or cands      # room for a 2-3 s overlap
        seg = cands[int(rng.integers(len(cands)))]
        start = t
        if k == special and kind == "overlap":
            prev_start, prev = placed[-1][1], placed[-1][2]
            prev_end = prev_start + len(prev) / SR
            lead = min(float(rng.uniform(2.0, 3.0)), prev_end - prev_start - 0.3, len(seg) / SR - 0.3)
            start = prev_end - lead
            events.append({"rule": "A-OVERLAP", "start": start, "end": prev_end})
        elif k == special and kind == "silence":
            start = t + float(rng.uniform(17.0, 22.0)) - float(rng.uniform(0.5, 1.2))
            events.append({"rule": "A-SILENCE", "start": placed[-1][1] + len(placed[-1][2]) / SR, "end": start})
        if k == special and kind == "loud":
            seg = seg * 10 ** (15 / 20)
            events.append({"rule": "A-LOUD", "start": start, "end": start + len(seg) / SR})
        placed.append((who, start, seg))
        t = max(t, start + len(seg) / SR) + float(rng.uniform(0.5, 1.2))
    total = int((t + 2.0) * SR)
    s, c = np.zeros(total), np.zeros(total)
    for who, start, seg in placed:
        i = int(start * SR)
        (s if who == "S" else c)[i:i + len(seg)] += seg
    x = np.stack([s + XT * c, c + XT * s], axis=1)
    x *= 0.9 / max(0.9, np.abs(x).max())
    return x, events


def judge(x: np.ndarray, book) -> list[dict]:  # noqa: ANN001
    turns = channel_turns(np.ascontiguousarray(x.T), SR, (STAFF, CUSTOMER))
    hi = x.shape[0] / SR
    out = []
    for rule in book.audio:
        if rule.kind == "speech_rate":
            continue
        for h in audio_rules.find(rule, turns, [], 0.0, hi):
            out.append({"rule": rule.id, "start": h.start_s, "end": h.end_s, "value": h.value})
    return out


def score(hits: list[dict], events: list[dict]) -> tuple[int, int, int, list[dict]]:
    """(true hits, false hits, events found, the false hits)."""
    tp = fp = 0
    false = []
    found = set()
    for h in hits:
        near = [k for k, e in enumerate(events) if e["rule"] == h["rule"]
                and h["start"] <= e["end"] + TOL_S and e["start"] - TOL_S <= h["end"]]
        if near:
            tp += 1
            found.update(near)
        else:
            fp += 1
            false.append(h)
    return tp, fp, len(found), false


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40, help="dialogues per variant (a quarter of each kind)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--variants", default="stereo-clean,stereo-busy,stereo-verybusy")
    ap.add_argument("--json", help="write the per-variant figures here")
    ns = ap.parse_args(argv)
    book = load_rulebook(None)
    pool = speech_pool(ROOT / "bench" / "heldout")
    babble = [degrade.read_audio(p) for p in degrade.babble_pool([ROOT / "bench" / "tuning"], exclude="")]
    rng = np.random.default_rng(ns.seed)
    dialogues = [(f"a{k:02d}", KINDS[k % len(KINDS)], *build(pool, KINDS[k % len(KINDS)], rng)) for k in range(ns.n)]
    report = {}
    t0 = time.monotonic()
    for variant in ns.variants.split(","):
        per: dict[str, list[int]] = {}
        polite_flagged = 0
        false_all = []
        for did, kind, x, events in dialogues:
            cached = CACHE / f"seed{ns.seed}-n{ns.n}-{did}-{variant}.npy"
            if cached.is_file():
                y = np.load(cached)
            else:
                y = degrade.make_variant(x, SR, variant, degrade.file_seed(ns.seed, did), babble).astype(np.float32)
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.save(cached, y)
            hits = judge(y, book)
            if kind == "polite" and hits:
                polite_flagged += 1
            for rid in ("A-OVERLAP", "A-SILENCE", "A-LOUD"):
                ev = [e for e in events if e["rule"] == rid]
                tp, fp, found, false = score([h for h in hits if h["rule"] == rid], ev)
                acc = per.setdefault(rid, [0, 0, 0, 0])
                acc[0] += tp
                acc[1] += fp
                acc[2] += found
                acc[3] += len(ev)
                false_all += [{"dialogue": did, "kind": kind, **f} for f in false]
        report[variant] = {rid: {"tp": a[0], "fp": a[1], "precision": round(a[0] / (a[0] + a[1]), 3) if a[0] + a[1] else None,
                                 "recall": round(a[2] / a[3], 3) if a[3] else None, "events": a[3]}
                           for rid, a in per.items()}
        report[variant]["polite_dialogues_flagged"] = polite_flagged
        report[variant]["false"] = false_all
        print(variant, json.dumps({k: v for k, v in report[variant].items() if k != "false"}, ensure_ascii=False),
              flush=True)
        for f in false_all[:12]:
            print("   false", f["dialogue"], f["kind"], f["rule"], f"{f['start']:.1f}-{f['end']:.1f}", f["value"])
    print(f"{len(dialogues)} dialogues x {len(report)} variants in {time.monotonic() - t0:.0f} s")
    if ns.json:
        Path(ns.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
