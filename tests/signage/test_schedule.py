"""The schedule model through a simulated day (pure: no clock, no I/O)."""
from __future__ import annotations

import datetime as dt

import pytest

from signage.schedule import (
    Content,
    Interrupt,
    Playlist,
    PlaylistItem,
    Schedule,
    ScheduleEntry,
    ScheduleError,
    ScreenRef,
    resolve,
    schedule_from_dict,
    schedule_to_dict,
    share_blocks,
    validate,
)

LOBBY = ScreenRef("lobby", frozenset({"hall-a"}))
T = dt.time
MONDAY = dt.datetime(2026, 11, 23)   # a Monday


def sched(*entries: ScheduleEntry, interrupts=()) -> Schedule:  # noqa: ANN001
    contents = {i: Content(i, "image", f"c{i}") for i in range(1, 6)}
    playlists = {10: Playlist(10, "morning", (PlaylistItem(1, 10), PlaylistItem(2, 20))),
                 20: Playlist(20, "afternoon", (PlaylistItem(3, 15),)),
                 30: Playlist(30, "notice", (PlaylistItem(4, 5),))}
    return Schedule(contents=contents, playlists=playlists, entries=entries, interrupts=tuple(interrupts))


MORNING = ScheduleEntry(1, 10, screens=frozenset({"lobby"}), weekdays=frozenset(range(5)),
                        start_time=T(8), end_time=T(12))
AFTERNOON = ScheduleEntry(2, 20, groups=frozenset({"hall-a"}), weekdays=frozenset(range(5)),
                          start_time=T(12), end_time=T(17, 30))


def test_simulated_day() -> None:
    s = sched(MORNING, AFTERNOON)
    validate(s, screens=(LOBBY,))
    seen = []
    at = MONDAY
    while at < MONDAY + dt.timedelta(days=1):
        np = resolve(s, LOBBY, at)
        seen.append((at.time(), np.kind, np.content.id if np.content else None))
        at += dt.timedelta(minutes=30)
    by_time = {t: (k, c) for t, k, c in seen}
    assert by_time[T(7, 30)] == ("default", None)
    assert by_time[T(8)] == ("playlist", 1)
    assert by_time[T(12)] == ("playlist", 3)
    assert by_time[T(17, 30)] == ("default", None)


def test_item_position_loops_and_is_deterministic() -> None:
    s = sched(MORNING)
    at = MONDAY.replace(hour=8)
    assert resolve(s, LOBBY, at).content.id == 1
    assert resolve(s, LOBBY, at + dt.timedelta(seconds=9.9)).content.id == 1
    np = resolve(s, LOBBY, at + dt.timedelta(seconds=10))
    assert np.content.id == 2 and np.item_start == at + dt.timedelta(seconds=10)
    assert np.item_end == at + dt.timedelta(seconds=30)
    assert resolve(s, LOBBY, at + dt.timedelta(seconds=30)).content.id == 1   # loops
    assert resolve(s, LOBBY, at + dt.timedelta(seconds=30)).key != resolve(s, LOBBY, at).key
    # the last item is cut at the window's end
    late = resolve(s, LOBBY, MONDAY.replace(hour=11, minute=59, second=55))
    assert late.item_end == MONDAY.replace(hour=12)


def test_weekend_and_date_range() -> None:
    s = sched(MORNING)
    assert resolve(s, LOBBY, MONDAY.replace(day=28, hour=9)).kind == "default"   # Saturday
    e = ScheduleEntry(3, 20, screens=frozenset({"lobby"}), start_date=dt.date(2026, 11, 24),
                      end_date=dt.date(2026, 11, 24))
    assert resolve(sched(e), LOBBY, MONDAY.replace(hour=9)).kind == "default"
    assert resolve(sched(e), LOBBY, MONDAY.replace(day=24, hour=9)).content.id == 3


