#!/usr/bin/env python3
"""Precision and recall of courtesy flags on a labelled corpus, per variant.

    python bench/accuracy.py [CORPUS_DIR] [--model M] [--json OUT] [--only PATTERN]

CORPUS_DIR holds audio files and labels.json (default ../shared/corpus). Forbidden flags are
scored per file x rule id; missing-courtesy flags per file x rule id too. Shift files (several
dialogues back to back) are scored per labelled interaction: a predicted forbidden flag counts
for the labelled interaction its time falls in, a predicted missing-courtesy flag for the
labelled interaction its predicted interaction overlaps most.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transcribe.analyze import Analyzer  # noqa: E402
from transcribe.asr import Transcriber  # noqa: E402
from transcribe.model import resolve_model  # noqa: E402
from transcribe.rules import load_rulebook  # noqa: E402


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def predicted_units(entry: dict, result: dict) -> list[tuple[str, set[str], set[str]]]:
    """(unit name, forbidden rule ids, missing rule ids) predicted per labelled unit."""
    forb = [f for f in result["flags"] if f["type"] == "forbidden"]
    miss = [f for f in result["flags"] if f["type"] == "missing_courtesy"]
    if "interactions" not in entry:
        return [(entry["file"], {f["rule"] for f in forb}, {f["rule"] for f in miss})]
    labelled = entry["interactions"]
    out = []
    inter_span = {i["index"]: (i["start"], i["end"]) for i in result["interactions"]}
    for k, li in enumerate(labelled):
        lo, hi = li["start"], li["end"]
        fset = {f["rule"] for f in forb if lo - 1.0 <= f["start"] <= hi + 1.0}
        mset = set()
        for f in miss:
            a, b = inter_span[f["interaction"]]
            best = max(range(len(labelled)), key=lambda j: _overlap(a, b, labelled[j]["start"], labelled[j]["end"]))
            if best == k and _overlap(a, b, lo, hi) > 0:
                mset.add(f["rule"])
        out.append((f"{entry['file']}#{k}", fset, mset))
    return out


def truth_units(entry: dict) -> list[tuple[str, set[str], set[str]]]:
    if "interactions" not in entry:
        return [(entry["file"], set(entry["forbidden"]), set(entry["missing_courtesy"]))]
    return [(f"{entry['file']}#{k}", set(i["forbidden"]), set(i["missing_courtesy"]))
            for k, i in enumerate(entry["interactions"])]


class Score:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.errors: list[str] = []

    def add(self, unit: str, pred: set[str], truth: set[str]) -> None:
        self.tp += len(pred & truth)
        self.fp += len(pred - truth)
        self.fn += len(truth - pred)
        self.errors += [f"FP {unit} {r}" for r in sorted(pred - truth)]
        self.errors += [f"FN {unit} {r}" for r in sorted(truth - pred)]

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def main() -> int:
    default_corpus = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", default=str(default_corpus))
    ap.add_argument("--model", default=None, help="model directory or name (default: bundled base)")
    ap.add_argument("--rules", default=None, help="rulebook YAML (default: the shipped one)")
    ap.add_argument("--only", default="*", help="glob on file names")
    ap.add_argument("--json", default=None, help="write every analysis result to this file")
    ap.add_argument("--errors", action="store_true", help="list every false positive and negative")
    ap.add_argument("--prompt", default=None, help="initial prompt for the decoder (experiment)")
    args = ap.parse_args()

    corpus = Path(args.corpus)
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))
    labels = [e for e in labels if fnmatch.fnmatch(e["file"], args.only)]
    from transcribe.asr import AsrOptions

    analyzer = Analyzer(Transcriber(resolve_model(args.model), options=AsrOptions(initial_prompt=args.prompt)),
                        load_rulebook(args.rules))
    scores: dict[tuple[str, str], Score] = defaultdict(Score)
    per_rule: dict[tuple[str, str], Score] = defaultdict(Score)
    results = []
    t0 = time.perf_counter()
    for n, entry in enumerate(labels, 1):
        channels = "mono" if not entry.get("channels") else (
            "staff,customer" if entry["channels"].get("left") == "staff" else "customer,staff")
        res = analyzer.analyze_file(corpus / entry["file"], channels=channels).to_dict()
        results.append(res)
        variant = entry["variant"]
        for (unit, pf, pm), (_, tf, tm) in zip(predicted_units(entry, res), truth_units(entry)):
            scores[(variant, "forbidden")].add(unit, pf, tf)
            scores[(variant, "missing_courtesy")].add(unit, pm, tm)
            for rule in pf | tf:
                per_rule[(variant, rule)].add(unit, pf & {rule}, tf & {rule})
        print(f"[{n}/{len(labels)}] {entry['file']} {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    if args.json:
        Path(args.json).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in results) + "\n")

    print(f"\n{'variant':<14} {'flags':<17} {'P':>6} {'R':>6} {'TP':>4} {'FP':>4} {'FN':>4}")
    for (variant, kind), s in sorted(scores.items()):
        print(f"{variant:<14} {kind:<17} {s.precision:6.3f} {s.recall:6.3f} {s.tp:4d} {s.fp:4d} {s.fn:4d}")
    print(f"\n{'variant':<14} {'forbidden rule':<17} {'P':>6} {'R':>6} {'TP':>4} {'FP':>4} {'FN':>4}")
    for (variant, rule), s in sorted(per_rule.items()):
        print(f"{variant:<14} {rule:<17} {s.precision:6.3f} {s.recall:6.3f} {s.tp:4d} {s.fp:4d} {s.fn:4d}")
    if args.errors:
        print()
        for (variant, kind), s in sorted(scores.items()):
            for e in s.errors:
                print(f"{variant} {kind} {e}")
    print(f"\n{len(labels)} files in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
