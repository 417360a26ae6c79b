"""Integration: the bundled Whisper model on real counter audio, exact flag sets."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from transcribe.audio import SAMPLE_RATE_HZ, Audio

pytestmark = pytest.mark.slow


def _sets(result):
    forb = {f.rule for f in result.flags if f.type == "forbidden"}
    miss = {f.rule for f in result.flags if f.type == "missing_courtesy"}
    return forb, miss


def _channels(entry: dict) -> str:
    if not entry["channels"]:
        return "mono"
    return "staff,customer" if entry["channels"]["left"] == "staff" else "customer,staff"


@pytest.mark.parametrize("name", [
    "dev05-stereo-clean.flac",   # staff: 墙上贴着 / 自己看 / 说了多少遍了 ...
    "dev24-mono-noisy.flac",     # staff: 烦不烦 (heard as 反不…) / 爱找谁找谁, mono with noise
    "dev14-stereo-clean.flac",   # trap: only the customer says 快下班了
    "dev07-stereo-clean.flac",   # trap: only the customer says 我不知道; only the customer thanks
    "dev08-mono-noisy.flac",     # trap in mono: the customer says 我明天再来吧
    "dev01-stereo-clean.flac",   # a model interaction: no flags at all
])
def test_exact_flag_sets_match_the_labels(analyzer, data_dir: Path, labels: dict, name: str):
    entry = labels[name]
    result = analyzer.analyze_file(data_dir / name, channels=_channels(entry))
    forb, miss = _sets(result)
    assert forb == set(entry["forbidden"]), result.to_json()
    assert miss == set(entry["missing_courtesy"]), result.to_json()
    assert result.rulebook_version == analyzer.rulebook.version
    assert len(result.interactions) == 1
    for f in result.flags:
        assert 0.0 <= f.confidence <= 1.0 and f.interaction == 0
        if f.type == "forbidden":
            assert f.speaker == "staff" and f.evidence and f.start_s < f.end_s


def test_forbidden_flag_points_at_the_words(analyzer, data_dir: Path):
    result = analyzer.analyze_file(data_dir / "dev05-stereo-clean.flac")
    (flag,) = [f for f in result.flags if f.phrase == "说了多少遍了"]
    # Labelled: the staff says 说了多少遍了，怎么还不明白 from 12.05 s to 14.77 s.
    assert 11.0 <= flag.start_s < flag.end_s <= 15.0
    assert flag.evidence == "说了多少遍了"
    assert all("說" not in s.text and "麼" not in s.text for s in result.segments)  # simplified


def test_stereo_speakers_follow_the_louder_channel(analyzer, data_dir: Path, labels: dict):
    entry = labels["dev14-stereo-clean.flac"]
    result = analyzer.analyze_file(data_dir / "dev14-stereo-clean.flac")
    customer = [s for s in result.segments if s.speaker == "customer"]
    assert any("下班" in s.text for s in customer)
    swapped = analyzer.analyze_file(data_dir / "dev14-stereo-clean.flac", channels="customer,staff")
    assert "F-CLOSING" in {f.rule for f in swapped.flags}, "with the channels swapped the staff says it"
    assert entry["forbidden"] == []


def test_silence_and_noise_give_no_text(analyzer):
    rng = np.random.default_rng(7)
    quiet = np.zeros((1, 20 * SAMPLE_RATE_HZ), dtype=np.float32)
    noise = (rng.standard_normal((1, 20 * SAMPLE_RATE_HZ)) * 0.003).astype(np.float32)
    for samples in (quiet, noise):
        result = analyzer.analyze_audio(Audio(samples, SAMPLE_RATE_HZ), name="silence")
        assert result.segments == [] and result.flags == [] and result.interactions == []


def test_long_silence_splits_interactions_and_courtesy_is_judged_per_interaction(analyzer, data_dir: Path):
    from transcribe.audio import load_audio

    polite = load_audio(data_dir / "dev01-stereo-clean.flac").samples
    rude = load_audio(data_dir / "dev05-stereo-clean.flac").samples
    gap = np.zeros((2, 12 * SAMPLE_RATE_HZ), dtype=np.float32)
    both = Audio(np.concatenate([polite, gap, rude], axis=1), SAMPLE_RATE_HZ)
    result = analyzer.analyze_audio(both, name="two")
    assert len(result.interactions) == 2
    by_inter = {i: {(f.type, f.rule) for f in result.flags if f.interaction == i} for i in (0, 1)}
    assert by_inter[0] == set()
    assert ("missing_courtesy", "C-THANKS") in by_inter[1] and ("forbidden", "F-SELF-SERVE") in by_inter[1]
    # An explicit boundary (queue call) inside the first dialogue splits it too.
    split = analyzer.analyze_audio(both, name="two", boundaries_s=[12.0])
    assert len(split.interactions) == 3 and split.interactions[1].start_s == 12.0


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "counterwatch", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_cli_json_contract_and_bad_file_exit_code(data_dir: Path, tmp_path: Path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....not really")
    p = _cli("analyze", "--json", str(bad), str(data_dir / "dev24-mono-noisy.flac"))
    assert p.returncode == 2
    assert "broken.wav" in p.stderr
    import json

    (line,) = p.stdout.strip().splitlines()
    obj = json.loads(line)
    assert set(obj) >= {"file", "duration", "language", "rulebook_version", "segments", "interactions", "flags",
                        "assessable", "assessable_reason", "turns"}
    assert obj["language"] == "zh" and obj["file"].endswith("dev24-mono-noisy.flac")
    assert set(obj["segments"][0]) >= {"start", "end", "speaker", "text"}
    assert set(obj["interactions"][0]) == {"index", "start", "end", "assessable", "assessable_reason", "signals",
                                           "rules_not_applied"}
    # A file has no queue ticket: the rule on the ticket's wait does not apply, and says why (issue 21).
    assert all(any(n["rule"] == "C-WAIT-APOLOGY" and n["reason"].startswith("本次服务没有取号等候记录")
                   for n in i["rules_not_applied"]) for i in obj["interactions"])
    assert "C-WAIT-APOLOGY" not in {f["rule"] for f in obj["flags"]}
    assert {f["rule"] for f in obj["flags"] if f["type"] == "forbidden"} == {"F-RUDE", "F-NOT-MINE"}
    for f in obj["flags"]:
        assert set(f) == {"type", "rule", "phrase", "evidence", "start", "end", "speaker", "interaction",
                          "confidence", "severity", "confidence_reasons"}


def test_cli_table_and_rulebook_error(data_dir: Path, tmp_path: Path):
    p = _cli("analyze", "--channels", "staff,customer", str(data_dir / "dev05-stereo-clean.flac"))
    assert p.returncode == 0, p.stderr
    assert "F-SELF-SERVE" in p.stdout and "interaction 0" in p.stdout
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nforbidden:\n  - id: F-X\n    phrases: 5\n", encoding="utf-8")
    p = _cli("analyze", "--rules", str(rules), str(data_dir / "dev05-stereo-clean.flac"))
    assert p.returncode == 2
    assert f"{rules}:4: forbidden[0].phrases" in p.stderr


def test_every_command_has_help():
    for args in ([], ["analyze"], ["model"]):
        p = _cli(*args, "--help")
        assert p.returncode == 0 and "Usage:" in p.stdout
