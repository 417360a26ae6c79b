"""Supervisor task (c), live listen, in Debian's chromium over the real API (uvicorn) on SQLite
and PostgreSQL with the rclone S3 server: a real agent records window 1 in real time (FFmpeg
playing real speech), the supervisor listens from the counters page and the player keeps playing
for more than 30 s while the page refreshes itself, while they move to another page and back,
and across a restart of the agent (a new recording session). An idle window with only an
hour-old recording says it is replaying stored audio, not live, with the delay. The page is
photographed at 1440 and 390 px; no console error, failed request or CSP violation.

The delay the dock shows is measured (the API's clock minus when the audio playing was captured,
the agent's sample clock): a plausible figure that moves, and larger by what a link that holds
the agent's live segments back adds."""
from __future__ import annotations

import datetime as dt
import queue
import re
import statistics
import threading
import time
import uuid
import wave
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from browser_support import shoot, supervisor_console

from recorder.agent import Agent
from recorder.client import AgentClient, ApiRefused, ApiUnavailable, TransportError
from recorder.live import LiveMeta
from recorder.sources import parse_source
from tests.support.agents import AgentApi, serve_agent_api
from tests.support.recordings import join_speech
from tests.support.stack import PASSWORD, RATE, make_app_env

pytestmark = pytest.mark.slow
SUPERVISOR = "督导员李"
LISTEN_S = 35.0            # the issue asks for "still playing after 30 s"
RESTART_AT_S = 15.0        # the agent restarts (a new session) this long into listening
# Seconds of the live element actually playing (its currentTime moving), summed over the
# elements the dock creates: a reconnect makes a new one.
_HEARD_PROBE = """
window.__liveHeard = 0;
(() => {
  let el = null, last = 0;
  setInterval(() => {
    const a = document.querySelector('#live-audio');
    if (a !== el) { el = a; last = a ? a.currentTime : 0; return; }
    if (a && !a.paused) {
      const d = a.currentTime - last;
      if (d > 0 && d < 1) window.__liveHeard += d;
      last = a.currentTime;
    }
  }, 200);
})();
"""


def _wav(path: Path, pcm: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.astype("<i2").tobytes())
    return path


class HeldBack:
    """The agent's real API client behind a slow link: each live segment is sent ``hold_s``
    after the agent hands it over (in order, from a thread of its own); the rest goes through."""

    def __init__(self, sink: AgentClient) -> None:
        self.sink = sink
        self.hold_s = 0.0
        self._queue: queue.Queue[tuple[float, dict] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __getattr__(self, name: str):  # noqa: ANN204 - everything else is the client's
        return getattr(self.sink, name)

    def send_live(self, **segment) -> None:  # noqa: ANN003 - LiveSink.send_live's keywords
        self._queue.put((time.monotonic() + self.hold_s, segment))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            due, segment = item
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                self.sink.send_live(**segment)
            except (ApiRefused, ApiUnavailable, TransportError):
                pass                # live audio is best effort: the next segment goes on

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(10)


class Recorder:
    """A real agent at hall/c1 playing ``wav`` in real time, sending its chunks and live segments
    through the agents' API (``link``) with its own token, as an agent box does."""

    def __init__(self, link: AgentApi, wav: Path, spool: Path, *, sink: AgentClient | HeldBack | None = None) -> None:
        self.published: list[LiveMeta] = []
        self.agent = Agent(site="hall", counter="c1", source=parse_source(f"ffmpeg:{wav}", channels=2),
                           spool_dir=spool, sink=sink or link.client(timeout_s=5.0), quota_bytes=50_000_000,
                           chunk_s=10.0, on_live=self.published.append, live_s=1.0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop,), daemon=True)

    def start(self, *, segments: int) -> Recorder:
        """Start, and wait for ``segments`` live segments (0: for 2 s of audio, nobody listening)."""
        self.thread.start()
        deadline = time.monotonic() + 15
        while len(self.published) < segments or self.agent.stats.frames_captured < 2 * RATE:
            assert time.monotonic() < deadline, "the agent published no live segments"
            time.sleep(0.05)
        return self

    def end(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)   # PostgreSQL: API tests + 3 browser tests