def test_priority_and_interrupt() -> None:
    special = ScheduleEntry(3, 30, screens=frozenset({"lobby"}), start_time=T(9), end_time=T(10), priority=5)
    s = sched(MORNING, special)
    validate(s)
    assert resolve(s, LOBBY, MONDAY.replace(hour=9, minute=30)).content.id == 4
    assert resolve(s, LOBBY, MONDAY.replace(hour=10)).playlist.id == 10
    alarm = Interrupt(7, "紧急通知", "请有序离场", started_s=1.0)
    s2 = sched(MORNING, interrupts=[alarm])
    np = resolve(s2, LOBBY, MONDAY.replace(hour=9))
    assert np.kind == "interrupt" and np.interrupt.id == 7
    other = Interrupt(8, "x", "y", 2.0, screens=frozenset({"elsewhere"}))
    assert resolve(sched(MORNING, interrupts=[other]), LOBBY, MONDAY.replace(hour=9)).kind == "playlist"


def test_skipped_content_left_out() -> None:
    s = sched(MORNING)
    at = MONDAY.replace(hour=8)
    assert resolve(s, LOBBY, at, skip_content=frozenset({1})).content.id == 2
    assert resolve(s, LOBBY, at, skip_content=frozenset({1, 2})).kind == "default"


@pytest.mark.parametrize("entries, code, words", [
    ((MORNING, ScheduleEntry(9, 20, groups=frozenset({"hall-a"}), start_time=T(11), end_time=T(13))),
     "conflict", ["schedules 1 and 9", "'lobby'", "11:00", "12:00"]),
    ((ScheduleEntry(4, 10, screens=frozenset({"lobby"}), start_time=T(12), end_time=T(12)),),
     "bad_range", ["end time 12:00 is the start time"]),
    ((ScheduleEntry(5, 99, screens=frozenset({"lobby"})),), "unknown_playlist", ["playlist with id 99"]),
    ((ScheduleEntry(6, 10, screens=frozenset({"lobby"}), start_date=dt.date(2026, 2, 1),
                    end_date=dt.date(2026, 1, 1)),), "bad_range", ["end date 2026-01-01"]),
    ((ScheduleEntry(7, 10),), "no_target", ["no screen"]),
])
def test_validation_reasons(entries, code, words) -> None:  # noqa: ANN001
    with pytest.raises(ScheduleError) as err:
        validate(sched(*entries), screens=(LOBBY,))
    assert err.value.code == code
    for w in words:
        assert w in err.value.reason


def test_conflict_needs_same_priority_and_overlap() -> None:
    validate(sched(MORNING, ScheduleEntry(9, 20, screens=frozenset({"lobby"}), start_time=T(11), end_time=T(13),
                                          priority=1)))
    validate(sched(MORNING, ScheduleEntry(9, 20, screens=frozenset({"lobby"}), start_time=T(12), end_time=T(13))))
    validate(sched(MORNING, ScheduleEntry(9, 20, screens=frozenset({"lobby"}), weekdays=frozenset({5, 6}))))


def test_empty_playlist_rejected() -> None:
    s = Schedule(contents={}, playlists={1: Playlist(1, "empty", ())}, entries=())
    with pytest.raises(ScheduleError) as err:
        validate(s)
    assert err.value.code == "empty_playlist" and "'empty'" in err.value.reason


def test_wire_round_trip() -> None:
    s = sched(MORNING, AFTERNOON, interrupts=[Interrupt(7, "t", "b", 1.0)])
    assert schedule_from_dict(schedule_to_dict(s)) == s


# -- windows crossing midnight ------------------------------------------------------------------

NIGHT = ScheduleEntry(5, 20, screens=frozenset({"lobby"}), weekdays=frozenset({4}),   # Friday night
                      start_time=T(22), end_time=T(6))
FRIDAY = MONDAY + dt.timedelta(days=4)


