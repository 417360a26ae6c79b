"""An interaction's score with its breakdown, and the supervisor's word over the recogniser's:
可判定/无法判定 with a reason, findings added by hand (issue 20 item 3, issue 19 item 4)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import Person, ReadDb, RowId, RulebookDep, Supervisor, Writer, audit
from services import overrides
from services.dictionary import rules_of
from services.interactions import visible_interaction
from services.overrides import Decided, ManualFindingView, OverrideView
from services.scoring import ScoreBreakdown, scores_for

router = APIRouter(tags=["decisions"])


class ScoreAnswer(BaseModel):
    score: ScoreBreakdown
    decided: Decided


class AssessableBody(BaseModel):
    assessable: bool
    reason: str = Field(min_length=1, max_length=overrides.MAX_REASON_CHARS)


class FindingBody(BaseModel):
    type: Literal["forbidden", "missing_courtesy"]
    rule: str = Field(min_length=1, max_length=50)
    at_s: float = Field(ge=0, le=1e6, description="seconds from the interaction's start")
    note: str = Field(min_length=1, max_length=overrides.MAX_REASON_CHARS)


@router.get("/interactions/{interaction_id}/score", response_model=ScoreAnswer)
def score(interaction_id: RowId, user: Person, db: ReadDb, rulebook: RulebookDep) -> ScoreAnswer:
    """The interaction's score and what made it (findings counted by source, reviews, findings
    added by hand, 无法判定), with every supervisor verdict and hand-added finding."""
    visible_interaction(db, user, interaction_id)
    rules = rules_of(rulebook)
    return ScoreAnswer(score=scores_for(db, [interaction_id], rules)[interaction_id],
                       decided=overrides.decided(db, interaction_id, rules=rules))


@router.post("/interactions/{interaction_id}/assessable", response_model=OverrideView)
def set_assessable(interaction_id: RowId, body: AssessableBody, user: Supervisor, engine: Writer, request: Request) -> OverrideView:
    """Mark the interaction 可判定 or 无法判定 with a reason; it outranks the recogniser's verdict
    and survives re-analysis."""
    view = overrides.set_assessable(engine, user, interaction_id, assessable=body.assessable,
                                    reason=body.reason)
    audit(request, user, action="interaction.assessable", target=f"interaction:{interaction_id}",
          detail=f"改判为{'可判定' if body.assessable else '无法判定'}，理由：{view.reason[:200]}")
    return view


@router.post("/interactions/{interaction_id}/findings", response_model=ManualFindingView, status_code=201)
def add_finding(interaction_id: RowId, body: FindingBody, user: Supervisor, rulebook: RulebookDep,
                engine: Writer, request: Request) -> ManualFindingView:
    """Add a finding by hand at a time in the recording (a rule of the rulebook)."""
    view = overrides.add_finding(engine, user, interaction_id, type=body.type, rule=body.rule,
                                 at_s=body.at_s, note=body.note, rules=rules_of(rulebook))
    audit(request, user, action="finding.add", target=f"interaction:{interaction_id}",
          detail=f"人工添加检查结果：{view.rule_label}，第 {body.at_s:.1f} 秒，说明：{view.note[:200]}")
    return view


@router.post("/manual-findings/{manual_id}/withdraw", response_model=ManualFindingView)
def withdraw_finding(manual_id: RowId, user: Supervisor, rulebook: RulebookDep, engine: Writer, request: Request) -> ManualFindingView:
    """Withdraw a finding added by hand (kept, counting no more)."""
    view = overrides.withdraw_finding(engine, user, manual_id, rules=rules_of(rulebook))
    audit(request, user, action="finding.withdraw", target=f"interaction:{view.interaction_id}",
          detail=f"撤回人工检查结果 #{manual_id}：{view.rule_label}")
    return view
