"""Build the FastAPI application: the routers under ``/api/v1``, the error mapping, health and
metrics, and the web console."""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from api import edge, errors, limits, ops
from api.routes import (
    admin,
    agent,
    appeals,
    audio,
    auth,
    complaints,
    corrections,
    counters,
    decisions,
    dictionary,
    events,
    flags,
    interactions,
    live,
    mine,
    queue,
    ratings,
    reports,
    rules,
    sampling,
    signage_content,
    signage_programs,
    signage_screens,
    workorders,
)
from services.evidence import EvidenceLimits
from storage.objects import ObjectStore
from transcribe.rules import Rulebook, load_rulebook

logger = logging.getLogger(__name__)
CONSOLE = Path(__file__).parent / "console" / "dist"      # the built console (scripts/build_console.sh)
#: The console's HTML runs only its own bundled scripts: no inline script, no eval.
CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
               "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
API_PREFIX = "/api/v1"

#: Routers of the API, one per resource.
ROUTERS = [auth.router, agent.router, dictionary.router, counters.router, admin.router, flags.router, complaints.router,
           reports.router, events.router,
           interactions.router, audio.router, live.router, signage_screens.router, signage_content.router,
           signage_programs.router, rules.router, queue.router, queue.device_router, ratings.router,
           workorders.router, mine.router, appeals.router, decisions.router,
           sampling.router, corrections.router]


class RefuseNul:
    """A NUL byte in a query parameter can reach no valid record, and PostgreSQL refuses it in
    text parameters: answer 422 before any route sees it. Plain ASGI (issue 23: a
    ``BaseHTTPMiddleware`` cost about a tenth of a light read's time, a task and a stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"")
            if b"%00" in query or b"\x00" in query:
                await errors.invalid(["query"], "query parameters must not contain NUL bytes")(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(*, engine: Engine, store: ObjectStore, rulebook: Rulebook | None = None,
               trusted_proxies: tuple[str, ...] = (), evidence: EvidenceLimits | None = None) -> FastAPI:
    """The app over ``engine`` and ``store``; ``rulebook``: the one the workers judge by (its rule
    names and severities are what the console shows; default: the shipped one);
    ``trusted_proxies``: addresses or networks whose ``X-Forwarded-*`` headers are believed
    (:mod:`api.edge`); ``evidence``: how far agents' clocks are believed (default
    :class:`services.evidence.EvidenceLimits`). The OpenAPI description is at ``/openapi.json``; there is no ``/docs``
    page (it needs inline script and a CDN, which the CSP of every page forbids)."""
    app = FastAPI(title="counterwatch", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Counter recordings: search, playback, live listen, review, complaints, events.")
    app.state.engine = engine
    app.state.store = store
    app.state.rulebook = rulebook if rulebook is not None else load_rulebook()
    app.state.evidence = evidence if evidence is not None else EvidenceLimits()
    errors.install(app)
    errors.document(app)

    app.add_middleware(RefuseNul)

    api = APIRouter(prefix=API_PREFIX)
    for r in ROUTERS:
        api.include_router(r)
    app.include_router(api)
    app.include_router(queue.public_router)      # /t/<key>: a queue ticket's status page (its QR code)
    ops.install(app, engine=engine)     # /readyz, /metrics, request latency
    # Body limits before anything reads a body: authentication, JSON parsing, routes (issue 18).
    app.add_middleware(limits.BodyLimit)
    # Last added, so outermost: proxies, CSRF and the security headers wrap everything.
    app.add_middleware(edge.Edge, trusted_proxies=edge.parse_proxies(trusted_proxies))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    if (CONSOLE / "index.html").exists():
        app.mount("/static", StaticFiles(directory=CONSOLE), name="static")

        @app.get("/", include_in_schema=False)
        def console() -> FileResponse:
            return FileResponse(CONSOLE / "index.html", headers={"Content-Security-Policy": CONSOLE_CSP})

    return app
