"""Build the FastAPI application."""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError

from api.routes import admin, auth, counters
from api.routes import complaints, events, flags, reports
from api.routes import audio, interactions, live
from api.routes import signage
from api import ops
from storage.objects import ObjectStore

logger = logging.getLogger(__name__)
CONSOLE = Path(__file__).parent / "console" / "dist"      # the built console (scripts/build_console.sh)
#: The console's HTML runs only its own bundled scripts: no inline script, no eval.
CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
               "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
API_PREFIX = "/api/v1"

#: Routers of the API; each module in api/routes adds itself here.
ROUTERS = [auth.router, counters.router, admin.router, flags.router, complaints.router, reports.router, events.router,
           interactions.router, audio.router, live.router, signage.router]


def _invalid(loc: list[str], msg: str) -> JSONResponse:
    """A 422 in FastAPI's own validation-error shape, as the OpenAPI description promises."""
    return JSONResponse({"detail": [{"loc": loc, "msg": msg, "type": "value_error"}]}, status_code=422)


def create_app(*, engine: Engine, store: ObjectStore) -> FastAPI:
    app = FastAPI(title="counterwatch", version="0.1.0",
                  description="Counter recordings: search, playback, live listen, review, complaints, events.")
    app.state.engine = engine
    app.state.store = store

    @app.middleware("http")
    async def refuse_nul(request, call_next):  # noqa: ANN001, ANN202
        # A NUL byte in a query parameter can reach no valid record, and PostgreSQL refuses it
        # in text parameters: answer 422 before any route sees it.
        if "%00" in request.url.query or "\x00" in request.url.query:
            return _invalid(["query"], "query parameters must not contain NUL bytes")
        return await call_next(request)

    @app.exception_handler(DataError)
    async def refuse_bad_value(_request, exc: DataError):  # noqa: ANN001, ANN202
        # Values the database cannot hold (NUL bytes in text, out-of-range numbers) are the
        # client's mistake, not a server error.
        return _invalid(["body"], f"invalid value: {str(exc.orig).splitlines()[0][:200]}")

    api = APIRouter(prefix=API_PREFIX)
    for r in ROUTERS:
        api.include_router(r)
    app.include_router(api)
    ops.install(app, engine=engine)     # /readyz, /metrics, request latency (issue 6)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    if (CONSOLE / "index.html").exists():
        app.mount("/static", StaticFiles(directory=CONSOLE), name="static")

        @app.get("/", include_in_schema=False)
        def console() -> FileResponse:
            return FileResponse(CONSOLE / "index.html", headers={"Content-Security-Policy": CONSOLE_CSP})

    return app
