"""Sampling and assignment (抽检, issue 20 item 2).

A supervisor's plan (:class:`~storage.tables.SamplingPlan`) says which of a site's analysed
interactions to draw for a day or a week on the site's clock: ``amount`` of them (``count``) or
``amount`` per cent (``percent``, rounded up), per staff member, per counter or over the whole
site, from some counters, staff and hours only if asked, with or without flags.

The draw is reproducible: each candidate's rank is ``sha256("<seed>:<interaction id>")`` and the
lowest ranks of each group are drawn, so the same seed over the same interactions draws the same
set on any database and in any order of reading, and an interaction analysed late only enters if
it ranks among them. A draw (:class:`~storage.tables.SampleDraw`) keeps the seed, the size of
the population and the ids drawn; there is one draw per plan and period: drawing again returns
it unchanged.

The drawn interactions go to the plan's reviewers in turn (ordered by start time), skipping a
reviewer who is the interaction's staff member (a staff account linked to that person, or a
reviewer whose user name is that person's name on the roster); with no other reviewer the
interaction stays unassigned.

"Scored" is the assigned reviewer recording the outcome (:func:`record_score`): they review the
flags, add findings by hand or mark the interaction 无法判定 with the existing tools, then
record it with a note; the assignment keeps the score :mod:`services.scoring` gives at that
moment and 达标 (the live score follows later decisions, as everywhere). Flags still 待确认
must be decided first. The API audits every step; the CLI's draw too.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.timezones import day_bounds, local_time
from services.accounts import Principal
from services.dictionary import RuleInfo
from services.interactions import SiteForbidden, check_site
from services.names import counter_label, site_label
from services.scoring import scores_for
from storage.engine import id_parts, write_session
from storage.tables import (
    Counter,
    Flag,
    Interaction,
    SampleAssignment,
    SampleDraw,
    SamplingPlan,
    Site,
    Staff,
    User,
    now_s,
)

PER = ("staff", "counter", "site")
PERIODS = ("day", "week")
MODES = ("count", "percent")
FLAG_FILTERS = ("any", "with", "without")
#: The most a count plan draws per group.
MAX_COUNT = 1000
MAX_NOTE_CHARS = 2000
REVIEWER_ROLES = ("admin", "supervisor")
MAX_SEED = 2**53


class PlanNotFound(NotFound):
    code = "sampling_plan_not_found"

    def __init__(self, plan_id: int) -> None:
        super().__init__(f"sampling plan {plan_id}", "not found", plan_id=plan_id)


class AssignmentNotFound(NotFound):
    code = "sample_assignment_not_found"

    def __init__(self, assignment_id: int) -> None:
        super().__init__(f"sample assignment {assignment_id}", "not found", assignment_id=assignment_id)


@dataclass(frozen=True)
class PlanSpec:
    """What a supervisor asks for; names, as people know them (checked by :func:`_resolve`)."""

    site: str
    name: str
    per: str
    period: str
    mode: str
    amount: int
    flags: str = "any"
    counters: tuple[str, ...] = ()
    staff: tuple[str, ...] = ()
    hour_from: int = 0
    hour_to: int = 24
    reviewers: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class PlanView:
    id: int
    site: str
    site_label: str
    name: str
    per: str
    period: str
    mode: str
    amount: int
    flags: str
    counters: list[str]
    staff: list[str]
    hour_from: int
    hour_to: int
    reviewers: list[str]
    seed: int
    active: bool
    created_by: str
    created_s: float


@dataclass(frozen=True)
class AssignmentView:
    id: int
    draw_id: int
    plan_id: int
    plan_name: str
    period_start: str
    interaction_id: int
    site: str
    site_label: str
    counter_label: str
    staff: str
    wall_start_s: float
    wall_end_s: float
    flags: int
    reviewer: str | None
    scored_s: float | None
    #: the score recorded by the reviewer (None: 无法判定 or not yet), 达标
    score: float | None
    passed: bool | None
    note: str
    #: the interaction's score now (services.scoring), for the lists
    score_now: float | None


@dataclass(frozen=True)
class DrawView:
    id: int
    plan_id: int
    plan_name: str
    site: str
    period_start: str
    period_end: str
    seed: int
    population: int
    interaction_ids: list[int]
    drawn_by: str
    drawn_s: float
    #: False: this call drew it; True: it had been drawn before and is returned unchanged
    existing: bool
    assignments: list[AssignmentView]


# -- plans --------------------------------------------------------------------------------------

def _check(spec: PlanSpec) -> None:
    if spec.per not in PER:
        raise Invalid("per", f"one of {', '.join(PER)}", code="sampling_per")
    if spec.period not in PERIODS:
        raise Invalid("period", f"one of {', '.join(PERIODS)}", code="sampling_period")
    if spec.mode not in MODES:
        raise Invalid("mode", f"one of {', '.join(MODES)}", code="sampling_mode")
    if spec.flags not in FLAG_FILTERS:
        raise Invalid("flags", f"one of {', '.join(FLAG_FILTERS)}", code="sampling_flags")
    top = 100 if spec.mode == "percent" else MAX_COUNT
    if not 1 <= spec.amount <= top:
        raise Invalid("amount", f"between 1 and {top}", code="sampling_amount")
    if not 0 <= spec.hour_from < spec.hour_to <= 24:
        raise Invalid("hour_to", "hours must satisfy 0 <= hour_from < hour_to <= 24", code="sampling_hours")
    if not spec.name.strip():
        raise Invalid("name", "a plan needs a name", code="sampling_name")
    if not spec.reviewers:
        raise Invalid("reviewers", "a plan needs at least one reviewer", code="sampling_reviewers")
    if spec.seed is not None and not 0 <= spec.seed < MAX_SEED:
        raise Invalid("seed", f"between 0 and {MAX_SEED - 1}", code="sampling_seed")


def _reviews(u: User, site: str) -> bool:
    """Whether ``u`` may review the sampled interactions of ``site``: an active supervisor or
    admin of that site (an admin of every site included). The one rule of the plan's check and
    of :func:`reviewers_of`."""
    return u.active and u.role in REVIEWER_ROLES and (not u.sites or site in u.sites)


def _resolve(s: Session, user: Principal, spec: PlanSpec) -> tuple[Site, list[int], list[int], list[int]]:
    """The site and the ids of the named counters, staff and reviewers."""
    site = s.scalar(select(Site).where(Site.name == spec.site))
    if site is None or not user.can_see(site.name):
        raise SiteForbidden(spec.site)

    def ids(field_name: str, names: tuple[str, ...], rows: dict[str, int]) -> list[int]:
        missing = [i for i, n in enumerate(names) if n not in rows]
        if missing:     # the positions, never the names sent (no echo of input)
            raise Invalid(field_name, f"{len(missing)} not found at the site (positions {missing[:20]})",
                          code=f"sampling_{field_name}")
        return list(dict.fromkeys(rows[n] for n in names))

    counters = ids("counters", spec.counters, dict(s.execute(select(Counter.name, Counter.id)
                                                            .where(Counter.site_id == site.id)).all()))
    staff = ids("staff", spec.staff, dict(s.execute(select(Staff.name, Staff.id).where(Staff.site_id == site.id)).all()))
    people = {u.name: u for u in s.scalars(select(User).where(User.name.in_(spec.reviewers)))}
    ok = {n: u.id for n, u in people.items() if _reviews(u, site.name)}
    reviewers = ids("reviewers", spec.reviewers, ok)
    return site, counters, staff, reviewers


def _plan_view(s: Session, p: SamplingPlan) -> PlanView:
    site = s.get_one(Site, p.site_id)
    counters = dict(s.execute(select(Counter.id, Counter.name).where(Counter.id.in_(p.counter_ids or [-1]))).all())
    staff = dict(s.execute(select(Staff.id, Staff.name).where(Staff.id.in_(p.staff_ids or [-1]))).all())
    users = dict(s.execute(select(User.id, User.name).where(User.id.in_([*(p.reviewer_ids or []), p.created_by]))).all())
    return PlanView(
        id=p.id, site=site.name, site_label=site_label(site.name, site.title), name=p.name, per=p.per, period=p.period,
        mode=p.mode, amount=p.amount, flags=p.flags, counters=[counters[i] for i in p.counter_ids if i in counters],
        staff=[staff[i] for i in p.staff_ids if i in staff], hour_from=p.hour_from, hour_to=p.hour_to,
        reviewers=[users[i] for i in p.reviewer_ids if i in users], seed=p.seed, active=p.active,
        created_by=users.get(p.created_by, ""), created_s=p.created_s)


def create_plan(engine: Engine, user: Principal, spec: PlanSpec) -> PlanView:
    """Make a plan (a random seed unless one is given).

    Raises:
        Invalid naming the field (``per``, ``amount``, ``counters``, ``reviewers``...).
        SiteForbidden: the site is not the user's.
    """
    _check(spec)
    with write_session(engine) as s:
        site, counters, staff, reviewers = _resolve(s, user, spec)
        p = SamplingPlan(site_id=site.id, name=spec.name.strip()[:100], per=spec.per, period=spec.period,
                         mode=spec.mode, amount=spec.amount, flags=spec.flags, counter_ids=counters, staff_ids=staff,
                         hour_from=spec.hour_from, hour_to=spec.hour_to, reviewer_ids=reviewers,
                         seed=spec.seed if spec.seed is not None else secrets.randbelow(MAX_SEED), active=True,
                         created_by=user.id, created_s=now_s())
        s.add(p)
        s.flush()
        return _plan_view(s, p)


def _visible_plan(s: Session, user: Principal, plan_id: int) -> tuple[SamplingPlan, Site]:
    row = s.execute(select(SamplingPlan, Site).join(Site, SamplingPlan.site_id == Site.id)
                    .where(SamplingPlan.id == plan_id)).first()
    if row is None or not user.can_see(row[1].name):
        raise PlanNotFound(plan_id)
    return row[0], row[1]


def update_plan(engine: Engine, user: Principal, plan_id: int, spec: PlanSpec, *, active: bool = True) -> PlanView:
    """Change a plan (its site stays; draws made already keep what they drew).

    Raises:
        PlanNotFound, Invalid naming the field.
    """
    _check(spec)
    with write_session(engine) as s:
        p, site = _visible_plan(s, user, plan_id)
        if spec.site != site.name:
            raise Invalid("site", "a plan stays at its site", code="sampling_site")
        _, counters, staff, reviewers = _resolve(s, user, spec)
        p.name, p.per, p.period, p.mode, p.amount, p.flags = (spec.name.strip()[:100], spec.per, spec.period,
                                                               spec.mode, spec.amount, spec.flags)
        p.counter_ids, p.staff_ids, p.reviewer_ids = counters, staff, reviewers
        p.hour_from, p.hour_to, p.active = spec.hour_from, spec.hour_to, active
        if spec.seed is not None:
            p.seed = spec.seed
        s.flush()
        return _plan_view(s, p)


def stop_plan(engine: Engine, user: Principal, plan_id: int) -> PlanView:
    """Stop a plan (停用): it draws no more; its draws and scores stay."""
    with write_session(engine) as s:
        p, _ = _visible_plan(s, user, plan_id)
        p.active = False
        s.flush()
        return _plan_view(s, p)


def get_plan(db: Session, user: Principal, plan_id: int) -> PlanView:
    return _plan_view(db, _visible_plan(db, user, plan_id)[0])


def list_plans(db: Session, user: Principal, *, site: str | None = None) -> list[PlanView]:
    """The plans of the visible sites (``site``: one), active ones first."""
    check_site(user, site)
    q = select(SamplingPlan).join(Site, SamplingPlan.site_id == Site.id)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    if site is not None:
        q = q.where(Site.name == site)
    return [_plan_view(db, p) for p in db.scalars(q.order_by(SamplingPlan.active.desc(), SamplingPlan.id))]


@dataclass(frozen=True)
class ReviewerView:
    """Someone who may review a site's sampled interactions: the id and the name the console
    shows (a user name is a display name), nothing else of the account."""

    id: int
    name: str


def reviewers_of(db: Session, user: Principal, *, site: str) -> list[ReviewerView]:
    """Who may be a plan's reviewer at ``site`` (the people the plan form offers), by name.

    Raises:
        SiteForbidden: ``site`` is not one of the user's, or there is no such site.
    """
    if db.scalar(select(Site.id).where(Site.name == site)) is None or not user.can_see(site):
        raise SiteForbidden(site)
    people = db.scalars(select(User).where(User.role.in_(REVIEWER_ROLES), User.active.is_(True)))
    # sorted here, not by the database: the same order on SQLite and PostgreSQL (whose collation differs)
    return sorted((ReviewerView(id=u.id, name=u.name) for u in people if _reviews(u, site)), key=lambda r: r.name)


# -- the draw -----------------------------------------------------------------------------------

def period_of(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of the period holding ``day`` and the day after its last (a week: Monday to Sunday)."""
    if period == "week":
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=7)
    return day, day + dt.timedelta(days=1)


