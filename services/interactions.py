"""Interactions and their flags, as the console and the operator CLI read them, and the review
of a flag (confirm or dismiss, with a note).

Site scope: a :class:`~services.accounts.Principal` sees the interactions of its sites only; an
interaction or flag of another site reads as missing (:class:`InteractionNotFound`), so ids do
not tell what exists elsewhere. Viewers get personal numbers masked (:func:`domain.pii.for_role`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Select, and_, not_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from domain import pii
from domain.errors import Forbidden, NotFound
from domain.vocab import CERTAIN_CONFIDENCE
from services.accounts import Principal
from storage.engine import read_session, write_session
from storage.queries import rating_of
from storage.tables import Counter, Flag, Interaction, RecordingSession, Site, Staff, User, now_s


class InteractionNotFound(NotFound):
    code = "interaction_not_found"

    def __init__(self, interaction_id: int) -> None:
        super().__init__(f"interaction {interaction_id}", "not found", interaction_id=interaction_id)


class FlagNotFound(NotFound):
    code = "flag_not_found"

    def __init__(self, flag_id: int) -> None:
        super().__init__(f"flag {flag_id}", "not found", flag_id=flag_id)


class SiteForbidden(Forbidden):
    code = "site_forbidden"

    def __init__(self, site: str) -> None:
        super().__init__(f"site {site!r}", "no access", site=site)


def check_site(user: Principal, site: str | None) -> None:
    """Refuse an explicit site filter the user may not see.

    Raises:
        SiteForbidden: ``site`` is not one of the user's.
    """
    if site is not None and not user.can_see(site):
        raise SiteForbidden(site)


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class FlagView:
    """A flag with where it was found and its review."""

    id: int
    interaction_id: int
    site: str
    counter: str
    wall_start_s: float
    type: str
    rule: str
    phrase: str
    evidence: str
    start_s: float
    end_s: float
    speaker: str
    confidence: float
    review_state: str
    review_note: str
    reviewed_s: float | None
    reviewed_by: str | None
    #: The rule's severity when the flag was made, the rulebook's Chinese name of the rule, and
    #: why the flag has its confidence ([{"kind": match|speaker|audio, "value", "text"}]).
    severity: str = ""
    rule_label: str = ""
    confidence_reasons: list[dict] = field(default_factory=list)
    #: ``uncertain`` (待确认): below CERTAIN_CONFIDENCE and not reviewed yet; else ``certain``.
    certainty: str = "certain"


def certainty_of(confidence: float, review_state: str) -> str:
    return "uncertain" if confidence < CERTAIN_CONFIDENCE and review_state == "open" else "certain"


_UNCERTAIN = and_(Flag.confidence < CERTAIN_CONFIDENCE, Flag.review_state == "open")


@dataclass(frozen=True)
class SegmentView:
    id: int
    start_s: float
    end_s: float
    speaker: str
    speaker_confidence: float
    text: str


@dataclass(frozen=True)
class InteractionView:
    id: int
    site: str
    counter: str
    counter_id: int
    staff: str | None
    wall_start_s: float
    wall_end_s: float
    sample_rate_hz: int
    channels: int
    rulebook_version: str
    duration_s: float
    analyzed_s: float | None
    rating: str | None
    #: False: the recogniser could not follow the speech (无法判定), with the reason; such an
    #: interaction has no courtesy flags and counts in no score.
    assessable: bool = True
    assessable_reason: str = ""
    signals: dict = field(default_factory=dict)
    segments: list[SegmentView] = field(default_factory=list)
    flags: list[FlagView] = field(default_factory=list)


def _flag_query() -> Select:
    reviewer = aliased(User)
    return (select(Flag, Interaction.wall_start_s, Counter.name, Site.name, reviewer.name)
            .join(Interaction, Flag.interaction_id == Interaction.id)
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
            .outerjoin(reviewer, Flag.reviewed_by == reviewer.id))


def _one_flag(f: Flag, *, site: str, counter: str, wall_start_s: float, reviewer: str | None,
              show: Callable[[str], str], labels: Mapping[str, str]) -> FlagView:
    reasons = [{**r, "text": show(str(r.get("text", "")))} for r in (f.confidence_reasons or [])]
    return FlagView(id=f.id, interaction_id=f.interaction_id, site=site, counter=counter, wall_start_s=wall_start_s,
                    type=f.type, rule=f.rule, phrase=show(f.phrase), evidence=show(f.evidence), start_s=f.start_s,
                    end_s=f.end_s, speaker=f.speaker, confidence=f.confidence, review_state=f.review_state,
                    review_note=f.review_note, reviewed_s=f.reviewed_s, reviewed_by=reviewer, severity=f.severity,
                    rule_label=labels.get(f.rule, f.rule), confidence_reasons=reasons,
                    certainty=certainty_of(f.confidence, f.review_state))


def _flag_view(row: tuple, show: Callable[[str], str] = _identity, labels: Mapping[str, str] | None = None) -> FlagView:
    f, wall_start_s, counter, site, reviewer = row
    return _one_flag(f, site=site, counter=counter, wall_start_s=wall_start_s, reviewer=reviewer, show=show,
                     labels=labels or {})


def list_flags(db: Session, user: Principal | None, *, rule: str | None = None, site: str | None = None,
               counter: str | None = None, review_state: str | None = None, type: str | None = None,  # noqa: A002
               certainty: str | None = None, limit: int = 200,
               rule_labels: Mapping[str, str] | None = None) -> list[FlagView]:
    """Flags newest interaction first; ``user`` None: every site (the operator CLI).
    ``certainty``: ``uncertain`` (待确认: below CERTAIN_CONFIDENCE and still open) or
    ``certain`` (the rest); ``rule_labels``: rule id to the rulebook's Chinese name."""
    if user is not None:
        check_site(user, site)
    q = _flag_query().order_by(Interaction.wall_start_s.desc(), Flag.start_s, Flag.id).limit(limit)
    if user is not None and user.sites:
        q = q.where(Site.name.in_(user.sites))
    for col, value in ((Flag.rule, rule), (Counter.name, counter), (Site.name, site),
                       (Flag.review_state, review_state), (Flag.type, type)):
        if value is not None:
            q = q.where(col == value)
    if certainty is not None:
        q = q.where(_UNCERTAIN if certainty == "uncertain" else not_(_UNCERTAIN))
    show = pii.for_role(user.role) if user is not None else _identity
    return [_flag_view(r, show, rule_labels) for r in db.execute(q)]


