"""Admin-only: the audit log (read-only)."""
from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from api.deps import Admin, ReadDb
from services import audit

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at_s: float
    at: str
    timezone: str
    site: str | None
    user_name: str
    action: str
    target: str
    client: str
    detail: str


@router.get("", response_model=list[AuditPublic], responses={200: {"headers": {"X-Total-Count": {
    "description": "how many rows match (all pages)", "schema": {"type": "integer"}}}}})
def list_audit(user: Admin, db: ReadDb, response: Response,
               action: str | None = Query(None, max_length=40), since_s: float | None = Query(None, ge=0, le=1e11),
               until_s: float | None = Query(None, ge=0, le=1e11),
               user_name: str | None = Query(None, alias="user", min_length=1, max_length=100),
               offset: int = Query(0, ge=0, le=10_000_000), limit: int = Query(200, ge=1, le=5000)) -> list[AuditPublic]:
    """Audit rows, newest first, each with its target's site and its time (``at``) in that site's
    zone; the total in ``X-Total-Count``. There is no route to change or delete them."""
    found = audit.page(db, action=action, since_s=since_s, until_s=until_s, user=user_name, offset=offset, limit=limit)
    response.headers["X-Total-Count"] = str(found.total)
    return [AuditPublic.model_validate(a) for a in found.items]
