"""The agent's one way out: the counterwatch API, with a token bound to its counter (issue 11).

An agent box holds no database URL and no object-store key, only this token: it can send its
own counter's chunks, live segments, heartbeats and session ends, and read nothing but its own
binding (:meth:`AgentClient.hello`). Errors come out as three kinds, by what the caller should
do about them:

* :class:`ApiUnavailable`: the API cannot be reached, times out, is busy (429) or failing
  (5xx, e.g. its store or database is down): retry later, the chunk stays in the spool.
* :class:`ChunkRefused`: the API will never take this chunk as it is (409: another chunk holds
  its number; 413, 422: it is not what its metadata says): put it aside, go on with the next.
* :class:`ApiRefused`: anything else the API refuses (401 a revoked or expired token, 403 another
  counter's data): an operator must act; the chunk stays and is retried, loudly.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from domain.chunks import ChunkMeta
from domain.flac import CONTENT_TYPE

logger = logging.getLogger("recorder")

API_PREFIX = "/api/v1/agent"


class TransportError(Exception):
    """An API call did not succeed; ``status`` is the HTTP status (0: no answer), ``code`` the
    error code of the answer's body, if any."""

    def __init__(self, message: str, *, status: int = 0, code: str = "", detail: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail or {}


class ApiUnavailable(TransportError):
    """Temporary: no answer, a timeout, 429 or 5xx. Retry later."""


class ApiRefused(TransportError):
    """The API refused the call (401, 403, 404 ...): needs an operator."""


class ChunkRefused(ApiRefused):
    """The API will never take this chunk as it is (409, 413, 415, 422)."""


#: Statuses that refuse the chunk itself, not the agent.
_CHUNK_STATUSES = frozenset({409, 413, 415, 422})


@dataclass(frozen=True)
class Binding:
    """What the API says about this agent's token: its counter and when it expires."""

    site: str
    counter: str
    channels: str
    token_expires_s: float | None
    counter_id: int | None = None


class AgentClient:
    """HTTP calls to the API with the agent's bearer token; thread-safe (one pool per agent)."""

    def __init__(self, *, api_url: str, token: str, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not api_url.startswith(("http://", "https://")):
            raise ValueError(f"API URL {api_url!r}: use http://HOST:PORT or https://HOST")
        if not token or any(c.isspace() for c in token):
            raise ValueError("the agent token is empty or holds whitespace")
        self.api_url = api_url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = httpx.Client(base_url=self.api_url + API_PREFIX, timeout=timeout_s, transport=transport,
                                  headers={"Authorization": f"Bearer {token}", "User-Agent": "counterwatch-agent"})

    def __repr__(self) -> str:      # never the token
        return f"AgentClient({self.api_url!r})"

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as e:        # refused, reset, timed out, DNS ...
            raise ApiUnavailable(f"{self.api_url}: {e.__class__.__name__}: {e}") from e
        if r.is_success:
            return r
        detail: dict = {}
        try:
            body = r.json().get("detail")
            detail = body if isinstance(body, dict) else {"reason": str(body)[:300]}
        except ValueError:
            pass
        what = f"HTTP {r.status_code} {detail.get('code', '')}: {detail.get('what', '')} {detail.get('reason', '')}".strip()
        kind: type[TransportError]
        if r.status_code == 429 or r.status_code >= 500:
            kind = ApiUnavailable
        elif r.status_code in _CHUNK_STATUSES and path.startswith(("/chunks", "/live")):
            kind = ChunkRefused
        else:
            kind = ApiRefused
        raise kind(what, status=r.status_code, code=str(detail.get("code", "")), detail=detail)

    def hello(self) -> Binding:
        """The token's binding (raises like every call)."""
        d = self._call("GET", "/hello").json()
        return Binding(d["site"], d["counter"], d["channels"], d.get("token_expires_s"), d.get("counter_id"))

    def queue(self, counter_id: int, action: str) -> dict:
        """Press a queue button of the agent's counter (``call-next``, ``recall``, ``pause``,
        ``resume``, ...): the hall's hardware call button. Returns the API's answer ({} when it
        has no body). Raises like every call (403 for another counter's queue)."""
        r = self._call("POST", f"{self.api_url}/api/v1/queue/counters/{int(counter_id)}/{action}")
        return r.json() if r.content else {}

    def send_chunk(self, meta: ChunkMeta, path: Path) -> bool:
        """Send one spooled chunk; True when the API stored it now, False when it had it already.

        Raises:
            ApiUnavailable, ChunkRefused, ApiRefused; OSError: the spool file cannot be read.
        """
        data = Path(path).read_bytes()
        params = meta.to_params()
        r = self._call("POST", "/chunks", params=params, content=data, headers={"Content-Type": CONTENT_TYPE})
        return bool(r.json().get("new", True))

    def send_live(self, *, session: str, seq: int, start_sample: int, samples: int, session_wall_start_s: float,
                  data: bytes) -> None:
        self._call("POST", "/live", params={"recording": session, "seq": seq, "start_sample": start_sample,
                                            "samples": samples, "recording_start_s": repr(session_wall_start_s)},
                   content=data, headers={"Content-Type": CONTENT_TYPE})

    def live_wanted(self, *, wanted: bool, wait_s: float) -> bool:
        """Whether anyone listens to this counter: answered as soon as it differs from
        ``wanted``, else after ``wait_s`` (a long poll; 0: at once)."""
        r = self._call("GET", "/live/wanted", params={"wanted": "true" if wanted else "false", "wait_s": wait_s},
                       timeout=self.timeout_s + wait_s)
        return bool(r.json()["wanted"])

    def heartbeat(self, *, level_dbfs: float, status: str, quarantined_chunks: int = 0) -> None:
        self._call("POST", "/heartbeat", json={"level_dbfs": max(-200.0, min(10.0, level_dbfs)), "status": status,
                                               "quarantined_chunks": quarantined_chunks})

    def end_session(self, session: str) -> None:
        self._call("POST", f"/recordings/{session}/end")
