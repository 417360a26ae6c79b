#!/usr/bin/env python3
"""Precision and recall of courtesy flags on labelled sets, per variant.

    python bench/accuracy.py [CORPUS_DIR] [--model M] [--json OUT] [--only PATTERN]
    python bench/accuracy.py --set heldout --variants stereo-clean,mono-noisy,stereo-busy,mono-busy,stereo-verybusy,mono-verybusy
    python bench/accuracy.py --set corpus,heldout,tuning --variants all

CORPUS_DIR holds audio files and labels.json (default ../shared/corpus). --set names sets
instead (corpus = shared/corpus, heldout = bench/heldout, tuning = bench/tuning, or a folder),
one table per set. --variants picks variants: those whose files the set has (stereo-clean,
mono-noisy) are scored from those files as before; the others are made from the set's
stereo-clean files by bench/degrade.py into a cache (bench/.cache/<set>/seed<N>/, reused while
sources and degrade.py are unchanged; babble from bench/tuning by default). Without --variants,
the variants the set's labels.json has.

Forbidden flags are scored per file x rule id; missing-courtesy flags per file x rule id too.
Shift files (several dialogues back to back) are scored per labelled interaction: a predicted
forbidden flag counts for the labelled interaction its time falls in, a predicted
missing-courtesy flag for the labelled interaction its predicted interaction overlaps most.
babble-only variants (hall babble, nobody at the counter) have no labelled flags: every flag
there is a false positive. A last table gives the character error rate of the transcript
against the labelled utterance texts (traditional characters folded to simplified,
punctuation dropped; digits count as errors against Chinese numerals).
"""
from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import degrade  # noqa: E402

from domain.vocab import CERTAIN_CONFIDENCE  # noqa: E402
from transcribe.analyze import Analyzer  # noqa: E402
from transcribe.asr import AsrOptions, Transcriber  # noqa: E402
from transcribe.model import resolve_model  # noqa: E402
from transcribe.rules import load_rulebook  # noqa: E402


@dataclasses.dataclass(frozen=True)
class ExperimentOptions(AsrOptions):
    """Decoding settings tried against hall noise (issue 14); the shipped ones are AsrOptions."""

    hotwords: str | None = None
    vad_threshold: float | None = None
    no_speech_threshold: float | None = None

    def transcribe_kwargs(self) -> dict:
        kw = super().transcribe_kwargs()
        if self.hotwords:
            kw["hotwords"] = self.hotwords
        if self.vad_threshold is not None:
            kw["vad_parameters"] = {**kw["vad_parameters"], "threshold": self.vad_threshold}
        if self.no_speech_threshold is not None:
            kw["no_speech_threshold"] = self.no_speech_threshold
        return kw


def hotwords(rulebook, which: str | None) -> str | None:  # noqa: ANN001
    if which is None:
        return None
    words = [w.text for r in rulebook.required for w in r.words]
    if which == "all":
        words += [p.text for r in rulebook.forbidden for p in r.phrases]
    return " ".join(dict.fromkeys(words))


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


def unit_assessable(entry: dict, result: dict) -> list[bool]:
    """Per labelled unit: False where the product said 无法判定 (the file, or for a shift file
    a predicted interaction overlapping the labelled one)."""
    if "interactions" not in entry:
        return [bool(result.get("assessable", True))]
    out = []
    for li in entry["interactions"]:
        bad = [i for i in result["interactions"] if not i.get("assessable", True)
               and _overlap(i["start"], i["end"], li["start"], li["end"]) > 0]
        out.append(not bad)
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


def _norm_text(text: str) -> str:
    from transcribe.normalize import to_simplified
    return "".join(ch for ch in to_simplified(text) if ch.isalnum())


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def reference_text(entry: dict, by_dialogue: dict[str, dict]) -> str | None:
    """The labelled words of a file (a shift file: its dialogues' words), None if unknown."""
    if degrade_babble_only(entry):
        return ""
    if "utterances" in entry:
        return "".join(u["text"] for u in entry["utterances"])
    parts = [by_dialogue.get(i.get("dialogue", "")) for i in entry.get("interactions", [])]
    if not parts or any(p is None for p in parts):
        return None
    return "".join(u["text"] for p in parts for u in p["utterances"])


def degrade_babble_only(entry: dict) -> bool:
    try:
        return degrade.is_babble_only(entry["variant"])
    except ValueError:
        return False


