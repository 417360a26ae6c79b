"""The rule test bench: a draft rule or rulebook judged on a period's stored transcripts.

Nothing is changed by a trial: the stored segments, turns and verdicts of each interaction are
judged twice in memory by :class:`transcribe.judge.Judge`, by the rulebook in force and by the
candidate (the draft rulebook, or the rulebook in force with the draft rule added or put in the
place of the rule with its id), and the difference is reported: what the candidate would flag
that is not flagged now, and what it would stop flagging, each with its interaction id (the
console links it to the recording). Applying a candidate stores it as the rulebook in force
(:mod:`services.rulebooks`) and queues the period's interactions for re-analysis at once; the
workers switch at their next sweep and then re-queue every other interaction judged by another
version, as for any rulebook change.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import Conflict, Invalid
from domain.vocab import CHANNEL_MAPS
from services.accounts import Principal
from services.interactions import certainty_of, check_site
from services.rulebooks import current, rule_labels
from storage.engine import write_session
from storage.jobs import analyze_key, enqueue
from storage.tables import Counter, Interaction, RecordingSession, Site, StoredRulebook, now_s
from transcribe.errors import RulebookError
from transcribe.judge import Finding, Judge
from transcribe.rules import Rulebook, parse_rulebook
from transcribe.stored import judge_stored, stored_calls

#: Sections a single draft rule may go into.
SECTIONS = ("forbidden", "required", "audio")
#: A trial judges at most this many interactions (newest first); the answer says if it stopped.
MAX_INTERACTIONS = 5000


class BadPeriod(Invalid):
    code = "bad_period"

    def __init__(self, reason: str) -> None:
        super().__init__("period", reason)


class BadDraft(Invalid):
    code = "bad_draft"

    def __init__(self, reason: str) -> None:
        super().__init__("draft", reason)


class SameVersion(Conflict):
    code = "rulebook_version_in_force"

    def __init__(self, version: str) -> None:
        super().__init__(f"rulebook {version}", "is the version in force or was applied before: bump version",
                         version=version)


@dataclass(frozen=True)
class Draft:
    """What to try: a whole rulebook (``rulebook``, YAML) or one rule (``rule``: the YAML of one
    rule mapping, with the ``section`` it belongs in)."""

    rulebook: str | None = None
    rule: str | None = None
    section: str = "forbidden"


@dataclass(frozen=True)
class BenchFlag:
    """A flag the candidate rulebook would raise (or would stop raising) in a stored interaction:
    the judge's :class:`transcribe.judge.Finding` placed in its interaction, with the names
    :class:`services.interactions.FlagView` gives the same facts. Not a FlagView: it has no flag
    row (no id, no review, no rulebook version) and shows no phrase, speaker or reasons."""

    interaction_id: int
    site: str
    counter: str
    wall_start_s: float
    type: str
    rule: str
    rule_label: str
    evidence: str
    start_s: float
    end_s: float
    confidence: float
    certainty: str


@dataclass(frozen=True)
class RuleDiff:
    rule: str
    rule_label: str
    type: str
    would_flag: int
    would_stop: int
    unchanged: int


@dataclass(frozen=True)
class BenchResult:
    base_version: str
    candidate_version: str
    since_s: float
    until_s: float
    interactions: int
    not_assessable: int
    truncated: bool
    would_flag: list[BenchFlag] = field(default_factory=list)
    would_stop: list[BenchFlag] = field(default_factory=list)
    by_rule: list[RuleDiff] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    version: str
    queued: int
    since_s: float
    until_s: float


def candidate(base: Rulebook, draft: Draft) -> Rulebook:
    """The rulebook to try.

    Raises:
        BadDraft: neither or both of rulebook and rule, an unknown section, a rule that is not one mapping.
        RulebookError: the candidate is not a valid rulebook (file ``draft``, line and field).
    """
    if (draft.rulebook is None) == (draft.rule is None):
        raise BadDraft("give either a whole rulebook or one rule")
    if draft.rulebook is not None:
        return parse_rulebook(draft.rulebook, source="draft")
    if draft.section not in SECTIONS:
        raise BadDraft(f"section must be one of {', '.join(SECTIONS)}")
    try:
        rule = yaml.safe_load(draft.rule or "")
        book = yaml.safe_load(base.text) if base.text else None
    except yaml.YAMLError as e:
        raise BadDraft(f"the rule is not valid YAML: {getattr(e, 'problem', e)}") from e
    if isinstance(rule, list) and len(rule) == 1:
        rule = rule[0]
    if not isinstance(rule, dict) or not isinstance(rule.get("id"), str):
        raise BadDraft("the rule must be one mapping with an id")
    if not isinstance(book, dict):
        raise BadDraft("the rulebook in force has no YAML text to add the rule to")
    _check_rule(draft, book.get("sets"))
    rules = [r for r in (book.get(draft.section) or []) if not (isinstance(r, dict) and r.get("id") == rule["id"])]
    for other in SECTIONS:
        if other != draft.section:
            book[other] = [r for r in (book.get(other) or []) if not (isinstance(r, dict) and r.get("id") == rule["id"])]
    book[draft.section] = rules + [rule]
    stamp = dt.datetime.fromtimestamp(now_s(), dt.UTC).strftime("%Y%m%d%H%M%S")
    book["version"] = f"{base.version}+{rule['id']}.{stamp}"[:100]
    text = yaml.safe_dump(book, allow_unicode=True, sort_keys=False)
    return parse_rulebook(text, source="draft")


def _check_rule(draft: Draft, sets: object) -> None:
    """Parse the one rule on its own, so an error names its own lines ("rule.phrases", line 2)."""
    head = yaml.safe_dump({"version": "draft", "sets": sets}, allow_unicode=True) if sets else "version: draft\n"
    head += f"{draft.section}:\n"
    body = "".join(f"  - {line}\n" if k == 0 else f"    {line}\n"
                   for k, line in enumerate((draft.rule or "").strip("\n").splitlines()))
    try:
        parse_rulebook(head + body, source="rule")
    except RulebookError as e:
        offset = head.count("\n")
        field = (e.field or "").replace(f"{draft.section}[0]", "rule", 1)
        raise RulebookError("rule", e.reason, line=None if e.line is None else max(1, e.line - offset),
                            field=field or None) from e


def _check_period(since_s: float, until_s: float) -> None:
    if until_s <= since_s:
        raise BadPeriod("until_s must be after since_s")


def _period_rows(db: Session, user: Principal | None, *, since_s: float, until_s: float, site: str | None,
                 counter: str | None, limit: int) -> Sequence[tuple]:
    q = (select(Interaction, Site.name, Counter.name, Counter.channels, RecordingSession.channels)
         .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
         .join(RecordingSession, Interaction.session_id == RecordingSession.id)
         .where(Interaction.wall_start_s >= since_s, Interaction.wall_start_s < until_s,
                Interaction.analyzed_s.is_not(None))
         .order_by(Interaction.wall_start_s.desc(), Interaction.id.desc()).limit(limit))
    if user is not None and user.sites:
        q = q.where(Site.name.in_(user.sites))
    if site is not None:
        q = q.where(Site.name == site)
    if counter is not None:
        q = q.where(Counter.name == counter)
    return db.execute(q).all()


def _key(f: Finding) -> tuple:
    return f.type, f.rule, round(f.start_s, 1), round(f.end_s, 1)


def trial(db: Session, user: Principal, draft: Draft, *, default: Rulebook, since_s: float, until_s: float,
          site: str | None = None, counter: str | None = None, limit: int = 200) -> BenchResult:
    """Judge the period's stored interactions in the user's sites by the rulebook in force and by
    the candidate; nothing is written. ``limit``: how many differing flags of each kind to list.

    Raises:
        BadPeriod, BadDraft, RulebookError (a bad candidate), SiteForbidden.
    """
    _check_period(since_s, until_s)
    check_site(user, site)
    base = current(db, default)
    cand = candidate(base, draft)
    judges = Judge(base), Judge(cand)
    labels = {**rule_labels(base), **rule_labels(cand)}
    rows = _period_rows(db, user, since_s=since_s, until_s=until_s, site=site, counter=counter,
                        limit=MAX_INTERACTIONS + 1)
    truncated = len(rows) > MAX_INTERACTIONS
    new: list[BenchFlag] = []
    gone: list[BenchFlag] = []
    counts: dict[tuple[str, str], list[int]] = {}
    not_assessable = 0
    for inter, site_name, counter_name, counter_channels, session_channels in rows[:MAX_INTERACTIONS]:
        mono = session_channels == 1 or CHANNEL_MAPS.get(counter_channels) is None
        not_assessable += not inter.assessable
        calls = stored_calls(db, inter)
        before, after = (judge_stored(j, inter, mono=mono, calls=calls) for j in judges)
        kb, ka = {_key(f): f for f in before}, {_key(f): f for f in after}

        def flag(f: Finding) -> BenchFlag:
            return BenchFlag(interaction_id=inter.id, site=site_name, counter=counter_name,  # noqa: B023
                             wall_start_s=inter.wall_start_s, type=f.type, rule=f.rule,  # noqa: B023
                             rule_label=labels.get(f.rule, f.rule), evidence=f.evidence, start_s=f.start_s,
                             end_s=f.end_s, confidence=f.confidence, certainty=certainty_of(f.confidence, "open"))

        for k, f in ka.items():
            c = counts.setdefault((f.type, f.rule), [0, 0, 0])
            if k in kb:
                c[2] += 1
            else:
                c[0] += 1
                new.append(flag(f))
        for k, f in kb.items():
            if k not in ka:
                counts.setdefault((f.type, f.rule), [0, 0, 0])[1] += 1
                gone.append(flag(f))
    by_rule = [RuleDiff(rule=r, rule_label=labels.get(r, r), type=t, would_flag=a, would_stop=b, unchanged=c)
               for (t, r), (a, b, c) in sorted(counts.items(), key=lambda kv: kv[0][1])]
    return BenchResult(base_version=base.version, candidate_version=cand.version, since_s=since_s, until_s=until_s,
                       interactions=min(len(rows), MAX_INTERACTIONS), not_assessable=not_assessable,
                       truncated=truncated, would_flag=new[:limit], would_stop=gone[:limit], by_rule=by_rule)


def apply(engine: Engine, user: Principal, draft: Draft, *, default: Rulebook, since_s: float,
          until_s: float) -> Applied:
    """Make the candidate the rulebook in force and queue the period's interactions (every site)
    for re-analysis.

    Raises:
        BadPeriod, BadDraft, RulebookError; SameVersion: its version is in force or was applied before.
    """
    _check_period(since_s, until_s)
    with write_session(engine) as s:
        base = current(s, default)
        cand = candidate(base, draft)
        if cand.version == base.version or s.scalar(select(StoredRulebook.id).where(
                StoredRulebook.version == cand.version)) is not None:
            raise SameVersion(cand.version)
        s.add(StoredRulebook(version=cand.version, name=cand.name, text=cand.text, active=True,
                             created_by=user.id, period_from_s=since_s, period_to_s=until_s))
        queued = 0
        for sid, a, b in s.execute(select(Interaction.session_id, Interaction.start_sample, Interaction.end_sample)
                                   .where(Interaction.wall_start_s >= since_s, Interaction.wall_start_s < until_s)
                                   .order_by(Interaction.wall_start_s)):
            queued += enqueue(s, kind="analyze", key=analyze_key(sid, a), payload={"session": sid, "start": a, "end": b},
                              requeue_done=True)
    return Applied(version=cand.version, queued=queued, since_s=since_s, until_s=until_s)
