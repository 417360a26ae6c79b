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
