"""Sound-alike keys for transcript search: what a phrase sounds like, with the recogniser's usual
confusions folded, so that 烦不烦 finds the transcript "反不妨案".

Each Han character of a text (fillers left out, as the rulebook matcher tokenises,
:func:`transcribe.normalize.tokenize`) becomes its toneless pinyin with the fuzzy-pinyin
confusions of :mod:`transcribe.match` folded (:func:`~transcribe.match.fuzzy_parts`: zh/z, n/l,
an/ang ...), and each folded syllable is written as one character of its own, so the key of a
text has one character per syllable. Two texts sound alike where their keys share a substring;
both databases' trigram indexes (FTS5 ``trigram``, pg_trgm) find such substrings as they find
text, three syllables at a time.

The code characters are CJK ideographs from U+4E00 on (in the order of :data:`SYLLABLES`, folded),
so that pg_trgm, which indexes only letters, takes them; they mean nothing. A syllable that is not
in the list keeps its own character. Changing :data:`SYLLABLES` changes the keys: stored keys
must then be rebuilt (a migration, as 0017 builds them).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from transcribe.match import fuzzy_parts
from transcribe.normalize import Token, tokenize

#: Every toneless Mandarin syllable pypinyin writes (ü as v), one list, fixed.
SYLLABLES = """
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao
ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui
chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de den deng di dian diao die ding diu
dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fiao fo fou fu ga gai gan gang
gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng
hm hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan
jue jun ka kai kan kang kao ke ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang
lao le lei leng li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv lve m ma mai
man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu n na nai nan nang nao ne nei
nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan pang
pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu
qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se
sen seng sha shai shan shang shao she shen sheng shi shou shu shua shuai shuan shuang shui shun shuo
si song sou su suan sui sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan
tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan
xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen
zeng zha zhai zhan zhang zhao zhe zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun
zhuo zi zong zou zu zuan zui zun zuo
""".split()
CODE_BASE = 0x4E00


@functools.lru_cache(maxsize=1)
def _codes() -> dict[str, str]:
    folded = sorted({fuzzy_parts(s) for s in SYLLABLES})
    index = {f: chr(CODE_BASE + n) for n, f in enumerate(folded)}
    return {s: index[fuzzy_parts(s)] for s in SYLLABLES}


def code_of(token: Token) -> str:
    """The one-character code of a token's folded syllable (its own character if unknown)."""
    return _codes().get(token.pinyin, token.char)


def sound_key(text: str) -> str:
    """The sound-alike key of ``text``: one code character per Han character (fillers left out)."""
    return "".join(code_of(t) for t in tokenize(text))


@dataclass(frozen=True)
class SoundMatch:
    start: int          # [start, end) character offsets in the text
    end: int


def sound_spans(text: str, query_key: str) -> list[SoundMatch]:
    """Where ``text`` sounds like the phrase whose key is ``query_key``: non-overlapping
    character spans of ``text``, from the first to the last matched Han character."""
    if not query_key:
        return []
    tokens = tokenize(text)
    key = "".join(code_of(t) for t in tokens)
    out, i = [], key.find(query_key)
    while i >= 0:
        first, last = tokens[i], tokens[i + len(query_key) - 1]
        out.append(SoundMatch(first.index, last.index + 1))
        i = key.find(query_key, i + len(query_key))
    return out