def test_c_live_listen_keeps_playing_past_30_s_refreshes_and_an_agent_restart(db_url, object_store, data_dir: Path,
                                                                               tmp_path: Path):
    from playwright.sync_api import expect

    env = make_app_env(db_url, object_store, counters={"hall": ("c1", "c2")})
    env.catalog.add_counter("hall", "c1", display_name="1号窗口")
    env.catalog.add_counter("hall", "c2", display_name="2号窗口")
    env.make_user("supervisor", ["hall"], name=SUPERVISOR, password=PASSWORD)
    admin = env.make_user("admin", [])
    pcm = join_speech(data_dir, "dev01-stereo-clean.flac", "dev05-stereo-clean.flac", "dev07-stereo-clean.flac",
                      gap_s=1.0)
    cut = int((RESTART_AT_S + 8) * RATE)           # agent A's file outlasts the restart; B's the rest
    assert len(pcm) / RATE > LISTEN_S + 15
    first = _wav(tmp_path / "first.wav", pcm[:cut])
    second = _wav(tmp_path / "second.wav", pcm[cut:])
    # window 2 is idle: its newest recording is an hour old
    env.store_chunk(site="hall", counter="c2", session=uuid.uuid4().hex, wall0=time.time() - 3600, seq=0, start=0,
                    part=pcm[:5 * RATE])
    c1, c2 = env.counter_id("hall", "c1"), env.counter_id("hall", "c2")
    link_ctx = serve_agent_api(env.engine, env.store, site="hall", counter="c1")
    link = link_ctx.__enter__()
    recorders = [Recorder(link, first, tmp_path / "spool-a")]
    try:
        recorders[0].start(segments=0)
        # live on demand (issue 23): nobody listens yet, so the agent sends no live audio
        assert recorders[0].published == [] and recorders[0].agent.live.stats.segments == 0
        with supervisor_console(env.app, admin, SUPERVISOR, init_script=_HEARD_PROBE) as (base, api, page):
            page.click("a[data-page=counters]")
            expect(page).to_have_title(re.compile("^窗口状态 · "))
            card = page.locator("#counter-grid [data-counter='hall/c1']")
            expect(card.locator(".name")).to_have_text("1号窗口")
            card.locator("button.listen").click()
            t0 = time.monotonic()
            dock = page.locator("#live-dock")
            expect(dock).to_contain_text("实时监听：")
            expect(dock).to_contain_text("1号窗口")
            expect(page.locator("#live-source")).to_have_text("实时", timeout=10000)
            expect(page.locator("#live-status")).to_contain_text(re.compile(r"实时声音 · 延迟 \d+\.\d 秒"), timeout=15000)
            # the agent sends live audio on demand: it starts when the listener comes, and what
            # follows plays on. The 5 s bound of the product (issue 23) is asserted at the API in
            # tests/api/test_live_agent.py; here the browser's own start-up comes on top, so the
            # bound is for a loaded box (CI once measured 6.2 s with other work beside it).
            page.wait_for_function("() => window.__liveHeard > 0", timeout=15000, polling=100)
            started = time.monotonic() - t0
            assert started <= 10.0, f"first audio heard {started:.1f} s after the click"
            page.wait_for_function("() => window.__liveHeard > 2", timeout=15000)
            shots = shoot(page, "task-c-live")

            # the counters page refreshes every 10 s; the supervisor also goes elsewhere and back
            page.wait_for_timeout(11000)
            page.click("a[data-page=recordings]")
            expect(page).to_have_title(re.compile("^录音查询 · "))
            expect(dock).to_be_visible()
            # the agent restarts: its recording session ends and a new one begins
            while time.monotonic() - t0 < RESTART_AT_S:
                page.wait_for_timeout(250)
            recorders[0].end()
            recorders.append(Recorder(link, second, tmp_path / "spool-b").start(segments=1))
            page.click("a[data-page=counters]")
            while time.monotonic() - t0 < LISTEN_S:
                page.wait_for_timeout(500)
            heard = page.evaluate("window.__liveHeard")
            elapsed = time.monotonic() - t0
            # still playing now: not paused, and moving on
            before = page.evaluate("document.querySelector('#live-audio').currentTime")
            page.wait_for_function("(t) => { const a = document.querySelector('#live-audio');"
                                   " return a && !a.paused && a.currentTime > t + 1; }", arg=before, timeout=5000)
            assert heard >= elapsed - started - 8, f"heard {heard:.1f} s of {elapsed - started:.1f} s of listening"
            expect(page.locator("#live-source")).to_have_text("实时")
            expect(card.locator("button.listen")).to_have_attribute("aria-pressed", "true")
            shots += shoot(page, "task-c-live-after-30s")

            # an idle window: the dock says it replays stored audio, and how old it is
            page.locator("#counter-grid [data-counter='hall/c2'] button.listen").click()
            expect(dock).to_contain_text("2号窗口")
            expect(page.locator("#live-source")).to_have_text("非实时", timeout=10000)
            expect(page.locator("#live-status")).to_contain_text("正在回放最近存储的录音")
            # an hour, and the test's own minute
            expect(page.locator("#live-status")).to_contain_text(re.compile(r"延迟约 6[01] 分钟"))
            # when it was recorded, on the site's clock (Asia/Shanghai), not the browser's (UTC here)
            zone = api.get("/api/v1/sites").json()[0]["timezone"]
            assert zone != page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
            now = time.time()
            recorded = {dt.datetime.fromtimestamp(now - s, ZoneInfo(zone)).strftime("%H:%M") for s in range(3480, 3720, 30)}
            expect(page.locator("#live-status")).to_contain_text(re.compile(rf"录于 ({'|'.join(sorted(recorded))}):\d\d"))
            expect(page.locator("#live-status")).to_contain_text("该窗口当前没有实时声音")
            page.wait_for_function("() => { const a = document.querySelector('#live-audio');"
                                   " return a && !a.paused && a.currentTime > 0.5; }", timeout=10000)
            shots += shoot(page, "task-c-replay")
            # a reload (F5) keeps listening: the same window, live again (issue 20 item 7)
            page.locator("#counter-grid [data-counter='hall/c1'] button.listen").click()
            expect(page.locator("#live-source")).to_have_text("实时", timeout=10000)
            expect(page).to_have_url(re.compile(rf"[?&]live={c1}(&|$)"))       # it rides in the address
            page.reload()
            expect(dock).to_contain_text("1号窗口", timeout=15000)
            expect(page.locator("#live-source")).to_have_text("实时", timeout=15000)
            page.wait_for_function("() => { const a = document.querySelector('#live-audio');"
                                   " return a && !a.paused && a.currentTime > 0.5; }", timeout=15000)
            page.click("#live-stop")
            expect(dock).to_have_count(0)
            expect(page).not_to_have_url(re.compile(r"[?&]live="))
            audit = api.get("/api/v1/audit", params={"user": SUPERVISOR, "action": "audio.live"}).json()
            assert {a["target"] for a in audit} == {f"counter:{c1}", f"counter:{c2}"}
            sessions = {r.agent.session for r in recorders}
            assert len(sessions) == 2                                # the restart began a new session
            for a in audit:                                          # each (re)connection audited, live
                if a["target"] == f"counter:{c1}":
                    assert re.match(r"窗口 hall/c1 实时监听，录音会话 (\w+)，", a["detail"]).group(1) in sessions, a["detail"]
    finally:
        for r in recorders:
            if r.thread.is_alive():
                r.end()
        link_ctx.__exit__(None, None, None)
        env.engine.dispose()
    assert len(shots) == 6 and all(s.stat().st_size > 5_000 for s in shots)


