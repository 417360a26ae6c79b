"""Read-side queries for the operator CLI: flags and recent interactions (search: storage.search)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.db import Counter, Flag, Interaction, Site


@dataclass(frozen=True)
class FlagRow:
    id: int
    interaction_id: int
    site: str
    counter: str
    wall_start_s: float
    type: str
    rule: str
    phrase: str
    evidence: str
    offset_s: float
    speaker: str
    confidence: float
    review_state: str


def flags(engine: Engine, *, rule: str | None = None, site: str | None = None, counter: str | None = None,
          kind: str | None = None, limit: int = 200) -> list[FlagRow]:
    stmt = (select(Flag, Interaction, Counter.name, Site.name)
            .join(Interaction, Flag.interaction_id == Interaction.id)
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
            .order_by(Interaction.wall_start_s.desc(), Flag.start_s).limit(limit))
    if rule:
        stmt = stmt.where(Flag.rule == rule)
    if kind:
        stmt = stmt.where(Flag.type == kind)
    if site:
        stmt = stmt.where(Site.name == site)
    if counter:
        stmt = stmt.where(Counter.name == counter)
    with Session(engine) as s:
        return [FlagRow(f.id, inter.id, site_name, counter_name, inter.wall_start_s, f.type, f.rule, f.phrase,
                        f.evidence, f.start_s, f.speaker, f.confidence, f.review_state)
                for f, inter, counter_name, site_name in s.execute(stmt)]


@dataclass(frozen=True)
class InteractionView:
    id: int
    site: str
    counter: str
    wall_start_s: float
    duration_s: float
    rulebook_version: str
    segments: list[tuple[float, float, str, str]]      # start, end, speaker, text
    flags: list[FlagRow]


def interactions(engine: Engine, *, site: str | None = None, counter: str | None = None,
                 limit: int = 20) -> list[InteractionView]:
    """The newest analysed interactions with their transcript and flags."""
    stmt = (select(Interaction, Counter.name, Site.name).join(Counter, Interaction.counter_id == Counter.id)
            .join(Site, Counter.site_id == Site.id).order_by(Interaction.wall_start_s.desc()).limit(limit))
    if site:
        stmt = stmt.where(Site.name == site)
    if counter:
        stmt = stmt.where(Counter.name == counter)
    out = []
    with Session(engine) as s:
        for inter, counter_name, site_name in s.execute(stmt):
            out.append(InteractionView(
                inter.id, site_name, counter_name, inter.wall_start_s, inter.wall_end_s - inter.wall_start_s,
                inter.rulebook_version, [(g.start_s, g.end_s, g.speaker, g.text) for g in inter.segments],
                [FlagRow(f.id, inter.id, site_name, counter_name, inter.wall_start_s, f.type, f.rule, f.phrase,
                         f.evidence, f.start_s, f.speaker, f.confidence, f.review_state) for f in inter.flags]))
    return out
