import pytest

from transcribe.match import PhraseMatcher, syllable_cost
from transcribe.normalize import to_simplified, tokenize
from transcribe.rules import load_rulebook


@pytest.fixture(scope="module")
def matchers():
    return {r.id: PhraseMatcher(r.phrases) for r in load_rulebook().forbidden}


def found(matchers, text):
    toks = tokenize(to_simplified(text))
    return {rid for rid, m in matchers.items() if m.find(toks)}


@pytest.mark.parametrize("heard, rule", [
    ("快下半了，不受理了", "F-CLOSING"),        # ban4 -> ban4 (other character)
    ("反不反案，一天到晚问这些", "F-RUDE"),      # 烦不烦 heard as 反不反
    ("反不妨礙", "F-RUDE"),                    # fang/fan: an-ang confusion, traditional 礙
    ("即什么，没看我正忙着忙", "F-IMPATIENT"),    # 急 -> 即
    ("有一件照领到庆", "F-ESCALATE"),           # 有意见找领导去, one syllable off in seven
    ("說了多少遍了", "F-REPEAT-BLAME"),          # traditional characters
    ("这个不归我管啊", "F-NOT-MINE"),
    ("明天再来", "F-CLOSING"),
    ("你听不懂吗", "F-REPEAT-BLAME"),
    ("滚！", "F-RUDE"),
    ("自己填", "F-SELF-SERVE"),
])
def test_homophones_and_asr_errors_still_match(matchers, heard, rule):
    assert rule in found(matchers, heard)


@pytest.mark.parametrize("ordinary", [
    "理什么",              # one initial off from 急什么: not a usual confusion
    "请您别着急",
    "我不着急",
    "下班前都能办",
    "请您自己保管好",
    "滚动屏幕上有通知",    # 滚 only counts as a word on its own
    "现在才四点五十啊",
    "请您下次记得带上",
    "您的业务已办理完毕",
    "不客气，这是我们应该做的",
])
def test_near_misses_in_ordinary_speech_do_not_match(matchers, ordinary):
    assert found(matchers, ordinary) == set()


def test_fuzzy_pairs_are_cheap_and_other_changes_are_not():
    assert syllable_cost("zhang", "zang") < syllable_cost("zhang", "zhan") + 1e-9 < 1
    assert syllable_cost("ban", "bang") == syllable_cost("lan", "nan")
    assert syllable_cost("ji", "li") > syllable_cost("ji", "ji")
    assert syllable_cost("kuai", "ming") == 1.0


def test_match_reports_span_and_confidence(matchers):
    toks = tokenize("好的，快下半了")
    (m,) = matchers["F-CLOSING"].find(toks)
    assert "".join(t.char for t in toks[m.start:m.end]) == "快下半了"
    assert 0.5 <= m.confidence < 0.99
