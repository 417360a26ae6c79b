"""The web edge (issue 11; OWASP ASVS 4.0 V13/V14): who the client is behind a proxy, CSRF
protection, and the security headers of every answer.

* **Proxies.** ``X-Forwarded-For``, ``-Proto`` and ``-Host`` are believed only from the
  addresses in ``trusted_proxies`` (the ``COUNTERWATCH_TRUSTED_PROXIES`` setting; default: none);
  the client is then the right-most address the proxies did not add. Anyone else's headers are
  ignored, so a client cannot pick the address the audit log and the login throttle see.
* **CSRF.** A state-changing request (any method but GET, HEAD, OPTIONS) under ``/api/`` that is
  not authenticated by a bearer token (so: by the console's cookie, or a login) must carry
  ``X-Counterwatch: 1`` (the console's fetch wrapper sends it; a cross-site form or a
  ``no-cors`` fetch cannot), and its ``Origin`` (else ``Referer``), when sent, must be this
  server's own origin. Otherwise 403 ``csrf_refused``, audited. A bearer token is never sent by
  a browser on its own, so API clients need neither.
* **Headers.** ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: same-origin``, ``Cross-Origin-Opener-Policy`` and
  ``Cross-Origin-Resource-Policy: same-origin`` on everything; a ``Content-Security-Policy``
  that allows nothing (``default-src 'none'; frame-ancestors 'none'``) unless the route set its
  own (the console's page: ``api.app.CONSOLE_CSP``); ``Cache-Control: no-store`` on API answers
  that set none; ``Strict-Transport-Security`` when the request came over HTTPS.
"""
from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from domain.errors import Forbidden

logger = logging.getLogger(__name__)

CSRF_HEADER = "x-counterwatch"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: For answers whose route set no policy of its own: nothing may load, nothing may frame them.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000; includeSubDomains"
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"same-origin"), (b"cross-origin-opener-policy", b"same-origin"),
           (b"cross-origin-resource-policy", b"same-origin"))

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CsrfRefused(Forbidden):
    code = "csrf_refused"


def parse_proxies(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/24``, ``::1``).

    Raises:
        ValueError: naming the entry that is neither.
    """
    out = []
    for v in values:
        v = v.strip()
        if v:
            try:
                out.append(ipaddress.ip_network(v, strict=False))
            except ValueError as e:
                raise ValueError(f"trusted proxy {v!r}: not an IP address or network") from e
    return tuple(out)


def _in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def own_origin(scope: Scope) -> str:
    headers = Headers(scope=scope)
    host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("localhost", 80)))
    return f"{scope.get('scheme', 'http')}://{host}".lower()


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else "null"


class Edge:
    """The ASGI middleware doing all of the module notes, outermost around the app."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: tuple[Network, ...] = ()) -> None:
        self.app = app
        self.trusted = trusted_proxies

    def _behind_proxy(self, scope: Scope) -> None:
        peer = (scope.get("client") or ("", 0))[0]
        if not self.trusted or not _in(peer, self.trusted):
            return
        headers = Headers(scope=scope)
        hops = [h.strip() for h in ",".join(headers.getlist("x-forwarded-for")).split(",") if h.strip()]
        client = peer
        for hop in reversed(hops):
            client = hop
            if not _in(hop, self.trusted):
                break
        scope["client"] = (client, 0)
        proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto
        host = headers.get("x-forwarded-host", "").split(",")[0].strip()
        if host:
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"] + [(b"host", host.encode("latin-1"))]

    def _csrf_problem(self, scope: Scope) -> tuple[str, str] | None:
        """Why a cross-site request is refused: (the API's reason, the audit log's words), or None."""
        if scope["method"] in SAFE_METHODS or not scope["path"].startswith("/api/"):
            return None
        headers = Headers(scope=scope)
        if headers.get("authorization", "").lower().startswith("bearer "):
            return None
        if headers.get(CSRF_HEADER) != "1":
            return (f"needs the {CSRF_HEADER} header (sent by the console) or a bearer token",
                    f"请求没有 {CSRF_HEADER} 请求头（控制台会自动带上），也没有令牌")
        mine = own_origin(scope)
        origin = headers.get("origin")
        if origin is not None:
            return None if origin.lower() == mine else (f"comes from origin {origin[:100]!r}, not {mine}",
                                                        f"请求来自 {origin[:100]!r}，不是本站 {mine}")
        referer = headers.get("referer")
        if referer is not None and _origin_of(referer) != mine:
            return (f"comes from a page of {_origin_of(referer)[:100]!r}, not {mine}",
                    f"请求来自 {_origin_of(referer)[:100]!r} 的网页，不是本站 {mine}")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._behind_proxy(scope)
        https = scope.get("scheme") == "https"
        api = scope["path"].startswith("/api/")

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in _ALWAYS:
                    headers[k.decode()] = v.decode()
                headers.setdefault("content-security-policy", DEFAULT_CSP)
                if api:
                    headers.setdefault("cache-control", "no-store")
                if https:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        problem = self._csrf_problem(scope)
        if problem is not None:
            reason, words = problem
            await run_in_threadpool(_audit_refusal, scope, words)
            await error_response(CsrfRefused(f"{scope['method']} {scope['path'][:200]}", reason))(
                scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)


def _audit_refusal(scope: Scope, problem: str) -> None:
    from services import audit

    app = scope.get("app")
    engine = getattr(getattr(app, "state", None), "engine", None)
    if engine is None:
        return
    try:
        audit.record(engine, None, action="csrf.refused", target=f"{scope['method']} {scope['path'][:200]}",
                     client=(scope.get("client") or ("", 0))[0], detail=problem)
    except Exception:  # noqa: BLE001 - a refusal goes out even while the database is down
        logger.exception("edge: could not audit a refused cross-site request")
