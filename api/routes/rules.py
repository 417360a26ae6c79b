"""The rulebook in force, each rule's measured precision, and the rule test bench."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import Admin, Person, ReadDb, RulebookDep, Supervisor, Writer, audit
from services import rule_bench
from services.interactions import check_site
from services.rule_bench import Applied, BenchResult, Draft
from services.rulebooks import RuleView, rule_views

router = APIRouter(prefix="/rules", tags=["rules"])

MAX_DRAFT_CHARS = 200_000


class RulebookInfo(BaseModel):
    version: str
    name: str
    rules: list[RuleView]


class BenchRequest(BaseModel):
    """A whole rulebook (``rulebook``: its YAML) or one rule (``rule``: the YAML of one rule
    mapping, and the ``section`` it goes in), tried on interactions that began in
    [``since_s``, ``until_s``)."""

    rulebook: str | None = Field(None, max_length=MAX_DRAFT_CHARS)
    rule: str | None = Field(None, max_length=MAX_DRAFT_CHARS)
    section: str = Field("forbidden", pattern="^(forbidden|required|audio)$")
    since_s: float = Field(ge=0)
    until_s: float = Field(ge=0)
    site: str | None = Field(None, max_length=63)
    counter: str | None = Field(None, max_length=63)

    def draft(self) -> Draft:
        return Draft(rulebook=self.rulebook, rule=self.rule, section=self.section)


@router.get("", response_model=RulebookInfo)
def list_rules(user: Person, db: ReadDb, rulebook: RulebookDep,
               site: str | None = Query(None, max_length=63)) -> RulebookInfo:
    """The rulebook in force and each rule's id, label, type, severity, points and measured
    precision from past reviews (confirmed / reviewed flags in the visible sites);
    ``low_precision`` marks a rule an admin should look at."""
    check_site(user, site)
    return RulebookInfo(version=rulebook.version, name=rulebook.name, rules=rule_views(db, user, rulebook, site=site))


@router.post("/bench", response_model=BenchResult)
def bench(body: BenchRequest, user: Supervisor, db: ReadDb, request: Request) -> BenchResult:
    """Try a draft rule or rulebook on a period's stored transcripts without changing anything:
    what it would flag and what it would stop flagging, with the interaction of each."""
    result = rule_bench.trial(db, user, body.draft(), default=request.app.state.rulebook, since_s=body.since_s,
                              until_s=body.until_s, site=body.site, counter=body.counter)
    audit(request, user, action="rules.bench", target=f"period:{body.since_s:.0f}-{body.until_s:.0f}",
          detail=f"试运行规则草稿：{result.interactions} 段服务，候选版本 {result.candidate_version}")
    return result


@router.post("/bench/apply", response_model=Applied)
def apply(body: BenchRequest, user: Admin, engine: Writer, request: Request) -> Applied:
    """Make the draft (with the rulebook in force, for one rule) the rulebook in force and
    re-analyse the period's interactions; the workers then re-analyse the rest as after any
    rulebook change."""
    applied = rule_bench.apply(engine, user, body.draft(), default=request.app.state.rulebook,
                               since_s=body.since_s, until_s=body.until_s)
    audit(request, user, action="rules.apply", target=f"rulebook:{applied.version}",
          detail=f"启用新规则并重新分析 {applied.queued} 段服务")
    return applied
