"""Staff see and answer (申诉, issue 20 item 4).

A ``staff`` user (linked to a Staff record) reads only their own interactions and findings,
acknowledges a finding (已阅), and may appeal a counted finding with a reason within the site's
window (``Site.appeal_window_days``, from the interaction's end or the finding's confirmation,
whichever is later). A second reviewer, neither the one who confirmed the finding nor the
appellant, upholds or overturns the appeal with a note; the ruling is the final word on the
finding's score (:mod:`services.scoring`) and is written into the flag's review too, so every
list agrees. One appeal per finding. Every step is audited by the API.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain import pii
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.vocab import flag_counts, flag_uncertain
from services.accounts import Principal
from services.dictionary import RuleInfo
from services.interactions import InteractionNotFound, SegmentView, check_site
from services.names import counter_label, site_label
from services.scoring import ScoreBreakdown, appeal_of, breakdown, decisions_for, effective_state, flag_facts
from storage.engine import write_session
from storage.tables import Appeal, Counter, FindingAck, Flag, FlagReviewNote, Interaction, Site, Staff, User, now_s

DAY_S = 86400.0
MAX_REASON_CHARS = 2000


class AppealNotFound(NotFound):
    code = "appeal_not_found"

    def __init__(self, appeal_id: int) -> None:
        super().__init__(f"appeal {appeal_id}", "not found", appeal_id=appeal_id)


class FindingNotFound(NotFound):
    code = "finding_not_found"

    def __init__(self, flag_id: int) -> None:
        super().__init__(f"finding {flag_id}", "not found among your findings", flag_id=flag_id)


class NotLinked(Forbidden):
    code = "staff_not_linked"

    def __init__(self) -> None:
        super().__init__("account", "this staff account is not linked to a person on the roster")


def _own_staff(user: Principal) -> int:
    if user.role != "staff" or user.staff_id is None:
        raise NotLinked()
    return user.staff_id


@dataclass(frozen=True)
class AppealView:
    id: int
    interaction_id: int
    flag_id: int
    rule: str
    rule_label: str
    flag_start_s: float
    staff: str
    site: str
    site_label: str
    counter_label: str
    wall_start_s: float
    reason: str
    created_s: float
    state: str
    appellant: str
    confirmed_by: str | None
    ruled_by: str | None
    ruled_s: float | None
    ruling_note: str
    #: the flag's words as recognised (masked for roles that see masked text)
    evidence: str = ""


@dataclass(frozen=True)
class MyFinding:
    flag_id: int
    type: str
    rule: str
    rule_label: str
    severity: str
    evidence: str
    start_s: float
    end_s: float
    #: the finding's state after every ruling (confirmed / dismissed / open: counted by the machine)
    review_state: str
    counted: bool
    acknowledged_s: float | None
    appeal: AppealView | None
    #: until when it may be appealed (None: not appealable: not counted, or already appealed)
    appeal_until_s: float | None
    review_note: str = ""


@dataclass(frozen=True)
class MyInteraction:
    id: int
    site_label: str
    counter_label: str
    timezone: str
    wall_start_s: float
    wall_end_s: float
    score: ScoreBreakdown
    findings: list[MyFinding]
    unacknowledged: int
    segments: list[SegmentView] = field(default_factory=list)


def _appeal_views(db: Session, appeals: list[Appeal], rules: dict[str, RuleInfo], show=lambda t: t) -> list[AppealView]:  # noqa: ANN001
    if not appeals:
        return []
    ids = {a.appellant_id for a in appeals} | {a.confirmed_by for a in appeals} | {a.ruled_by for a in appeals}
    names = dict(db.execute(select(User.id, User.name).where(User.id.in_([i for i in ids if i]))).all())
    inter_ids = list({a.interaction_id for a in appeals})
    where = {r[0]: r[1:] for r in db.execute(
        select(Interaction.id, Interaction.wall_start_s, Site.name, Site.title, Counter.name, Counter.display_name)
        .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
        .where(Interaction.id.in_(inter_ids)))}
    staff = dict(db.execute(select(Staff.id, Staff.name).where(Staff.id.in_({a.staff_id for a in appeals}))).all())
    flags = {f.id: f for f in db.scalars(select(Flag).where(Flag.interaction_id.in_(inter_ids)))}
    out = []
    for a in appeals:
        wall, site, title, counter, display = where[a.interaction_id]
        f = flags.get(a.flag_id)
        out.append(AppealView(
            id=a.id, interaction_id=a.interaction_id, flag_id=a.flag_id, rule=a.flag_rule,
            rule_label=rules[a.flag_rule].label if a.flag_rule in rules else a.flag_rule, flag_start_s=a.flag_start_s,
            staff=staff.get(a.staff_id, ""), site=site, site_label=site_label(site, title),
            counter_label=counter_label(counter, display), wall_start_s=wall, reason=a.reason, created_s=a.created_s,
            state=a.state, appellant=names.get(a.appellant_id, ""),
            confirmed_by=names.get(a.confirmed_by) if a.confirmed_by is not None else None,
            ruled_by=names.get(a.ruled_by) if a.ruled_by is not None else None, ruled_s=a.ruled_s, ruling_note=a.ruling_note,
            evidence=show((f.evidence or f.phrase) if f is not None else "")))
    return out


def _deadline(inter: Interaction, f: Flag, window_days: int) -> float:
    return max(inter.wall_end_s, f.reviewed_s or 0.0) + window_days * DAY_S


def _mine(db: Session, user: Principal, inter: Interaction, site: Site, counter: Counter, rules: dict[str, RuleInfo],
          *, with_segments: bool) -> MyInteraction:
    show = pii.for_role(user.role)
    decisions = decisions_for(db, [inter.id])[inter.id]
    acks = dict(db.execute(select(FindingAck.flag_id, FindingAck.at_s)
                           .where(FindingAck.user_id == user.id, FindingAck.interaction_id == inter.id)).all())
    findings = []
    for f in inter.flags:
        facts = flag_facts(f)
        state, _ = effective_state(facts, decisions.appeals)
        if flag_uncertain(state, f.confidence):
            continue        # 待确认: not a finding until a reviewer confirms it
        appeal = appeal_of(facts, decisions.appeals)
        counted = flag_counts(state, f.confidence)
        until = _deadline(inter, f, site.appeal_window_days) if counted and appeal is None else None
        info = rules.get(f.rule)
        findings.append(MyFinding(
            flag_id=f.id, type=f.type, rule=f.rule, rule_label=info.label if info else f.rule,
            severity=f.severity or (info.severity if info else ""), evidence=show(f.evidence or f.phrase),
            start_s=f.start_s, end_s=f.end_s, review_state=state, counted=counted, acknowledged_s=acks.get(f.id),
            appeal=_appeal_views(db, [appeal], rules, show)[0] if appeal is not None else None,
            appeal_until_s=until if until is not None and until > now_s() else None, review_note=f.review_note))
    every = [flag_facts(f) for f in inter.flags]
    score = breakdown(interaction_id=inter.id, assessable=inter.assessable, assessable_reason=inter.assessable_reason,
                      flags=every, decisions=decisions, rules=rules)
    return MyInteraction(
        id=inter.id, site_label=site_label(site.name, site.title), counter_label=counter_label(counter.name,
                                                                                               counter.display_name),
        timezone=site.timezone, wall_start_s=inter.wall_start_s, wall_end_s=inter.wall_end_s, score=score,
        findings=findings, unacknowledged=sum(1 for x in findings if x.acknowledged_s is None),
        segments=[SegmentView(g.id, g.start_s, g.end_s, g.speaker, g.speaker_confidence, show(g.text))
                  for g in inter.segments] if with_segments else [])


@dataclass(frozen=True)
class MyPage:
    total: int
    items: list[MyInteraction]


def my_interactions(db: Session, user: Principal, *, rules: dict[str, RuleInfo], findings_only: bool = False,
                    offset: int = 0, limit: int = 50) -> MyPage:
    """The staff member's own interactions, newest first (``findings_only``: those with a flag)."""
    staff_id = _own_staff(user)
    q = (select(Interaction, Site, Counter).join(Counter, Interaction.counter_id == Counter.id)
         .join(Site, Counter.site_id == Site.id).where(Interaction.staff_id == staff_id,
                                                       Interaction.analyzed_s.is_not(None)))
    if findings_only:
        q = q.where(select(Flag.id).where(Flag.interaction_id == Interaction.id).exists())
    total = db.execute(select(func.count()).select_from(q.with_only_columns(Interaction.id).subquery())).scalar_one()
    rows = db.execute(q.order_by(Interaction.wall_start_s.desc()).offset(offset).limit(limit)).all()
    return MyPage(total, [_mine(db, user, i, s, c, rules, with_segments=False) for i, s, c in rows])