def visible_flag(db: Session, user: Principal, flag_id: int, *, rule_labels: Mapping[str, str] | None = None) -> FlagView:
    q = _flag_query().where(Flag.id == flag_id)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    row = db.execute(q).first()
    if row is None:
        raise FlagNotFound(flag_id)
    return _flag_view(tuple(row), pii.for_role(user.role), rule_labels)


def review_flag(engine: Engine, user: Principal, flag_id: int, *, state: str, note: str,
                rule_labels: Mapping[str, str] | None = None) -> FlagView:
    """Confirm or dismiss a flag; the reviewer and the time are recorded (a later review replaces
    the earlier one; the audit log keeps both).

    Raises:
        FlagNotFound: no such flag in the user's sites.
    """
    with write_session(engine) as s:
        visible_flag(s, user, flag_id)
        f = s.get(Flag, flag_id)
        assert f is not None
        f.review_state, f.review_note, f.reviewed_by, f.reviewed_s = state, note, user.id, now_s()
    with read_session(engine) as s:
        return visible_flag(s, user, flag_id, rule_labels=rule_labels)


def visible_interaction(db: Session, user: Principal, interaction_id: int) -> tuple[Interaction, str, str]:
    """(interaction, site name, counter name).

    Raises:
        InteractionNotFound: no such interaction, or it is another site's.
    """
    row = db.execute(select(Interaction, Site.name, Counter.name)
                     .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
                     .where(Interaction.id == interaction_id)).first()
    if row is None or not user.can_see(row[1]):
        raise InteractionNotFound(interaction_id)
    return row[0], row[1], row[2]


