"""Monthly assessment report per staff member and per counter (JSON, CSV or XLSX), and its trend
over months: courtesy score weighted by severity, 达标率, forbidden phrases, review outcomes and
customer ratings (services.reports says how each is counted)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from api.deps import ReadDb, RulebookDep, Supervisor, audit, scope_target
from services import report_export, reports

router = APIRouter(prefix="/reports", tags=["reports"])

Month = Query(pattern=r"^(19|20)\d\d-(0[1-9]|1[0-2])$", description="YYYY-MM")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/monthly", response_model=reports.MonthlyReport,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}, XLSX: {}},
                             "description": "the report (JSON, CSV with a header row, or an XLSX workbook)"}})
def monthly_report(user: Supervisor, db: ReadDb, rulebook: RulebookDep, request: Request, month: str = Month,
                   site: str | None = Query(None, max_length=63),
                   format: Literal["json", "csv", "xlsx"] = "json") -> reports.MonthlyReport | Response:  # noqa: A002
    """The month's report over the visible sites (or one ``site``), months in the site's time
    zone; rows ranked by score. CSV and XLSX have Chinese headers and percentages."""
    report = reports.monthly_for(db, user, month=month, site=site, rulebook=rulebook)
    if format == "csv":
        audit(request, user, action="report.export", target=f"report:{month}",
              detail=f"CSV，服务点：{'、'.join(report.sites)}")
        # A BOM so that spreadsheet programs read the Chinese names as UTF-8.
        return Response("\ufeff" + report_export.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="report-{month}.csv"'})
    if format == "xlsx":
        audit(request, user, action="report.export", target=f"report:{month}",
              detail=f"Excel，服务点：{'、'.join(report.sites)}")
        return Response(report_export.to_xlsx(report), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="report-{month}.xlsx"'})
    audit(request, user, action="report.view", target=scope_target(user, site), detail=f"{month}，服务点："
          f"{'、'.join(report.sites)}")
    return report


@router.get("/trend", response_model=list[reports.TrendPoint])
def trend(user: Supervisor, db: ReadDb, rulebook: RulebookDep, month: str = Month,
          months: int = Query(6, ge=1, le=24), site: str | None = Query(None, max_length=63)) -> list[reports.TrendPoint]:
    """Score, 达标率 and forbidden phrases by severity for each of ``months`` months ending with ``month``."""
    return reports.trend_for(db, user, month=month, months=months, rulebook=rulebook, site=site)
