"""Drop what Whisper invents: subtitle credits and sign-offs from its training videos.

Whisper trained on subtitled video, and on silence or noise it often writes the credits
("字幕由Amara.org社区提供", "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", "谢谢观看").
VAD keeps most silence out; this catches what gets through. A counter never hears these.
"""
from __future__ import annotations

import re

from transcribe.asr import AsrSegment
from transcribe.normalize import to_simplified

_PATTERNS = re.compile(
    r"字幕|amara|订阅|点赞|转发|打赏|明镜|栏目|观看|收看|谢谢大家|本期|下期|视频|频道|"
    r"yoyo|独播|中文字幕|请不吝|感谢收听|由.*提供|翻译|校对|时间轴",
    re.IGNORECASE)
#: Segments Whisper itself rates as probably not speech and decodes with low confidence.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0


def is_hallucination(seg: AsrSegment) -> bool:
    text = to_simplified(seg.text)
    if not text.strip():
        return True
    if _PATTERNS.search(text):
        return True
    return seg.no_speech_prob > NO_SPEECH_PROB and seg.avg_logprob < LOW_LOGPROB