def _own_interaction(db: Session, user: Principal, interaction_id: int) -> tuple[Interaction, Site, Counter]:
    staff_id = _own_staff(user)
    row = db.execute(select(Interaction, Site, Counter).join(Counter, Interaction.counter_id == Counter.id)
                     .join(Site, Counter.site_id == Site.id).where(Interaction.id == interaction_id)).first()
    if row is None or row[0].staff_id != staff_id or not user.can_see(row[1].name):
        raise InteractionNotFound(interaction_id)
    return row[0], row[1], row[2]


def my_interaction(db: Session, user: Principal, interaction_id: int, *, rules: dict[str, RuleInfo]) -> MyInteraction:
    """One of the staff member's own interactions with its transcript, findings and score.

    Raises:
        InteractionNotFound: not theirs (or no such interaction).
    """
    inter, site, counter = _own_interaction(db, user, interaction_id)
    return _mine(db, user, inter, site, counter, rules, with_segments=True)


def _own_flag(s: Session, user: Principal, flag_id: int) -> tuple[Flag, Interaction, Site]:
    staff_id = _own_staff(user)
    row = s.execute(select(Flag, Interaction, Site).join(Interaction, Flag.interaction_id == Interaction.id)
                    .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
                    .where(Flag.id == flag_id)).first()
    if row is None or row[1].staff_id != staff_id or not user.can_see(row[2].name) \
            or flag_uncertain(row[0].review_state, row[0].confidence):
        raise FindingNotFound(flag_id)
    return row[0], row[1], row[2]


