"""The schedule model of the waiting-area screens: content, playlists, schedule entries and
interrupts, their validation, and :func:`resolve` (what a screen plays at a moment).

Pure: no I/O, no clock. Times of day are local to the hall (the caller converts unix seconds
with the site's time zone); ``resolve`` is deterministic, so every screen on the same schedule
shows the same item at the same moment, and tests can walk through a day with a fake clock.

Position inside a playlist is derived from the time elapsed since the schedule window opened
(looping), not from what played before: a player that restarts, or comes back from a stall,
lands on the same item as its neighbours.

Interrupt content (Xibo's "share of voice"): an entry with ``share_s_per_hour`` plays its
playlist for exactly that many seconds of every clock hour its window covers, in blocks spread
evenly over the hour (:func:`share_blocks`); everything else plays around the blocks, and its
playlist's clock stands still during them, so no item is skipped by the interleaving.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Literal

from domain.errors import Invalid
from signage.layout import DEFAULT, MAX_TICKER_TEXT, Layout, Region, layout_from_dict, layout_to_dict

ContentKind = Literal["video", "image", "text"]
CONTENT_KINDS: tuple[str, ...] = ("video", "image", "text")
MIN_ITEM_DURATION_S = 1.0
MAX_ITEM_DURATION_S = 24 * 3600.0
HOUR_S = 3600
#: At most this many interrupt blocks an hour (one a minute); the block count is a divisor of an hour.
MAX_SHARE_BLOCKS = 60
_BLOCK_COUNTS = tuple(n for n in range(1, MAX_SHARE_BLOCKS + 1) if HOUR_S % n == 0)


class ScheduleError(Invalid):
    """A schedule that cannot be accepted. ``code`` is one of ``conflict``, ``bad_range``,
    ``unknown_playlist``, ``unknown_content``, ``empty_playlist``, ``bad_item``, ``no_target``,
    ``bad_weekdays``, ``unknown_layout``, ``bad_share``; ``entry_ids`` names the schedule entries involved (both, for a conflict)."""

    def __init__(self, code: str, reason: str, *, entry_ids: tuple = (), **params: object) -> None:
        super().__init__("schedule", reason, code=code, schedule_ids=list(entry_ids), **params)
        self.entry_ids = tuple(entry_ids)


@dataclass(frozen=True)
class Content:
    id: int
    kind: ContentKind
    name: str = ""
    sha256: str = ""
    title: str = ""          # text announcements only
    body: str = ""


@dataclass(frozen=True)
class PlaylistItem:
    content_id: int
    duration_s: float


@dataclass(frozen=True)
class Playlist:
    id: int
    name: str
    items: tuple[PlaylistItem, ...]

    @property
    def total_duration_s(self) -> float:
        return sum(i.duration_s for i in self.items)


@dataclass(frozen=True)
class ScheduleEntry:
    """Play ``playlist_id`` on the named screens and screen groups, on ``weekdays`` (0 = Monday),
    from ``start_time`` to ``end_time`` (end exclusive), between ``start_date`` and ``end_date``
    (inclusive; None: open). Higher ``priority`` wins where entries overlap.

    An ``end_time`` before ``start_time`` crosses midnight (22:00-06:00): the part after
    midnight belongs to the window that opened the day before, so ``weekdays`` and the date
    range apply to the day the window starts."""

    id: int
    playlist_id: int
    screens: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    weekdays: frozenset[int] = frozenset(range(7))
    start_time: dt.time = dt.time(0, 0)
    end_time: dt.time = dt.time(23, 59, 59, 999999)
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    priority: int = 0
    #: the layout its screens show (:mod:`signage.layout`); None: the playlist on the whole area
    layout_id: int | None = None
    #: interrupt content: this many seconds of each clock hour (1..3600), interleaved with
    #: whatever else plays (:func:`share_blocks`); None: an ordinary entry
    share_s_per_hour: int | None = None

    @property
    def share(self) -> bool:
        return self.share_s_per_hour is not None

    @property
    def overnight(self) -> bool:
        return self.end_time < self.start_time

    def targets(self, screen: ScreenRef) -> bool:
        return screen.name in self.screens or bool(self.groups & screen.groups)

    def runs_on(self, day: dt.date) -> bool:
        """Whether a window of this entry opens on ``day``."""
        return (day.weekday() in self.weekdays and (self.start_date is None or day >= self.start_date)
                and (self.end_date is None or day <= self.end_date))

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The (start, end) of the window that opens on ``day`` (naive local times)."""
        start = dt.datetime.combine(day, self.start_time)
        end_day = day + dt.timedelta(days=1) if self.overnight else day
        return start, dt.datetime.combine(end_day, self.end_time)

    def window_at(self, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
        """The window that holds ``at`` (naive local time), or None: today's, or for an entry
        crossing midnight, the one that opened yesterday."""
        at = at.replace(tzinfo=None)
        days = (at.date(), at.date() - dt.timedelta(days=1)) if self.overnight else (at.date(),)
        for day in days:
            if self.runs_on(day):
                start, end = self.window(day)
                if start <= at < end:
                    return start, end
        return None

    def active_at(self, at: dt.datetime) -> bool:
        return self.window_at(at) is not None


@dataclass(frozen=True)
class Interrupt:
    """An emergency notice: pre-empts every schedule on its screens (empty: all) until cleared,
    or until ``expires_s`` (unix seconds; None: until cleared)."""

    id: int
    title: str
    body: str
    started_s: float
    screens: frozenset[str] = frozenset()
    expires_s: float | None = None

    def targets(self, screen: ScreenRef) -> bool:
        return not self.screens or screen.name in self.screens

    def in_force(self, at_s: float | None) -> bool:
        """Not expired at unix time ``at_s`` (None: do not look at the expiry)."""
        return at_s is None or self.expires_s is None or at_s < self.expires_s


@dataclass(frozen=True)
class ScreenRef:
    name: str
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Schedule:
    contents: dict[int, Content] = field(default_factory=dict)
    playlists: dict[int, Playlist] = field(default_factory=dict)
    entries: tuple[ScheduleEntry, ...] = ()
    interrupts: tuple[Interrupt, ...] = ()
    layouts: dict[int, Layout] = field(default_factory=dict)


@dataclass(frozen=True)
class NowPlaying:
    """What a screen shows at ``at``. ``kind``: ``interrupt``, ``playlist`` or ``default`` (the
    board: nothing scheduled). For ``playlist``: the entry, the playlist, the item's index and
    content, and when the item started and ends (local time). ``next_change`` is the next moment
    the answer can change (item end, window end), so a player knows when to look again."""

    kind: Literal["interrupt", "playlist", "default"]
    entry: ScheduleEntry | None = None
    playlist: Playlist | None = None
    item_index: int | None = None
    content: Content | None = None
    item_start: dt.datetime | None = None
    item_end: dt.datetime | None = None
    interrupt: Interrupt | None = None

    @property
    def key(self) -> tuple:
        """Identity of what is on screen: a player switches media when this changes."""
        if self.kind == "interrupt":
            assert self.interrupt is not None  # resolve() always gives an interrupt answer its interrupt
            return ("interrupt", self.interrupt.id)
        if self.kind == "default":
            return ("default",)
        assert self.entry is not None  # resolve() always gives a playlist answer its entry
        return ("playlist", self.entry.id, self.item_index, self.item_start)


# -- validation ---------------------------------------------------------------------------------

def _targets_overlap(a: ScheduleEntry, b: ScheduleEntry, screens: tuple[ScreenRef, ...]) -> str | None:
    """The first screen both entries reach, or None."""
    common = (a.screens & b.screens) or (a.groups & b.groups)
    if common:
        return sorted(common)[0]
    for s in screens:
        if a.targets(s) and b.targets(s):
            return s.name
    return None


def validate_playlist(playlist: Playlist, contents: dict[int, Content]) -> None:
    """Raises ScheduleError (``empty_playlist``, ``unknown_content``, ``bad_item``)."""
    if not playlist.items:
        raise ScheduleError("empty_playlist", f"playlist {playlist.name!r} (id {playlist.id}) has no items")
    for n, item in enumerate(playlist.items, 1):
        if item.content_id not in contents:
            raise ScheduleError("unknown_content",
                                f"playlist {playlist.name!r} item {n}: no content with id {item.content_id}")
        if not MIN_ITEM_DURATION_S <= item.duration_s <= MAX_ITEM_DURATION_S:
            raise ScheduleError("bad_item", f"playlist {playlist.name!r} item {n}: duration {item.duration_s} s "
                                            f"is outside {MIN_ITEM_DURATION_S:g}..{MAX_ITEM_DURATION_S:g} s")


def validate_entry(entry: ScheduleEntry, playlists: dict[int, Playlist]) -> None:
    """Raises ScheduleError (``unknown_playlist``, ``bad_range``, ``no_target``, ``bad_weekdays``)."""
    if entry.playlist_id not in playlists:
        raise ScheduleError("unknown_playlist", f"schedule {entry.id}: no playlist with id {entry.playlist_id}",
                            entry_ids=(entry.id,))
    if not playlists[entry.playlist_id].items:
        raise ScheduleError("empty_playlist", f"schedule {entry.id}: playlist {entry.playlist_id} has no items",
                            entry_ids=(entry.id,))
    if entry.end_time == entry.start_time:
        raise ScheduleError("bad_range", f"schedule {entry.id}: end time {entry.end_time:%H:%M} is the start "
                                         f"time (an end before the start crosses midnight)", entry_ids=(entry.id,))
    if entry.start_date and entry.end_date and entry.end_date < entry.start_date:
        raise ScheduleError("bad_range", f"schedule {entry.id}: end date {entry.end_date} is before start date "
                                         f"{entry.start_date}", entry_ids=(entry.id,))
    if not entry.screens and not entry.groups:
        raise ScheduleError("no_target", f"schedule {entry.id}: names no screen and no group", entry_ids=(entry.id,))
    if not entry.weekdays or not entry.weekdays <= set(range(7)):
        raise ScheduleError("bad_weekdays", f"schedule {entry.id}: weekdays must be a non-empty subset of 0..6",
                            entry_ids=(entry.id,))
    if entry.share_s_per_hour is not None and not 1 <= entry.share_s_per_hour <= HOUR_S:
        raise ScheduleError("bad_share", f"schedule {entry.id}: the share of each hour must be 1..{HOUR_S} seconds",
                            entry_ids=(entry.id,), field="share_s_per_hour")


def validate(schedule: Schedule, *, screens: tuple[ScreenRef, ...] = ()) -> None:
    """Check every playlist and entry, and that no two entries of the same priority reach the
    same screen (directly, through a shared group, or through ``screens``' group memberships)
    at the same time. Interrupt content (``share_s_per_hour``) never conflicts: it interleaves.

    Raises:
        ScheduleError: the first problem found, with a reason naming what is wrong.
    """
    for p in schedule.playlists.values():
        validate_playlist(p, schedule.contents)
    for e in schedule.entries:
        validate_entry(e, schedule.playlists)
        if e.layout_id is not None and e.layout_id not in schedule.layouts:
            raise ScheduleError("unknown_layout", f"schedule {e.id}: no layout with id {e.layout_id}",
                                entry_ids=(e.id,), field="layout_id")
    entries = sorted(schedule.entries, key=lambda e: e.id)
    for i, a in enumerate(entries):
        for b in entries[i + 1:]:
            if a.priority != b.priority or a.share or b.share:
                continue
            clash = _time_clash(a, b)
            if clash is None:
                continue
            where = _targets_overlap(a, b, screens)
            if where is None:
                continue
            day, lo, hi = clash
            raise ScheduleError("conflict", f"schedules {a.id} and {b.id} both play on {where!r} at priority "
                                            f"{a.priority} on {_WEEKDAYS[day]} from {_hhmm(lo)} to {_hhmm(hi)}",
                                entry_ids=(a.id, b.id), where=where, weekday=day, priority=a.priority,
                                from_time=_hhmm(lo), to_time="24:00" if round(hi) % _DAY_S == 0 and hi > lo else _hhmm(hi))


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_S = 86400.0


def _seconds(t: dt.time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def _span_s(e: ScheduleEntry) -> tuple[float, float]:
    """The window as seconds from midnight of its start day (end past 86400 when overnight)."""
    start, end = _seconds(e.start_time), _seconds(e.end_time)
    return start, end + _DAY_S if e.overnight else end


def _hhmm(seconds: float) -> str:
    seconds = round(seconds) % _DAY_S
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}"


def _clash_days(a: ScheduleEntry, b: ScheduleEntry, shift_days: int) -> int | None:
    """A weekday (of ``a``'s window) on which ``a`` opens a window and ``b`` opens one
    ``shift_days`` later, within both date ranges; None if there is no such day."""
    lo = a.start_date
    if b.start_date is not None:
        b_lo = b.start_date - dt.timedelta(days=shift_days)
        lo = b_lo if lo is None else max(lo, b_lo)
    hi = a.end_date
    if b.end_date is not None:
        b_hi = b.end_date - dt.timedelta(days=shift_days)
        hi = b_hi if hi is None else min(hi, b_hi)
    wanted = {w for w in a.weekdays if (w + shift_days) % 7 in b.weekdays}
    if not wanted or (lo is not None and hi is not None and hi < lo):
        return None
    if lo is None or hi is None or (hi - lo).days >= 6:
        return min(wanted)
    day = lo
    while day <= hi:
        if day.weekday() in wanted:
            return day.weekday()
        day += dt.timedelta(days=1)
    return None


def _time_clash(a: ScheduleEntry, b: ScheduleEntry) -> tuple[int, float, float] | None:
    """Whether some window of ``a`` overlaps some window of ``b`` (windows crossing midnight
    included): (weekday on which the overlap starts, its start and end as seconds from that
    day's midnight; the end past 86400 when it runs over midnight), or None."""
    a0, a1 = _span_s(a)
    b0, b1 = _span_s(b)
    for shift in (0, -1, 1):       # b's window opens the same day as a's, the day before, the day after
        s0, s1 = b0 + shift * _DAY_S, b1 + shift * _DAY_S
        if not (a0 < s1 and s0 < a1):
            continue
        day = _clash_days(a, b, shift)
        if day is not None:
            lo, hi = max(a0, s0), min(a1, s1)
            days = int(lo // _DAY_S)
            return (day + days) % 7, lo - days * _DAY_S, hi - days * _DAY_S
    return None


# -- resolution ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShareBlock:
    """A stretch of a clock hour given to interrupt content: ``entry`` plays from ``start`` to
    ``end`` (naive local times), its playlist having played ``played_s`` seconds earlier that hour."""

    entry: ScheduleEntry
    start: dt.datetime
    end: dt.datetime
    played_s: float


def _active_parts(entry: ScheduleEntry, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of [start, end) (at most a day long) inside windows of ``entry``."""
    parts = []
    for day in (start.date() - dt.timedelta(days=1), start.date(), end.date()):
        if entry.runs_on(day):
            w0, w1 = entry.window(day)
            lo, hi = max(w0, start), min(w1, end)
            if lo < hi and (lo, hi) not in parts:
                parts.append((lo, hi))
    return sorted(parts)


@functools.lru_cache(maxsize=512)
def share_blocks(shares: tuple[tuple[ScheduleEntry, float], ...], hour: dt.datetime) -> tuple[ShareBlock, ...]:
    """The interrupt blocks of the clock hour starting at ``hour`` for ``shares``: (entry, seconds
    of its playable playlist). Deterministic: the hour is cut into ``n`` equal periods (``n`` a
    divisor of 3600, about one pass of the playlist per block, at most one a minute); each period
    opens with a block of each entry in order of priority (highest first, then id). Entry ``i``
    gets ``floor(S*(k+1)/n) - floor(S*k/n)`` seconds in period ``k``: exactly ``S`` in the hour.
    Shares adding up to more than an hour are cut, lowest priority first; a block is cut to the
    entry's windows (an hour it only partly covers gets that part's blocks)."""
    todo, left = [], HOUR_S
    for entry, length_s in sorted(shares, key=lambda el: (-el[0].priority, el[0].id)):
        share = min(entry.share_s_per_hour or 0, left)
        if share > 0 and length_s > 0:
            todo.append((entry, share, min(MAX_SHARE_BLOCKS, max(1, round(share / length_s)))))
            left -= share
    if not todo:
        return ()
    n = next(c for c in _BLOCK_COUNTS if c >= max(k for _, _, k in todo))
    period = HOUR_S // n
    blocks = []
    for k in range(n):
        off = k * period
        for entry, share, _ in todo:
            length = min(share * (k + 1) // n - share * k // n, (k + 1) * period - off)
            if length <= 0:
                continue
            b0, b1 = hour + dt.timedelta(seconds=off), hour + dt.timedelta(seconds=off + length)
            for lo, hi in _active_parts(entry, b0, b1):
                blocks.append(ShareBlock(entry, lo, hi, share * k // n + (lo - b0).total_seconds()))
            off += length
    return tuple(blocks)


def _playable(schedule: Schedule, playlist_id: int, skip_content: frozenset[int]) -> list[tuple[int, PlaylistItem]]:
    playlist = schedule.playlists.get(playlist_id)
    return [] if playlist is None else [(n, it) for n, it in enumerate(playlist.items)
                                        if it.content_id not in skip_content and it.content_id in schedule.contents]


def _shares(schedule: Schedule, screen: ScreenRef, skip_content: frozenset[int]) -> tuple[tuple[ScheduleEntry, float], ...]:
    return tuple((e, sum(it.duration_s for _, it in _playable(schedule, e.playlist_id, skip_content)))
                 for e in schedule.entries if e.share and e.targets(screen))


def _hour_of(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def share_seconds(shares: tuple[tuple[ScheduleEntry, float], ...], start: dt.datetime, end: dt.datetime) -> float:
    """Seconds of [start, end) given to interrupt content."""
    total, hour = 0.0, _hour_of(start)
    while hour < end and shares:
        for b in share_blocks(shares, hour):
            lo, hi = max(b.start, start), min(b.end, end)
            if lo < hi:
                total += (hi - lo).total_seconds()
        hour += dt.timedelta(hours=1)
    return total


def screen_share_blocks(schedule: Schedule, screen: ScreenRef, start: dt.datetime,
                        end: dt.datetime) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """The interrupt-content blocks of ``screen`` in [start, end) (naive local times), cut to the
    period, as (schedule entry id, start, end): the blocks :func:`resolve` plays (the
    share-of-voice report's "due")."""
    shares = _shares(schedule, screen, frozenset())
    out = []
    hour = _hour_of(start)
    while hour < end and shares:
        for b in share_blocks(shares, hour):
            lo, hi = max(b.start, start), min(b.end, end)
            if lo < hi:
                out.append((b.entry.id, lo, hi))
        hour += dt.timedelta(hours=1)
    return out


def _to_ms(t: dt.datetime) -> dt.datetime:
    """``t`` to the millisecond: bounds computed back from ``at`` stay the same from one tick to
    the next (a player switches media when they change)."""
    return t.replace(microsecond=0) + dt.timedelta(milliseconds=round(t.microsecond / 1000))


def _item_at(schedule: Schedule, entry: ScheduleEntry, items: list[tuple[int, PlaylistItem]], pos_s: float,
             at: dt.datetime, lo: dt.datetime, hi: dt.datetime) -> NowPlaying | None:
    """The item at ``pos_s`` seconds into a loop of ``items`` (a playable playlist) at ``at``,
    its start and end cut to [lo, hi)."""
    total = sum(it.duration_s for _, it in items)
    if total <= 0:
        return None
    offset = pos_s % total
    t = 0.0
    for n, it in items:
        if offset < t + it.duration_s:
            return NowPlaying("playlist", entry=entry, playlist=schedule.playlists[entry.playlist_id], item_index=n,
                              content=schedule.contents[it.content_id],
                              item_start=max(lo, _to_ms(at - dt.timedelta(seconds=offset - t))),
                              item_end=min(hi, _to_ms(at + dt.timedelta(seconds=t + it.duration_s - offset))))
        t += it.duration_s
    return None


def resolve(schedule: Schedule, screen: ScreenRef, at: dt.datetime, *,
            skip_content: frozenset[int] = frozenset(), at_s: float | None = None) -> NowPlaying:
    """What ``screen`` shows at local time ``at`` (``at_s``: the same moment in unix seconds, so
    that interrupts past their expiry are left out).

    An interrupt for the screen wins (the newest, if several). Then interrupt content in one of
    its blocks of the hour (:func:`share_blocks`). Otherwise the active ordinary entry for the
    screen with the highest priority (ties: the lowest id) plays its playlist from the start of
    its window, looping (a window crossing midnight keeps counting from its start the day
    before), its clock standing still during interrupt blocks (an item cut by one resumes after
    it); items whose content is in ``skip_content`` (corrupt or missing on this screen) are
    left out. Nothing active, or nothing playable: the default board.
    """
    interrupts = [i for i in schedule.interrupts if i.targets(screen) and i.in_force(at_s)]
    if interrupts:
        return NowPlaying("interrupt", interrupt=max(interrupts, key=lambda i: (i.started_s, i.id)))
    at = at.replace(tzinfo=None)
    shares = _shares(schedule, screen, skip_content)
    near = [b for h in (-1, 0, 1) for b in share_blocks(shares, _hour_of(at) + dt.timedelta(hours=h))] if shares else []
    for b in near:
        if b.start <= at < b.end:
            np = _item_at(schedule, b.entry, _playable(schedule, b.entry.playlist_id, skip_content),
                          b.played_s + (at - b.start).total_seconds(), at, b.start, b.end)
            if np is not None:
                return np
    next_block = min((b.start for b in near if b.start > at), default=None)
    last_block = max((b.end for b in near if b.end <= at), default=None)
    active = [(e, w) for e in schedule.entries if not e.share and e.targets(screen) and e.playlist_id in schedule.playlists
              for w in (e.window_at(at),) if w is not None]
    for entry, (start, window_end) in sorted(active, key=lambda ew: (-ew[0].priority, ew[0].id)):
        items = _playable(schedule, entry.playlist_id, skip_content)
        total = sum(it.duration_s for _, it in items)
        if total <= 0:
            continue
        elapsed = (at - start).total_seconds()
        if not shares:    # the item's bounds from the window's start, to the microsecond
            cycle, offset = divmod(elapsed, total)
            t = 0.0
            for n, it in items:
                if offset < t + it.duration_s:
                    item_start = start + dt.timedelta(seconds=cycle * total + t)
                    item_end = min(item_start + dt.timedelta(seconds=it.duration_s), window_end)
                    return NowPlaying("playlist", entry=entry, playlist=schedule.playlists[entry.playlist_id],
                                      item_index=n, content=schedule.contents[it.content_id], item_start=item_start,
                                      item_end=item_end)
                t += it.duration_s
            continue
        np = _item_at(schedule, entry, items, elapsed - share_seconds(shares, start, at), at,
                      max(start, last_block or start), min(window_end, next_block or window_end))
        if np is not None:
            return np
    return NowPlaying("default")


def region_item(schedule: Schedule, playlist_id: int | None, at: dt.datetime, *,
                skip_content: frozenset[int] = frozenset()) -> Content | None:
    """The image a ``playlist`` region of a layout shows at local time ``at``: its playlist loops
    from midnight, so every screen and the preview show the same item; content that is not an
    image, or is in ``skip_content``, is left out. None: nothing to show."""
    playlist = schedule.playlists.get(playlist_id) if playlist_id is not None else None
    if playlist is None:
        return None
    items = [it for it in playlist.items if it.content_id not in skip_content
             and it.content_id in schedule.contents and schedule.contents[it.content_id].kind == "image"]
    total = sum(it.duration_s for it in items)
    if total <= 0:
        return None
    at = at.replace(tzinfo=None)
    offset = (at - at.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds() % total
    for it in items:
        if offset < it.duration_s:
            return schedule.contents[it.content_id]
        offset -= it.duration_s
    return schedule.contents[items[-1].content_id]


#: The most characters of one announcement a ticker scrolls (its title and the start of its body).
TICKER_ITEM_CHARS = 200
TICKER_SEPARATOR = "　◆　"


def ticker_text(schedule: Schedule, region: Region) -> str:
    """What a ticker region scrolls: the text announcements of its playlist one after the other
    (``标题：正文``, each cut to :data:`TICKER_ITEM_CHARS`, all to the 500 characters a region's
    own text may have, so long ones cannot make a strip too wide to draw), else the region's own
    ``text``."""
    playlist = schedule.playlists.get(region.playlist_id) if region.playlist_id is not None else None
    parts = []
    for it in playlist.items if playlist is not None else ():
        c = schedule.contents.get(it.content_id)
        if c is not None and c.kind == "text":
            line = " ".join((f"{c.title}：{c.body}" if c.title and c.body else c.title or c.body).split())
            parts.append(line if len(line) <= TICKER_ITEM_CHARS else line[:TICKER_ITEM_CHARS - 1] + "…")
    text = TICKER_SEPARATOR.join(p for p in parts if p)
    if len(text) > MAX_TICKER_TEXT:
        text = text[:MAX_TICKER_TEXT - 1] + "…"
    return text or region.text


def layout_of(schedule: Schedule, np: NowPlaying) -> Layout:
    """The layout on screen with ``np``: its schedule entry's, else :data:`signage.layout.DEFAULT`
    (an emergency notice and the board take the whole area)."""
    if np.kind == "playlist" and np.entry is not None and np.entry.layout_id is not None:
        return schedule.layouts.get(np.entry.layout_id, DEFAULT)
    return DEFAULT


# -- wire format (the manifest) -----------------------------------------------------------------

def parse_time(value: str) -> dt.time:
    """``HH:MM`` or ``HH:MM:SS``; ``24:00`` is the end of the day.

    Raises:
        ScheduleError: ``bad_range``, naming the value.
    """
    if value in ("24:00", "24:00:00"):
        return dt.time(23, 59, 59, 999999)
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError) as e:
        raise ScheduleError("bad_range", f"{value!r} is not a time of day (HH:MM)") from e


def format_time(t: dt.time) -> str:
    return "24:00" if t == dt.time(23, 59, 59, 999999) else t.isoformat(timespec="seconds")


def entry_to_dict(e: ScheduleEntry) -> dict:
    return {"id": e.id, "playlist_id": e.playlist_id, "screens": sorted(e.screens), "groups": sorted(e.groups),
            "weekdays": sorted(e.weekdays), "start_time": format_time(e.start_time),
            "end_time": format_time(e.end_time),
            "start_date": e.start_date.isoformat() if e.start_date else None,
            "end_date": e.end_date.isoformat() if e.end_date else None, "priority": e.priority,
            "layout_id": e.layout_id, "share_s_per_hour": e.share_s_per_hour}


def entry_from_dict(d: dict) -> ScheduleEntry:
    return ScheduleEntry(id=d["id"], playlist_id=d["playlist_id"], screens=frozenset(d.get("screens") or ()),
                         groups=frozenset(d.get("groups") or ()), weekdays=frozenset(d.get("weekdays", range(7))),
                         start_time=parse_time(d.get("start_time", "00:00")),
                         end_time=parse_time(d.get("end_time", "24:00")),
                         start_date=dt.date.fromisoformat(d["start_date"]) if d.get("start_date") else None,
                         end_date=dt.date.fromisoformat(d["end_date"]) if d.get("end_date") else None,
                         priority=int(d.get("priority", 0)),
                         layout_id=int(d["layout_id"]) if d.get("layout_id") is not None else None,
                         share_s_per_hour=int(d["share_s_per_hour"]) if d.get("share_s_per_hour") is not None else None)


def schedule_to_dict(s: Schedule) -> dict:
    return {
        "contents": [{"id": c.id, "kind": c.kind, "name": c.name, "sha256": c.sha256, "title": c.title,
                      "body": c.body} for c in s.contents.values()],
        "playlists": [{"id": p.id, "name": p.name, "items": [{"content_id": i.content_id, "duration_s": i.duration_s}
                                                               for i in p.items]} for p in s.playlists.values()],
        "entries": [entry_to_dict(e) for e in s.entries],
        "interrupts": [{"id": i.id, "title": i.title, "body": i.body, "started_s": i.started_s,
                        "screens": sorted(i.screens), "expires_s": i.expires_s} for i in s.interrupts],
        "layouts": [layout_to_dict(lay) for lay in s.layouts.values()],
    }


def schedule_from_dict(d: dict) -> Schedule:
    contents = {c["id"]: Content(id=c["id"], kind=c["kind"], name=c.get("name", ""), sha256=c.get("sha256", ""),
                                 title=c.get("title", ""), body=c.get("body", "")) for c in d.get("contents", ())}
    playlists = {p["id"]: Playlist(id=p["id"], name=p.get("name", ""),
                                   items=tuple(PlaylistItem(i["content_id"], float(i["duration_s"]))
                                               for i in p.get("items", ())))
                 for p in d.get("playlists", ())}
    return Schedule(contents=contents, playlists=playlists,
                    entries=tuple(entry_from_dict(e) for e in d.get("entries", ())),
                    interrupts=tuple(Interrupt(id=i["id"], title=i.get("title", ""), body=i.get("body", ""),
                                               started_s=float(i.get("started_s", 0)),
                                               screens=frozenset(i.get("screens") or ()),
                                               expires_s=i.get("expires_s"))
                                     for i in d.get("interrupts", ())),
                    layouts={lay.id: lay for lay in map(layout_from_dict, d.get("layouts", ()))})
