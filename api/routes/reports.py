"""Monthly assessment report per staff member and per counter: interactions, courtesy score,
forbidden phrases, review outcomes and customer ratings (JSON or CSV)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from api.deps import ReadDb, Supervisor, audit
from services import reports

router = APIRouter(prefix="/reports", tags=["reports"])




@router.get("/monthly", response_model=reports.MonthlyReport,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the report (JSON, or CSV with a header row)"}})
def monthly_report(user: Supervisor, db: ReadDb, request: Request,
                   month: str = Query(pattern=r"^(19|20)\d\d-(0[1-9]|1[0-2])$", description="YYYY-MM"),
                   site: str | None = Query(None, max_length=63),
                   format: Literal["json", "csv"] = "json") -> reports.MonthlyReport | Response:  # noqa: A002 - API name
    """The month's report over the visible sites (or one ``site``), months in the site's time zone."""
    report = reports.monthly_for(db, user, month=month, site=site)
    if format == "csv":
        db.close()
        audit(request, user, action="report.export", target=f"report:{month}",
              detail=f"csv sites {','.join(report.sites)}")
        # A BOM so that spreadsheet programs read the Chinese names as UTF-8.
        return Response("\ufeff" + reports.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="report-{month}.csv"'})
    return report
