#!/usr/bin/env python3
"""Twelve more counter dialogues for rule authors (e01-e12), written for rulebook v2 (issue 14).

Like bench/tuning: staff violations worded as paraphrases that the v1 phrase list does not
hold, polite staff whose courteous lines look like violations to a careless pattern ("我带您去
别的窗口", "不清楚的地方随时问我", "我赶紧给您办"), and traps where only the customer says
violation-like words, including a customer question the staff repeats back. Text-level checks
(`python bench/rule_check.py`) judge them without audio; render them like the tuning set with
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 /tmp/ttsenv/bin/python bench/extra/dialogues.py [ID ...]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OUT = Path(__file__).resolve().parent
SEED = 20261204

# (id, forbidden rule ids violated by STAFF, missing courtesy ids, [(speaker, text), ...])
DIALOGUES = [
    ("e01", ["F-NOT-MINE"], ["C-THANKS", "C-FAREWELL"], [
        ("S", "您好，请问办理什么业务？"),
        ("C", "我想补办一张社保卡，原来那张丢了。"),
        ("S", "补卡这个事不归我们这儿，你上别的窗口问问。"),
        ("C", "那是哪个窗口呢？"),
        ("S", "那边会有人告诉你，你问别人吧。"),
    ]),
    ("e02", ["F-CLOSING"], ["C-PLEASE", "C-THANKS", "C-FAREWELL"], [
        ("S", "你好。"),
        ("C", "你好，我来交一下这个月的物业费。"),
        ("S", "今天办不了了，我们这边马上关门。"),
        ("C", "现在才四点半啊。"),
        ("S", "系统已经停了，改天再来吧。"),
    ]),
    ("e03", ["F-LATE-BLAME", "F-IMPATIENT"], ["C-PLEASE", "C-THANKS", "C-FAREWELL"], [
        ("S", "你好，什么事？"),
        ("C", "我想办居住证，材料都带齐了。"),
        ("S", "都几点了才过来，你就不能早点来吗？"),
        ("C", "我下了班就赶过来了。"),
        ("S", "少废话，材料拿来。"),
    ]),
    ("e04", ["F-SELF-SERVE", "F-REPEAT-BLAME"], ["C-THANKS", "C-FAREWELL"], [
        ("S", "您好，请问有什么事？"),
        ("C", "这个表格的第三栏我不知道怎么填。"),
        ("S", "样表上都写着呢，自己照着填。"),
        ("C", "我看了还是不太明白。"),
        ("S", "跟你讲了好几遍了，怎么就是听不明白。"),
    ]),
    ("e05", ["F-ESCALATE", "F-RUDE"], ["C-PLEASE", "C-THANKS", "C-FAREWELL"], [
        ("S", "你好。"),
        ("C", "我的退税申请已经等了两个月了，到底怎么回事？"),
        ("S", "有本事你去告，我又不怕。"),
        ("C", "你这是什么态度？"),
        ("S", "你脑子有毛病吧。"),
    ]),
    ("e06", ["F-DONT-KNOW", "F-NOT-MINE"], ["C-THANKS", "C-FAREWELL"], [
        ("S", "您好，请讲。"),
        ("C", "请问异地就医备案要多久才能生效？"),
        ("S", "这个我不清楚，谁知道要多久。"),
        ("C", "那我应该问谁呢？"),
        ("S", "这事跟我们没关系，你打电话问医保局去。"),
    ]),
    ("e07", [], [], [
        ("S", "您好，请问您办理什么业务？"),
        ("C", "我想办港澳通行证的续签。"),
        ("S", "好的，这个业务在隔壁的出入境窗口办理，我带您过去，请跟我来。"),
        ("C", "太好了，谢谢您。"),
        ("S", "不客气，谢谢您，有不清楚的地方随时问我，您慢走，再见。"),
    ]),
    ("e08", [], [], [
        ("S", "您好，请坐，请问有什么可以帮您？"),
        ("C", "我来取号办营业执照变更，快下班了吧？来得及吗？"),
        ("S", "来得及，我赶紧给您办，请您出示营业执照和身份证。"),
        ("C", "给您。"),
        ("S", "请稍等，已经办理好了，谢谢您的配合，再见。"),
    ]),
    ("e09", [], [], [
        ("S", "您好，请问办什么业务？"),
        ("C", "我不知道要带什么材料，你们是不是不管这个？"),
        ("S", "我们管的，请您先填这张申请表，不懂的地方我教您。"),
        ("C", "好的，烦死了，这表格这么长。"),
        ("S", "没关系，慢慢填，填好了交给我，谢谢，您慢走。"),
    ]),
    ("e10", [], [], [
        ("S", "您好，请问有什么可以帮您？"),
        ("C", "今天是不是不办了？我怕白跑一趟。"),
        ("S", "今天不办了？不会的，我们照常办理，请您把材料给我。"),
        ("C", "那就好，谢谢。"),
        ("S", "不客气，办好了，请收好，谢谢，再见。"),
    ]),
    ("e11", [], ["C-THANKS", "C-FAREWELL"], [
        ("S", "您好，请问办理什么？"),
        ("C", "我换个窗口问问吧，那边人太多了，我找别的窗口行不行？"),
        ("S", "这里也能办，请您把身份证给我。"),
        ("C", "我自己去看看那边的指南，我自己填吧。"),
        ("S", "可以，填好了再过来。"),
    ]),
    ("e12", ["F-IMPATIENT", "F-CLOSING"], ["C-GREETING", "C-THANKS", "C-FAREWELL"], [
        ("C", "您好，我想开一张存款证明。"),
        ("S", "快说要开多少，后面还一堆人呢。"),
        ("C", "五万块钱的。"),
        ("S", "请把卡给我，磨蹭什么，我这马上要交班了，明天再说。"),
    ]),
]


def main() -> int:
    from render_dialogues import render_set
    return render_set(DIALOGUES, OUT, seed=SEED, only=sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
