"""Which rulebook the workers judge by, and how each of its rules fares in review.

The settings name a rulebook file (the default: the shipped one). A rulebook applied from the
rule bench (:mod:`services.rule_bench`) is kept in the ``rulebooks`` table and from then on is
the one in force, for the workers (their sweep switches to it, :func:`follow`) and for the API.

Each rule's measured precision comes from past reviews: of its flags a supervisor confirmed or
dismissed, the share confirmed. A rule with enough reviews and a low share is pointed out
(``low_precision``), so an admin looks at its wording or its threshold.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import yaml
from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.vocab import LOW_PRECISION, MISSING_COURTESY_POINTS, PRECISION_MIN_REVIEWED, SEVERITY_POINTS
from services.accounts import Principal
from storage.engine import read_session
from storage.tables import Counter, Flag, Interaction, Site, StoredRulebook
from transcribe.analyze import Analyzer
from transcribe.rules import Rulebook, parse_rulebook

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=16)
def _parsed(version: str, text: str) -> Rulebook:
    return parse_rulebook(text, source=f"rulebook {version} (applied in the rule bench)")


def current(db: Session, default: Rulebook) -> Rulebook:
    """The newest applied rulebook, or ``default`` (the settings' file) when none was applied."""
    row = db.execute(select(StoredRulebook.version, StoredRulebook.text).where(StoredRulebook.active)
                     .order_by(StoredRulebook.created_s.desc(), StoredRulebook.id.desc()).limit(1)).first()
    return _parsed(row[0], row[1]) if row else default


def rule_labels(rulebook: Rulebook) -> dict[str, str]:
    return {r.id: r.label for _, r in rulebook.rules()}


@dataclass(frozen=True)
class RuleView:
    """A rule of the rulebook in force, with what review says of its flags."""

    id: str
    label: str
    type: str            # domain.vocab.FLAG_TYPES
    severity: str
    #: the points the score takes off per finding of this rule (services.scoring: forbidden by
    #: severity, any other kind MISSING_COURTESY_POINTS once per interaction), not the rulebook's own field
    points: int
    flags: int           # flags of this rule in the user's sites
    reviewed: int        # of them confirmed or dismissed
    confirmed: int
    precision: float | None      # confirmed / reviewed; None before any review
    low_precision: bool          # reviewed >= PRECISION_MIN_REVIEWED and precision < LOW_PRECISION
    #: the rule as written in the rulebook's YAML (the console's rule form edits it and sends it
    #: back through the rule bench); empty where the rulebook has no text
    source: dict = field(default_factory=dict)


def _sources(rulebook: Rulebook) -> dict[str, dict]:
    """Each rule's own mapping in the rulebook's YAML text, by id."""
    try:
        book = yaml.safe_load(rulebook.text) if rulebook.text else None
    except yaml.YAMLError:      # parsed once already; a text that no longer loads shows no source
        return {}
    if not isinstance(book, dict):
        return {}
    return {r["id"]: r for key in ("forbidden", "required", "audio") for r in (book.get(key) or [])
            if isinstance(r, dict) and isinstance(r.get("id"), str)}


def rule_views(db: Session, user: Principal, rulebook: Rulebook, *, site: str | None = None) -> list[RuleView]:
    """Every rule of ``rulebook``, in its order, with its measured precision in the user's sites
    (or one ``site``)."""
    q = (select(Flag.rule, func.count(Flag.id),
                func.sum(case((Flag.review_state != "open", 1), else_=0)),
                func.sum(case((Flag.review_state == "confirmed", 1), else_=0)))
         .join(Interaction, Flag.interaction_id == Interaction.id).join(Counter, Interaction.counter_id == Counter.id)
         .join(Site, Counter.site_id == Site.id).group_by(Flag.rule))
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    if site is not None:
        q = q.where(Site.name == site)
    stats = {rule: (int(n), int(rev or 0), int(ok or 0)) for rule, n, rev, ok in db.execute(q)}
    out = []
    sources = _sources(rulebook)
    for kind, r in rulebook.rules():
        n, rev, ok = stats.get(r.id, (0, 0, 0))
        precision = round(ok / rev, 3) if rev else None
        low = rev >= PRECISION_MIN_REVIEWED and precision is not None and precision < LOW_PRECISION
        out.append(RuleView(id=r.id, label=r.label, type=kind, severity=r.severity,
                            points=SEVERITY_POINTS.get(r.severity, SEVERITY_POINTS["medium"]) if kind == "forbidden"
                            else MISSING_COURTESY_POINTS, flags=n,
                            reviewed=rev, confirmed=ok, precision=precision, low_precision=low,
                            source=sources.get(r.id, {})))
    return out


def follow(engine: Engine, analyzer: Analyzer, default: Rulebook) -> None:
    """Switch ``analyzer`` to the rulebook in force if it changed (the worker's sweep calls this;
    its next sweep re-queues every interaction judged by another version)."""
    with read_session(engine) as s:
        book = current(s, default)
    if book.version != analyzer.rulebook.version:
        logger.info("rulebook: switching from %s to %s", analyzer.rulebook.version, book.version)
        analyzer.set_rulebook(book)
