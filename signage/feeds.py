"""Data feeds of a layout's ``feed`` regions (issue 24 item 5): an RSS 2.0 or JSON URL on the
hall's network (weather, hall notices), fetched by the screen box, never by the server (the
server would otherwise fetch URLs a supervisor typed: SSRF).

:func:`fetch` reads a URL with a timeout over the whole request and a size cap; :func:`parse`
takes the titles out of what it read: RSS 2.0 ``<item><title>``, or JSON, either a list of
strings / of objects with a ``title`` field, or an object whose ``items`` is such a list.
:class:`FeedCache` is what the player asks on each tick: it never waits on the network (a fetch
runs on a thread of its own when the region's refresh interval has passed), and keeps the last
good titles of each URL on disk, so a feed that fails (or a box that restarts without network)
still shows what it showed before. A failure is logged once per failure streak.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

logger = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024
TIMEOUT_S = 5.0
#: titles kept per feed, and characters per title (a region shows at most 10)
MAX_TITLES = 20
MAX_TITLE_CHARS = 200


class FeedError(Exception):
    """A feed that could not be read or understood; ``code``: ``unreachable``, ``status``,
    ``timeout``, ``too_large`` or ``unparseable``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code


def fetch(url: str, *, timeout_s: float = TIMEOUT_S, max_bytes: int = MAX_BYTES) -> bytes:
    """The body of ``url`` (GET, no redirects followed). Raises FeedError: not 200, more than
    ``max_bytes``, or not done within ``timeout_s`` in all (a server sending slowly included)."""
    deadline = time.monotonic() + timeout_s
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False, follow_redirects=False) as client, \
                client.stream("GET", url, headers={"Accept": "application/rss+xml, application/json, */*"}) as r:
            if r.status_code != 200:
                raise FeedError("status", f"HTTP {r.status_code}")
            declared = r.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FeedError("too_large", f"{declared} bytes > {max_bytes}")
            data = bytearray()
            for chunk in r.iter_raw():
                data += chunk
                if len(data) > max_bytes:
                    raise FeedError("too_large", f"more than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FeedError("timeout", f"not read within {timeout_s:g} s")
            return bytes(data)
    except httpx.TimeoutException as e:
        raise FeedError("timeout", f"no answer within {timeout_s:g} s") from e
    except httpx.HTTPError as e:
        raise FeedError("unreachable", type(e).__name__) from e


def _clean(title: object) -> str:
    return re.sub(r"\s+", " ", str(title)).strip()[:MAX_TITLE_CHARS]


def parse(data: bytes) -> list[str]:
    """The titles of an RSS 2.0 feed or of a JSON list (see the module). Raises FeedError
    ``unparseable`` (neither, a DTD or entity declaration, or no title at all)."""
    head = data.lstrip()[:1]
    titles: list[str] = []
    if head == b"<":
        # no DTD: entity expansion ("billion laughs") and external entities are refused outright
        if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
            raise FeedError("unparseable", "XML with a DTD")
        try:
            root = ET.fromstring(data)
        except ET.ParseError as e:
            raise FeedError("unparseable", f"bad XML: {e}") from e
        titles = [_clean(t.text or "") for t in root.findall("./channel/item/title")]
    else:
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as e:
            raise FeedError("unparseable", "neither RSS nor JSON") from e
        items = doc.get("items") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise FeedError("unparseable", "JSON without a list of items")
        for it in items:
            if isinstance(it, str):
                titles.append(_clean(it))
            elif isinstance(it, dict) and isinstance(it.get("title"), str | int | float):
                titles.append(_clean(it["title"]))
    titles = [t for t in titles if t][:MAX_TITLES]
    if not titles:
        raise FeedError("unparseable", "no titles")
    return titles


def read_feed(url: str, *, timeout_s: float = TIMEOUT_S, max_bytes: int = MAX_BYTES) -> list[str]:
    """:func:`fetch` then :func:`parse`."""
    return parse(fetch(url, timeout_s=timeout_s, max_bytes=max_bytes))


@dataclass
class _State:
    titles: list[str]
    #: time.monotonic() of the last try (0: never tried in this process)
    tried: float = 0.0
    busy: bool = False
    failing: bool = False


class FeedCache:
    """The titles of each feed URL, refreshed in the background, the last good copy kept in
    ``root`` (``<sha256 of the URL>.json``). ``reader`` is injectable (tests count fetches)."""

    def __init__(self, root: Path, *, reader: Callable[[str], list[str]] = read_feed) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._reader = reader
        self._lock = threading.Lock()
        self._feeds: dict[str, _State] = {}

    def _file(self, url: str) -> Path:
        return self.root / f"{hashlib.sha256(url.encode()).hexdigest()}.json"

    def _load(self, url: str) -> list[str]:
        try:
            got = json.loads(self._file(url).read_text("utf-8"))
            return [str(t) for t in got["titles"]][:MAX_TITLES] if got.get("url") == url else []
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def titles(self, url: str, refresh_s: float) -> list[str]:
        """The last good titles of ``url`` (empty: none yet); starts a fetch on a thread of its
        own when ``refresh_s`` has passed since the last try. Never waits on the network."""
        with self._lock:
            st = self._feeds.get(url)
            if st is None:
                st = self._feeds[url] = _State(self._load(url))
            if not st.busy and (st.tried == 0.0 or time.monotonic() - st.tried >= refresh_s):
                st.busy, st.tried = True, time.monotonic()
                threading.Thread(target=self._refresh, args=(url, st), name="signage-feed", daemon=True).start()
            return list(st.titles)

    def _refresh(self, url: str, st: _State) -> None:
        try:
            titles = self._reader(url)
        except FeedError as e:
            if not st.failing:      # once per failure streak, not every refresh
                logger.warning("feed %s: %s; showing the last good copy (%d title(s))", url, e, len(st.titles))
            st.failing = True
            return
        finally:
            st.tried, st.busy = time.monotonic(), False
        if st.failing:
            logger.info("feed %s: readable again (%d title(s))", url, len(titles))
        st.failing = False
        with self._lock:
            st.titles = titles
        tmp = self._file(url).with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps({"url": url, "titles": titles}, ensure_ascii=False), "utf-8")
            tmp.replace(self._file(url))
        except OSError as e:
            logger.warning("feed %s: last good copy not saved: %s", url, e)
