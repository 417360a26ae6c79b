"""Interactions and their flags, as the console and the operator CLI read them, and the review
of a flag (confirm or dismiss, with a note).

Site scope: a :class:`~services.accounts.Principal` sees the interactions of its sites only; an
interaction or flag of another site reads as missing (:class:`InteractionNotFound`), so ids do
not tell what exists elsewhere. Viewers get personal numbers masked (:func:`domain.pii.for_role`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ScalarSelect, Select, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from domain import pii
from domain.chunks import late_label
from domain.errors import Forbidden, Invalid, NotFound
from domain.vocab import flag_uncertain
from services.accounts import Principal
from services.dictionary import RuleInfo, severity_of
from services.filters import Filters, apply, certainty_is
from services.names import counter_label, site_label
from storage.engine import read_session, write_session
from storage.queries import rating_of
from storage.tables import Chunk, Counter, Flag, FlagReviewNote, Interaction, RecordingSession, Segment, Site, Staff, User, now_s
from transcribe.quality import signals_text

#: Flags reviewed in one bulk request at most.
MAX_BULK_FLAGS = 500


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
    """A flag with where it was found and its review; ``rule_label`` and ``severity`` from the
    rulebook the API judges by (the stored severity first), labels as people read them."""

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
    rule_label: str = ""
    severity: str = ""
    #: why the flag has its confidence ([{"kind": match|speaker|audio, "value", "text"}])
    confidence_reasons: list = field(default_factory=list)
    site_label: str = ""
    counter_label: str = ""
    staff: str | None = None
    assessable: bool = True
    #: ``uncertain`` (待确认, domain.vocab.flag_uncertain) or ``certain``
    certainty: str = "certain"
    #: the rulebook version that raised it; when, and by which version, it was superseded (a
    #: later analysis no longer raised it: kept with its review, counted nowhere; issue 18)
    rulebook_version: str = ""
    superseded_s: float | None = None
    superseded_by: str = ""
    #: the transcript correction whose text raised it (None: the recognised text did; issue 20 item 5)
    correction_id: int | None = None


def certainty_of(confidence: float, review_state: str) -> str:
    return "uncertain" if flag_uncertain(review_state, confidence) else "certain"


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
    site_label: str
    counter_label: str
    timezone: str
    assessable: bool
    assessable_reason: str
    staff: str | None
    wall_start_s: float
    wall_end_s: float
    sample_rate_hz: int
    channels: int
    rulebook_version: str
    duration_s: float
    analyzed_s: float | None
    rating: str | None
    segments: list[SegmentView] = field(default_factory=list)
    flags: list[FlagView] = field(default_factory=list)
    #: what the 无法判定 verdict was measured from (estimated SNR, log-probability, characters per
    #: voiced second, ...; issue 14)
    signals: dict = field(default_factory=dict)
    #: the same signals as numbers in words (the tooltip of the 无法判定 reason; issue 20)
    signals_text: str = ""
    #: The server's clock (issue 18): how long after its claimed end its audio reached the
    #: server (the latest chunk), and the label people read (补传, by how long; "" on time).
    late_s: float = 0.0
    late_label: str = ""


def _flag_query() -> Select:
    reviewer = aliased(User)
    return (select(Flag, Interaction.wall_start_s, Counter.name, Site.name, reviewer.name, Counter.display_name,
                   Site.title, Staff.name, Interaction.assessable)
            .join(Interaction, Flag.interaction_id == Interaction.id)
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
            .outerjoin(Staff, Interaction.staff_id == Staff.id)
            .outerjoin(reviewer, Flag.reviewed_by == reviewer.id))


def flag_view(f: Flag, *, site: str, counter: str, wall_start_s: float, rules: dict[str, RuleInfo] | None,
              show: Callable[[str], str] = _identity, reviewer: str | None = None, site_title: str = "",
              counter_display: str = "", staff: str | None = None, assessable: bool = True) -> FlagView:
    info = (rules or {}).get(f.rule)
    return FlagView(id=f.id, interaction_id=f.interaction_id, site=site, counter=counter, wall_start_s=wall_start_s,
                    type=f.type, rule=f.rule, phrase=show(f.phrase), evidence=show(f.evidence), start_s=f.start_s,
                    end_s=f.end_s, speaker=f.speaker, confidence=f.confidence, review_state=f.review_state,
                    review_note=f.review_note, reviewed_s=f.reviewed_s, reviewed_by=reviewer,
                    rule_label=info.label if info else f.rule,
                    severity=severity_of(rules or {}, f.rule, f.severity) if f.type != "missing_courtesy" else (f.severity or ""),
                    confidence_reasons=[{**r, "text": show(str(r.get("text", "")))} for r in (f.confidence_reasons or [])],
                    site_label=site_label(site, site_title), counter_label=counter_label(counter, counter_display),
                    staff=staff, assessable=assessable, certainty=certainty_of(f.confidence, f.review_state),
                    rulebook_version=f.rulebook_version or "", superseded_s=f.superseded_s,
                    superseded_by=f.superseded_by or "", correction_id=f.correction_id)


def _flag_view(row: tuple, show: Callable[[str], str] = _identity, rules: dict[str, RuleInfo] | None = None) -> FlagView:
    f, wall_start_s, counter, site, reviewer, counter_display, site_title, staff, assessable = row
    return flag_view(f, site=site, counter=counter, wall_start_s=wall_start_s, rules=rules, show=show, reviewer=reviewer,
                     site_title=site_title, counter_display=counter_display, staff=staff, assessable=assessable)


@dataclass(frozen=True)
class FlagPage:
    total: int
    items: list[FlagView]


def list_flags(db: Session, user: Principal | None, *, rule: str | None = None, site: str | None = None,
               counter: str | None = None, review_state: str | None = None, type: str | None = None,  # noqa: A002
               limit: int = 200, certainty: str | None = None, filters: Filters | None = None, offset: int = 0,
               rules: dict[str, RuleInfo] | None = None) -> list[FlagView]:
    """Flags newest interaction first; ``user`` None: every site (the operator CLI).
    ``certainty``: ``uncertain`` (below CERTAIN_CONFIDENCE: the 待确认 tab) or ``certain``;
    ``filters``: the recordings' filters (services.filters) on the flags' interactions."""
    return flag_page(db, user, rule=rule, site=site, counter=counter, review_state=review_state, type=type, limit=limit,
                     certainty=certainty, filters=filters, offset=offset, rules=rules, count=False).items


def flag_page(db: Session, user: Principal | None, *, rule: str | None = None, site: str | None = None,
              counter: str | None = None, review_state: str | None = None, type: str | None = None,  # noqa: A002
              limit: int = 200, certainty: str | None = None, filters: Filters | None = None, offset: int = 0,
              rules: dict[str, RuleInfo] | None = None, count: bool = True) -> FlagPage:
    """:func:`list_flags` with the total of matching flags (``count``)."""
    f = filters or Filters()
    if user is not None:
        check_site(user, site)
        check_site(user, f.site)
    f.check()
    # The review lists show live findings; a superseded one stays on its interaction (issue 18).
    q = apply(_flag_query(), f, flags=False).where(Flag.superseded_s.is_(None))
    if user is not None and user.sites:
        q = q.where(Site.name.in_(user.sites))
    for col, value in ((Flag.rule, rule or f.rule), (Site.name, site), (Flag.review_state, review_state or f.review_state),
                       (Flag.type, type)):
        if value is not None:
            q = q.where(col == value)
    if counter is not None:
        q = q.where(Counter.name == counter)
    if certainty is not None:
        q = q.where(certainty_is(certainty))
    total = db.execute(select(func.count()).select_from(q.with_only_columns(Flag.id).subquery())).scalar_one() \
        if count else 0
    q = q.order_by(Interaction.wall_start_s.desc(), Flag.start_s, Flag.id).offset(offset).limit(limit)
    show = pii.for_role(user.role) if user is not None else _identity
    return FlagPage(total, [_flag_view(tuple(r), show, rules) for r in db.execute(q)])


def visible_flag(db: Session, user: Principal, flag_id: int, rules: dict[str, RuleInfo] | None = None) -> FlagView:
    q = _flag_query().where(Flag.id == flag_id)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    row = db.execute(q).first()
    if row is None:
        raise FlagNotFound(flag_id)
    return _flag_view(tuple(row), pii.for_role(user.role), rules)


def review_flag(engine: Engine, user: Principal, flag_id: int, *, state: str, note: str,
                rules: dict[str, RuleInfo] | None = None) -> FlagView:
    """Confirm or dismiss a flag; the reviewer and the time are recorded (a later review replaces
    the earlier one; the audit log keeps both).

    Raises:
        FlagNotFound: no such flag in the user's sites.
    """
    return review_flags(engine, user, [flag_id], state=state, note=note, rules=rules)[0]


def review_flags(engine: Engine, user: Principal, flag_ids: list[int], *, state: str, note: str,
                 rules: dict[str, RuleInfo] | None = None) -> list[FlagView]:
    """Confirm or dismiss several flags with one note, all or none (one transaction).

    Raises:
        Invalid ``no_flags`` / ``too_many_flags``; FlagNotFound: one of them is not in the user's
        sites (then none is changed).
    """
    ids = list(dict.fromkeys(flag_ids))
    if not ids:
        raise Invalid("flags", "no flag ids given", code="no_flags")
    if len(ids) > MAX_BULK_FLAGS:
        raise Invalid("flags", f"at most {MAX_BULK_FLAGS} flags at once", code="too_many_flags")
    with write_session(engine) as s:
        at = now_s()
        for flag_id in ids:
            visible_flag(s, user, flag_id)
            f = s.get(Flag, flag_id)
            assert f is not None
            f.review_state, f.review_note, f.reviewed_by, f.reviewed_s = state, note, user.id, at
            s.add(FlagReviewNote(interaction_id=f.interaction_id, flag_id=f.id, flag_rule=f.rule,
                                 flag_start_s=f.start_s, state=state, note=note, user_id=user.id, at_s=at))
            if state == "confirmed" and f.severity == "high":     # a confirmed serious finding is supervised
                from services.workorders import open_for_finding

                open_for_finding(s, f, who=user.name, now=at)
    with read_session(engine) as s:
        return [visible_flag(s, user, flag_id, rules) for flag_id in ids]


@dataclass(frozen=True)
class ReviewNoteView:
    state: str
    note: str
    by: str | None
    at_s: float


def review_history(db: Session, user: Principal, flag_id: int) -> list[ReviewNoteView]:
    """Every review of the flag, oldest first, with its note (the flag's row keeps only the last).

    Raises:
        FlagNotFound: not in the user's sites.
    """
    f = visible_flag(db, user, flag_id)
    rows = db.execute(select(FlagReviewNote, User.name).outerjoin(User, FlagReviewNote.user_id == User.id)
                      .where(FlagReviewNote.interaction_id == f.interaction_id,
                             (FlagReviewNote.flag_id == flag_id)
                             | ((FlagReviewNote.flag_rule == f.rule) & (func.abs(FlagReviewNote.flag_start_s - f.start_s) < 0.5)))
                      .order_by(FlagReviewNote.at_s, FlagReviewNote.id)).all()
    show = pii.for_role(user.role)
    return [ReviewNoteView(r.state, show(r.note), name, r.at_s) for r, name in rows]


def _check_visible(user: Principal, interaction_id: int, site: str | None, staff_id: int | None) -> None:
    """The one rule of who sees an interaction: its site is the user's, and for a staff member
    it is their own. Raises InteractionNotFound otherwise (``site`` None: no such interaction)."""
    if site is None or not user.can_see(site) or (user.role == "staff" and staff_id != user.staff_id):
        raise InteractionNotFound(interaction_id)


def visible_interaction(db: Session, user: Principal, interaction_id: int) -> tuple[Interaction, str, str]:
    """(interaction, site name, counter name).

    Raises:
        InteractionNotFound: no such interaction, or it is another site's (for a staff member:
            not their own).
    """
    row = db.execute(select(Interaction, Site.name, Counter.name)
                     .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
                     .where(Interaction.id == interaction_id)).first()
    _check_visible(user, interaction_id, row[1] if row else None, row[0].staff_id if row else None)
    assert row is not None
    return row[0], row[1], row[2]


def _late_s() -> ScalarSelect:
    """How long after their claimed end the interaction's chunks reached the server (the latest;
    NULL: none), correlated to ``Interaction``."""
    end = Chunk.wall_start_s + Chunk.samples * 1.0 / Chunk.sample_rate_hz
    return (select(func.max(Chunk.stored_s - end)).where(
        Chunk.session_id == Interaction.session_id, Chunk.start_sample < Interaction.end_sample,
        Chunk.start_sample + Chunk.samples > Interaction.start_sample).correlate(Interaction).scalar_subquery())


def _detail_query() -> Select:
    """An interaction with all a view shows of it but its lines and flags, in one row: its
    counter and site, its session's format, its staff, rating and lateness."""
    return (select(Interaction, Counter, Site, RecordingSession.sample_rate_hz, RecordingSession.channels,
                   Staff.name, rating_of(), _late_s())
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
            .outerjoin(RecordingSession, Interaction.session_id == RecordingSession.id)
            .outerjoin(Staff, Interaction.staff_id == Staff.id))


