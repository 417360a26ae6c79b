"""Sampling (抽检, issue 20 item 2): plans, draws, the reviewers' assignments and their scores.
Supervisors of a plan's site and admins only; every call audited (services.sampling)."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import ReadDb, RowId, RulebookDep, Supervisor, Writer, audit, scope_target
from services import sampling
from services.dictionary import rules_of
from services.sampling import AssignmentView, DrawView, PlanSpec, PlanView, ReviewerView

router = APIRouter(prefix="/sampling", tags=["sampling"])

Name = Field(min_length=1, max_length=100)


class PlanBody(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Name
    per: Literal["staff", "counter", "site"] = Field(description="draw per staff member, per counter or over the site")
    period: Literal["day", "week"]
    mode: Literal["count", "percent"]
    amount: int = Field(ge=1, le=sampling.MAX_COUNT, description="how many (count) or per cent (percent) per group")
    flags: Literal["any", "with", "without"] = "any"
    counters: list[str] = Field(default=[], max_length=200)
    staff: list[str] = Field(default=[], max_length=500)
    hour_from: int = Field(0, ge=0, le=23)
    hour_to: int = Field(24, ge=1, le=24)
    reviewers: list[str] = Field(min_length=1, max_length=50)
    seed: int | None = Field(None, ge=0, lt=sampling.MAX_SEED, description="empty: a random one")
    active: bool = True

    def spec(self) -> PlanSpec:
        return PlanSpec(site=self.site, name=self.name, per=self.per, period=self.period, mode=self.mode,
                        amount=self.amount, flags=self.flags, counters=tuple(self.counters), staff=tuple(self.staff),
                        hour_from=self.hour_from, hour_to=self.hour_to, reviewers=tuple(self.reviewers), seed=self.seed)


class DrawBody(BaseModel):
    day: dt.date = Field(description="a day of the period to draw, on the site's clock")
    seed: int | None = Field(None, ge=0, lt=sampling.MAX_SEED, description="empty: the plan's seed")


class ScoreBody(BaseModel):
    note: str = Field(min_length=1, max_length=sampling.MAX_NOTE_CHARS)


def _describe(p: PlanView) -> str:
    unit = {"staff": "每人", "counter": "每窗口", "site": "全服务点"}[p.per]
    every = {"day": "每天", "week": "每周"}[p.period]
    much = f"{p.amount} 条" if p.mode == "count" else f"{p.amount}%"
    return f"“{p.name}”：{every}{unit}抽 {much}"


@router.get("/plans", response_model=list[PlanView])
def list_plans(user: Supervisor, db: ReadDb, request: Request, site: str | None = Query(None, max_length=63)
               ) -> list[PlanView]:
    """The sampling plans of the visible sites, active ones first."""
    plans = sampling.list_plans(db, user, site=site)
    audit(request, user, action="sampling.plans", target=scope_target(user, site),
          detail=f"抽检计划 {len(plans)} 个")
    return plans


@router.get("/reviewers", response_model=list[ReviewerView])
def list_reviewers(user: Supervisor, db: ReadDb, request: Request, site: str = Query(min_length=1, max_length=63)
                   ) -> list[ReviewerView]:
    """Who may review the sampled interactions of ``site`` (the plan form's 审核人): the active
    supervisors and admins of that site, id and name only. Audited (names of people)."""
    people = sampling.reviewers_of(db, user, site=site)
    audit(request, user, action="sampling.reviewers", target=f"site:{site}",
          detail=f"查看抽检审核人名单 {len(people)} 人")
    return people


@router.post("/plans", response_model=PlanView, status_code=201)
def create_plan(body: PlanBody, user: Supervisor, engine: Writer, request: Request) -> PlanView:
    """Make a plan (a random seed unless one is given); 422 names the bad field."""
    view = sampling.create_plan(engine, user, body.spec())
    audit(request, user, action="sampling.plan.create", target=f"site:{view.site}",
          detail=f"新建抽检计划{_describe(view)}，随机种子 {view.seed}")
    return view


@router.get("/plans/{plan_id}", response_model=PlanView)
def get_plan(plan_id: RowId, user: Supervisor, db: ReadDb) -> PlanView:
    """One plan."""
    return sampling.get_plan(db, user, plan_id)


@router.put("/plans/{plan_id}", response_model=PlanView)
def update_plan(plan_id: RowId, body: PlanBody, user: Supervisor, engine: Writer, request: Request) -> PlanView:
    """Change a plan (draws made already keep what they drew)."""
    view = sampling.update_plan(engine, user, plan_id, body.spec(), active=body.active)
    audit(request, user, action="sampling.plan.edit", target=f"site:{view.site}",
          detail=f"修改抽检计划{_describe(view)}{'' if view.active else '（已停用）'}")
    return view


@router.delete("/plans/{plan_id}", response_model=PlanView)
def stop_plan(plan_id: RowId, user: Supervisor, engine: Writer, request: Request) -> PlanView:
    """Stop a plan: it draws no more; its draws and scores stay."""
    view = sampling.stop_plan(engine, user, plan_id)
    audit(request, user, action="sampling.plan.stop", target=f"site:{view.site}", detail=f"停用抽检计划“{view.name}”")
    return view


@router.post("/plans/{plan_id}/draws", response_model=DrawView)
def draw(plan_id: RowId, body: DrawBody, user: Supervisor, rulebook: RulebookDep, engine: Writer, request: Request) -> DrawView:
    """Draw the plan for the period holding ``day`` and assign the drawn interactions; a period
    drawn already is returned unchanged (``existing``; 409 with another seed)."""
    view = sampling.draw(engine, plan_id, body.day, user=user, actor=user.name, seed=body.seed,
                         rules=rules_of(rulebook))
    if not view.existing:
        ids = "、".join(str(i) for i in view.interaction_ids)
        last = dt.date.fromisoformat(view.period_end) - dt.timedelta(days=1)
        span = view.period_start if last.isoformat() == view.period_start else f"{view.period_start} 至 {last}"
        audit(request, user, action="sampling.draw", target=f"site:{view.site}",
              detail=f"抽检计划“{view.plan_name}”抽取 {span}：随机种子 {view.seed}，"
                     f"{view.population} 条中抽出 {len(view.interaction_ids)} 条"
                     f"（录音 {ids}）"[:2000])
    return view


@router.get("/plans/{plan_id}/draws", response_model=list[DrawView])
def list_draws(plan_id: RowId, user: Supervisor, db: ReadDb, rulebook: RulebookDep, request: Request) -> list[DrawView]:
    """The plan's draws, newest period first, with their assignments."""
    draws = sampling.list_draws(db, user, plan_id, rules=rules_of(rulebook))
    if draws:
        audit(request, user, action="sampling.draws", target=f"site:{draws[0].site}",
              detail=f"查看抽检计划“{draws[0].plan_name}”的抽取记录 {len(draws)} 次")
    return draws


@router.get("/assignments", response_model=list[AssignmentView])
def my_assignments(user: Supervisor, db: ReadDb, rulebook: RulebookDep, request: Request, response: Response,
                   scored: bool | None = None, offset: int = Query(0, ge=0, le=1_000_000),
                   limit: int = Query(50, ge=1, le=200)) -> list[AssignmentView]:
    """My sampled interactions (我的抽检任务), not yet scored first; the total is in ``X-Total-Count``."""
    total, items = sampling.my_assignments(db, user, rules=rules_of(rulebook), scored=scored, offset=offset,
                                           limit=limit)
    audit(request, user, action="sampling.assignments", detail=f"我的抽检任务 {len(items)} 条")
    response.headers["X-Total-Count"] = str(total)
    return items


@router.get("/interactions/{interaction_id}", response_model=list[AssignmentView])
def of_interaction(interaction_id: RowId, user: Supervisor, db: ReadDb, rulebook: RulebookDep,
                   request: Request) -> list[AssignmentView]:
    """The draws that sampled this interaction (empty: not sampled)."""
    items = sampling.of_interaction(db, user, interaction_id, rules=rules_of(rulebook))
    if items:
        audit(request, user, action="sampling.view", target=f"interaction:{interaction_id}",
              detail=f"查看抽检结果 {len(items)} 条")
    return items


@router.post("/assignments/{assignment_id}/score", response_model=AssignmentView)
def record_score(assignment_id: RowId, body: ScoreBody, user: Supervisor, rulebook: RulebookDep,
                 engine: Writer, request: Request) -> AssignmentView:
    """The assigned reviewer records the sampled interaction's score (as services.scoring gives
    it after their decisions) with a note (403: assigned to another; 409: flags still 待确认)."""
    view = sampling.record_score(engine, user, assignment_id, note=body.note,
                                 rules=rules_of(rulebook))
    outcome = "无法判定" if view.score is None else f"{view.score:g} 分，{'达标' if view.passed else '不达标'}"
    audit(request, user, action="sampling.score", target=f"interaction:{view.interaction_id}",
          detail=f"抽检评分（{view.plan_name}）：{outcome}；意见：{body.note.strip()[:200]}")
    return view
