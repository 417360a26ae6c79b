from transcribe.normalize import clauses, pinyin_of, to_simplified, tokenize


def test_traditional_becomes_simplified():
    assert to_simplified("說了多少遍了,怎麼還不明白") == "说了多少遍了，怎么还不明白"
    assert to_simplified("請問辦護照需要帶什麼材料?") == "请问办护照需要带什么材料？"


def test_zhu_becomes_zhe_except_in_words_that_keep_it():
    assert to_simplified("牆上貼著呢，沒看我正忙著嗎") == "墙上贴着呢，没看我正忙着吗"
    assert to_simplified("这是一本著名的著作") == "这是一本著名的著作"


def test_full_width_letters_and_digits_are_narrowed():
    assert to_simplified("３号窗口ＡＢＣ") == "3号窗口ABC"


def test_tokens_skip_fillers_and_punctuation_and_keep_positions():
    toks = tokenize("嗯，快下班了！")
    assert [t.char for t in toks] == list("快下班了")
    assert [t.pinyin for t in toks] == ["kuai", "xia", "ban", "le"]
    assert toks[0].index == 2 and toks[0].clause == 1


def test_pinyin_uses_context_for_heteronyms():
    assert pinyin_of("银行") == ["yin", "hang"]
    assert pinyin_of("行了") == ["xing", "le"]


def test_clauses_split_on_any_punctuation():
    assert clauses("您好，请坐。请问?好") == ["您好", "请坐", "请问", "好"]
