"""Masking ID-card, mobile and bank-card numbers in transcript text."""
from __future__ import annotations

import pytest

from domain.pii import find, for_role, mask

CASES = [
    ("我的电话是13812345678谢谢", "我的电话是*******5678谢谢", "phone"),
    ("电话一三八一二三四五六七八", "电话*******五六七八", "phone"),
    ("电话幺三八零零一二三四五六", "电话*******三四五六", "phone"),
    ("手机138 1234 5678。", "手机*** **** 5678。", "phone"),
    ("手机138-1234-5678", "手机***-****-5678", "phone"),
    ("+86 13812345678", "+** *******5678", "phone"),
    ("１３８１２３４５６７８", "*******５６７８", "phone"),
    ("身份证号11010119900307123X", "身份证号**************123X", "id_card"),
    ("身份证一一零一零一一九九零零三零七一二三四", "身份证**************一二三四", "id_card"),
    ("卡号6222021234567890123", "卡号***************0123", "bank_card"),
    ("卡号6222 0212 3456 7890", "卡号**** **** **** 7890", "bank_card"),
]


@pytest.mark.parametrize("text,masked,kind", CASES)
def test_numbers_are_masked_but_the_last_four(text, masked, kind):
    assert mask(text) == masked
    assert len(mask(text)) == len(text)
    assert [f.kind for f in find(text)] == [kind]


@pytest.mark.parametrize("text", [
    "请到A012号窗口", "一共1234元", "一二三四五六", "12345678901",       # 11 digits, not a mobile prefix
    "20261122", "我们十一点下班", "一个人", "",
])
def test_other_numbers_and_text_stay(text):
    assert mask(text) == text and find(text) == []


def test_two_numbers_in_a_row_are_both_masked():
    assert mask("13812345678 13987654321") == "*******5678 *******4321"
    assert mask("电话13812345678，身份证110101199003071234") == "电话*******5678，身份证**************1234"


def test_roles():
    assert for_role("viewer")("13812345678") == "*******5678"
    assert for_role("supervisor")("13812345678") == "13812345678"
    assert for_role("admin")("13812345678") == "13812345678"
