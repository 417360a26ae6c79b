"""The monthly report as a spreadsheet: CSV (UTF-8 with BOM, so Excel and WPS read the Chinese)
and XLSX (openpyxl: real percentages, a header row that stays in view, and a sheet that says how
the score is computed). Chinese headers and labels; shares written as percentages.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from domain.exporttext import spreadsheet_cell, xml_safe
from domain.score_rules import explanation
from domain.vocab import LABELS, SEVERITIES
from services.reports import GROUP_LABELS, SAMPLING_NOTE, MonthlyReport, ReportRow

PERCENT, SCORE, COUNT, TEXT = "percent", "score", "count", "text"


def formula() -> list[str]:
    """How the score is computed, in the words the report page uses (domain.score_rules), and
    what the 抽检 columns count."""
    return [*explanation(), SAMPLING_NOTE]


def columns(report: MonthlyReport) -> list[tuple[str, str]]:
    """(header, kind) of every column, in order."""
    rows = _rows(report)
    courtesy = sorted({k for _, r in rows for k in r.courtesy_by_rule})
    forbidden = sorted({k for _, r in rows for k in r.forbidden_by_rule})
    name = report.rule_labels.get
    return ([("月份", TEXT), ("服务点", TEXT), ("分组", TEXT), ("名称", TEXT), ("排名", COUNT), ("服务次数", COUNT),
             ("可判定", COUNT), ("无法判定", COUNT), ("文明服务得分", SCORE), ("达标率", PERCENT),
             ("文明用语达标率", PERCENT), ("满意率", PERCENT), ("抽检", COUNT), ("抽检已评分", COUNT),
             ("抽检平均分", SCORE)]
            + [(f"服务忌语（{LABELS['severity'][s]}）", COUNT) for s in reversed(SEVERITIES)]
            + [("待审核", COUNT), ("待确认", COUNT), ("已确认", COUNT), ("已驳回", COUNT)]
            + [(lv, COUNT) for lv in report.rating_levels]
            + [(f"文明用语达标率·{name(r) or r}", PERCENT) for r in courtesy]
            + [(f"服务忌语·{name(r) or r}", COUNT) for r in forbidden])


def _rows(report: MonthlyReport) -> list[tuple[str, ReportRow]]:
    return [("staff", r) for r in report.by_staff] + [("counter", r) for r in report.by_counter] + \
        [("total", report.total)]


def values(report: MonthlyReport) -> Iterator[list]:
    """Each row's values in :func:`columns` order (shares as fractions, None where empty)."""
    rows = _rows(report)
    courtesy = sorted({k for _, r in rows for k in r.courtesy_by_rule})
    forbidden = sorted({k for _, r in rows for k in r.forbidden_by_rule})
    for group, r in rows:
        yield ([report.month, r.site_label, GROUP_LABELS[group], r.label, r.rank, r.interactions, r.assessable,
                r.not_assessable, r.score, r.compliance_rate, r.courtesy_rate, r.satisfaction_rate, r.sampled, r.sampled_scored,
                r.sampled_score]
               + [r.forbidden_by_severity.get(s, 0) for s in reversed(SEVERITIES)]
               + [r.flags_open, r.flags_uncertain, r.flags_confirmed, r.flags_dismissed]
               + [r.ratings.get(lv, 0) for lv in report.rating_levels]
               + [r.courtesy_by_rule.get(c) for c in courtesy] + [r.forbidden_by_rule.get(f, 0) for f in forbidden])


def _cell(value: object) -> object:
    """A cell a spreadsheet shows as text (:func:`domain.exporttext.spreadsheet_cell`: formulas
    defused, characters XML cannot hold replaced)."""
    return spreadsheet_cell(value)


def _text(value: object, kind: str) -> str:
    if value is None:
        return ""
    if kind == PERCENT:
        return f"{float(value) * 100:.1f}%"     # type: ignore[arg-type]
    if kind == SCORE:
        return f"{float(value):.1f}"            # type: ignore[arg-type]
    return str(_cell(value)) if kind == TEXT else str(value)


def to_csv(report: MonthlyReport) -> str:
    cols = columns(report)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([h for h, _ in cols])
    for row in values(report):
        w.writerow([_text(v, k) for v, (_, k) in zip(row, cols, strict=True)])
    return out.getvalue()


def to_xlsx(report: MonthlyReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    cols = columns(report)
    wb = Workbook()
    ws = wb.active
    ws.title = "月度报表"
    ws.append([h for h, _ in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DCE6F1")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in values(report):
        ws.append([_cell(v) for v in row])
        for cell, (_, kind) in zip(ws[ws.max_row], cols, strict=True):
            if kind == PERCENT:
                cell.number_format = "0.0%"
            elif kind == SCORE:
                cell.number_format = "0.0"
        if row[2] == GROUP_LABELS["total"]:
            for cell in ws[ws.max_row]:
                cell.font = Font(bold=True)
    for n, (header, _) in enumerate(cols, 1):
        ws.column_dimensions[get_column_letter(n)].width = max(9, min(28, len(header) * 2 + 2))
    ws.freeze_panes = "E2"
    about = wb.create_sheet("计分说明")
    for line in formula():
        about.append([xml_safe(line)])
    about.column_dimensions["A"].width = 120
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