def rank(seed: int, interaction_id: int) -> str:
    """An interaction's place in the draw of ``seed``: the lowest are drawn."""
    return hashlib.sha256(f"{seed}:{interaction_id}".encode()).hexdigest()


def pick(candidates: list[tuple[int, object]], *, seed: int, mode: str, amount: int) -> list[int]:
    """The ids drawn from ``candidates`` ((id, group) pairs): per group, the ``amount`` (or
    ``amount`` per cent, rounded up) of lowest rank; sorted."""
    groups: dict[object, list[int]] = defaultdict(list)
    for iid, group in candidates:
        groups[group].append(iid)
    out: list[int] = []
    for ids in groups.values():
        k = amount if mode == "count" else math.ceil(len(ids) * amount / 100)
        out.extend(sorted(ids, key=lambda i: rank(seed, i))[:k])
    return sorted(out)


def _candidates(s: Session, p: SamplingPlan, zone: str, first: dt.date, end: dt.date
                ) -> list[tuple[int, float, int, int | None]]:
    """(id, start, counter id, staff id) of the site's analysed interactions in the period that pass the filters."""
    lo, _ = day_bounds(first, zone)
    hi, _ = day_bounds(end, zone)
    q = (select(Interaction.id, Interaction.wall_start_s, Interaction.counter_id, Interaction.staff_id)
         .join(Counter, Interaction.counter_id == Counter.id)
         .where(Counter.site_id == p.site_id, Interaction.wall_start_s >= lo, Interaction.wall_start_s < hi,
                Interaction.analyzed_s.is_not(None)))
    if p.counter_ids:
        q = q.where(Interaction.counter_id.in_(p.counter_ids))
    if p.staff_ids:
        q = q.where(Interaction.staff_id.in_(p.staff_ids))
    flagged = select(Flag.id).where(Flag.interaction_id == Interaction.id, Flag.superseded_s.is_(None)).exists()
    if p.flags == "with":
        q = q.where(flagged)
    elif p.flags == "without":
        q = q.where(~flagged)
    rows = [(iid, start, counter, staff) for iid, start, counter, staff in s.execute(q.order_by(Interaction.id))]
    if (p.hour_from, p.hour_to) != (0, 24):
        rows = [r for r in rows if p.hour_from <= local_time(r[1], zone).hour < p.hour_to]
    return rows


