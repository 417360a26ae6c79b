from transcribe.interactions import InteractionSpan as Interaction
from transcribe.interactions import interaction_of, split_interactions
from transcribe.judge import window_of as _window
from transcribe.rules import load_rulebook


def test_long_silence_splits_and_short_pauses_do_not():
    spans = [(1, 3), (4, 6), (7.5, 9), (20, 22), (23, 25)]
    got = split_interactions(spans, split_silence_s=8)
    assert got == [Interaction(0, 1, 9), Interaction(1, 20, 25)]
    assert len(split_interactions(spans, split_silence_s=12)) == 1


def test_explicit_boundaries_split_even_without_silence():
    spans = [(1, 3), (4, 6), (7, 9), (10, 12)]
    got = split_interactions(spans, boundaries_s=[6.5])
    assert got == [Interaction(0, 1, 6), Interaction(1, 6.5, 12)]


def test_interaction_of_picks_the_containing_one():
    inter = [Interaction(0, 1, 9), Interaction(1, 20, 25)]
    assert interaction_of(inter, 5) == 0 and interaction_of(inter, 21) == 1 and interaction_of(inter, 0.2) == 0


def test_position_windows():
    rules = {r.id: r for r in load_rulebook().required}
    inter = Interaction(0, 100.0, 160.0)
    assert _window(rules["C-GREETING"], inter) == (100.0, 115.0)
    assert _window(rules["C-FAREWELL"], inter) == (145.0, 160.0)
    assert _window(rules["C-PLEASE"], inter) == (100.0, 160.0)
    short = Interaction(1, 10.0, 20.0)
    assert _window(rules["C-GREETING"], short) == (10.0, 20.0)
