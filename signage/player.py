"""The screen player: a full-screen X window (Tk) with a VLC video area and a now-serving
ticker strip below it. Stills (images, text pages, the board, notices) are shown by Tk over the
video area and never go through libVLC (:mod:`signage.stills`, issue 12).

Every ``tick_s`` (≤ 250 ms) the loop resolves the schedule at the injected clock's time and
switches media when the answer changes, so schedule boundaries are met within one tick. The
next item's media is created and parsed ahead of time (a file that VLC cannot parse is skipped
before its turn); the gap of each switch (request to first video output) is measured.
Corrupt or missing media are skipped and reported as ``skipped`` proof-of-play rows.
"""
from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import datetime as dt
import hashlib
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from domain.timezones import site_zone
from signage import announce, feeds, layout, metrics, slides, widgets
from signage.stills import StillError, Stills, fitted

if TYPE_CHECKING:
    import vlc as vlc_types
from signage.schedule import Content, NowPlaying, Schedule, ScreenRef, layout_of, region_item, resolve, schedule_from_dict, ticker_text
from signage.sync import ContentCache, Syncer

logger = logging.getLogger(__name__)

#: A video that shows no picture this long after its start is treated as broken.
NO_VIDEO_AFTER_S = 3.0
#: A still over a starting video goes when libVLC has displayed the video's first picture,
#: looked for this often, or at the latest this long after the video's output came.
REVEAL_POLL_S = 0.02
FIRST_PICTURE_WAIT_S = 1.0
#: A page of a text announcement stays up at least this long: a long text in a short item shows
#: its first pages (the last one says the rest is left off) rather than flipping 90 pages in 10 s.
MIN_TEXT_PAGE_S = 5.0


class Pending(Exception):
    """The picture is still being drawn (a text announcement, on the text thread)."""


@dataclass(frozen=True)
class PlayerOptions:
    tick_s: float = 0.25
    windowed: bool = False
    window_size: tuple[int, int] = (960, 540)
    ticker_height_px: int = 64
    preload: bool = True
    #: A sound (e.g. :func:`signage.chime.write_chime`) played when a new queue call appears; None: silent.
    chime_path: Path | None = None
    #: Say each new queue call (after the chime): its announcement fetched from the API (issue 21).
    announce: bool = True
    #: Extra libVLC arguments (after the player's own), e.g. ("--vout=gl",).
    vlc_args: tuple[str, ...] = ()
    #: Sound (videos' audio, the chime): True, False (muted: libVLC opens no audio output), or None:
    #: only where the box has a sound device (:func:`sound_device`), so a box without one does not
    #: flood the log with ALSA errors for every video.
    audio: bool | None = None
    #: glibc malloc settings for the process (see :func:`tune_malloc`); None: glibc's default.
    malloc_arena_max: int | None = 2
    malloc_mmap_threshold: int | None = 256 * 1024


@dataclass
class PlayerStats:
    switches: int = 0
    #: the last switches' gaps (bounded: a screen runs for months)
    gaps_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=10_000))
    skipped: dict[int, str] = field(default_factory=dict)    # content id -> reason
    current: str = ""
    chimes: int = 0
    #: new queue calls handed to the announcer (the chime if any, then the call said)
    calls_heard: int = 0


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8   # glibc <malloc.h>