def test_overnight_window_belongs_to_its_start_day() -> None:
    s = sched(NIGHT)
    validate(s, screens=(LOBBY,))
    assert resolve(s, LOBBY, FRIDAY.replace(hour=21, minute=59)).kind == "default"
    np = resolve(s, LOBBY, FRIDAY.replace(hour=22))
    assert np.kind == "playlist" and np.item_start == FRIDAY.replace(hour=22)
    # after midnight: Saturday is not in the weekdays, but the window opened on Friday
    sat = FRIDAY + dt.timedelta(days=1)
    np = resolve(s, LOBBY, sat.replace(hour=5, minute=59, second=59))
    assert np.kind == "playlist" and np.entry.id == NIGHT.id
    assert np.item_end == sat.replace(hour=6)                              # cut at the window's end
    # the loop counts from 22:00 on Friday: 8 h = 1920 loops of 15 s, so an item starts at 06:00 - 15 s
    assert np.item_start == sat.replace(hour=5, minute=59, second=45)
    assert resolve(s, LOBBY, sat.replace(hour=6)).kind == "default"
    # Friday before 06:00 is Thursday's window: Thursday is not scheduled
    assert resolve(s, LOBBY, FRIDAY.replace(hour=3)).kind == "default"
    assert resolve(s, LOBBY, sat.replace(hour=22)).kind == "default"


def test_overnight_date_range_applies_to_start_day() -> None:
    last = ScheduleEntry(6, 20, screens=frozenset({"lobby"}), start_time=T(22), end_time=T(2),
                         start_date=dt.date(2026, 11, 23), end_date=dt.date(2026, 11, 24))
    s = sched(last)
    assert resolve(s, LOBBY, MONDAY.replace(hour=1)).kind == "default"            # Sunday's window: before the range
    assert resolve(s, LOBBY, MONDAY.replace(hour=23)).kind == "playlist"
    wed = MONDAY + dt.timedelta(days=2)
    assert resolve(s, LOBBY, wed.replace(hour=1, minute=30)).kind == "playlist"   # Tuesday's window, last date
    assert resolve(s, LOBBY, wed.replace(hour=22)).kind == "default"
    assert resolve(s, LOBBY, (wed + dt.timedelta(days=1)).replace(hour=1)).kind == "default"


def test_overnight_ending_at_midnight_and_wire_round_trip() -> None:
    late = ScheduleEntry(6, 20, screens=frozenset({"lobby"}), start_time=T(23), end_time=T(0))
    s = sched(late)
    validate(s)
    assert resolve(s, LOBBY, MONDAY.replace(hour=23, minute=59, second=59)).kind == "playlist"
    assert resolve(s, LOBBY, MONDAY + dt.timedelta(days=1)).kind == "default"
    assert schedule_from_dict(schedule_to_dict(sched(NIGHT, late))) == sched(NIGHT, late)


@pytest.mark.parametrize("other, words", [
    # Saturday 01:00-03:00 against Friday 22:00-06:00: clash after midnight
    (ScheduleEntry(9, 30, screens=frozenset({"lobby"}), weekdays=frozenset({5}), start_time=T(1), end_time=T(3)),
     ["schedules 5 and 9", "Saturday from 01:00 to 03:00"]),
    # another overnight window on Friday
    (ScheduleEntry(9, 30, groups=frozenset({"hall-a"}), weekdays=frozenset({4}), start_time=T(23), end_time=T(1)),
     ["schedules 5 and 9", "Friday from 23:00 to 01:00"]),
    # Saturday evening into Sunday does not clash, Friday 21:00-23:00 does
    (ScheduleEntry(9, 30, screens=frozenset({"lobby"}), weekdays=frozenset({4}), start_time=T(21), end_time=T(23)),
     ["Friday from 22:00 to 23:00"]),
])
def test_overnight_conflicts(other: ScheduleEntry, words: list[str]) -> None:
    with pytest.raises(ScheduleError) as err:
        validate(sched(NIGHT, other), screens=(LOBBY,))
    assert err.value.code == "conflict" and set(err.value.entry_ids) == {5, 9}
    for w in words:
        assert w in err.value.reason, err.value.reason