def acknowledge(engine: Engine, user: Principal, flag_id: int) -> float:
    """Mark one of the staff member's findings read (已阅); the first time is kept. Returns when.

    Raises:
        FindingNotFound: not one of theirs.
    """
    with write_session(engine) as s:
        f, inter, _ = _own_flag(s, user, flag_id)
        at = s.scalar(select(FindingAck.at_s).where(FindingAck.user_id == user.id, FindingAck.flag_id == flag_id))
        if at is not None:
            return at
        ack = FindingAck(interaction_id=inter.id, flag_id=f.id, flag_rule=f.rule, flag_start_s=f.start_s,
                         user_id=user.id, at_s=now_s())
        s.add(ack)
        return ack.at_s


def appeal(engine: Engine, user: Principal, flag_id: int, *, reason: str, rules: dict[str, RuleInfo]) -> AppealView:
    """Appeal one of the staff member's counted findings.

    Raises:
        FindingNotFound: not one of theirs. Invalid ``appeal_reason``: no reason given.
        Conflict ``appeal_exists`` (one appeal per finding), ``appeal_not_counted`` (the finding
        counts nothing), ``appeal_window_closed``.
    """
    reason = reason.strip()
    if not reason:
        raise Invalid("reason", "an appeal needs a reason", code="appeal_reason")
    with write_session(engine) as s:
        f, inter, site = _own_flag(s, user, flag_id)
        appeals = list(s.scalars(select(Appeal).where(Appeal.interaction_id == inter.id)))
        facts = flag_facts(f)
        if appeal_of(facts, appeals) is not None:
            raise Conflict(f"finding {flag_id}", "already appealed", code="appeal_exists", flag_id=flag_id)
        state, _ = effective_state(facts, appeals)
        if not flag_counts(state, f.confidence):
            raise Conflict(f"finding {flag_id}", "it does not count against you", code="appeal_not_counted")
        until = _deadline(inter, f, site.appeal_window_days)
        if now_s() > until:
            raise Conflict(f"finding {flag_id}", "the appeal window has closed", code="appeal_window_closed",
                           days=site.appeal_window_days)
        a = Appeal(site_id=site.id, interaction_id=inter.id, flag_id=f.id, flag_rule=f.rule, flag_start_s=f.start_s,
                   staff_id=inter.staff_id, appellant_id=user.id, reason=reason[:MAX_REASON_CHARS], created_s=now_s(),
                   state="open", confirmed_by=f.reviewed_by if f.review_state == "confirmed" else None, ruling_note="")
        s.add(a)
        s.flush()
        return _appeal_views(s, [a], rules, pii.for_role(user.role))[0]