def _view(db: Session, inter: Interaction, site: str, counter: str, show: Callable[[str], str],
          labels: Mapping[str, str] | None = None) -> InteractionView:
    sess = db.get(RecordingSession, inter.session_id)
    staff = db.scalar(select(Staff.name).where(Staff.id == inter.staff_id)) if inter.staff_id else None
    rating = db.scalar(select(rating_of()).where(Interaction.id == inter.id))
    return InteractionView(
        id=inter.id, site=site, counter=counter, counter_id=inter.counter_id, staff=staff,
        wall_start_s=inter.wall_start_s, wall_end_s=inter.wall_end_s, duration_s=inter.wall_end_s - inter.wall_start_s,
        sample_rate_hz=sess.sample_rate_hz if sess else 0, channels=sess.channels if sess else 0,
        rulebook_version=inter.rulebook_version, analyzed_s=inter.analyzed_s, rating=rating,
        assessable=inter.assessable, assessable_reason=inter.assessable_reason, signals=dict(inter.signals or {}),
        segments=[SegmentView(g.id, g.start_s, g.end_s, g.speaker, g.speaker_confidence, show(g.text))
                  for g in inter.segments],
        flags=[_one_flag(f, site=site, counter=counter, wall_start_s=inter.wall_start_s, reviewer=None, show=show,
                         labels=labels or {}) for f in inter.flags])


def interaction_detail(db: Session, user: Principal, interaction_id: int, *,
                       rule_labels: Mapping[str, str] | None = None) -> InteractionView:
    """One interaction: its counter, staff, times, rating, transcript and flags with their review.

    Raises:
        InteractionNotFound: no such interaction in the user's sites.
    """
    inter, site, counter = visible_interaction(db, user, interaction_id)
    return _view(db, inter, site, counter, pii.for_role(user.role), rule_labels)


def recent_interactions(engine: Engine, *, site: str | None = None, counter: str | None = None,
                        limit: int = 20) -> list[InteractionView]:
    """The newest analysed interactions of every site, with transcript and flags (operator CLI)."""
    stmt = (select(Interaction, Counter.name, Site.name).join(Counter, Interaction.counter_id == Counter.id)
            .join(Site, Counter.site_id == Site.id).order_by(Interaction.wall_start_s.desc()).limit(limit))
    if site:
        stmt = stmt.where(Site.name == site)
    if counter:
        stmt = stmt.where(Counter.name == counter)
    with read_session(engine) as s:
        return [_view(s, inter, site_name, counter_name, _identity)
                for inter, counter_name, site_name in s.execute(stmt).all()]


@dataclass(frozen=True)
class InteractionSummary:
    """One row of the interaction list (no transcript)."""

    id: int
    site: str
    counter: str
    wall_start_s: float
    wall_end_s: float
    rulebook_version: str
    assessable: bool
    assessable_reason: str
    flags: int


def list_interactions(db: Session, user: Principal, *, site: str | None = None, counter: str | None = None,
                      assessable: bool | None = None, since_s: float | None = None, until_s: float | None = None,
                      limit: int = 200) -> list[InteractionSummary]:
    """Analysed interactions of the user's sites, newest first; ``assessable=False``: the ones
    marked 无法判定, with why.

    Raises:
        SiteForbidden: ``site`` is not one of the user's.
    """
    from sqlalchemy import func

    check_site(user, site)
    n_flags = select(func.count(Flag.id)).where(Flag.interaction_id == Interaction.id).scalar_subquery()
    q = (select(Interaction, Site.name, Counter.name, n_flags).join(Counter, Interaction.counter_id == Counter.id)
         .join(Site, Counter.site_id == Site.id).where(Interaction.analyzed_s.is_not(None))
         .order_by(Interaction.wall_start_s.desc(), Interaction.id.desc()).limit(limit))
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    for col, value in ((Site.name, site), (Counter.name, counter), (Interaction.assessable, assessable)):
        if value is not None:
            q = q.where(col == value)
    if since_s is not None:
        q = q.where(Interaction.wall_start_s >= since_s)
    if until_s is not None:
        q = q.where(Interaction.wall_start_s < until_s)
    return [InteractionSummary(id=i.id, site=site_name, counter=counter_name, wall_start_s=i.wall_start_s,
                               wall_end_s=i.wall_end_s, rulebook_version=i.rulebook_version, assessable=i.assessable,
                               assessable_reason=i.assessable_reason, flags=int(n or 0))
            for i, site_name, counter_name, n in db.execute(q)]
