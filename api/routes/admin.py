"""Admin-only: the audit log (read-only)."""
from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from api.deps import Admin, ReadDb
from services import audit

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at_s: float
    user_name: str
    action: str
    target: str
    client: str
    detail: str


@router.get("", response_model=list[AuditPublic])
def list_audit(user: Admin, db: ReadDb, action: str | None = None, since_s: float | None = None,
               limit: int = Query(200, ge=1, le=5000)) -> list[AuditPublic]:
    """Audit rows, newest first. There is no route to change or delete them."""
    return [AuditPublic.model_validate(a) for a in audit.rows(db, action=action, since_s=since_s, limit=limit)]
