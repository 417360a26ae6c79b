"""The screen's link to the API: fetch the manifest and content into a local cache, send proof
of play and heartbeats, and remember when the server could not be reached.

The cache (a directory) holds ``manifest.json``, ``content/<sha256>`` files and the proof-of-play
journal ``plays.jsonl`` with the count of rows already sent in ``plays.sent``; a player started
with the server down plays what the cache holds.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

logger = logging.getLogger(__name__)


class Unreachable(Exception):
    """The API could not be reached or answered 5xx: keep playing from the cache."""


class Refused(Exception):
    """The API refused the request (4xx): ``status`` says why (401: bad token)."""

    def __init__(self, status: int, detail: str, body: dict | None = None) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        #: the API's error fields (``code``, ``reason``, ``field``, ``ids`` ...), if it sent them
        self.body = body or {}


#: The references a proof-of-play row carries (the server refuses ones not of the screen's site).
PLAY_REFS = ("schedule_id", "playlist_id", "interrupt_id", "content_id")


class ApiClient:
    """Bearer-token client of the signage routes."""

    def __init__(self, *, base_url: str, token: str, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)
        # the queue-call poll has its own connection and a short timeout: a big download on the
        # main one must not hold up a call on the ticker
        self._fast = httpx.Client(base_url=self.base_url, headers=headers, timeout=min(timeout_s, 2.0))

    def close(self) -> None:
        self._http.close()
        self._fast.close()

    def _call(self, method: str, path: str, *, fast: bool = False, **kw: Any) -> httpx.Response:
        try:
            r = (self._fast if fast else self._http).request(method, path, **kw)
        except httpx.HTTPError as e:
            raise Unreachable(f"{self.base_url}: {e.__class__.__name__}: {e}") from e
        if r.status_code >= 500:
            raise Unreachable(f"{self.base_url}{path}: HTTP {r.status_code}")
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail") if len(r.content) < 65536 else None
            except ValueError:
                detail = None
            raise Refused(r.status_code, r.text[:300], detail if isinstance(detail, dict) else None)
        return r

    def manifest(self, screen: str) -> dict:
        return self._call("GET", f"/api/v1/signage/screens/{screen}/manifest").json()

    def serving(self, screen: str, *, since: int, notices: str | None = None) -> dict | None:
        """``{cursor, now_serving, notices}`` if an event was recorded since cursor ``since`` or the
        notices in force are no longer ``notices``, else None."""
        params: dict[str, Any] = {"since": since}
        if notices is not None:
            params["notices"] = notices
        r = self._call("GET", f"/api/v1/signage/screens/{screen}/serving", fast=True, params=params)
        return None if r.status_code == 204 else r.json()

    def download(self, url: str) -> bytes:
        path = url[len(self.base_url):] if url.startswith(self.base_url) else url
        return self._call("GET", path).content

    def announcement(self, call_event_id: int, *, max_bytes: int) -> tuple[bytes, str]:
        """Queue call ``call_event_id`` spoken (a WAV of at most ``max_bytes``) and what made it
        (``espeak-ng`` or ``chime``: header ``X-Announcement-Source``)."""
        r = self._call("GET", f"/api/v1/queue/calls/{int(call_event_id)}/announcement.wav")
        if len(r.content) > max_bytes or not r.content.startswith(b"RIFF"):
            raise Refused(r.status_code, f"not a WAV of at most {max_bytes} bytes")
        return r.content, r.headers.get("x-announcement-source", "")

    def post_plays(self, screen: str, rows: list[dict]) -> None:
        self._call("POST", f"/api/v1/signage/screens/{screen}/plays", json=rows)

    def heartbeat(self, screen: str, body: dict) -> None:
        self._call("POST", f"/api/v1/signage/screens/{screen}/heartbeat", json=body)

    def screenshot(self, screen: str, data: bytes, *, content_type: str, taken_s: float, state: dict) -> None:
        params = {"taken_s": taken_s, "playing": str(state.get("playing", ""))[:300],
                  "loop_late_s": max(0.0, float(state.get("loop_late_s") or 0.0)),
                  "skipped": [str(x)[:300] for x in (state.get("skipped") or [])][:20]}
        self._call("POST", f"/api/v1/signage/screens/{screen}/screenshot", params=params, content=data,
                   headers={"Content-Type": content_type})


class ContentCache:
    """Files by SHA-256, the last manifest, and the proof-of-play journal, under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "content").mkdir(parents=True, exist_ok=True)
        (self.root / "slides").mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def path(self, sha256: str) -> Path:
        return self.root / "content" / sha256

    def has(self, sha256: str) -> bool:
        return bool(sha256) and self.path(sha256).exists()

    def put(self, sha256: str, data: bytes) -> Path:
        """Store ``data`` if its SHA-256 is ``sha256``. Raises ValueError otherwise."""
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise ValueError(f"content sha256 {got} != manifest's {sha256}")
        p = self.path(sha256)
        tmp = p.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(p)
        return p

    def count(self) -> int:
        return sum(1 for p in (self.root / "content").iterdir() if not p.name.endswith(".part"))

    def size_bytes(self) -> int:
        """Bytes of cached content files."""
        total = 0
        for p in (self.root / "content").iterdir():
            try:
                total += p.stat().st_size
            except FileNotFoundError:   # replaced meanwhile
                pass
        return total

    def save_manifest(self, manifest: dict) -> None:
        tmp = self.root / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.root / "manifest.json")

    def load_manifest(self) -> dict | None:
        try:
            return json.loads((self.root / "manifest.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            logger.warning("cache %s: manifest.json is damaged; ignoring it", self.root)
            return None

    # -- proof of play journal --
    def record(self, row: dict) -> None:
        with self._lock, open(self.root / "plays.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")

    def plays(self) -> list[dict]:
        try:
            with open(self.root / "plays.jsonl", encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def unsent(self) -> tuple[int, list[dict]]:
        with self._lock:
            sent = int((self.root / "plays.sent").read_text() or 0) if (self.root / "plays.sent").exists() else 0
            return sent, self.plays()[sent:]

    def mark_sent(self, upto: int) -> None:
        """Rows before ``upto`` reached the server. Once every row has, the journal is emptied,
        so a screen running for months does not re-read a growing file each round: ``plays.sent``
        is reset first, so a crash in between re-sends rows (the server ignores known uids)
        rather than skipping new ones."""
        with self._lock:
            if upto >= len(self.plays()):
                (self.root / "plays.sent").write_text("0")
                (self.root / "plays.jsonl").write_text("", encoding="utf-8")
            else:
                (self.root / "plays.sent").write_text(str(upto))


def _same(a: dict | None, b: dict | None) -> bool:
    strip = lambda m: {k: v for k, v in (m or {}).items() if k not in ("generated_s", "serving_cursor")}  # noqa: E731
    return a is not None and b is not None and strip(a) == strip(b)


@dataclass
class SyncState:
    manifest: dict | None = None
    version: int = 0
    online: bool = False
    offline_since_s: float | None = None
    offline_periods: list[tuple[float, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    last_sync_s: float | None = None       # when the last manifest came


class Syncer:
    """Polls the manifest every ``poll_s``, fetches new content, sends proof of play and
    heartbeats; a second thread asks every ``calls_poll_s`` whether an event was recorded (a
    cheap cursor request) and updates now-serving at once, so a queue call reaches the ticker
    within about ``calls_poll_s`` plus a render. ``run(stop)`` returns when ``stop`` is set."""

    def __init__(self, *, client: ApiClient | None, screen: str, cache: ContentCache, poll_s: float = 1.0,
                 calls_poll_s: float = 0.25, heartbeat_s: float = 10.0, max_backoff_s: float = 5.0,
                 clock: Callable[[], float] = time.time, on_change: Callable[[], None] | None = None,
                 status: Callable[[], str] | None = None, screenshot_s: float = 60.0) -> None:
        self.client, self.screen, self.cache = client, screen, cache
        self.poll_s, self.calls_poll_s = poll_s, calls_poll_s
        self.heartbeat_s, self.max_backoff_s = heartbeat_s, max_backoff_s
        # The events cursor of the now-serving rows shown, and when (time.monotonic()) the request
        # that brought them was sent. Answers are ordered by send time, not by cursor: the cursor
        # is the newest event id, which goes down after a database restore. Not kept across
        # restarts (the first fast poll, since 0, brings the rows).
        self._cursor = 0
        self._serving_sent = float("-inf")
        self.clock = clock
        self.on_change = on_change or (lambda: None)
        self.status = status or (lambda: "")
        self.state = SyncState(manifest=cache.load_manifest())
        self._lock = threading.Lock()
        self._last_heartbeat = 0.0
        self._unsent_offline: list[tuple[float, float]] = []
        self._errors: list[str] = []
        #: The screen's picture of itself (set by the player): () -> (JPEG bytes, state), or None
        #: (no window). Sent every ``screenshot_s`` and when staff ask for one (the manifest's
        #: ``screenshot_requested_s``).
        self.grab: Callable[[], tuple[bytes, dict]] | None = None
        self.screenshot_s = screenshot_s
        self._last_shot = float("-inf")       # time.monotonic() of the last one sent
        #: The signature of the emergency notices in force, from the fast poll; a change wakes the
        #: manifest loop at once (a notice need not wait for the next manifest poll).
        self._notices = ""
        self._poll_now = threading.Event()
        self._answered_request: float | None = None

    def snapshot(self) -> tuple[dict | None, int]:
        with self._lock:
            return self.state.manifest, self.state.version

    def report_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    def run(self, stop: threading.Event) -> None:
        backoff = self.poll_s
        calls = None
        if self.client is not None and self.calls_poll_s > 0:
            calls = threading.Thread(target=self._calls_loop, args=(stop,), name="signage-calls", daemon=True)
            calls.start()
        try:
            while not stop.is_set():
                try:
                    self.sync_once()
                    backoff = self.poll_s
                except Unreachable as e:
                    self._went_offline(str(e))
                    backoff = min(self.max_backoff_s, backoff * 2)
                    logger.debug("screen %s: retry in %.1f s", self.screen, backoff)
                except Refused as e:
                    logger.error("screen %s: the API refused: %s", self.screen, e)
                    backoff = min(self.max_backoff_s * 6, backoff * 2)
                self._pause(stop, backoff)
        finally:
            if calls is not None:
                calls.join(5)
            if self.client is not None:
                self.client.close()

    def _pause(self, stop: threading.Event, seconds: float) -> None:
        """Wait ``seconds``, less when ``stop`` is set or the fast poll saw the notices change."""
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._poll_now.wait(min(left, 0.1)):
                break
        self._poll_now.clear()

    def _calls_loop(self, stop: threading.Event) -> None:
        """Every ``calls_poll_s``: anything new since the cursor? Then the new now-serving rows
        replace the manifest's (offline periods and errors are the main loop's business)."""
        assert self.client is not None  # run() starts this thread only with a client
        wait_s = self.calls_poll_s
        while not stop.wait(wait_s):
            sent = time.monotonic()
            try:
                got = self.client.serving(self.screen, since=self._cursor, notices=self._notices)
                wait_s = self.calls_poll_s
            except (Unreachable, Refused) as e:
                logger.debug("screen %s: serving poll failed: %s", self.screen, e)
                wait_s = min(self.max_backoff_s, wait_s * 2)
                continue
            if got is not None:
                notices = got.get("notices")
                if notices is not None and notices != self._notices:
                    self._notices = notices
                    self._poll_now.set()      # a notice started, was cleared or expired: the manifest now
                self._apply_serving(int(got["cursor"]), got["now_serving"], sent=sent)

    def _apply_serving(self, cursor: int, rows: list, *, sent: float) -> None:
        """Show ``rows`` unless a request sent after this one (``sent``, monotonic) already
        brought newer ones; any cursor other than the current one counts as news."""
        with self._lock:
            manifest = self.state.manifest
            if manifest is None or sent < self._serving_sent:   # nothing shown yet, or an older answer
                return
            self._serving_sent, self._cursor = sent, cursor
            if manifest.get("now_serving") == rows:
                return
            manifest = {**manifest, "now_serving": rows, "serving_cursor": cursor}
            self.state.manifest = manifest
            self.state.version += 1
        self.cache.save_manifest(manifest)
        self.on_change()

    def _went_offline(self, why: str) -> None:
        with self._lock:
            if self.state.offline_since_s is None:
                self.state.offline_since_s = self.clock()
                self.state.online = False
                logger.warning("screen %s: server unreachable, playing from cache (%s)", self.screen, why)

    def sync_once(self) -> None:
        """One round: manifest, missing content, plays, heartbeat. Raises Unreachable, Refused."""
        if self.client is None:
            return
        sent = time.monotonic()
        manifest = self.client.manifest(self.screen)
        for c in manifest.get("schedule", {}).get("contents", []):
            if c.get("url") and c.get("sha256") and not self.cache.has(c["sha256"]):
                try:
                    self.cache.put(c["sha256"], self.client.download(c["url"]))
                    logger.info("screen %s: cached content %s (%s)", self.screen, c["id"], c.get("name"))
                except (Refused, ValueError) as e:   # reported by the player when it is due
                    logger.warning("screen %s: content %s not cached: %s", self.screen, c["id"], e)
        now = self.clock()
        back = False
        with self._lock:
            if self.state.offline_since_s is not None:
                period = (self.state.offline_since_s, now)
                self.state.offline_periods.append(period)
                self._unsent_offline.append(period)
                self.state.offline_since_s = None
                back = True
            self.state.online = True
            self.state.last_sync_s = now
            if sent < self._serving_sent and self.state.manifest is not None:
                # asked for before the fast poll's newest answer: keep the rows that one brought
                manifest = {**manifest, "now_serving": self.state.manifest.get("now_serving", []),
                            "serving_cursor": self._cursor}
            else:
                self._serving_sent, self._cursor = sent, int(manifest.get("serving_cursor") or 0)
            changed = not _same(self.state.manifest, manifest)
            if changed:
                self.state.manifest = manifest
                self.state.version += 1
        if back:
            logger.warning("screen %s: server reachable again after %.1f s offline", self.screen, period[1] - period[0])
        if changed:
            self.cache.save_manifest(manifest)
            self.on_change()
        # proof of play and the heartbeat each on their own: a refused one holds up neither the other
        # nor the next round (issue 24: a deleted schedule's play row jammed both for good)
        try:
            self.send_plays()
        except Refused as e:
            logger.error("screen %s: the API refused proof of play (kept for the next round): %s", self.screen, e)
        if back or now - self._last_heartbeat >= self.heartbeat_s:
            try:
                self.send_heartbeat()
            except Refused as e:
                logger.error("screen %s: the API refused the heartbeat: %s", self.screen, e)
        requested = manifest.get("screenshot_requested_s")
        if self.grab is not None and (time.monotonic() - self._last_shot >= self.screenshot_s
                                      or (requested and requested != self._answered_request)):
            try:
                self.send_screenshot()
                self._answered_request = requested
            except Refused as e:
                logger.error("screen %s: the API refused the screenshot: %s", self.screen, e)
                self._answered_request = requested

    def send_screenshot(self) -> None:
        """Take the screen's picture and send it with what plays (Unreachable, Refused)."""
        assert self.client is not None and self.grab is not None
        self._last_shot = time.monotonic()
        taken_s = self.clock()
        try:
            data, state = self.grab()
        except Exception as e:   # no display to grab (yet): the next round tries again
            logger.warning("screen %s: no screenshot: %s: %s", self.screen, e.__class__.__name__, e)
            return
        self.client.screenshot(self.screen, data, content_type="image/jpeg", taken_s=taken_s, state=state)

    def send_plays(self) -> None:
        """Send the journal's unsent rows in batches. A batch the API refuses as invalid (400/422)
        is sent row by row: a row naming something gone at the server (a schedule deleted while it
        played: ``bad_play_ref``) is sent again without that reference (what played, when, stays
        true); a row refused all the same is logged and dropped. Either way it leaves the journal
        and the rows after it go on. Other refusals (401, 409, 413, 429) keep the rows for the next
        round (raises Refused)."""
        assert self.client is not None  # sync_once() sends only with a client
        sent, rows = self.cache.unsent()
        for i in range(0, len(rows), 500):
            batch = rows[i:i + 500]
            try:
                self.client.post_plays(self.screen, batch)
            except Refused as e:
                if e.status not in (400, 422):
                    raise
                logger.warning("screen %s: the API refused %d proof-of-play row(s) (%s); sending them one by one",
                               self.screen, len(batch), e.body.get("code") or e.status)
                for row in batch:
                    self._send_play(row)
            self.cache.mark_sent(sent + i + len(batch))

    def _send_play(self, row: dict) -> None:
        assert self.client is not None
        for _ in range(len(PLAY_REFS) + 1):
            try:
                self.client.post_plays(self.screen, [row])
                return
            except Refused as e:
                if e.status not in (400, 422):
                    raise
                field_name = e.body.get("field")
                if e.body.get("code") == "bad_play_ref" and field_name in PLAY_REFS and row.get(field_name) is not None:
                    logger.warning("screen %s: proof of play %s: %s %s is gone at the server; sent without it",
                                   self.screen, row.get("uid"), field_name, row[field_name])
                    row = {**row, field_name: None}
                    continue
                logger.error("screen %s: proof of play %s refused and dropped: %s", self.screen, row.get("uid"), e)
                return
        logger.error("screen %s: proof of play %s refused and dropped", self.screen, row.get("uid"))

    def send_heartbeat(self) -> None:
        """What plays, the cache, offline periods and errors. The body stays within what the API
        takes (the last 100 periods, 50 errors of 500 characters); a heartbeat refused as invalid
        drops what it carried (logged), so the next one goes through."""
        assert self.client is not None  # sync_once() sends only with a client
        with self._lock:
            offline, errors = list(self._unsent_offline), list(self._errors)
        body = {"playing": self.status()[:300], "cache_items": self.cache.count(),
                "offline_periods": offline[-100:], "errors": [e[:500] for e in errors[-50:]]}
        try:
            self.client.heartbeat(self.screen, body)
        except Refused as e:
            if e.status in (400, 422):
                with self._lock:
                    del self._unsent_offline[:len(offline)]
                    del self._errors[:len(errors)]
                self._last_heartbeat = self.clock()
            raise
        with self._lock:
            del self._unsent_offline[:len(offline)]
            del self._errors[:len(errors)]
        self._last_heartbeat = self.clock()


def write_private(path: Path, text: str) -> None:
    """Write a secret (a token) readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