def _view(db: Session, row: tuple, show: Callable[[str], str], rules: dict[str, RuleInfo] | None = None
          ) -> InteractionView:
    """The view of a :func:`_detail_query` row; its lines and its flags (with their reviewers)
    read in one query each."""
    inter, c, st, rate, channels, staff, rating, late = row
    site, counter = st.name, c.name
    segments = db.execute(select(Segment.id, Segment.start_s, Segment.end_s, Segment.speaker,
                                 Segment.speaker_confidence, Segment.text)
                          .where(Segment.interaction_id == inter.id).order_by(Segment.start_s, Segment.id)).all()
    flags = db.execute(select(Flag, User.name).outerjoin(User, Flag.reviewed_by == User.id)
                       .where(Flag.interaction_id == inter.id).order_by(Flag.start_s, Flag.id)).all()
    late = max(float(late or 0.0), 0.0)
    return InteractionView(
        id=inter.id, site=site, counter=counter, counter_id=inter.counter_id, site_label=site_label(site, st.title),
        counter_label=counter_label(counter, c.display_name), timezone=st.timezone, assessable=inter.assessable,
        signals=dict(inter.signals or {}), signals_text=signals_text(inter.signals or {}),
        assessable_reason=inter.assessable_reason, staff=staff,
        wall_start_s=inter.wall_start_s, wall_end_s=inter.wall_end_s, duration_s=inter.wall_end_s - inter.wall_start_s,
        sample_rate_hz=rate or 0, channels=channels or 0,
        rulebook_version=inter.rulebook_version, analyzed_s=inter.analyzed_s, rating=rating,
        late_s=late, late_label=late_label(late),
        segments=[SegmentView(g.id, g.start_s, g.end_s, g.speaker, g.speaker_confidence, show(g.text))
                  for g in segments],
        flags=[flag_view(f, site=site, counter=counter, wall_start_s=inter.wall_start_s, rules=rules, show=show,
                         reviewer=reviewer if f.reviewed_by else None, site_title=st.title,
                         counter_display=c.display_name, staff=staff, assessable=inter.assessable)
               for f, reviewer in flags])


def interaction_detail(db: Session, user: Principal, interaction_id: int,
                       rules: dict[str, RuleInfo] | None = None) -> InteractionView:
    """One interaction: its counter, staff, times, rating, transcript and flags with their review
    (three queries: the interaction with what it refers to, its lines, its flags).

    Raises:
        InteractionNotFound: no such interaction in the user's sites.
    """
    row = db.execute(_detail_query().where(Interaction.id == interaction_id)).first()
    _check_visible(user, interaction_id, row[2].name if row else None, row[0].staff_id if row else None)
    assert row is not None
    return _view(db, tuple(row), pii.for_role(user.role), rules)


def recent_interactions(engine: Engine, *, site: str | None = None, counter: str | None = None,
                        limit: int = 20) -> list[InteractionView]:
    """The newest analysed interactions of every site, with transcript and flags (operator CLI)."""
    stmt = _detail_query().order_by(Interaction.wall_start_s.desc()).limit(limit)
    if site:
        stmt = stmt.where(Site.name == site)
    if counter:
        stmt = stmt.where(Counter.name == counter)
    with read_session(engine) as s:
        return [_view(s, tuple(row), _identity) for row in s.execute(stmt).all()]
