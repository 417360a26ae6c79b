"""The bare baseline of bench/api_cost.py: FastAPI + SQLAlchemy, a bearer-token check and a small
read, nothing else (issue 23, item 1).

``GET /baseline``: the token's sha256 looked up in ``api_tokens`` joined to its active user (as
counterwatch stores tokens), then the id and name of up to 20 counters, as JSON. Same database,
same engine settings (``storage.engine.make_engine``), same uvicorn settings as the real API.
"""

import hashlib
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.tables import ApiToken, Counter, User


def create_baseline_app(engine: Engine) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def bearer(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise HTTPException(401)
        return hashlib.sha256(auth[7:].strip().encode()).hexdigest()

    @app.get("/baseline")
    def baseline(digest: Annotated[str, Depends(bearer)]) -> list[dict]:
        # One session for the check and the read, closed before the answer goes out (a session
        # held by a dependency until the response is sent runs the pool dry at 100 clients).
        with Session(engine) as s:
            row = s.execute(select(User.id).join(ApiToken, ApiToken.user_id == User.id)
                            .where(ApiToken.token_sha256 == digest, User.active.is_(True))).first()
            if row is None:
                raise HTTPException(401)
            return [{"id": i, "name": n} for i, n in s.execute(select(Counter.id, Counter.name).limit(20))]

    return app
