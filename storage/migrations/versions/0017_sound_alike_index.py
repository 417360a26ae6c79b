"""sound-alike search: ``segments.sound`` (the pinyin key of the text) and its trigram index

``segments.sound`` holds :func:`transcribe.soundalike.sound_key` of the text: one code character
per spoken syllable, with the recogniser's usual confusions folded, so that a substring of the
key is a sound-alike match. It is indexed as the text is (migration 0003):

* SQLite: an external-content FTS5 table ``segments_sound_fts`` (``tokenize='trigram'``) over
  ``segments.sound``, kept in step by three triggers.
* PostgreSQL: a pg_trgm GIN index, used by ``LIKE '%...%'``.

Existing segments are keyed here (in batches) with a frozen copy of the key as
``transcribe.soundalike`` defined it when this migration was written (:func:`sound_key` below):
a migration must not change when live code changes. The copy needs only pypinyin (a dependency
of counterwatch). tests/storage/test_migrations.py checks that the live key still equals this
one; when the live key changes, a new migration rebuilds ``segments.sound`` with its own copy.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02
"""
import functools
import re

import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

FTS_TABLE = "segments_sound_fts"
TRIGGERS = (
    f"""CREATE TRIGGER segments_sound_ai AFTER INSERT ON segments BEGIN
        INSERT INTO {FTS_TABLE}(rowid, sound) VALUES (new.id, new.sound);
    END""",
    f"""CREATE TRIGGER segments_sound_ad AFTER DELETE ON segments BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, sound) VALUES ('delete', old.id, old.sound);
    END""",
    f"""CREATE TRIGGER segments_sound_au AFTER UPDATE OF id, sound ON segments BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, sound) VALUES ('delete', old.id, old.sound);
        INSERT INTO {FTS_TABLE}(rowid, sound) VALUES (new.id, new.sound);
    END""",
)
BATCH = 5000

# -- the sound-alike key, frozen (transcribe.soundalike, transcribe.normalize, transcribe.match) -----

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
_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
             "j", "q", "x", "r", "z", "c", "s", "y", "w")
_FUZZY_INITIAL = {"zh": "z", "ch": "c", "sh": "s", "n": "l", "r": "l", "f": "h"}
_FUZZY_FINAL = {"ang": "an", "eng": "en", "ing": "in", "iang": "ian", "uang": "uan"}
_FILLERS = frozenset("嗯呃啊哎唉呀哦噢嘛啦")
_HAN = re.compile(r"[\u3400-\u9fff]")
_CLAUSE_SPLIT = re.compile(r"[，。！？；：、,.!?;:…\s]+")


def _fuzzy_parts(py):
    """(initial, final) of a toneless syllable with the fuzzy-pinyin confusions folded."""
    ini, fin = "", py
    for i in _INITIALS:
        if py.startswith(i) and len(py) > len(i):
            ini, fin = i, py[len(i):]
            break
    return _FUZZY_INITIAL.get(ini, ini), _FUZZY_FINAL.get(fin, fin)


@functools.lru_cache(maxsize=1)
def _codes():
    folded = sorted({_fuzzy_parts(s) for s in SYLLABLES})
    index = {f: chr(CODE_BASE + n) for n, f in enumerate(folded)}
    return {s: index[_fuzzy_parts(s)] for s in SYLLABLES}


def _pinyin_of(han):
    from pypinyin import Style, lazy_pinyin

    py = lazy_pinyin(han, style=Style.NORMAL, errors="ignore")
    if len(py) != len(han):  # pypinyin groups unknown runs; fall back to per character
        py = [(lazy_pinyin(ch, style=Style.NORMAL) or [ch])[0] for ch in han]
    return py


def sound_key(text):
    """One code character per Han character of ``text`` (fillers left out)."""
    han = "".join(ch for ch in text if not _CLAUSE_SPLIT.match(ch) and _HAN.match(ch) and ch not in _FILLERS)
    codes = _codes()
    return "".join(codes.get(p, ch) for ch, p in zip(han, _pinyin_of(han), strict=True))


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    op.add_column('segments', sa.Column('sound', sa.Text(), nullable=True))
    segments = sa.table('segments', sa.column('id', sa.Integer), sa.column('text', sa.Text),
                        sa.column('sound', sa.Text))
    last = 0
    while True:
        rows = conn.execute(sa.select(segments.c.id, segments.c.text).where(segments.c.id > last)
                            .order_by(segments.c.id).limit(BATCH)).all()
        if not rows:
            break
        conn.execute(segments.update().where(segments.c.id == sa.bindparam('sid')).values(sound=sa.bindparam('key')),
                     [{"sid": i, "key": sound_key(t or "")} for i, t in rows])
        last = rows[-1][0]
    if dialect == "sqlite":
        op.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(sound, content='segments', content_rowid='id', "
                   "tokenize='trigram')")
        for sql in TRIGGERS:
            op.execute(sql)
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_segments_sound_trgm ON segments USING gin (sound gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("segments_sound_ai", "segments_sound_ad", "segments_sound_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_segments_sound_trgm")
    op.drop_column('segments', 'sound')
