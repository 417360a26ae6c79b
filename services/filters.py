"""The filters a supervisor narrows recordings by, one definition for the recordings browser, the
transcript search, the review queue and the reports' drill-down: site, counter (by its name or
its display name), staff, time range, rule, review state, rating, whether it could be judged.

:func:`apply` adds them to a statement that selects from ``interactions`` joined to ``counters``
and ``sites`` (every statement here does).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from domain.errors import Invalid
from domain.vocab import CERTAIN_CONFIDENCE
from storage.queries import rating_of
from storage.tables import Counter, Flag, Interaction, Site, Staff


class BadTimeRange(Invalid):
    code = "bad_time_range"

    def __init__(self, since_s: float, until_s: float) -> None:
        super().__init__("time range", f"until_s {until_s} is not after since_s {since_s}", since_s=since_s,
                         until_s=until_s)


@dataclass(frozen=True)
class Filters:
    """Narrow recordings. ``sites``: the sites the caller may see (None: all); the others are
    plain filters by name or value. ``counter`` matches a counter's name or its display name;
    ``rule`` / ``review_state``: interactions with such a flag; ``assessable``: judged or 无法判定."""

    sites: tuple[str, ...] | None = None
    site: str | None = None
    counter: str | None = None
    counter_id: int | None = None
    staff: str | None = None
    since_s: float | None = None
    until_s: float | None = None
    rule: str | None = None
    review_state: str | None = None
    rating: str | None = None
    assessable: bool | None = None

    def check(self) -> None:
        """Raises BadTimeRange: ``until_s`` not after ``since_s``."""
        if self.since_s is not None and self.until_s is not None and self.until_s <= self.since_s:
            raise BadTimeRange(self.since_s, self.until_s)


def counted_flag() -> ColumnElement[bool]:
    """SQL of :func:`domain.vocab.flag_counts`: confirmed, or certain and not dismissed (and not
    superseded by a later rulebook)."""
    return and_(Flag.superseded_s.is_(None),
                or_(Flag.review_state == "confirmed",
                    and_(Flag.review_state != "dismissed", Flag.confidence >= CERTAIN_CONFIDENCE)))


def certainty_is(certainty: str) -> ColumnElement[bool]:
    """SQL of :func:`domain.vocab.flag_uncertain` (``uncertain``: 待确认) or its opposite (``certain``)."""
    uncertain = and_(Flag.review_state == "open", Flag.confidence < CERTAIN_CONFIDENCE, Flag.superseded_s.is_(None))
    return uncertain if certainty == "uncertain" else not_(uncertain)


def counter_matches(name: str) -> ColumnElement[bool]:
    """A counter called ``name`` or displayed as ``name`` (3号窗口)."""
    return or_(Counter.name == name, Counter.display_name == name)


def apply(stmt: Select, f: Filters, *, flags: bool = True) -> Select:
    """``stmt`` narrowed by ``f`` (``flags`` False: leave the rule and review-state filters to
    the caller, which selects flags itself)."""
    if f.sites is not None:
        stmt = stmt.where(Site.name.in_(f.sites))
    if f.site:
        stmt = stmt.where(Site.name == f.site)
    if f.counter:
        stmt = stmt.where(counter_matches(f.counter))
    if f.counter_id is not None:
        stmt = stmt.where(Counter.id == f.counter_id)
    if f.staff:
        # not correlated: the statement may join staff itself
        stmt = stmt.where(Interaction.staff_id.in_(select(Staff.id).where(Staff.name == f.staff)))
    if f.since_s is not None:
        stmt = stmt.where(Interaction.wall_start_s >= f.since_s)
    if f.until_s is not None:
        stmt = stmt.where(Interaction.wall_start_s < f.until_s)
    if f.assessable is not None:
        stmt = stmt.where(Interaction.assessable.is_(f.assessable))
    if flags and (f.rule or f.review_state):
        cond = [Flag.interaction_id == Interaction.id, Flag.superseded_s.is_(None)]
        if f.rule:
            cond.append(Flag.rule == f.rule)
        if f.review_state:
            cond.append(Flag.review_state == f.review_state)
        stmt = stmt.where(exists().where(and_(*cond)))
    if f.rating:
        stmt = stmt.where(rating_of() == f.rating)
    return stmt
