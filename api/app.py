"""Build the FastAPI application."""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from api.routes import admin, auth, counters
from api.routes import complaints, events, flags, reports
from api.routes import audio, interactions, live
from api.routes import signage
from storage.objects import ObjectStore

logger = logging.getLogger(__name__)
CONSOLE = Path(__file__).parent / "console"
API_PREFIX = "/api/v1"

#: Routers of the API; each module in api/routes adds itself here.
ROUTERS = [auth.router, counters.router, admin.router, flags.router, complaints.router, reports.router, events.router,
           interactions.router, audio.router, live.router, signage.router]


def create_app(*, engine: Engine, store: ObjectStore) -> FastAPI:
    app = FastAPI(title="counterwatch", version="0.1.0",
                  description="Counter recordings: search, playback, live listen, review, complaints, events.")
    app.state.engine = engine
    app.state.store = store
    api = APIRouter(prefix=API_PREFIX)
    for r in ROUTERS:
        api.include_router(r)
    app.include_router(api)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    if (CONSOLE / "index.html").exists():
        app.mount("/static", StaticFiles(directory=CONSOLE), name="static")

        @app.get("/", include_in_schema=False)
        def console() -> FileResponse:
            return FileResponse(CONSOLE / "index.html")

    return app