#: The longest appeal window a site may set.
MAX_WINDOW_DAYS = 365


def set_window(engine: Engine, site: str, *, days: int) -> int:
    """Set how many days the site's staff have to appeal a finding; returns the old value.

    Raises:
        NotFound ``site_not_found``.
    """
    with write_session(engine) as s:
        row = s.scalar(select(Site).where(Site.name == site))
        if row is None:
            raise NotFound(f"site {site!r}", "not found", code="site_not_found")
        old, row.appeal_window_days = row.appeal_window_days, days
        return old


def list_appeals(db: Session, user: Principal, *, rules: dict[str, RuleInfo], state: str | None = None,
                 staff: str | None = None, site: str | None = None, offset: int = 0, limit: int = 100
                 ) -> tuple[int, list[AppealView]]:
    """Appeals, open first then newest: a staff user's own, a reviewer's of their sites
    (``staff``: one person's)."""
    q = select(Appeal).join(Site, Appeal.site_id == Site.id)
    if user.role == "staff":
        q = q.where(Appeal.staff_id == _own_staff(user))
    else:
        check_site(user, site)
        if user.sites:
            q = q.where(Site.name.in_(user.sites))
        if site is not None:
            q = q.where(Site.name == site)
        if staff is not None:
            q = q.where(Appeal.staff_id.in_(select(Staff.id).where(Staff.name == staff)))
    if state is not None:
        q = q.where(Appeal.state == state)
    total = db.execute(select(func.count()).select_from(q.with_only_columns(Appeal.id).subquery())).scalar_one()
    rows = list(db.scalars(q.order_by((Appeal.state != "open"), Appeal.created_s.desc(), Appeal.id.desc())
                           .offset(offset).limit(limit)))
    return total, _appeal_views(db, rows, rules, pii.for_role(user.role))


def rule_appeal(engine: Engine, user: Principal, appeal_id: int, *, verdict: str, note: str,
                rules: dict[str, RuleInfo]) -> AppealView:
    """Uphold or overturn an open appeal with a note; the flag's review follows the ruling.

    Raises:
        AppealNotFound: not in the reviewer's sites. Invalid ``ruling_note``: no note.
        Conflict ``appeal_ruled``: ruled already. Forbidden ``appeal_same_reviewer``: the
        reviewer confirmed the finding (or is the appellant); a second person must rule.
    """
    note = note.strip()
    if not note:
        raise Invalid("note", "a ruling needs a note", code="ruling_note")
    with write_session(engine) as s:
        row = s.execute(select(Appeal, Site.name).join(Site, Appeal.site_id == Site.id)
                        .where(Appeal.id == appeal_id)).first()
        if row is None or not user.can_see(row[1]):
            raise AppealNotFound(appeal_id)
        a = row[0]
        if a.state != "open":
            raise Conflict(f"appeal {appeal_id}", "already ruled", code="appeal_ruled")
        if user.id in (a.confirmed_by, a.appellant_id):
            raise Forbidden(f"appeal {appeal_id}", "the reviewer who confirmed the finding cannot rule on its appeal",
                            code="appeal_same_reviewer")
        at = now_s()
        a.state, a.ruled_by, a.ruled_s, a.ruling_note = verdict, user.id, at, note[:MAX_REASON_CHARS]
        flags = list(s.scalars(select(Flag).where(Flag.interaction_id == a.interaction_id)))
        target = next((f for f in flags if appeal_of(flag_facts(f), [a]) is a), None)
        if target is not None:
            target.review_state = "confirmed" if verdict == "upheld" else "dismissed"
            target.reviewed_by, target.reviewed_s = user.id, at
            target.review_note = f"申诉裁定（{'维持' if verdict == 'upheld' else '撤销'}）：{note[:1900]}"
            s.add(FlagReviewNote(interaction_id=target.interaction_id, flag_id=target.id, flag_rule=target.rule,
                                 flag_start_s=target.start_s, state=target.review_state, note=target.review_note,
                                 user_id=user.id, at_s=at))
        s.flush()
        return _appeal_views(s, [a], rules)[0]


__all__ = ["AppealNotFound", "AppealView", "FindingNotFound", "MyFinding", "MyInteraction", "MyPage", "acknowledge",
           "appeal", "list_appeals", "my_interaction", "my_interactions", "rule_appeal"]