def test_overnight_no_conflict() -> None:
    # Saturday 06:00 on, Friday before 22:00, Sunday 01:00 (Saturday night is free), other priority
    for other in (ScheduleEntry(9, 30, screens=frozenset({"lobby"}), weekdays=frozenset({5}), start_time=T(6),
                                end_time=T(12)),
                  ScheduleEntry(9, 30, screens=frozenset({"lobby"}), weekdays=frozenset({4}), start_time=T(8),
                                end_time=T(22)),
                  ScheduleEntry(9, 30, screens=frozenset({"lobby"}), weekdays=frozenset({6}), start_time=T(1),
                                end_time=T(3)),
                  ScheduleEntry(9, 30, screens=frozenset({"lobby"}), weekdays=frozenset({5}), start_time=T(1),
                                end_time=T(3), priority=2)):
        validate(sched(NIGHT, other), screens=(LOBBY,))
    # date ranges: the night of the 27th (a Friday) ends on the 28th; a Saturday entry from the 29th on is clear,
    # one from the 28th clashes
    once = ScheduleEntry(5, 20, screens=frozenset({"lobby"}), start_time=T(22), end_time=T(6),
                         start_date=dt.date(2026, 11, 27), end_date=dt.date(2026, 11, 27))
    later = ScheduleEntry(9, 30, screens=frozenset({"lobby"}), start_time=T(1), end_time=T(3),
                          start_date=dt.date(2026, 11, 29))
    validate(sched(once, later))
    with pytest.raises(ScheduleError):
        validate(sched(once, ScheduleEntry(9, 30, screens=frozenset({"lobby"}), start_time=T(1), end_time=T(3),
                                           start_date=dt.date(2026, 11, 28), end_date=dt.date(2026, 11, 28))))
    # a week-wrap: Sunday night into Monday morning
    sunday = ScheduleEntry(5, 20, screens=frozenset({"lobby"}), weekdays=frozenset({6}), start_time=T(22),
                           end_time=T(6))
    with pytest.raises(ScheduleError) as err:
        validate(sched(sunday, MORNING.__class__(9, 10, screens=frozenset({"lobby"}), weekdays=frozenset({0}),
                                                 start_time=T(5), end_time=T(8))))
    assert "Monday from 05:00 to 06:00" in err.value.reason


# -- interrupt content: a share of each hour ------------------------------------------------------

def _walk(s: Schedule, screen: ScreenRef, start: dt.datetime, end: dt.datetime) -> list[tuple]:
    """What ``screen`` shows from ``start`` to ``end``, by following each answer's item end as a
    player would (the default board: one second at a time): (entry id or None, content id, seconds)."""
    shown, at = [], start
    while at < end:
        np = resolve(s, screen, at)
        nxt = min(np.item_end, end) if np.item_end is not None else at + dt.timedelta(seconds=1)
        assert nxt > at, (at, np)
        shown.append((np.entry.id if np.entry else None, np.content.id if np.content else None,
                      (nxt - at).total_seconds()))
        at = nxt
    return shown


def _seconds_of(shown: list[tuple], entry_id: int | None) -> float:
    return sum(sec for e, _, sec in shown if e == entry_id)