def set_entries(name: str, variants: list[str] | None, *, only: str, seed: int, cache: Path,
                babble: list[str] | None) -> tuple[Path, list[dict], dict[str, dict]]:
    """The labelled entries of a set for the requested variants; each has "_path"."""
    corpus = degrade.set_dir(name)
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))
    by_dialogue = {e["dialogue"]: e for e in labels if "dialogue" in e and "utterances" in e}
    have = []
    for e in labels:
        if e["variant"] not in have:
            have.append(e["variant"])
    variants = variants or sorted(have)
    made = [v for v in variants if v not in have]
    for v in made:
        degrade.variant_params(v)           # unknown names fail before any work
    cached = {}
    if made:
        cached = degrade.ensure_cache(name, made, seed=seed, cache=cache, babble_dirs=babble, only=only,
                                      log=lambda m: print(m, file=sys.stderr, flush=True))
    out = []
    for v in variants:
        if v in have:
            out += [{**e, "_path": str(corpus / e["file"])} for e in labels if e["variant"] == v]
            continue
        for e in labels:
            if e["variant"] != "stereo-clean":
                continue
            c = cached.get((e["file"], v))
            if c is None:                   # left out by --only
                continue
            n = {**e, "file": Path(c["path"]).name, "variant": v, "_path": c["path"],
                 "_snr": {k: c[k] for k in ("output_snr_db", "gap_snr_db") if k in c}}
            if degrade.is_mono(v):
                n["channels"] = None
            if degrade.is_babble_only(v):
                n["forbidden"], n["missing_courtesy"] = [], []
                if "interactions" in n:
                    n["interactions"] = [{**i, "forbidden": [], "missing_courtesy": []} for i in n["interactions"]]
            out.append(n)
    out = [e for e in out if fnmatch.fnmatch(e["file"], only)]
    return corpus, out, by_dialogue


def main() -> int:
    default_corpus = degrade.SETS["corpus"]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", default=None, help=f"labelled folder (default {default_corpus})")
    ap.add_argument("--set", default=None, help="comma list: corpus, heldout, tuning or folders (one table each)")
    ap.add_argument("--variants", default=None,
                    help="comma list of variants, or 'all' (default: the variants the set's files have)")
    ap.add_argument("--seed", type=int, default=1, help="degrade.py seed for made variants")
    ap.add_argument("--cache", default=str(degrade.DEFAULT_CACHE), help="where made variants are kept")
    ap.add_argument("--babble-from", action="append", default=None,
                    help="folders of dialogues for the babble of made variants (default bench/tuning)")
    ap.add_argument("--model", default=None, help="model directory or name (default: bundled base)")
    ap.add_argument("--rules", default=None, help="rulebook YAML (default: the shipped one)")
    ap.add_argument("--only", default="*", help="glob on file names")
    ap.add_argument("--json", default=None, help="write every analysis result to this file")
    ap.add_argument("--errors", action="store_true", help="list every false positive and negative")
    ap.add_argument("--prompt", default=None, help="initial prompt for the decoder (experiment)")
    ap.add_argument("--hotwords", choices=("courtesy", "all"), default=None,
                    help="decode with the rulebook's courtesy words (or all its phrases) as hotwords (experiment)")
    ap.add_argument("--vad-threshold", type=float, default=None, help="VAD speech threshold (experiment; 0.5)")
    ap.add_argument("--no-speech-threshold", type=float, default=None,
                    help="decoder no-speech threshold (experiment; 0.6)")
    ap.add_argument("--enhance", choices=("noisereduce", "rnnoise", "webrtc"), default=None,
                    help="speech enhancement before recognition (experiment; bench/enhance.py)")
    ap.add_argument("--asr-cache", default=str(degrade.DEFAULT_CACHE / "asr"),
                    help="keep the recogniser's output per audio and options here ('' = off)")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="speech windows decoded together (default: the product's, 8); 0: the sequential decoder")
    ap.add_argument("--no-timestamps", dest="timestamps", action="store_false",
                    help="batched: without timestamp tokens (the library's default; one text per window)")
    ap.add_argument("--together", type=int, default=1,
                    help="transcribe this many files in one batched pass, as the worker does with interactions")
    ap.add_argument("--verify", choices=("on", "off", "both"), default="on",
                    help="the acoustic model confirms candidates (transcribe.verify); both: every set scored "
                         "without, then with it, on the same transcripts, with the time of each pass")
    args = ap.parse_args()

    if args.set and args.corpus:
        ap.error("give a CORPUS_DIR or --set, not both")
    sets = args.set.split(",") if args.set else [args.corpus or str(default_corpus)]
    variants = None
    if args.variants:
        variants = degrade.all_variants() if args.variants == "all" else args.variants.split(",")
    rulebook = load_rulebook(args.rules)
    decoding = dict(initial_prompt=args.prompt, timestamps=args.timestamps,
                    **({} if args.batch_size is None else {"batch_size": args.batch_size}))
    options: AsrOptions = AsrOptions(**decoding)
    if args.hotwords or args.vad_threshold is not None or args.no_speech_threshold is not None:
        options = ExperimentOptions(**decoding, hotwords=hotwords(rulebook, args.hotwords),
                                    vad_threshold=args.vad_threshold, no_speech_threshold=args.no_speech_threshold)
    print(f"decoder: {'sequential' if not options.batch_size else f'batched, {options.batch_size} windows'}"
          f"{', no timestamp tokens' if options.batch_size and not options.timestamps else ''}"
          f"{f', {args.together} files per pass' if args.together > 1 else ''}", file=sys.stderr)
    transcriber = Transcriber(resolve_model(args.model), options=options)
    if args.asr_cache:
        from asr_cache import CachedTranscriber
        transcriber = CachedTranscriber(transcriber, Path(args.asr_cache))  # type: ignore[assignment]
    if args.enhance:
        from enhance import EnhancingTranscriber
        transcriber = EnhancingTranscriber(transcriber, args.enhance)  # type: ignore[assignment]
    passes = {"on": [True], "off": [False], "both": [False, True]}[args.verify]
    results = []
    for name in sets:
        corpus, labels, by_dialogue = set_entries(name, variants, only=args.only, seed=args.seed,
                                                  cache=Path(args.cache), babble=args.babble_from)
        for verify in passes:
            analyzer = Analyzer(transcriber, rulebook, verify=verify)
            if len(sets) > 1 or args.set or len(passes) > 1:
                print(f"\n== set {name}: {corpus} ({len(labels)} files), verification "
                      f"{'on' if verify else 'off'} ==")
            t0 = time.perf_counter()
            results += score_set(analyzer, labels, by_dialogue, errors=args.errors, together=args.together)
            v = analyzer.verifier
            print(f"pass: {time.perf_counter() - t0:.1f} s" + (f", of which verification {v.spent_s:.1f} s "
                                                                 f"in {v.calls} checks" if v else ""))
    if args.json:
        Path(args.json).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in results) + "\n")
    return 0


