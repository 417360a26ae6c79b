"""The score of one interaction (单次服务得分) and what made it, the one definition the recording
page, the lists, the staff's own page and the monthly report all use.

An interaction is judged (scored) unless it is 无法判定: the supervisor's verdict
(:class:`~storage.tables.InteractionOverride`, newest first) outranks the recogniser's. A judged
interaction starts at ``SCORE_FULL`` (100) and loses, down to 0:

- per counted forbidden phrase, the points of its rule's severity (``SEVERITY_POINTS``: high 30,
  medium 15, low 5), and per other finding (missing courtesy word, audio rule)
  ``MISSING_COURTESY_POINTS`` (10) once per rule;
- the same for each finding a supervisor added by hand (:class:`~storage.tables.ManualFinding`,
  unless withdrawn).

A machine flag counts when confirmed, or when certain and not dismissed
(``domain.vocab.flag_counts``); a staff member's appeal, once ruled, is the final word on its
flag (upheld: confirmed, overturned: dismissed), whatever re-analysis wrote into the flag's row.
达标 (``domain.vocab.SCORE_PASS``): a judged interaction scoring 90 or more; 达标率 is the share of
judged interactions that are 达标, and a staff member's or counter's month score is the mean of
their judged interactions' scores.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.vocab import MISSING_COURTESY_POINTS, SCORE_FULL, SCORE_PASS, SEVERITY_POINTS, flag_counts, flag_uncertain
from services.dictionary import RuleInfo, severity_of
from storage.engine import id_parts
from storage.tables import Appeal, Flag, Interaction, InteractionOverride, ManualFinding

#: A re-made flag is the appealed one when it has the same rule and starts this close to it.
SAME_FLAG_S = 0.5


@dataclass(frozen=True)
class FlagFacts:
    id: int
    type: str
    rule: str
    review_state: str
    confidence: float
    severity: str
    start_s: float


@dataclass(frozen=True)
class Deduction:
    """Points one finding took off: ``source`` machine (an unreviewed certain flag), review
    (confirmed by a reviewer), appeal (upheld on appeal) or manual (added by a supervisor)."""

    source: str
    type: str
    rule: str
    rule_label: str
    points: int
    flag_id: int | None = None
    manual_id: int | None = None


@dataclass(frozen=True)
class ScoreBreakdown:
    interaction_id: int
    #: 0-100; None: 无法判定 (counts in no score)
    score: float | None
    #: 达标: score >= SCORE_PASS; None when not judged
    passed: bool | None
    assessable: bool
    #: ``machine`` (the recogniser's verdict) or ``supervisor`` (an override)
    assessable_by: str
    assessable_reason: str
    deductions: list[Deduction] = field(default_factory=list)
    machine_counted: int = 0       # certain flags nobody reviewed, counted
    confirmed: int = 0             # confirmed by a reviewer (or upheld on appeal)
    dismissed: int = 0             # dismissed by a reviewer (or overturned on appeal)
    uncertain: int = 0             # 待确认: not counted until confirmed
    manual: int = 0                # findings added by hand, in force
    appeals_open: int = 0
    appeals_upheld: int = 0
    appeals_overturned: int = 0


@dataclass(frozen=True)
class Decisions:
    """What people decided about one interaction, from the tables of their own."""

    override: InteractionOverride | None = None
    manual: list[ManualFinding] = field(default_factory=list)
    appeals: list[Appeal] = field(default_factory=list)


def appeal_of(flag: FlagFacts, appeals: Iterable[Appeal]) -> Appeal | None:
    """The appeal about ``flag``: by its id, else (a re-made flag) by rule and start."""
    appeals = list(appeals)
    for a in appeals:
        if a.flag_id == flag.id:
            return a
    for a in appeals:
        if a.flag_rule == flag.rule and abs(a.flag_start_s - flag.start_s) <= SAME_FLAG_S:
            return a
    return None


def effective_state(flag: FlagFacts, appeals: Iterable[Appeal]) -> tuple[str, str]:
    """(review state, why): the ruling on the flag's appeal, else its own review state."""
    a = appeal_of(flag, appeals)
    if a is not None and a.state == "upheld":
        return "confirmed", "appeal"
    if a is not None and a.state == "overturned":
        return "dismissed", "appeal"
    return flag.review_state, "review" if flag.review_state != "open" else "machine"


def counts(flag: FlagFacts, appeals: Iterable[Appeal]) -> bool:
    """Whether ``flag`` counts against its staff member after every ruling."""
    state, _ = effective_state(flag, appeals)
    return flag_counts(state, flag.confidence)


