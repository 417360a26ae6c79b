import pytest

from transcribe.asr import AsrSegment
from transcribe.hallucination import is_hallucination


def seg(text: str, *, no_speech: float = 0.1, logprob: float = -0.3) -> AsrSegment:
    return AsrSegment(0.0, 2.0, text, (), logprob, no_speech)


@pytest.mark.parametrize("text", ["字幕由Amara.org社区提供", "請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目",
                                  "谢谢观看", "优优独播剧场——YoYo Television Series Exclusive", "  "])
def test_subtitle_credits_and_empty_text_are_dropped(text):
    assert is_hallucination(seg(text))


def test_unlikely_speech_with_low_confidence_is_dropped():
    assert is_hallucination(seg("好的", no_speech=0.9, logprob=-1.5))


@pytest.mark.parametrize("text", ["谢谢，再见", "您好，请问您办理什么业务？", "请您看一下这张告知单"])
def test_counter_speech_is_kept(text):
    assert not is_hallucination(seg(text))
    assert not is_hallucination(seg(text, no_speech=0.9, logprob=-0.2))