def _analyses(analyzer: Analyzer, labels: list[dict], together: int):  # noqa: ANN202 - iterator of dicts
    """Each labelled file's analysis, as a dict; ``together`` > 1: files transcribed in groups."""
    from transcribe.audio import load_audio

    for i in range(0, len(labels), together):
        group = labels[i:i + together]
        audios = [load_audio(e["_path"]) for e in group]
        asr = analyzer.transcriber.transcribe_many([a.mono() for a in audios]) if together > 1 else [None] * len(group)
        for entry, audio, segments in zip(group, audios, asr, strict=True):
            channels = "mono" if not entry.get("channels") else (
                "staff,customer" if entry["channels"].get("left") == "staff" else "customer,staff")
            yield analyzer.analyze_audio(audio, name=entry["_path"], channels=channels,
                                         asr_segments=segments).to_dict()


def score_set(analyzer: Analyzer, labels: list[dict], by_dialogue: dict[str, dict], *, errors: bool,
              together: int = 1) -> list[dict]:
    scores: dict[tuple[str, str], Score] = defaultdict(Score)
    certain: dict[tuple[str, str], Score] = defaultdict(Score)
    judged: dict[str, Score] = defaultdict(Score)      # missing courtesy on assessable units only
    units: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])   # units, not assessable, audio flags
    per_rule: dict[tuple[str, str], Score] = defaultdict(Score)
    cer: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])   # errors, ref chars, hyp chars, files
    snr: dict[str, list[float]] = defaultdict(list)
    results = []
    t0 = time.perf_counter()
    for n, (entry, res) in enumerate(zip(labels, _analyses(analyzer, labels, together), strict=True), 1):
        results.append(res)
        variant = entry["variant"]
        sure = {**res, "flags": [f for f in res["flags"] if f["confidence"] >= CERTAIN_CONFIDENCE]}
        verdicts = unit_assessable(entry, res)
        units[variant][2] += sum(1 for f in res["flags"] if f["type"] == "audio")
        for (unit, pf, pm), (_, sf, sm), (_, tf, tm), ok in zip(predicted_units(entry, res), predicted_units(entry, sure),
                                                                truth_units(entry), verdicts):
            scores[(variant, "forbidden")].add(unit, pf, tf)
            scores[(variant, "missing_courtesy")].add(unit, pm, tm)
            certain[(variant, "forbidden")].add(unit, sf, tf)
            certain[(variant, "missing_courtesy")].add(unit, sm, tm)
            units[variant][0] += 1
            units[variant][1] += not ok
            if ok:
                judged[variant].add(unit, pm, tm)
            for rule in pf | tf:
                per_rule[(variant, rule)].add(unit, pf & {rule}, tf & {rule})
        ref = reference_text(entry, by_dialogue)
        if ref is not None:
            ref, hyp = _norm_text(ref), _norm_text("".join(s["text"] for s in res["segments"]))
            c = cer[variant]
            c[0] += edit_distance(ref, hyp)
            c[1] += len(ref)
            c[2] += len(hyp)
            c[3] += 1
        snr[variant] += [x for x in entry.get("_snr", {}).get("output_snr_db", []) if x is not None]
        print(f"[{n}/{len(labels)}] {entry['file']} {time.perf_counter() - t0:.0f}s", file=sys.stderr)

    order = {v: k for k, v in enumerate(dict.fromkeys(e["variant"] for e in labels))}
    w = max([14] + [len(v) for v in order])
    print(f"\n{'variant':<{w}} {'flags':<17} {'P':>6} {'R':>6} {'TP':>4} {'FP':>4} {'FN':>4}")
    for (variant, kind), s in sorted(scores.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        print(f"{variant:<{w}} {kind:<17} {s.precision:6.3f} {s.recall:6.3f} {s.tp:4d} {s.fp:4d} {s.fn:4d}")
    print(f"\ncertain flags only (confidence >= {CERTAIN_CONFIDENCE}; the rest wait in 待确认):")
    print(f"{'variant':<{w}} {'flags':<17} {'P':>6} {'R':>6} {'TP':>4} {'FP':>4} {'FN':>4}")
    for (variant, kind), s in sorted(certain.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        print(f"{variant:<{w}} {kind:<17} {s.precision:6.3f} {s.recall:6.3f} {s.tp:4d} {s.fp:4d} {s.fn:4d}")
    print(f"\n{'variant':<{w}} {'units':>5} {'not assessable':>14} {'courtesy R (assessable)':>23} {'audio flags':>11}")
    for variant in order:
        n, bad, audio = units[variant]
        print(f"{variant:<{w}} {n:5d} {bad:14d} {judged[variant].recall:23.3f} {audio:11d}")
    print(f"\n{'variant':<{w}} {'forbidden rule':<17} {'P':>6} {'R':>6} {'TP':>4} {'FP':>4} {'FN':>4}")
    for (variant, rule), s in sorted(per_rule.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        print(f"{variant:<{w}} {rule:<17} {s.precision:6.3f} {s.recall:6.3f} {s.tp:4d} {s.fp:4d} {s.fn:4d}")
    print(f"\n{'variant':<{w}} {'CER':>6} {'errors':>7} {'ref ch':>7} {'hyp ch':>7} {'files':>5} {'mean output SNR dB':>19}")
    for variant in order:
        e, r, h, f = cer.get(variant, [0, 0, 0, 0])
        rate = f"{e / r:6.3f}" if r else f"{'-':>6}"
        m = f"{sum(snr[variant]) / len(snr[variant]):19.1f}" if snr[variant] else f"{'':>19}"
        print(f"{variant:<{w}} {rate} {e:7d} {r:7d} {h:7d} {f:5d} {m}")
    for variant in order:
        if degrade_babble_only({"variant": variant}):
            files = [r for r, e in zip(results, labels) if e["variant"] == variant]
            print(f"{variant}: {len(files)} files, {sum(1 for r in files if r['flags'])} with flags, "
                  f"{sum(len(r['interactions']) for r in files)} interactions, "
                  f"{sum(len(r['segments']) for r in files)} segments found")
    if errors:
        print()
        for (variant, kind), s in sorted(scores.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
            for e in s.errors:
                print(f"{variant} {kind} {e}")
        for r, e in zip(results, labels):
            for f in r["flags"]:
                if f["type"] == "audio":
                    print(f"{e['variant']} audio FP {e['file']} {f['rule']} {f['start']}-{f['end']} {f['evidence']}")
    print(f"\n{len(labels)} files in {time.perf_counter() - t0:.0f} s")
    return results


if __name__ == "__main__":
    sys.exit(main())