def breakdown(*, interaction_id: int, assessable: bool, assessable_reason: str, flags: list[FlagFacts],
              decisions: Decisions, rules: dict[str, RuleInfo]) -> ScoreBreakdown:
    """The interaction's score and what made it (see the module's doc)."""
    by = "machine"
    if decisions.override is not None:
        assessable, assessable_reason, by = decisions.override.assessable, decisions.override.reason, "supervisor"

    def label(rule: str) -> str:
        return rules[rule].label if rule in rules else rule

    deductions: list[Deduction] = []
    tally: dict[str, int] = defaultdict(int)
    per_rule: set[str] = set()
    for f in flags:
        state, why = effective_state(f, decisions.appeals)
        if flag_uncertain(state, f.confidence):
            tally["uncertain"] += 1
            continue
        if state == "dismissed":
            tally["dismissed"] += 1
            continue
        if not flag_counts(state, f.confidence):
            continue
        tally["machine_counted" if why == "machine" else "confirmed"] += 1
        source = {"machine": "machine", "review": "review", "appeal": "appeal"}[why]
        if f.type == "forbidden":
            deductions.append(Deduction(source, f.type, f.rule, label(f.rule),
                                        SEVERITY_POINTS[severity_of(rules, f.rule, f.severity)], flag_id=f.id))
        elif f.rule not in per_rule:
            per_rule.add(f.rule)
            deductions.append(Deduction(source, f.type, f.rule, label(f.rule), MISSING_COURTESY_POINTS, flag_id=f.id))
    for m in decisions.manual:
        if m.withdrawn_s is not None:
            continue
        tally["manual"] += 1
        if m.type == "forbidden":
            deductions.append(Deduction("manual", m.type, m.rule, label(m.rule),
                                        SEVERITY_POINTS[severity_of(rules, m.rule, m.severity)], manual_id=m.id))
        elif m.rule not in per_rule:
            per_rule.add(m.rule)
            deductions.append(Deduction("manual", m.type, m.rule, label(m.rule), MISSING_COURTESY_POINTS,
                                        manual_id=m.id))
    for a in decisions.appeals:
        tally[f"appeals_{a.state}"] += 1
    score = float(max(0, SCORE_FULL - sum(d.points for d in deductions))) if assessable else None
    return ScoreBreakdown(
        interaction_id=interaction_id, score=score, passed=None if score is None else score >= SCORE_PASS,
        assessable=assessable, assessable_by=by, assessable_reason=assessable_reason,
        deductions=deductions if assessable else [], machine_counted=tally["machine_counted"],
        confirmed=tally["confirmed"], dismissed=tally["dismissed"], uncertain=tally["uncertain"], manual=tally["manual"],
        appeals_open=tally["appeals_open"], appeals_upheld=tally["appeals_upheld"],
        appeals_overturned=tally["appeals_overturned"])


def decisions_for(db: Session, interaction_ids: list[int]) -> dict[int, Decisions]:
    """Overrides (the newest), manual findings and appeals of these interactions, by id."""
    if not interaction_ids:
        return {}
    override: dict[int, InteractionOverride] = {}
    manual: dict[int, list[ManualFinding]] = defaultdict(list)
    appeals: dict[int, list[Appeal]] = defaultdict(list)
    for ids in id_parts(interaction_ids):
        for o in db.scalars(select(InteractionOverride).where(InteractionOverride.interaction_id.in_(ids))
                            .order_by(InteractionOverride.at_s, InteractionOverride.id)):
            override[o.interaction_id] = o
        for m in db.scalars(select(ManualFinding).where(ManualFinding.interaction_id.in_(ids))
                            .order_by(ManualFinding.at_s, ManualFinding.id)):
            manual[m.interaction_id].append(m)
        for a in db.scalars(select(Appeal).where(Appeal.interaction_id.in_(ids)).order_by(Appeal.id)):
            appeals[a.interaction_id].append(a)
    return {i: Decisions(override.get(i), manual.get(i, []), appeals.get(i, [])) for i in interaction_ids}


def flag_facts(f: Flag) -> FlagFacts:
    return FlagFacts(f.id, f.type, f.rule, f.review_state, f.confidence, f.severity or "", f.start_s)


def counting_flags(db: Session, interaction_ids: list[int]) -> dict[int, list[Flag]]:
    """The flags of these interactions that a score counts (a superseded finding, after a
    re-analysis or a transcript correction, keeps its review and counts nowhere), in time order."""
    flags: dict[int, list[Flag]] = defaultdict(list)
    for ids in id_parts(interaction_ids):
        for f in db.scalars(select(Flag).where(Flag.interaction_id.in_(ids), Flag.superseded_s.is_(None))
                            .order_by(Flag.start_s, Flag.id)):
            flags[f.interaction_id].append(f)
    return flags


def scores_of(db: Session, heads: dict[int, tuple[bool, str]], flags: dict[int, list[Flag]],
              rules: dict[str, RuleInfo]) -> dict[int, ScoreBreakdown]:
    """The breakdown of each interaction of ``heads`` (id: its assessable and reason), from its
    :func:`counting_flags` already read, and its decisions."""
    decisions = decisions_for(db, list(heads))
    return {i: breakdown(interaction_id=i, assessable=ok, assessable_reason=why,
                         flags=[flag_facts(f) for f in flags.get(i, ())], decisions=decisions[i], rules=rules)
            for i, (ok, why) in heads.items()}


def scores_for(db: Session, interaction_ids: list[int], rules: dict[str, RuleInfo]) -> dict[int, ScoreBreakdown]:
    """The breakdown of each of these interactions, read in a few queries."""
    if not interaction_ids:
        return {}
    found: dict[int, tuple[bool, str]] = {}
    for ids in id_parts(interaction_ids):
        for iid, ok, why in db.execute(select(Interaction.id, Interaction.assessable, Interaction.assessable_reason)
                                       .where(Interaction.id.in_(ids))):
            found[iid] = (ok, why)
    heads = {i: found[i] for i in interaction_ids if i in found}
    return scores_of(db, heads, counting_flags(db, interaction_ids), rules)
