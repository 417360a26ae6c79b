import re
from pathlib import Path

import pytest

from transcribe.errors import RulebookError
from transcribe.rules import load_rulebook, parse_rulebook

REFERENCE = {
    "F-CLOSING": "快下班了, 要下班了, 下班了, 到点了, 不办了, 不受理了, 明天再来, 明天再办, 系统关了",
    "F-LATE-BLAME": "怎么这么晚才来, 怎么现在才来, 早干什么去了, 嫌慢你早点来",
    "F-NOT-MINE": "不归我管, 不归我们管, 不是我的事, 找别人去, 问别人去, 爱找谁找谁, 爱问谁问谁, 去别的地方问",
    "F-DONT-KNOW": "不知道, 我哪知道, 你问我我问谁",
    "F-IMPATIENT": "急什么, 催什么, 喊什么, 等着吧, 没看我正忙着吗, 没看见我在忙吗, 快点, 后面排队去",
    "F-SELF-SERVE": "自己看, 墙上贴着, 自己去问, 自己填, 自己去看",
    "F-REPEAT-BLAME": "说了多少遍了, 听不懂吗, 怎么还不明白, 不是告诉过你了吗, 不是告诉你了吗",
    "F-ESCALATE": "有意见找领导去, 找领导去, 你去投诉吧, 去投诉, 我就这态度",
    "F-RUDE": "烦不烦, 神经病, 有病吧, 滚",
}
REQUIRED = {
    "C-GREETING": ("您好, 你好", "first", 15),
    # 请 and its usual phrases (请问, 请稍等, 请出示, 请您 ...), which may be heard as homophones
    "C-PLEASE": ("请, 请问, 请讲, 请您, 请坐, 请把, 请到, 请先, 请稍等, 请出示, 请收好", "anywhere", 0),
    "C-THANKS": ("谢谢, 感谢, 多谢", "anywhere", 0),
    "C-FAREWELL": ("再见, 慢走, 欢迎再来, 欢迎下次再来, 欢迎您再来", "last", 15),
    # Issue 21: only when the interaction's ticket waited longer than 15 minutes (when:)
    "C-WAIT-APOLOGY": ("让您久等了, 让你久等了, 久等", "anywhere", 0),
}


def test_default_rulebook_carries_exactly_the_reference_ids_and_phrases():
    rb = load_rulebook()
    assert rb.version
    assert {r.id: ", ".join(p.text for p in r.phrases) for r in rb.forbidden} == REFERENCE
    assert {r.id: (", ".join(w.text for w in r.words), r.position, r.within_s) for r in rb.required} == REQUIRED
    assert all(r.speaker == "staff" for r in rb.forbidden + rb.required)


def _error(text: str) -> RulebookError:
    with pytest.raises(RulebookError) as e:
        parse_rulebook(text, source="site.yaml")
    return e.value


def test_bad_yaml_names_file_and_line():
    e = _error("version: 1\nforbidden:\n  - id: F-X\n    phrases: [a, b\n")
    assert e.path == "site.yaml" and e.line is not None and "YAML" in str(e)


def test_wrong_type_names_line_and_field():
    e = _error("version: 1\nforbidden:\n  - id: F-X\n    phrases: 3\n")
    assert (e.line, e.field) == (4, "forbidden[0].phrases")
    assert str(e).startswith("site.yaml:4: forbidden[0].phrases")


def test_missing_version_and_duplicate_ids_and_bad_regex_are_refused():
    assert _error("forbidden:\n  - id: F-X\n    phrases: [不办了]\n").field == "version"
    e = _error("version: 1\nforbidden:\n  - id: F-X\n    phrases: [不办了]\n  - id: F-X\n    phrases: [滚]\n")
    assert e.line == 5 and "duplicate" in e.reason and "line 3" in e.reason
    e = _error("version: 1\nforbidden:\n  - id: F-X\n    regex: ['(']\n")
    assert e.field == "forbidden[0].regex[0]" and e.line == 4


def test_position_needs_within_and_known_values():
    assert _error("version: 1\nrequired:\n  - id: C-X\n    words: [请]\n    position: first\n").field == \
        "required[0].within_s"
    e = _error("version: 1\nrequired:\n  - id: C-X\n    words: [请]\n    position: middle\n")
    assert e.field == "required[0].position" and e.line == 5


def test_site_rules_and_phrase_options_without_code(tmp_path: Path):
    p = tmp_path / "site.yaml"
    p.write_text("version: site-7\nforbidden:\n  - id: F-SITE-LUNCH\n    phrases:\n"
                 "      - 午休了\n      - {text: 關門, match: exact}\n    regex: ['下午.{0,3}再来']\n"
                 "required:\n  - id: C-SORRY\n    words: [对不起, 抱歉]\n", encoding="utf-8")
    rb = load_rulebook(p)
    (rule,) = rb.forbidden
    assert rb.version == "site-7"
    assert [(x.text, x.match) for x in rule.phrases] == [("午休了", "fuzzy"), ("关门", "exact")]
    assert rule.regexes[0].pattern == "下午.{0,3}再来" and isinstance(rule.regexes[0], re.Pattern)
    assert rb.required[0].position == "anywhere"


def test_unreadable_rulebook_file(tmp_path: Path):
    with pytest.raises(RulebookError) as e:
        load_rulebook(tmp_path / "nope.yaml")
    assert "cannot read" in str(e.value)