def _assign(s: Session, p: SamplingPlan, draw: SampleDraw, rows: list[tuple[int, float, int, int | None]]) -> None:
    """Give the drawn interactions to the plan's reviewers in turn, never to their own staff member."""
    reviewers = [u for i in p.reviewer_ids if (u := s.get(User, i)) is not None and u.active]
    staff_names = dict(s.execute(select(Staff.id, Staff.name).where(Staff.site_id == p.site_id)).all())
    turn = 0
    for iid, _, _, staff_id in sorted(rows, key=lambda r: (r[1], r[0])):
        chosen = None
        for k in range(len(reviewers)):
            u = reviewers[(turn + k) % len(reviewers)]
            if staff_id is not None and (u.staff_id == staff_id or u.name == staff_names.get(staff_id)):
                continue
            chosen = u
            turn = (turn + k + 1) % len(reviewers)
            break
        s.add(SampleAssignment(draw_id=draw.id, interaction_id=iid, reviewer_id=chosen.id if chosen else None,
                               note=""))


def draw(engine: Engine, plan_id: int, day: dt.date, *, user: Principal | None, actor: str,
         seed: int | None = None, rules: dict[str, RuleInfo] | None = None) -> DrawView:
    """Draw the plan for the period holding ``day`` (on the site's clock) and assign the drawn
    interactions; a period drawn already is returned unchanged (``existing``). ``user``: whose
    sites bound it (None: the operator's CLI, every site); ``seed``: instead of the plan's.

    Raises:
        PlanNotFound. Conflict ``sampling_plan_stopped``; ``sampling_seed_differs``: the period
        was drawn with another seed.
    """
    with write_session(engine) as s:
        if user is not None:
            p, site = _visible_plan(s, user, plan_id)
        else:
            row = s.execute(select(SamplingPlan, Site).join(Site, SamplingPlan.site_id == Site.id)
                            .where(SamplingPlan.id == plan_id)).first()
            if row is None:
                raise PlanNotFound(plan_id)
            p, site = row
        first, end = period_of(p.period, day)
        seed = p.seed if seed is None else seed
        old = s.scalar(select(SampleDraw).where(SampleDraw.plan_id == p.id, SampleDraw.period_start == first.isoformat()))
        if old is not None:
            if old.seed != seed:
                raise Conflict(f"sampling plan {plan_id}", f"{first.isoformat()} was drawn with another seed",
                               code="sampling_seed_differs", seed=old.seed)
            return _draw_view(s, old, p, site, end, existing=True, rules=rules or {})
        if not p.active:
            raise Conflict(f"sampling plan {plan_id}", "the plan is stopped", code="sampling_plan_stopped")
        rows = _candidates(s, p, site.timezone, first, end)
        group = {"staff": lambda r: r[3], "counter": lambda r: r[2], "site": lambda r: 0}[p.per]
        ids = pick([(r[0], group(r)) for r in rows], seed=seed, mode=p.mode, amount=p.amount)
        chosen = set(ids)
        d = SampleDraw(plan_id=p.id, period_start=first.isoformat(), seed=seed, population=len(rows),
                       interaction_ids=ids, drawn_by=actor[:100], drawn_s=now_s())
        s.add(d)
        s.flush()
        _assign(s, p, d, [r for r in rows if r[0] in chosen])
        s.flush()
        return _draw_view(s, d, p, site, end, existing=False, rules=rules or {})


