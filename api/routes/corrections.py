"""Transcript correction (issue 20 item 5): a reviewer's text for a misrecognised line, kept
beside the recognised one; the rules re-judge the interaction on it."""
from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import MAX_ROW_ID, Person, ReadDb, RowId, Supervisor, Writer, audit
from services import corrections
from services.corrections import Corrected, CorrectionView

router = APIRouter(tags=["corrections"])


class CorrectionBody(BaseModel):
    segment_id: int = Field(ge=1, le=MAX_ROW_ID, description="the line (a segment of the interaction's transcript)")
    text: str = Field(max_length=corrections.MAX_TEXT_CHARS, description="the line as it was said")
    reason: str = Field(max_length=corrections.MAX_REASON_CHARS, description="why the recognised text is wrong")


@router.get("/interactions/{interaction_id}/corrections", response_model=list[CorrectionView])
def list_corrections(interaction_id: RowId, user: Person, db: ReadDb, request: Request) -> list[CorrectionView]:
    """Every correction of the interaction's transcript lines (原识别 beside 更正, who, when, why),
    each line's newest version first; audited as a read of the transcript (``transcript.view``)
    when there is any."""
    views = corrections.corrections_of(db, user, interaction_id)
    if views:       # an empty list shows no transcript text: the page's own read is audited already
        audit(request, user, action="transcript.view", target=f"interaction:{interaction_id}",
              detail=f"查看转写更正记录 {len(views)} 条")
    return views


@router.post("/interactions/{interaction_id}/corrections", response_model=Corrected, status_code=201)
def correct_line(interaction_id: RowId, body: CorrectionBody, user: Supervisor, engine: Writer, request: Request) -> Corrected:
    """Correct one transcript line: kept beside the recognised text (which stays in the
    evidence), a new version when the line was corrected before; the rules in force re-judge
    the interaction (findings no longer raised are superseded, new ones marked as from the
    correction)."""
    done = corrections.correct_line(engine, user, interaction_id, body.segment_id, text=body.text,
                                    reason=body.reason, default=request.app.state.rulebook)
    c = done.correction
    audit(request, user, action="transcript.correct", target=f"interaction:{interaction_id}",
          detail=f"更正转写第 {c.line_start_s:.1f}–{c.line_end_s:.1f} 秒一句（第 {c.version} 版），"
                 f"新检出 {len(done.raised)} 项、不再检出 {len(done.superseded)} 项；理由：{c.reason[:200]}")
    return done
