"""Admin-only: the audit log (read-only)."""
from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import Admin, SessionDep
from storage.db import AuditLog

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditPublic(BaseModel):
    id: int
    at_s: float
    user_name: str
    action: str
    target: str
    client: str
    detail: str


@router.get("", response_model=list[AuditPublic])
def list_audit(user: Admin, db: SessionDep, action: str | None = None, since_s: float | None = None,
               limit: int = Query(200, ge=1, le=5000)) -> list[AuditPublic]:
    """Audit rows, newest first. There is no route to change or delete them."""
    q = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action:
        q = q.where(AuditLog.action == action)
    if since_s is not None:
        q = q.where(AuditLog.at_s >= since_s)
    return [AuditPublic(id=a.id, at_s=a.at_s, user_name=a.user_name, action=a.action, target=a.target,
                        client=a.client, detail=a.detail) for a in db.scalars(q)]