def _draw_view(s: Session, d: SampleDraw, p: SamplingPlan, site: Site, end: dt.date, *, existing: bool,
               rules: dict[str, RuleInfo]) -> DrawView:
    rows = list(s.scalars(select(SampleAssignment).where(SampleAssignment.draw_id == d.id)))
    return DrawView(id=d.id, plan_id=d.plan_id, plan_name=p.name, site=site.name, period_start=d.period_start,
                    period_end=end.isoformat(), seed=d.seed,
                    population=d.population, interaction_ids=list(d.interaction_ids), drawn_by=d.drawn_by,
                    drawn_s=d.drawn_s, existing=existing, assignments=_assignment_views(s, rows, rules))


def list_draws(db: Session, user: Principal, plan_id: int, *, rules: dict[str, RuleInfo]) -> list[DrawView]:
    """The plan's draws, newest period first, with their assignments."""
    p, site = _visible_plan(db, user, plan_id)
    out = []
    for d in db.scalars(select(SampleDraw).where(SampleDraw.plan_id == p.id).order_by(SampleDraw.period_start.desc())):
        _, end = period_of(p.period, dt.date.fromisoformat(d.period_start))
        out.append(_draw_view(db, d, p, site, end, existing=True, rules=rules))
    return out


# -- assignments --------------------------------------------------------------------------------

