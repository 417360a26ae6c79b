"""A supervisor's word over the recogniser's (issue 19 item 4): mark an interaction 可判定 or
无法判定 with a reason, and add a finding by hand at a time in the recording (人工发现), or
withdraw one. Each is a row of its own keyed by the interaction's id
(:class:`~storage.tables.InteractionOverride`, :class:`~storage.tables.ManualFinding`), never a
change to the rows re-analysis rewrites, so both survive it; both change the score
(:mod:`services.scoring`); the API audits both.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import Invalid, NotFound
from domain.vocab import SEVERITIES
from services.accounts import Principal
from services.dictionary import RuleInfo
from services.interactions import visible_interaction
from storage.engine import write_session
from storage.tables import InteractionOverride, ManualFinding, User, now_s

MAX_REASON_CHARS = 2000
#: The kinds of finding a supervisor may add by hand.
MANUAL_TYPES = ("forbidden", "missing_courtesy")


class ManualFindingNotFound(NotFound):
    code = "manual_finding_not_found"

    def __init__(self, manual_id: int) -> None:
        super().__init__(f"manual finding {manual_id}", "not found", manual_id=manual_id)


@dataclass(frozen=True)
class OverrideView:
    id: int
    interaction_id: int
    assessable: bool
    reason: str
    by: str
    at_s: float


@dataclass(frozen=True)
class ManualFindingView:
    id: int
    interaction_id: int
    type: str
    rule: str
    rule_label: str
    severity: str
    at_s: float
    note: str
    by: str
    created_s: float
    withdrawn_by: str | None
    withdrawn_s: float | None


def _reason(text: str) -> str:
    text = text.strip()
    if not text:
        raise Invalid("reason", "a reason is needed", code="override_reason")
    return text[:MAX_REASON_CHARS]


def set_assessable(engine: Engine, user: Principal, interaction_id: int, *, assessable: bool, reason: str) -> OverrideView:
    """Mark the interaction 可判定 (``assessable``) or 无法判定, with a reason; the newest verdict is
    in force and every earlier one is kept.

    Raises:
        InteractionNotFound: not in the user's sites. Invalid ``override_reason``: no reason.
    """
    reason = _reason(reason)
    with write_session(engine) as s:
        visible_interaction(s, user, interaction_id)
        o = InteractionOverride(interaction_id=interaction_id, assessable=assessable, reason=reason, user_id=user.id,
                                at_s=now_s())
        s.add(o)
        s.flush()
        return OverrideView(o.id, interaction_id, assessable, reason, user.name, o.at_s)


def add_finding(engine: Engine, user: Principal, interaction_id: int, *, type: str, rule: str, at_s: float,  # noqa: A002
                note: str, rules: dict[str, RuleInfo]) -> ManualFindingView:
    """Add a finding by hand at ``at_s`` seconds into the interaction.

    Raises:
        InteractionNotFound: not in the user's sites. Invalid ``manual_rule`` (not a rule of the
        rulebook of that kind), ``manual_time`` (outside the recording), ``override_reason``.
    """
    info = rules.get(rule)
    if type not in MANUAL_TYPES or info is None or info.type != type:
        raise Invalid("rule", f"{rule!r} is not a {type} rule of the rulebook", code="manual_rule")
    note = _reason(note)
    with write_session(engine) as s:
        inter, _, _ = visible_interaction(s, user, interaction_id)
        if not 0 <= at_s <= inter.wall_end_s - inter.wall_start_s + 0.5:
            raise Invalid("at_s", "outside the recording", code="manual_time")
        severity = info.severity if type == "forbidden" and info.severity in SEVERITIES else ""
        m = ManualFinding(interaction_id=interaction_id, type=type, rule=rule, severity=severity, at_s=float(at_s),
                          note=note, created_by=user.id, created_s=now_s())
        s.add(m)
        s.flush()
        return _manual_view(s, m, rules)


def withdraw_finding(engine: Engine, user: Principal, manual_id: int, *, rules: dict[str, RuleInfo]) -> ManualFindingView:
    """Withdraw a finding added by hand: it stays listed (withdrawn) and counts no more.

    Raises:
        ManualFindingNotFound: not in the user's sites, or already withdrawn.
    """
    with write_session(engine) as s:
        m = s.get(ManualFinding, manual_id)
        if m is None:
            raise ManualFindingNotFound(manual_id)
        try:
            visible_interaction(s, user, m.interaction_id)
        except NotFound:
            raise ManualFindingNotFound(manual_id) from None
        if m.withdrawn_s is None:
            m.withdrawn_by, m.withdrawn_s = user.id, now_s()
        s.flush()
        return _manual_view(s, m, rules)


def _names(s: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    return dict(s.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}


def _manual_view(s: Session, m: ManualFinding, rules: dict[str, RuleInfo], names: dict[int, str] | None = None
                 ) -> ManualFindingView:
    names = names if names is not None else _names(s, {m.created_by, m.withdrawn_by})
    info = rules.get(m.rule)
    return ManualFindingView(m.id, m.interaction_id, m.type, m.rule, info.label if info else m.rule, m.severity,
                             m.at_s, m.note, names.get(m.created_by, ""), m.created_s,
                             names.get(m.withdrawn_by) if m.withdrawn_by else None, m.withdrawn_s)


@dataclass(frozen=True)
class Decided:
    """What supervisors decided about one interaction: the verdicts (newest first) and the
    findings added by hand."""

    overrides: list[OverrideView]
    manual: list[ManualFindingView]


def decided(db: Session, interaction_id: int, *, rules: dict[str, RuleInfo]) -> Decided:
    overrides = list(db.scalars(select(InteractionOverride).where(InteractionOverride.interaction_id == interaction_id)
                                .order_by(InteractionOverride.at_s.desc(), InteractionOverride.id.desc())))
    manual = list(db.scalars(select(ManualFinding).where(ManualFinding.interaction_id == interaction_id)
                             .order_by(ManualFinding.at_s, ManualFinding.id)))
    who: set[int | None] = {o.user_id for o in overrides}
    who |= {m.created_by for m in manual} | {m.withdrawn_by for m in manual}
    names = _names(db, who)
    return Decided([OverrideView(o.id, o.interaction_id, o.assessable, o.reason, names.get(o.user_id, ""), o.at_s)
                    for o in overrides], [_manual_view(db, m, rules, names) for m in manual])
