"""An interaction's transcript as a file for a complaint's record: plain text, SRT subtitles (to
play beside the audio), or a Word document (DOCX) with the recording's particulars, the
transcript and the checks' findings. Times are the site's local time; the text is as the caller
may read it (masked for viewers).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from domain.exporttext import xml_safe
from domain.timezones import local_time
from domain.vocab import LABELS, label
from services.interactions import InteractionView

FORMATS = {"txt": "text/plain; charset=utf-8", "srt": "application/x-subrip; charset=utf-8",
           "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@dataclass(frozen=True)
class TranscriptFile:
    filename: str
    media_type: str
    data: bytes


def _clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 60:02d}:{s % 60:02d}"


def _srt_time(seconds: float) -> str:
    ms = max(0, int(round(seconds * 1000)))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def particulars(v: InteractionView) -> list[tuple[str, str]]:
    """(label, value) rows that say which recording this is."""
    start = local_time(v.wall_start_s, v.timezone)
    rows = [("录音编号", f"#{v.id}"), ("服务点", v.site_label), ("窗口", v.counter_label),
            ("工作人员", v.staff or "未登记"), ("开始时间", f"{start:%Y-%m-%d %H:%M:%S}（{v.timezone}）"),
            ("时长", _clock(v.duration_s)), ("评价", v.rating or "无")]
    if not v.assessable:
        rows.append(("判定", f"无法判定：{v.assessable_reason or '录音无法听清'}"))
    if v.late_label:
        rows.append(("上传", v.late_label))
    return rows


def _findings(v: InteractionView) -> list[str]:
    return [f"[{_clock(f.start_s)}] {label('flag_type', f.type)}：{f.rule_label or f.rule}"
            f"{'（' + label('severity', f.severity) + '）' if f.severity else ''}"
            f"{'，“' + f.phrase + '”' if f.phrase else ''}，{label('review_state', f.review_state)}"
            f"{'，审核意见：' + f.review_note if f.review_note else ''}"
            f"{'，已被新规则取代（不计分）' if f.superseded_s is not None else ''}" for f in v.flags]


def as_text(v: InteractionView) -> str:
    lines = [f"{k}：{val}" for k, val in particulars(v)] + ["", "对话文本"]
    lines += [f"[{_clock(g.start_s)}] {LABELS['speaker'].get(g.speaker, g.speaker)}：{g.text}" for g in v.segments]
    if not v.segments:
        lines.append("（无文本）")
    lines += ["", "检查结果"] + (_findings(v) or ["未发现问题。"])
    return "\r\n".join(lines) + "\r\n"


def as_srt(v: InteractionView) -> str:
    cues = []
    for n, g in enumerate(v.segments, 1):
        end = max(g.end_s, g.start_s + 0.5)
        cues.append(f"{n}\r\n{_srt_time(g.start_s)} --> {_srt_time(end)}\r\n"
                    f"{LABELS['speaker'].get(g.speaker, g.speaker)}：{g.text}\r\n")
    return "\r\n".join(cues)


def as_docx(v: InteractionView) -> bytes:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "SimSun")     # Chinese text in a Chinese font
    doc.add_heading(f"窗口服务录音文本 · 录音 #{v.id}", level=1)
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for k, val in particulars(v):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = k, xml_safe(val)
    doc.add_heading("对话文本", level=2)
    lines = doc.add_table(rows=1, cols=3)
    lines.style = "Table Grid"
    for cell, text in zip(lines.rows[0].cells, ("时间", "说话人", "内容"), strict=True):
        cell.text = text
    for g in v.segments:
        cells = lines.add_row().cells
        cells[0].text = _clock(g.start_s)
        cells[1].text = xml_safe(LABELS["speaker"].get(g.speaker, g.speaker))
        cells[2].text = xml_safe(g.text)
    doc.add_heading("检查结果", level=2)
    for line in _findings(v) or ["未发现问题。"]:
        doc.add_paragraph(xml_safe(line))     # a review note may hold control characters
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def export(v: InteractionView, fmt: str) -> TranscriptFile:
    """The transcript of ``v`` as ``fmt`` (txt, srt, docx)."""
    start = local_time(v.wall_start_s, v.timezone)
    name = f"transcript-{v.site}-{v.counter}-{start:%Y%m%d-%H%M%S}-{v.id}.{fmt}"
    if fmt == "docx":
        data = as_docx(v)
    else:
        # a BOM so that Windows Notepad and subtitle players read the Chinese text as UTF-8
        data = ("\ufeff" + (as_srt(v) if fmt == "srt" else as_text(v))).encode("utf-8")
    return TranscriptFile(name, FORMATS[fmt], data)