def _assignment_views(s: Session, rows: list[SampleAssignment], rules: dict[str, RuleInfo]) -> list[AssignmentView]:
    if not rows:
        return []
    inter_ids = [a.interaction_id for a in rows]
    info = {r[0]: r[1:] for r in s.execute(
        select(Interaction.id, Interaction.wall_start_s, Interaction.wall_end_s, Site.name, Site.title, Counter.name,
               Counter.display_name, Staff.name)
        .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
        .outerjoin(Staff, Interaction.staff_id == Staff.id).where(Interaction.id.in_(inter_ids)))}
    flags: dict[int, int] = defaultdict(int)
    for (iid,) in s.execute(select(Flag.interaction_id).where(Flag.interaction_id.in_(inter_ids),
                                                              Flag.superseded_s.is_(None))):
        flags[iid] += 1
    draws = {d.id: d for d in s.scalars(select(SampleDraw).where(SampleDraw.id.in_({a.draw_id for a in rows})))}
    plans = dict(s.execute(select(SamplingPlan.id, SamplingPlan.name)
                           .where(SamplingPlan.id.in_({d.plan_id for d in draws.values()}))).all())
    users = dict(s.execute(select(User.id, User.name).where(User.id.in_({a.reviewer_id for a in rows if a.reviewer_id})))
                 .all())
    now = scores_for(s, inter_ids, rules)
    out = []
    for a in rows:
        start, end, site, title, counter, display, staff = info[a.interaction_id]
        d = draws[a.draw_id]
        score = now.get(a.interaction_id)
        out.append(AssignmentView(
            id=a.id, draw_id=a.draw_id, plan_id=d.plan_id, plan_name=plans.get(d.plan_id, ""),
            period_start=d.period_start, interaction_id=a.interaction_id, site=site, site_label=site_label(site, title),
            counter_label=counter_label(counter, display), staff=staff or "", wall_start_s=start, wall_end_s=end,
            flags=flags[a.interaction_id],
            reviewer=users.get(a.reviewer_id) if a.reviewer_id is not None else None, scored_s=a.scored_s, score=a.score,
            passed=a.passed, note=a.note, score_now=score.score if score else None))
    return out


