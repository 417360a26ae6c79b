"""Build the FastAPI application: the routers under ``/api/v1``, the error mapping, health and
metrics, and the web console."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from api import edge, errors, ops
from api.routes import (
    admin,
    agent,
    appeals,
    audio,
    auth,
    complaints,
    counters,
    decisions,
    dictionary,
    events,
    flags,
    interactions,
    live,
    mine,
    reports,
    rules,
    signage_content,
    signage_programs,
    signage_screens,
)
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
           signage_programs.router, rules.router, mine.router, appeals.router, decisions.router]


def create_app(*, engine: Engine, store: ObjectStore, rulebook: Rulebook | None = None,
               trusted_proxies: tuple[str, ...] = ()) -> FastAPI:
    """The app over ``engine`` and ``store``; ``rulebook``: the one the workers judge by (its rule
    names and severities are what the console shows; default: the shipped one);
    ``trusted_proxies``: addresses or networks whose ``X-Forwarded-*`` headers are believed
    (:mod:`api.edge`). The OpenAPI description is at ``/openapi.json``; there is no ``/docs``
    page (it needs inline script and a CDN, which the CSP of every page forbids)."""
    app = FastAPI(title="counterwatch", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Counter recordings: search, playback, live listen, review, complaints, events.")
    app.state.engine = engine
    app.state.store = store
    app.state.rulebook = rulebook if rulebook is not None else load_rulebook()
    errors.install(app)
    errors.document(app)

    @app.middleware("http")
    async def refuse_nul(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # A NUL byte in a query parameter can reach no valid record, and PostgreSQL refuses it
        # in text parameters: answer 422 before any route sees it.
        if "%00" in request.url.query or "\x00" in request.url.query:
            return errors.invalid(["query"], "query parameters must not contain NUL bytes")
        response: Response = await call_next(request)
        return response

    api = APIRouter(prefix=API_PREFIX)
    for r in ROUTERS:
        api.include_router(r)
    app.include_router(api)
    ops.install(app, engine=engine)     # /readyz, /metrics, request latency
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
