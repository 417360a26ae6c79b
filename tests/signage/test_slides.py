"""Slides: CJK text wrapped, fitted and paged; the board and ticker never black."""
from __future__ import annotations

import datetime as dt

from signage.slides import (
    ANNOUNCE_BG,
    BOARD_BG,
    INTERRUPT_BG,
    ServingRow,
    _font,
    board,
    interrupt_slide,
    serving_text,
    text_slides,
    ticker,
    wrap,
)

GUIDE = "办理居住证需要提供以下材料：身份证原件及复印件、近期一寸免冠照片两张、居住地址证明（租赁合同或房产证）。"


def test_wrap_fits_width_and_keeps_latin_words() -> None:
    f = _font(40)
    lines = wrap(GUIDE * 3 + " Please bring your ID card", f, 600)
    assert len(lines) > 3 and all(f.getlength(line) <= 600 for line in lines)
    assert "".join(lines).replace(" ", "") == (GUIDE * 3 + " Please bring your ID card").replace(" ", "")
    assert any("Please" in line for line in lines) and not any(line.endswith("Pl") for line in lines)


def test_short_text_one_page_long_text_paged() -> None:
    one = text_slides("温馨提示", "请保管好随身物品。")
    assert len(one) == 1 and one[0].size == (1280, 720)
    assert one[0].getpixel((5, 5)) == ANNOUNCE_BG
    many = text_slides("办事指南", GUIDE * 20)
    assert len(many) >= 2
    assert all(p.size == (1280, 720) for p in many)
    # something is drawn in the body area of every page
    for p in many:
        assert p.crop((80, 200, 1200, 400)).getextrema() != ((250, 250), (246, 246), (232, 232))


def test_board_ticker_interrupt() -> None:
    rows = [ServingRow("3号", "A012", called_s=2), ServingRow("5号", None, paused=True)]
    b = board(hall="政务服务中心", now=dt.datetime(2026, 11, 23, 9, 30), rows=rows)
    assert b.getpixel((5, 5)) == BOARD_BG
    assert "暂停服务" in serving_text(rows) and "A012" in serving_text(rows)
    t = ticker(rows, width_px=1280, height_px=72)
    assert t.size == (1280, 72)
    assert interrupt_slide("紧急通知", "请有序离场").getpixel((5, 5)) == INTERRUPT_BG