def tune_malloc(arena_max: int | None, mmap_threshold: int | None) -> bool:
    """glibc ``mallopt``: at most ``arena_max`` malloc arenas, and blocks of ``mmap_threshold``
    bytes or more always mapped on their own (given back to the system when freed). True if applied.

    libVLC starts new decoder and output threads, and allocates new picture and display buffers
    (MiB each), for every item it plays. With glibc's defaults (up to 8 arenas per core, and an
    mmap threshold that rises to the largest block freed so far, up to 32 MiB) those buffers end
    up inside per-thread heaps whose freed space is rarely given back, and resident memory crept
    up by 10-20 KiB per video transition and sat 130 MiB higher (``bench/signage.py``). Call it
    before threads allocate: glibc fixes the arena limit once a process has more than 8 arenas.
    Left alone when the environment (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``,
    ``GLIBC_TUNABLES``) already sets them, and where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import platform

        if platform.libc_ver()[0] != "glibc":
            return False
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    done = False
    if arena_max and not os.environ.get("MALLOC_ARENA_MAX") and "arena_max" not in tunables:
        done = bool(libc.mallopt(M_ARENA_MAX, int(arena_max))) or done
    if mmap_threshold and not os.environ.get("MALLOC_MMAP_THRESHOLD_") and "mmap_threshold" not in tunables:
        done = bool(libc.mallopt(M_MMAP_THRESHOLD, int(mmap_threshold))) or done
    return done


def sound_device() -> bool:
    """Whether this box can play sound: a PulseAudio/PipeWire server (``PULSE_SERVER``, or the
    user's runtime socket) or an ALSA sound card."""
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and ((Path(runtime) / "pulse" / "native").exists() or (Path(runtime) / "pipewire-0").exists()):
        return True
    try:
        cards = Path("/proc/asound/cards").read_text()
    except OSError:
        return False
    return bool(cards.strip()) and "no soundcards" not in cards


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _has_video_track(vlc: ModuleType, media: vlc_types.Media) -> bool:
    """Whether parsed ``media`` has a video track. python-vlc's ``Media.tracks_get()`` never
    frees libVLC's track array (one leak per call), so this asks libVLC directly and releases it."""
    pp = ctypes.POINTER(vlc.MediaTrack)()
    n = vlc.libvlc_media_tracks_get(media, ctypes.byref(pp))
    if not n:
        return False
    arr = ctypes.cast(pp, ctypes.POINTER(ctypes.POINTER(vlc.MediaTrack)))
    try:
        return any(arr[i].contents.type == vlc.TrackType.video for i in range(n))
    finally:
        vlc.libvlc_media_tracks_release(arr, n)


class Player:
    """Plays ``screen``'s schedule from ``cache``; ``syncer`` (optional) keeps the cache fresh.
    ``clock`` returns unix seconds (injectable). ``run(stop)`` returns when ``stop`` is set."""

    def __init__(self, *, screen: str, cache: ContentCache, syncer: Syncer | None = None,
                 clock: Callable[[], float] = time.time, options: PlayerOptions = PlayerOptions()) -> None:
        self.screen, self.cache, self.syncer, self.clock, self.opt = screen, cache, syncer, clock, options
        self.stats = PlayerStats()
        self._wake = threading.Event()
        self._version = -1
        self._schedule = Schedule()
        self._ref = ScreenRef(screen)
        self._tz: dt.tzinfo = site_zone(None)
        self._hall = ""
        self._rows: list[slides.ServingRow] = []
        #: the queue board widget's rows (the manifest's ``queue``)
        self._queue: list[widgets.QueueRow] = []
        #: the layout on screen and its widget regions (dicts: region, rect, frame, label, image, sig)
        self._layout: layout.Layout = layout.DEFAULT
        self._regions: list[dict] = []
        #: the feed regions' titles, fetched in the background by this box (signage.feeds)
        self._feeds = feeds.FeedCache(cache.root / "feeds")
        self._display_key: tuple | None = None
        self._pop: dict | None = None
        self._pop_key: tuple | None = None
        self._media_started = 0.0
        self._current_content: int | None = None
        self._saw_video = False
        self._preloaded: dict[str, vlc_types.Media] = {}
        #: The preloaded next item being parsed: (content id, media, time.monotonic() at the start).
        self._preload_check: tuple[int, vlc_types.Media, float] | None = None
        self._ticker_sig: tuple | None = None
        self._switch_t = 0.0
        #: A still covers the video area until the video just started shows its first picture:
        #: set when libVLC's output is made (time.monotonic() in _vout_t), cleared by reveal().
        self._vout_pending = False
        self._vout_t = 0.0
        self._current_kind: str | None = None
        #: Guards the switch state against a late event of the item before (VLC thread).
        self._switch_lock = threading.Lock()
        self._stills: Stills | None = None
        self._version_seen: int | None = None
        self._announcer: announce.Announcer | None = None
        #: Text announcements are laid out and drawn on a thread of their own, a page at a time,
        #: so a long one never holds up the loop (a notice or a queue call shows meanwhile).
        self._text_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="signage-text")
        self._text_jobs: dict[str, concurrent.futures.Future] = {}
        #: pages of each laid-out text (file stem -> count); bounded
        self._text_pages: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._text_failed: set[str] = set()
        #: time.monotonic() of the loop's last tick, and the window's place on the X screen
        #: (x, y, width, height), kept by the loop for the screenshot (taken on the sync thread)
        self._last_tick = time.monotonic()
        self._geometry: tuple[int, int, int, int] | None = None
        if syncer is not None:
            syncer.on_change = self._wake.set
            syncer.status = lambda: self.stats.current
            syncer.grab = self.screenshot

    # -- window and VLC --
    def _open(self) -> None:
        import tkinter as tk

        import vlc

        tune_malloc(self.opt.malloc_arena_max, self.opt.malloc_mmap_threshold)   # before VLC's threads (see there)
        self._tk = tk.Tk(className="counterwatch-signage")
        root = self._tk
        if self.opt.windowed:
            w, h = self.opt.window_size
            root.geometry(f"{w}x{h}")
        else:
            w, h = root.winfo_screenwidth(), root.winfo_screenheight()
            root.overrideredirect(True)   # no window manager needed (kiosk boxes often have none)
            root.geometry(f"{w}x{h}+0+0")
            root.attributes("-fullscreen", True)
        root.configure(bg=_hex(slides.BOARD_BG), cursor="none")
        th = self.opt.ticker_height_px
        self.size = self._area_size = (w, h - th)
        # the picture area above the ticker strip; the layout's regions are placed in it, the
        # video (and the stills over it) in its main region (signage.layout)
        self._area = tk.Frame(root, width=w, height=h - th, bg=_hex(slides.BOARD_BG))
        self._area.pack(side="top", fill="both", expand=True)
        # libVLC draws into this window itself. No background (bg ""; X background None): when the
        # still over it goes, X paints nothing there and the still's pixels stay until libVLC's
        # next picture, instead of the navy background (issue 24: a blank at image→video switches)
        self._video = tk.Frame(self._area, bg="")
        self._video.place(x=0, y=0, width=w, height=h - th)
        self._stills = Stills(root, self._video)
        self._ticker_img = tk.PhotoImage(width=w, height=th)
        self._ticker = tk.Label(root, image=self._ticker_img, bd=0, highlightthickness=0, bg="#141414")
        self._ticker.pack(side="bottom", fill="x")
        root.update()
        self._vlc = vlc
        audio = sound_device() if self.opt.audio is None else self.opt.audio
        if not audio:
            logger.info("screen %s: playing without sound (%s)", self.screen,
                        "muted" if self.opt.audio is False else "no sound device")
        self._instance = vlc.Instance(["--quiet", "--no-video-title-show", "--no-osd", "--no-snapshot-preview",
                                          # not a desktop: no xdg-screensaver child per item
                                          "--no-disable-screensaver", *(() if audio else ("--no-audio",)),
                                          *self.opt.vlc_args])
        self._mp = self._instance.media_player_new()
        self._mp.set_xwindow(self._video.winfo_id())
        self._mp.video_set_mouse_input(False)
        self._mp.video_set_key_input(False)
        ev = self._mp.event_manager()
        ev.event_attach(vlc.EventType.MediaPlayerVout, self._on_vout)
        self._announcer = None
        client = self.syncer.client if self.syncer is not None else None
        fetch = (lambda call: client.announcement(call, max_bytes=announce.MAX_WAV_BYTES)) \
            if client is not None and self.opt.announce else None
        if audio and (self.opt.chime_path is not None or fetch is not None):
            self._announcer = announce.Announcer(instance=self._instance, screen=self.screen, spool_dir=self.cache.root,
                                                 chime_path=self.opt.chime_path, fetch=fetch)
            self._announcer.start()

    def _on_vout(self, event: vlc_types.Event) -> None:   # called on a VLC thread
        # also sent when the old item's output closes (count 0): only a new picture counts; and
        # late, after a switch to a still: that must neither uncover the still nor count a gap
        with self._switch_lock:
            if self._saw_video or event.u.new_count < 1 or self._current_kind != "video":
                return
            if self._stills is not None and self._stills.shown is not None:
                # the main thread takes the still away (Tk is not thread-safe) once the video's
                # first picture is out: the output exists now, but its window is still blank
                self._vout_pending = True
                self._vout_t = time.monotonic()
                self._wake.set()
                return
            self._saw_video = True
            self._gap_done()

    def _gap_done(self) -> None:
        gap_ms = (time.monotonic() - self._switch_t) * 1000.0
        self.stats.gaps_ms.append(gap_ms)
        metrics.observe_gap(gap_ms)

    def _first_picture_out(self) -> bool:
        """Whether libVLC has displayed a picture of the current media (its statistics)."""
        m = self._mp.get_media()
        if m is None:
            return False
        try:
            st = self._vlc.MediaStats()
            return bool(m.get_stats(st)) and st.displayed_pictures > 0
        finally:
            m.release()     # get_media() holds a reference of its own

    def reveal(self) -> None:
        """Take the still away once the video under it shows its first picture (main thread).

        libVLC's output event comes when the output is made, before any picture is in its
        window; and the still's pixels are not kept under it (no backing store), so X painted the
        video window's background where the still had been until libVLC's next picture: the
        navy blank of 70-280 ms at image→video switches (issue 24). So the video window has no
        background (see _open), and the still stays until libVLC counts a displayed picture (its
        statistics, updated about every 250 ms), or FIRST_PICTURE_WAIT_S after the output came."""
        with self._switch_lock:
            if not self._vout_pending or self._saw_video or self._current_kind != "video":
                self._vout_pending = False
                return
        if not self._first_picture_out() and time.monotonic() - self._vout_t < FIRST_PICTURE_WAIT_S:
            return      # looked at again in REVEAL_POLL_S (run)
        with self._switch_lock:
            if not self._vout_pending or self._saw_video or self._current_kind != "video":
                self._vout_pending = False
                return
            self._vout_pending = False
            self._saw_video = True
        if self._stills is not None:
            self._stills.hide()
            self._tk.update_idletasks()
        self._gap_done()

    def _drop_preloaded(self) -> None:
        for m in self._preloaded.values():
            m.release()
        self._preloaded = {}
        self._preload_check = None

    def _close(self) -> None:
        self._text_pool.shutdown(wait=False, cancel_futures=True)
        self._drop_preloaded()
        if self._stills is not None:
            self._stills.close()
            self._stills = None
        try:
            self._mp.stop()
            self._mp.release()
            if self._announcer is not None:
                self._announcer.close()
            self._instance.release()
        finally:
            self._tk.destroy()
            # Tk objects must die in the thread that made them (else Tcl_AsyncDelete aborts): drop
            # them here, leaving the window attributes unset as they were before _open()
            self._regions = []
            del self._ticker_img, self._ticker, self._video, self._area, self._tk
            self._preload_check = None

    def _media(self, path: Path, kind: str) -> vlc_types.Media:
        key = f"{kind}:{path}"
        m = self._preloaded.pop(key, None)
        if m is None:
            m = self._new_media(path, kind)
        return m

    def _new_media(self, path: Path, kind: str) -> vlc_types.Media:
        m = self._instance.media_new_path(str(path))
        m.add_option(":input-repeat=65535")   # loop until the schedule moves on
        return m

    def _play(self, path: Path, kind: str) -> None:
        with self._switch_lock:
            self._switch_t = time.monotonic()
            self._current_kind = kind
            self._saw_video = kind != "video"     # a still is on screen once Tk has drawn it
            self._vout_pending = False
        self.stats.switches += 1
        assert self._stills is not None  # made by _open
        if kind != "video":
            self._stills.show(path)
            self._tk.update_idletasks()
            self._gap_done()
            if self._mp.is_playing():
                self._mp.set_pause(1)      # under the still, ready to be replaced by the next video
            return
        media = self._media(path, kind)
        self._mp.set_media(media)
        # the player holds its own reference now; python-vlc never releases ours (no __del__)
        media.release()
        self._mp.play()

    # -- state from the manifest --
    def _refresh(self) -> None:
        if self.syncer is None:
            manifest, version = self.cache.load_manifest(), 0
        else:
            manifest, version = self.syncer.snapshot()
        if manifest is None or version == self._version:
            return
        self._version = version
        self._schedule = schedule_from_dict(manifest.get("schedule", {}))
        self._ref = ScreenRef(self.screen, frozenset(manifest.get("groups") or ()))
        self._tz = site_zone(manifest.get("timezone"))
        self._hall = manifest.get("hall") or ""
        self._queue = widgets.queue_rows(manifest.get("queue") or [])
        # display_name: what the hall calls the counter (3号窗口); older servers send only its id
        rows = [slides.ServingRow(r["counter"], r.get("ticket"), bool(r.get("paused")), r.get("called_s"),
                                  r.get("display_name") or "")
                for r in manifest.get("now_serving", [])]
        before = {r.counter: (r.ticket, r.called_s) for r in self._rows}
        first = self._version_seen is None
        self._version_seen = version
        self._rows = rows
        if first:
            return     # the state found at start-up is not announced
        calls = {r["counter"]: r.get("call_event_id") for r in manifest.get("now_serving", [])}
        for r in sorted(rows, key=lambda r: r.called_s or 0.0):
            if r.ticket and r.called_s and before.get(r.counter) != (r.ticket, r.called_s):
                self._ring(calls.get(r.counter))

    def _ring(self, call_event_id: int | None) -> None:
        """A call not on screen before: the chime, then the call said (queued: never waits here)."""
        if self._announcer is None:
            return
        self._announcer.submit(call_event_id)
        self.stats.calls_heard += 1
        if self.opt.chime_path is not None:
            self.stats.chimes += 1

    def local_time(self, t_s: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t_s, self._tz).replace(tzinfo=None)

    def _missing(self) -> frozenset[int]:
        """File content not in the cache, or found broken: left out of the schedule."""
        out = set(self.stats.skipped)
        for c in self._schedule.contents.values():
            if c.kind != "text" and not self.cache.has(c.sha256):
                out.add(c.id)
                if c.id not in self.stats.skipped:
                    self._skip(c.id, "missing: not in the cache (download failed or pending)")
        return frozenset(out)

    def _skip(self, content_id: int, reason: str) -> None:
        self.stats.skipped[content_id] = reason
        metrics.observe_skipped(reason)
        now = self.clock()
        logger.warning("screen %s: skipping content %s: %s", self.screen, content_id, reason)
        self.cache.record({"uid": uuid.uuid4().hex, "kind": "playlist", "status": "skipped", "content_id": content_id,
                           "playlist_id": None, "schedule_id": None, "interrupt_id": None, "started_s": now,
                           "ended_s": now, "reason": reason})
        if self.syncer is not None:
            self.syncer.report_error(f"content {content_id}: {reason}")

    # -- one tick --
    def screenshot(self, *, max_width_px: int = 1280, quality: int = 80) -> tuple[bytes, dict]:
        """What the public sees now: the player's window grabbed from the X server (any thread;
        Pillow's own X connection), as JPEG at most ``max_width_px`` wide, and what the player says
        it plays, how late its loop is (a freeze), and the content it skipped."""
        import io

        from PIL import ImageGrab

        geom = self._geometry
        if geom is None:
            raise RuntimeError("the window is not open")
        x, y, w, h = geom
        img = ImageGrab.grab(bbox=(x, y, x + w, y + h), xdisplay=os.environ.get("DISPLAY") or None).convert("RGB")
        if img.width > max_width_px:
            img = img.resize((max_width_px, round(img.height * max_width_px / img.width)))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        late = max(0.0, time.monotonic() - self._last_tick - self.opt.tick_s)
        skipped = [f"{cid}: {why}" for cid, why in list(self.stats.skipped.items())[-10:]]
        return buf.getvalue(), {"playing": self.stats.current, "loop_late_s": round(late, 3), "skipped": skipped}

    def tick(self) -> NowPlaying:
        self._last_tick = time.monotonic()
        self.reveal()
        self._refresh()
        now_s = self.clock()
        local = self.local_time(now_s)
        while True:
            np = resolve(self._schedule, self._ref, local, skip_content=self._missing(), at_s=now_s)
            self._apply_layout(layout_of(self._schedule, np))
            try:
                path, kind, extra = self._visual(np, local)
                break
            except StillError as e:
                assert np.content is not None  # only content images are read from the cache
                self._skip(np.content.id, f"corrupt: {e}")
            except Pending:
                # what is on screen stays until the page is drawn, unless it is a notice (cleared:
                # it must go at once) or nothing: the board meanwhile
                if self._display_key is not None and self._display_key[0][0] != "interrupt":
                    self._check_health(np)
                    self._update_ticker()
                    self._update_widgets(local)
                    return np
                np = NowPlaying("default")
                self._apply_layout(layout.DEFAULT)
                path, kind, extra = self._visual(np, local)
                break
        key = (np.key, extra, self._layout)
        if key != self._display_key:
            self._display_key = key
            self._start_pop(np, now_s)
            self._current_content = np.content.id if np.content is not None else None
            self._play(path, kind)
            self.stats.current = f"{np.kind}:{np.content.name if np.content else (np.interrupt.title if np.interrupt else 'board')}"
            if self.opt.preload and np.item_end is not None:
                self._preload(np.item_end + dt.timedelta(milliseconds=1))
        self._check_health(np)
        self._update_ticker()
        self._update_widgets(local)
        return np

    # -- layout and widgets --
    def _apply_layout(self, lay: layout.Layout) -> None:
        """Place the video area in ``lay``'s main region and a Tk label in each widget region,
        by the same geometry as the server's preview (:func:`signage.layout.rects`)."""
        if lay == self._layout:
            return
        import tkinter as tk

        for r in self._regions:
            r["frame"].destroy()
        self._regions = []
        self._layout = lay
        for n, (region, (x, y, w, h)) in enumerate(layout.rects(lay, self._area_size)):
            if region.kind == "main":
                self._video.place_configure(x=x, y=y, width=w, height=h)
                self.size = (w, h)
                continue
            frame = tk.Frame(self._area, width=w, height=h, bg=_hex(slides.TICKER_BG), bd=0, highlightthickness=0)
            frame.place(x=x, y=y, width=w, height=h)
            label = tk.Label(frame, bd=0, highlightthickness=0, bg=_hex(slides.TICKER_BG))
            label.place(x=0, y=0)
            self._regions.append({"n": n, "region": region, "size": (w, h), "frame": frame, "label": label,
                                  "image": None, "sig": None, "t0": time.monotonic(), "strip_w": 1})
        logger.info("screen %s: layout %s (%d region(s))", self.screen, lay.name or lay.id, len(lay.regions))

    def _update_widgets(self, local: dt.datetime) -> None:
        """Redraw a widget region when what it shows changed (the clock each minute, the queue
        board with the manifest); the ticker's strip is drawn once and moved by :meth:`_scroll`."""
        import tkinter as tk

        for r in self._regions:
            region, (w, h) = r["region"], r["size"]
            item = None
            if region.kind == "playlist":
                item = region_item(self._schedule, region.playlist_id, local, skip_content=frozenset(self.stats.skipped))
                if item is not None and not self.cache.has(item.sha256):
                    item = None
                sig: tuple = ("playlist", item.id if item is not None else None)
            elif region.kind == "clock":
                sig = ("clock", local.strftime("%Y%m%d%H%M"))
            elif region.kind == "queue_board":
                sig = ("queue", tuple(self._queue))
            elif region.kind == "feed":
                titles = self._feeds.titles(region.url, region.refresh_s)[:region.max_items]
                sig = ("feed", tuple(titles))
            else:
                text = ticker_text(self._schedule, region)
                sig = ("ticker", text)
            if sig == r["sig"]:
                continue
            r["sig"] = sig
            if region.kind == "playlist":
                p = self._region_still(item, (w, h))
                if p is None:
                    r["sig"] = None     # look again at the next tick
                    continue
                r["image"] = tk.PhotoImage(file=str(p))
                r["label"].configure(image=r["image"])
                continue
            if region.kind == "clock":
                img = widgets.clock(local, (w, h))
            elif region.kind == "queue_board":
                img = widgets.queue_board(self._queue, (w, h))
            elif region.kind == "feed":
                img = widgets.feed(region.text, titles, (w, h))
            else:
                img = widgets.ticker_strip(text, h)
                r["strip_w"], r["t0"] = img.width, time.monotonic()
            p = slides.save_png(img, self.cache.root / "slides" / f"region-{r['n']}-{region.kind}.png")
            r["image"] = tk.PhotoImage(file=str(p))
            r["label"].configure(image=r["image"])
            if region.kind == "ticker":
                r["frame"].configure(bg=_hex(widgets.TICKER_TEXT_BG))
                self._scroll_to(r, time.monotonic())

    def _region_still(self, item: Content | None, size: tuple[int, int]) -> Path | None:
        """A playlist region's image fitted to it (the board colour when it has none); None: the
        image is broken (skipped and reported, as in the main region)."""
        d = self.cache.root / "slides"
        if item is None:
            p = d / f"region-empty-{size[0]}x{size[1]}.png"
            if not p.exists():
                from PIL import Image

                slides.save_png(Image.new("RGB", size, slides.BOARD_BG), p)
            return p
        try:
            return fitted(self.cache.path(item.sha256), size=size, cache_dir=d)
        except StillError as e:
            self._skip(item.id, f"corrupt: {e}")
            return None

    def _scroll_to(self, r: dict, now: float) -> None:
        r["label"].place_configure(x=widgets.ticker_offset(r["size"][0], r["strip_w"], now - r["t0"]), y=0)

    def _idle(self, timeout_s: float) -> None:
        """Wait for the next tick (or a wake-up); meanwhile move the tickers' text, 25 times a second."""
        tickers = [r for r in self._regions if r["region"].kind == "ticker"]
        if not tickers:
            self._wake.wait(timeout_s)
            return
        end = time.monotonic() + timeout_s
        while not self._wake.is_set():
            now = time.monotonic()
            for r in tickers:
                self._scroll_to(r, now)
            self._tk.update()
            left = end - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(min(left, 0.04))

    def _visual(self, np: NowPlaying, local: dt.datetime) -> tuple[Path, str, tuple]:
        """The file to show for ``np`` (rendering slides as needed), its kind, and what besides
        the schedule decides the picture (text page, board minute and calls)."""
        d = self.cache.root / "slides"
        if np.kind == "interrupt":
            assert np.interrupt is not None  # resolve() gives an interrupt answer its interrupt
            p = d / f"interrupt-{np.interrupt.id}-{self.size[0]}x{self.size[1]}.png"
            if not p.exists():
                slides.save_png(slides.interrupt_slide(np.interrupt.title, np.interrupt.body, size=self.size), p)
            return p, "image", ()
        if np.kind == "default":
            sig = tuple((r.counter, r.ticket, r.paused) for r in self._rows)
            p = d / "board.png"
            stamp = local.strftime("%Y%m%d%H%M")
            if self._display_key is None or self._display_key[1] != (stamp, sig) or not p.exists():
                slides.save_png(slides.board(hall=self._hall, now=local, rows=self._rows, size=self.size), p)
            return p, "image", (stamp, sig)
        c = np.content
        # resolve() gives a playlist answer its content and the item's start and end
        assert c is not None and np.item_start is not None and np.item_end is not None
        if c.kind == "text":
            span_s = (np.item_end - np.item_start).total_seconds()
            budget = max(1, min(slides.MAX_TEXT_PAGES, int(span_s // MIN_TEXT_PAGE_S)))
            digest = hashlib.sha256(f"{c.title}\0{c.body}".encode()).hexdigest()[:16]
            stem = f"text-{c.id}-{digest}-{self.size[0]}x{self.size[1]}-{budget}"
            if stem in self._text_failed:
                raise StillError("the text could not be drawn (see the log)")
            pages = self._text_pages.get(stem)
            due = int((local - np.item_start).total_seconds() // (span_s / pages)) + 1 if pages else 1
            page = min(pages or 1, max(1, due))
            path = d / f"{stem}-{page}.png"
            if pages is None or not path.exists():
                self._draw_text(stem, c.id, c.title, c.body, budget=budget, first=page)
                raise Pending(stem)
            return path, "image", (page,)
        if c.kind == "image":
            return fitted(self.cache.path(c.sha256), size=self.size, cache_dir=d), "image", ()
        return self.cache.path(c.sha256), c.kind, ()

    def _draw_text(self, stem: str, content_id: int, title: str, body: str, *, budget: int, first: int) -> None:
        """Lay out and draw a text announcement's pages on the text thread (once per text, size and
        page budget), page ``first`` first; wakes the loop as pages land on disk."""
        job = self._text_jobs.get(stem)
        if job is not None and not job.done():
            return
        self._text_jobs = {k: f for k, f in self._text_jobs.items() if not f.done()}
        self._text_jobs[stem] = self._text_pool.submit(self._draw_text_job, stem, content_id, title, body,
                                                       budget, first, self.size)

    def _draw_text_job(self, stem: str, content_id: int, title: str, body: str, budget: int, first: int,
                       size: tuple[int, int]) -> None:   # on the text thread
        d = self.cache.root / "slides"
        try:
            t0 = time.monotonic()
            for old in d.glob(f"text-{content_id}-*.png"):   # an older text or size of this content
                if not old.name.startswith(stem + "-"):
                    old.unlink(missing_ok=True)
            layout = slides.layout_text(title, body, size=size, max_pages=budget)
            n = len(layout.pages)
            self._text_pages[stem] = n
            while len(self._text_pages) > 64:
                self._text_pages.popitem(last=False)
            first = min(max(1, first), n)
            for page in [*range(first, n + 1), *range(1, first)]:
                p = d / f"{stem}-{page}.png"
                if not p.exists():
                    slides.save_png(slides.text_page(layout, page), p)
                if page == first:
                    self._wake.set()
            logger.info("screen %s: text %s laid out in %d page(s)%s in %.2f s", self.screen, content_id, n,
                        " (cut to the page budget)" if layout.cut else "", time.monotonic() - t0)
        except Exception:   # a thread's error would vanish: log it; the loop asks again
            logger.exception("screen %s: drawing text %s failed", self.screen, content_id)
            self._text_pages.pop(stem, None)
            self._text_failed.add(stem)
        finally:
            self._wake.set()

    def _preload(self, at: dt.datetime) -> None:
        nxt = resolve(self._schedule, self._ref, at, skip_content=frozenset(self.stats.skipped))
        if nxt.content is None or nxt.content.kind == "text" or not self.cache.has(nxt.content.sha256):
            return
        path = self.cache.path(nxt.content.sha256)
        if nxt.content.kind == "image":
            assert self._stills is not None  # made by _open
            try:
                self._stills.preload(fitted(path, size=self.size, cache_dir=self.cache.root / "slides"))
            except StillError as e:
                self._skip(nxt.content.id, f"corrupt: {e}")
            return
        key = f"{nxt.content.kind}:{path}"
        if key in self._preloaded:
            return
        m = self._new_media(path, nxt.content.kind)
        m.parse_with_options(self._vlc.MediaParseFlag.local, 2000)
        self._drop_preloaded()   # only the next one: a long day must not pile media up
        self._preloaded = {key: m}
        self._preload_check = (nxt.content.id, m, time.monotonic())

    def _check_health(self, np: NowPlaying) -> None:
        vlc = self._vlc
        pc = self._preload_check
        if pc is not None:
            cid, m, t0 = pc
            st = m.get_parsed_status()
            if st in (vlc.MediaParsedStatus.done, vlc.MediaParsedStatus.failed, vlc.MediaParsedStatus.timeout):
                self._preload_check = None
                if st != vlc.MediaParsedStatus.done or not _has_video_track(vlc, m):
                    self._skip(cid, f"corrupt: VLC finds no picture in it ({st})")
                    self._drop_preloaded()
        if self._current_content is None or np.content is None or np.content.kind != "video":
            return
        state = self._mp.get_state()
        broken = state in (vlc.State.Error, vlc.State.Ended) and not self._saw_video
        # a video whose output is made (its first picture awaited under the still) is not late
        late = not self._saw_video and not self._vout_pending and time.monotonic() - self._switch_t > NO_VIDEO_AFTER_S
        if broken or late:
            self._skip(self._current_content, f"corrupt: VLC shows no picture ({state})")
            self._pop = None   # the item never showed: its skipped row stands for it
            self._display_key = None
            self._wake.set()

    def _start_pop(self, np: NowPlaying, now_s: float) -> None:
        if np.key == self._pop_key:
            return   # another page of the same item, or a board refresh
        self._end_pop(now_s)
        self._pop_key = np.key
        metrics.observe_played(np.content.kind if np.content is not None else
                               "interrupt" if np.kind == "interrupt" else "board")
        self._pop = {"uid": uuid.uuid4().hex, "kind": np.kind, "status": "played",
                     "content_id": np.content.id if np.content else None,
                     "playlist_id": np.playlist.id if np.playlist else None,
                     "schedule_id": np.entry.id if np.entry else None,
                     "interrupt_id": np.interrupt.id if np.interrupt else None, "started_s": now_s, "ended_s": None,
                     "reason": ""}

    def _end_pop(self, now_s: float) -> None:
        if self._pop is not None:
            self._pop["ended_s"] = now_s
            self.cache.record(self._pop)
        self._pop = None

    def _update_ticker(self) -> None:
        sig = tuple((r.counter, r.ticket, r.paused) for r in self._rows)
        if sig == self._ticker_sig:
            return
        self._ticker_sig = sig
        p = self.cache.root / "slides" / "ticker.png"
        slides.save_png(slides.ticker(self._rows, width_px=self.size[0], height_px=self.opt.ticker_height_px), p)
        self._ticker_img.configure(file=str(p))

    # -- the loop --
    def run(self, stop: threading.Event) -> None:
        """Open the window and play until ``stop`` is set; the window closes on return."""
        self._open()
        try:
            while not stop.is_set():
                self.tick()
                self._tk.update()
                root = self._tk
                self._geometry = (root.winfo_rootx(), root.winfo_rooty(), root.winfo_width(), root.winfo_height())
                # a video about to replace a still: look for its first picture more often
                self._idle(REVEAL_POLL_S if self._vout_pending else self.opt.tick_s)
                self._wake.clear()
        finally:
            self._end_pop(self.clock())
            self._close()

    def wake(self) -> None:
        self._wake.set()