_SHOWN = re.compile(r"^实时声音 · 延迟 (\d+\.\d) 秒$")


def _delays_shown(page, seconds: float) -> tuple[list[float], list[float], list[float]]:  # noqa: ANN001
    """The delays the dock shows (#live-status) over ``seconds``, read every half second, each
    checked against the exact figure the API measured (its tooltip and data-delay-s); those
    figures; and with each, how much audio the player holds ahead of what it plays (buffered
    end - currentTime)."""
    shown: list[float] = []
    measured: list[float] = []
    ahead: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        text, tip, raw, buffered = page.evaluate(
            "() => { const e = document.querySelector('#live-status'), a = document.querySelector('#live-audio');"
            " const b = a && a.buffered.length ? a.buffered.end(a.buffered.length - 1) - a.currentTime : null;"
            " return [e.textContent, e.title, e.dataset.delayS, b]; }")
        m = _SHOWN.match(text.strip())
        if m:
            assert raw is not None and abs(float(m.group(1)) - max(0.0, float(raw))) <= 0.051, (text, raw)
            assert "采集时间" in tip and "position_s=" in tip, tip           # codes only in the tooltip
            shown.append(float(m.group(1)))
            measured.append(float(raw))
            ahead.append(round(buffered, 1))
        page.wait_for_timeout(500)
    return shown, measured, ahead


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)   # PostgreSQL: API tests + 3 browser tests
def test_c_live_dock_shows_the_measured_delay(db_url, object_store, data_dir: Path, tmp_path: Path):
    """The dock's 实时 delay is measured from the capture time of what plays: a plausible figure
    that changes as it is measured again; with the agent's segments held back 5 s on their way,
    it is at least that much larger."""
    from playwright.sync_api import expect

    env = make_app_env(db_url, object_store, counters={"hall": ("c1",)})
    env.catalog.add_counter("hall", "c1", display_name="1号窗口")
    env.make_user("supervisor", ["hall"], name=SUPERVISOR, password=PASSWORD)
    admin = env.make_user("admin", [])
    pcm = join_speech(data_dir, "dev01-stereo-clean.flac", "dev05-stereo-clean.flac", gap_s=1.0)
    wav = _wav(tmp_path / "speech.wav", pcm)
    hold_s = 5.0
    link_ctx = serve_agent_api(env.engine, env.store, site="hall", counter="c1")
    link = link_ctx.__enter__()
    held = HeldBack(link.client(timeout_s=5.0))
    recorder = Recorder(link, wav, tmp_path / "spool", sink=held)
    try:
        recorder.start(segments=0)
        with supervisor_console(env.app, admin, SUPERVISOR) as (base, api, page):
            page.click("a[data-page=counters]")
            page.locator("#counter-grid [data-counter='hall/c1'] button.listen").click()
            expect(page.locator("#live-source")).to_have_text("实时", timeout=15000)
            expect(page.locator("#live-status")).to_have_text(_SHOWN, timeout=20000)
            normal, measured, ahead = _delays_shown(page, 8.0)
            # plausible (generous: a loaded machine), and measured again and again, not a constant
            assert len(normal) >= 8 and all(0.0 <= d <= 15.0 for d in normal), normal
            assert len(set(measured)) >= 3, measured
            # What the player holds ahead is part of the delay; the rest is how old the newest
            # audio was when it arrived (segment length, sending, polling: a few seconds at most)
            arrived = [round(d - b, 1) for d, b in zip(normal, ahead, strict=True)]
            assert all(-0.5 <= a <= 6.0 for a in arrived), (normal, ahead)
            shots = shoot(page, "task-c-live-delay")

            held.hold_s = hold_s      # the link now holds each segment back 5 s
            # The player plays on from what it holds, then waits: the delay grows by the hold,
            # less what the player held. How old the newest audio it holds is grows by the hold.
            base_arrived = statistics.median(arrived)
            seen: list[tuple[float, float]] = []
            deadline = time.monotonic() + 40
            while not (seen and seen[-1][0] - seen[-1][1] >= base_arrived + hold_s - 1.5):
                assert time.monotonic() < deadline, (base_arrived, seen)
                page.wait_for_timeout(500)
                shown, _, ahead_now = _delays_shown(page, 0.1)
                seen += zip(shown, ahead_now, strict=True)
            later, _, ahead_later = _delays_shown(page, 6.0)
            arrived_later = [round(d - b, 1) for d, b in zip(later, ahead_later, strict=True)]
            assert len(later) >= 4 and all(d <= hold_s + 15.0 for d in later), later
            assert min(later) > max(normal), (normal, later)
            assert statistics.median(arrived_later) >= base_arrived + hold_s - 1.5, (arrived, arrived_later)
            print(f"measured delay shown: normal {normal} (measured {measured}, player ahead {ahead}), "
                  f"held back {hold_s:g} s {later} (player ahead {ahead_later})")
    finally:
        if recorder.thread.is_alive():
            recorder.end()
        held.close()
        link_ctx.__exit__(None, None, None)
        env.engine.dispose()
    assert len(shots) == 2 and all(s.stat().st_size > 5_000 for s in shots)
