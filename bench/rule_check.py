#!/usr/bin/env python3
"""Text-level check of a rulebook on labelled dialogue texts: no audio, no speech model.

    python bench/rule_check.py [--rules R.yaml] [--sets tuning,extra,corpus] [--mono] [-v]

Each dialogue's turns become utterances with made-up times (0.22 s per character, 0.8 s
between turns); stereo: the labelled speaker, sure; --mono: the speaker guessed from the
phrasing as on a mono recording (transcribe.speakers.attribute_mono). The rulebook then judges
them as the worker would (transcribe.judge), and the found rule ids are compared with the
labels: forbidden per dialogue x rule, missing courtesy per dialogue x rule. Sets: tuning
(bench/tuning/render.py), extra (bench/extra/dialogues.py), corpus (shared/corpus labels),
polite-dev (bench/polite/dev.py), polite-heldout (bench/polite/heldout.py: measured, never
tuned on). bench/heldout is left out of the default on purpose: rules are not written
against it.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.vocab import CUSTOMER, STAFF  # noqa: E402
from transcribe.asr import Word  # noqa: E402
from transcribe.interactions import split_interactions  # noqa: E402
from transcribe.judge import Judge  # noqa: E402
from transcribe.normalize import to_simplified  # noqa: E402
from transcribe.rules import load_rulebook  # noqa: E402
from transcribe.speakers import Utterance, attribute_mono, word_chars  # noqa: E402

CHAR_S = 0.22
GAP_S = 0.8


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem + "_dialogues", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def dialogues(name: str) -> list[tuple]:
    if name == "tuning":
        return list(_module(ROOT / "bench" / "tuning" / "render.py").DIALOGUES)
    if name == "extra":
        return list(_module(ROOT / "bench" / "extra" / "dialogues.py").DIALOGUES)
    if name in ("polite-dev", "polite-heldout"):
        return list(_module(ROOT / "bench" / "polite" / f"{name.split('-')[1]}.py").DIALOGUES)
    if name == "corpus":
        sys.path.insert(0, str(ROOT / "bench"))
        import degrade
        labels = json.loads((degrade.SETS["corpus"] / "labels.json").read_text(encoding="utf-8"))
        return [(e["dialogue"] if "dialogue" in e else e["file"].split("-")[0], e["forbidden"], e["missing_courtesy"],
                 [(u["speaker"], u["text"]) for u in e["utterances"]])
                for e in labels if e.get("variant") == "stereo-clean" and "utterances" in e]
    raise SystemExit(f"unknown set {name}")


def utterances(turns, *, mono: bool) -> list[Utterance]:
    t = 1.0
    words = []
    for spk, text in turns:
        text = to_simplified(text)
        words.append((spk, Word(t, t + CHAR_S * len(text), text, 1.0)))
        t += CHAR_S * len(text) + GAP_S
    if mono:
        return attribute_mono([w for _, w in words])
    return [Utterance(STAFF if spk == "S" else CUSTOMER, 0.97, word_chars(w)) for spk, w in words]


def check(judge: Judge, sets: list[str], *, mono: bool, verbose: bool) -> int:
    tp = fp = fn = mtp = mfp = mfn = 0
    for name in sets:
        for did, forbidden, missing, turns in dialogues(name):
            utts = utterances(turns, mono=mono)
            inters = split_interactions([(u.start_s, u.end_s) for u in utts])
            flags = judge.judge(utts, inters, mono=mono)
            found = {f.rule for f in flags if f.type == "forbidden"}
            mfound = {f.rule for f in flags if f.type == "missing_courtesy"}
            tp += len(found & set(forbidden))
            fp += len(found - set(forbidden))
            fn += len(set(forbidden) - found)
            mtp += len(mfound & set(missing))
            mfp += len(mfound - set(missing))
            mfn += len(set(missing) - mfound)
            bad = found != set(forbidden) or mfound != set(missing)
            if bad or verbose:
                print(f"{name}/{did}: forbidden labelled {sorted(forbidden)} found {sorted(found)}; "
                      f"missing labelled {sorted(missing)} found {sorted(mfound)}")
                for f in flags:
                    if f.type == "forbidden" and (verbose or f.rule not in forbidden):
                        print(f"    {f.rule} {f.evidence!r} ~ {f.phrase!r} conf {f.confidence:.2f}")
                if verbose or bad:
                    for u in utts:
                        print(f"      {u.speaker[:1]} {u.speaker_confidence:.2f} {u.text}")
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    mp = mtp / (mtp + mfp) if mtp + mfp else 1.0
    mr = mtp / (mtp + mfn) if mtp + mfn else 1.0
    print(f"{'mono' if mono else 'stereo'} {','.join(sets)}: forbidden P {p:.3f} R {r:.3f} (TP {tp} FP {fp} FN {fn}); "
          f"missing P {mp:.3f} R {mr:.3f} (TP {mtp} FP {mfp} FN {mfn})")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", default=None, help="rulebook YAML (default: the shipped one)")
    ap.add_argument("--sets", default="tuning,extra,corpus")
    ap.add_argument("--mono", action="store_true", help="guess speakers from phrasing (mono)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    return check(Judge(load_rulebook(args.rules)), args.sets.split(","), mono=args.mono, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
