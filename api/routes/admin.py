"""Admin-only: the audit log (read-only), searchable by recording and exportable as CSV.

An admin of named sites sees only the rows about those sites' recordings, counters, flags,
complaints and the sites themselves (issue 18); an admin of all sites sees every row.
"""
from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import MAX_ROW_ID, Admin, ReadDb, audit, filters_detail
from domain.exporttext import spreadsheet_cell
from services import audit as audit_log
from services.accounts import Principal
from services.audit import AuditView

router = APIRouter(prefix="/audit", tags=["audit"])

#: Rows of one CSV export at most (the filters narrow it; the newest first).
MAX_EXPORT_ROWS = 100_000


class AuditFilters:
    """The filters of the list and of the export."""

    def __init__(self, action: str | None = Query(None, max_length=40),
                 since_s: float | None = Query(None, ge=0, le=1e11), until_s: float | None = Query(None, ge=0, le=1e11),
                 user_name: str | None = Query(None, alias="user", min_length=1, max_length=100),
                 interaction: int | None = Query(None, ge=1, le=MAX_ROW_ID,
                                                 description="only rows about this recording (interaction id)")) -> None:
        self.action, self.since_s, self.until_s, self.user, self.interaction = (action, since_s, until_s, user_name,
                                                                                  interaction)

    def kwargs(self, user: Principal) -> dict:
        return {"action": self.action, "since_s": self.since_s, "until_s": self.until_s, "user": self.user,
                "sites": tuple(user.sites),
                "target": f"interaction:{self.interaction}" if self.interaction is not None else None}

    def detail(self) -> str:
        return filters_detail(action=self.action, since_s=self.since_s, until_s=self.until_s, user=self.user,
                              interaction=self.interaction)


Filters = Annotated[AuditFilters, Depends()]


@router.get("", response_model=list[AuditView], responses={200: {"headers": {"X-Total-Count": {
    "description": "how many rows match (all pages)", "schema": {"type": "integer"}}}}})
def list_audit(user: Admin, db: ReadDb, response: Response, filters: Filters,
               offset: int = Query(0, ge=0, le=10_000_000), limit: int = Query(200, ge=1, le=5000)) -> list[AuditView]:
    """Audit rows, newest first, each with its target's site and its time (``at``) in that site's
    zone; the total in ``X-Total-Count``. There is no route to change or delete them."""
    found = audit_log.page(db, offset=offset, limit=limit, **filters.kwargs(user))
    response.headers["X-Total-Count"] = str(found.total)
    return found.items


@router.get("/export", response_class=Response, responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                                                  "description": "the matching rows as CSV"}})
def export_audit(user: Admin, db: ReadDb, request: Request, filters: Filters) -> Response:
    """The matching rows (newest first, at most 100,000) as CSV (UTF-8 with BOM, Chinese
    headers); the export itself is audited (``audit.export``)."""
    found = audit_log.page(db, offset=0, limit=MAX_EXPORT_ROWS, **filters.kwargs(user))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["编号", "时间", "时区", "服务点", "用户", "操作", "对象", "客户端地址", "详情"])
    for a in found.items:
        w.writerow([a.id, a.at, a.timezone, a.site or ""] +
                   [spreadsheet_cell(v) for v in (a.user_name, a.action, a.target, a.client, a.detail)])
    audit(request, user, action="audit.export", target="audit", detail=f"导出 {len(found.items)} 条，{filters.detail()}".rstrip("，"))
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
