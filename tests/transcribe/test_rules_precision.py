"""Issue 19, rule language precision: one syllable is never matched by sound, phrases carry
negative context (``not_in``), and the default rulebook leaves everyday polite phrases alone
while still catching the violations they resemble. Text-level: transcripts made from text."""
from __future__ import annotations

import pytest

from domain.vocab import CUSTOMER, STAFF
from transcribe.asr import Word
from transcribe.errors import RulebookError
from transcribe.interactions import split_interactions
from transcribe.judge import Judge
from transcribe.match import PhraseMatcher
from transcribe.normalize import tokenize
from transcribe.rules import Phrase, load_rulebook, parse_rulebook
from transcribe.speakers import Utterance, word_chars


def judged(book, *turns, gap_s: float = 0.8, char_s: float = 0.22):
    """('S' | 'C', text) turns as a stereo transcript (speaker sure, times made up), judged."""
    u, t = [], 1.0
    for who, text in turns:
        w = Word(t, t + char_s * len(text), text, 1.0)
        u.append(Utterance(STAFF if who == "S" else CUSTOMER, 0.97, word_chars(w)))
        t = w.end_s + gap_s
    return Judge(book).judge(u, split_interactions([(x.start_s, x.end_s) for x in u]), mono=False)


def forbidden(book, *turns) -> set[str]:
    return {f.rule for f in judged(book, *turns) if f.type == "forbidden"}


@pytest.fixture(scope="module")
def book():
    return load_rulebook()


def _book(body: str):
    return parse_rulebook('version: "t"\n' + body, source="t.yaml")


# -- one syllable is never matched by sound -------------------------------------------------------

def test_single_character_term_matches_only_itself():
    b = _book("forbidden:\n  - id: F-X\n    patterns:\n      - near: [你, 瞎]\n        within: 1\n")
    assert forbidden(b, ("S", "你瞎说什么")) == {"F-X"}
    assert forbidden(b, ("S", "那你下次带来")) == set()      # 下 (xia) is not 瞎 (xia)
    assert forbidden(b, ("S", "你虾仁要不要")) == set()


def test_single_character_explicit_pinyin_is_still_exact():
    b = _book("forbidden:\n  - id: F-X\n    patterns:\n      - near: [{text: 找, match: pinyin}, 别人]\n        within: 1\n")
    assert forbidden(b, ("S", "你找别人吧")) == {"F-X"}
    assert forbidden(b, ("S", "你照别人的填")) == set()


def test_a_phrase_object_of_one_character_is_exact_whatever_its_mode():
    m = PhraseMatcher([Phrase("瞎", "pinyin", False)])
    assert m.find(tokenize("下次")) == []
    assert len(m.find(tokenize("瞎说"))) == 1


def test_two_syllable_words_still_match_homophones():
    b = _book("forbidden:\n  - id: F-X\n    phrases: [滚蛋]\n")
    assert forbidden(b, ("S", "你给我滚旦")) == {"F-X"}


# -- negative context ------------------------------------------------------------------------------

NOT_IN = """
sets:
  UNSURE:
    - {text: 不清楚, not_in: [说不清楚, 看不清楚]}
forbidden:
  - id: F-DK
    patterns:
      - any: [$UNSURE]
"""


@pytest.mark.parametrize("text", ["跟你说不清楚", "我看不清楚这个字", "这事电话里说不清楚"])
def test_not_in_words_do_not_count(text):
    assert forbidden(_book(NOT_IN), ("S", text)) == set()


@pytest.mark.parametrize("text", ["这个我不清楚", "不清楚，你问别人", "我也不清楚啊"])
def test_the_phrase_outside_its_not_in_words_still_counts(text):
    assert forbidden(_book(NOT_IN), ("S", text)) == {"F-DK"}


def test_not_in_follows_sound_as_the_phrase_does():
    # 说不清楚 heard as 说不青楚: the same toneless pinyin is still the same word.
    assert forbidden(_book(NOT_IN), ("S", "跟你说不青楚")) == set()


def test_not_in_on_plain_phrases_too():
    b = _book("forbidden:\n  - id: F-X\n    phrases:\n      - {text: 不怕, not_in: [不怕麻烦]}\n")
    assert forbidden(b, ("S", "我不怕")) == {"F-X"}
    assert forbidden(b, ("S", "我们不怕麻烦")) == set()


@pytest.mark.parametrize("body, message", [
    ("      - {text: 不清楚, not_in: [清楚]}\n", "must be a longer word containing"),
    ("      - {text: 不清楚, not_in: [说不明白]}\n", "must be a longer word containing"),
    ("      - {text: 不清楚, not_in: 说不清楚}\n", "not_in"),
    ("      - {text: 不清楚, nott_in: [说不清楚]}\n", "unknown field"),
])
def test_bad_not_in_is_refused_with_line_and_field(body, message):
    with pytest.raises(RulebookError) as e:
        _book("forbidden:\n  - id: F-X\n    phrases:\n" + body)
    assert message in str(e.value)
    assert "t.yaml:5" in str(e.value)


# -- the default rulebook against everyday polite phrases -----------------------------------------

POLITE = [
    "开卡有身份证就可以，那你下次带来也行",
    "您说看不清楚是从什么时候开始的",
    "这个一两句话跟您说不清楚，我给您打印一份指南",
    "不好意思，这边有点吵，我听不清楚，麻烦您再说一遍",
    "好的，不知道您带了退休审批表没有",
    "不知道您方便报一下身份证号吗",
    "我们五点半下班，还早，您别着急",
    "建议您下次早点来，上午九点前人少一些",
    "没关系，我们不怕麻烦，请先填一下这张挂失单",
    "没关系，哪里不了解的我都可以给您讲",
    "好的，下个月是十五号，您下次来之前看一下短信",
    "医保转移在三号窗口，我带您去别的窗口",
    "您可以自己在手机银行上查，我教您一下",
    "没关系，我再跟您说一遍",
    "等您下班了再来也行，我们周六也开",
    "有不清楚的地方随时问我",
]


@pytest.mark.parametrize("text", POLITE)
def test_polite_staff_lines_raise_nothing(book, text):
    assert forbidden(book, ("S", "您好，请问办理什么业务？"), ("C", "我来办事。"), ("S", text)) == set()


VIOLATIONS = [
    ("怎么还不明白，跟你说不清楚", {"F-REPEAT-BLAME"}),     # 指责, not 一问三不知
    ("这个我不清楚", {"F-DONT-KNOW"}),
    ("你是不是傻", {"F-RUDE"}),
    ("你瞎啊", {"F-RUDE"}),
    ("我们下班了，明天再来", {"F-CLOSING"}),
    ("你就不能早点来吗", {"F-LATE-BLAME"}),
    ("有本事你去告，我又不怕", {"F-ESCALATE"}),
]


@pytest.mark.parametrize("text, rules", VIOLATIONS)
def test_violations_next_to_look_alikes_are_still_found(book, text, rules):
    assert forbidden(book, ("S", "你好。"), ("C", "我来办事。"), ("S", text)) == rules


def test_customer_saying_the_words_raises_nothing(book):
    got = judged(book, ("S", "您好，请问办什么业务？"), ("C", "我也不清楚，你们是不是快下班了？"),
                 ("S", "还早呢，请把材料给我，谢谢您，再见。"))
    assert {f.rule for f in got if f.type == "forbidden"} == set()