def my_assignments(db: Session, user: Principal, *, rules: dict[str, RuleInfo], scored: bool | None = None,
                   offset: int = 0, limit: int = 50) -> tuple[int, list[AssignmentView]]:
    """The user's sampled interactions (我的抽检任务), not yet scored first then oldest first."""
    q = select(SampleAssignment).where(SampleAssignment.reviewer_id == user.id)
    if scored is not None:
        q = q.where(SampleAssignment.scored_s.is_not(None) if scored else SampleAssignment.scored_s.is_(None))
    rows = list(db.scalars(q.order_by(SampleAssignment.scored_s.is_not(None), SampleAssignment.id)))
    visible = [v for v in _assignment_views(db, rows, rules) if user.can_see(v.site)]
    return len(visible), visible[offset:offset + limit]


def of_interaction(db: Session, user: Principal, interaction_id: int, *, rules: dict[str, RuleInfo]
                   ) -> list[AssignmentView]:
    """The draws that sampled this interaction (the recording page shows 抽检), none if not sampled."""
    rows = list(db.scalars(select(SampleAssignment).where(SampleAssignment.interaction_id == interaction_id)
                           .order_by(SampleAssignment.id)))
    return [v for v in _assignment_views(db, rows, rules) if user.can_see(v.site)]


@dataclass(frozen=True)
class SampleOutcome:
    """What the sampling records say of one drawn interaction (the monthly report's 抽检 columns)."""

    scored: bool                    # a reviewer recorded its outcome (无法判定 included)
    score: float | None             # the score recorded (the latest, when drawn by several plans); None: 无法判定 or not scored


def outcomes_of(db: Session, interaction_ids: list[int]) -> dict[int, SampleOutcome]:
    """The drawn interactions among ``interaction_ids``, each with its recorded outcome (the
    latest recorded one when several plans drew it); interactions never drawn are absent."""
    out: dict[int, SampleOutcome] = {}
    for chunk in id_parts(interaction_ids):
        for iid, scored_s, score in db.execute(
                select(SampleAssignment.interaction_id, SampleAssignment.scored_s, SampleAssignment.score)
                .where(SampleAssignment.interaction_id.in_(chunk))
                .order_by(SampleAssignment.interaction_id, SampleAssignment.scored_s.is_not(None), SampleAssignment.scored_s)):
            # unscored first, then scored by time: the latest recorded outcome is the one kept
            out[iid] = SampleOutcome(scored_s is not None, score)
    return out


def record_score(engine: Engine, user: Principal, assignment_id: int, *, note: str,
                 rules: dict[str, RuleInfo]) -> AssignmentView:
    """The assigned reviewer records the sampled interaction's outcome: its score now (by
    :mod:`services.scoring`, after the reviewer's decisions) with a note. Recording again
    replaces the outcome (the audit keeps each).

    Raises:
        AssignmentNotFound: not in the user's sites. Forbidden ``sample_not_yours``: assigned
        to another reviewer. Invalid ``note``. Conflict ``sample_flags_open``: flags still 待确认.
    """
    note = note.strip()
    if not note:
        raise Invalid("note", "a note is needed", code="sample_note")
    with write_session(engine) as s:
        row = s.execute(select(SampleAssignment, Site.name).join(Interaction, SampleAssignment.interaction_id == Interaction.id)
                        .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
                        .where(SampleAssignment.id == assignment_id)).first()
        if row is None or not user.can_see(row[1]):
            raise AssignmentNotFound(assignment_id)
        a = row[0]
        if a.reviewer_id != user.id:
            raise Forbidden(f"sample assignment {assignment_id}", "assigned to another reviewer", code="sample_not_yours")
        score = scores_for(s, [a.interaction_id], rules)[a.interaction_id]
        if score.uncertain:
            raise Conflict(f"interaction {a.interaction_id}", f"{score.uncertain} flag(s) still to be confirmed or "
                           "dismissed", code="sample_flags_open", uncertain=score.uncertain)
        a.scored_s, a.score, a.passed, a.note = now_s(), score.score, score.passed, note[:MAX_NOTE_CHARS]
        s.flush()
        return _assignment_views(s, [a], rules)[0]


__all__ = ["AssignmentNotFound", "AssignmentView", "DrawView", "PlanNotFound", "PlanSpec", "PlanView", "create_plan",
           "SampleOutcome", "draw", "get_plan", "list_draws", "list_plans", "my_assignments", "of_interaction",
           "outcomes_of", "period_of", "pick", "rank", "record_score", "ReviewerView", "reviewers_of", "stop_plan",
           "update_plan"]