def test_interrupt_content_gets_its_share_of_every_hour() -> None:
    ad = ScheduleEntry(5, 30, screens=frozenset({"lobby"}), share_s_per_hour=600)   # 10 minutes an hour
    s = sched(MORNING, ad)
    validate(s, screens=(LOBBY,))          # interleaves: no conflict with the ordinary schedule
    for hour in (8, 9, 10, 11):
        shown = _walk(s, LOBBY, MONDAY.replace(hour=hour), MONDAY.replace(hour=hour + 1))
        assert _seconds_of(shown, 5) == pytest.approx(600, abs=1e-3)
        assert _seconds_of(shown, 1) == pytest.approx(3000, abs=1e-3)
    # spread over the hour, not in one lump: a 5 s playlist, 60 blocks of 10 s (one a minute)
    blocks = share_blocks(((ad, 5.0),), MONDAY.replace(hour=9))
    assert len(blocks) == 60 and {(b.end - b.start).total_seconds() for b in blocks} == {10.0}
    assert [b.start.minute for b in blocks] == list(range(60))
    # outside the ordinary windows it still gets its share (around the board), and nothing else
    night = _walk(s, LOBBY, MONDAY.replace(hour=20), MONDAY.replace(hour=21))
    assert _seconds_of(night, 5) == pytest.approx(600, abs=1e-3)
    assert _seconds_of(night, None) == pytest.approx(3000, abs=1e-3)
    # deterministic: the same answer at the same moment, whenever asked
    at = MONDAY.replace(hour=9, minute=17, second=3)
    assert resolve(s, LOBBY, at).key == resolve(s, LOBBY, at).key


def test_ordinary_items_pause_for_interrupt_blocks_and_none_is_skipped() -> None:
    """The ordinary playlist's clock stands still during blocks: with a 60 s period and a 60 s
    playlist, items 1 (10 s) and 2 (20 s) still share the rest of each hour 1:2."""
    ad = ScheduleEntry(5, 30, screens=frozenset({"lobby"}), share_s_per_hour=300)
    s = sched(MORNING, ad)
    shown = _walk(s, LOBBY, MONDAY.replace(hour=9), MONDAY.replace(hour=10))
    assert _seconds_of(shown, 5) == pytest.approx(300, abs=1e-3)
    one = sum(sec for e, c, sec in shown if e == 1 and c == 1)
    two = sum(sec for e, c, sec in shown if e == 1 and c == 2)
    assert one + two == pytest.approx(3300, abs=1e-3) and two / one == pytest.approx(2, rel=0.02)
    # an item cut by a block resumes after it, with its own start (the player shows it again)
    np = resolve(s, LOBBY, MONDAY.replace(hour=9, minute=1, second=5))
    assert np.entry.id == 1 and np.item_start == MONDAY.replace(hour=9, minute=1, second=5)
    assert resolve(s, LOBBY, MONDAY.replace(hour=9, minute=1, second=2)).entry.id == 5


def test_two_shares_and_a_partial_hour() -> None:
    ad = ScheduleEntry(5, 30, groups=frozenset({"hall-a"}), share_s_per_hour=900, priority=1)
    promo = ScheduleEntry(6, 20, screens=frozenset({"lobby"}), share_s_per_hour=360,
                          start_time=T(9, 30), end_time=T(17))
    s = sched(MORNING, ad, promo)
    validate(s, screens=(LOBBY,))
    full = _walk(s, LOBBY, MONDAY.replace(hour=10), MONDAY.replace(hour=11))
    assert _seconds_of(full, 5) == pytest.approx(900, abs=1e-3)
    assert _seconds_of(full, 6) == pytest.approx(360, abs=1e-3)
    assert _seconds_of(full, 1) == pytest.approx(3600 - 1260, abs=1e-3)
    half = _walk(s, LOBBY, MONDAY.replace(hour=9), MONDAY.replace(hour=10))
    assert _seconds_of(half, 6) == pytest.approx(180, abs=1e-3)     # its window covers half of 9:00-10:00
    # another screen outside both: nothing of either
    other = _walk(s, ScreenRef("door"), MONDAY.replace(hour=10), MONDAY.replace(hour=11))
    assert _seconds_of(other, None) == pytest.approx(3600)


def test_share_is_validated_and_travels_in_the_manifest() -> None:
    bad = ScheduleEntry(5, 30, screens=frozenset({"lobby"}), share_s_per_hour=3601)
    with pytest.raises(ScheduleError) as e:
        validate(sched(bad))
    assert e.value.code == "bad_share"
    ok = ScheduleEntry(5, 30, screens=frozenset({"lobby"}), share_s_per_hour=120)
    assert schedule_from_dict(schedule_to_dict(sched(ok))).entries == (ok,)
