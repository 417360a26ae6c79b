"""Transcript correction (issue 20 item 5): a reviewer corrects a line the recogniser got wrong.

The correction is kept beside the recognised text, never in its place: ``segments.text`` (and
so the evidence, its exports and the audit of what was recognised) stays as it is, and each
correction is a row of :class:`~storage.tables.TranscriptCorrection` with who, when and why; a
second correction of the same line is its next version, the earlier ones its history.

The rules then judge the interaction's text with its corrections in force
(:func:`transcribe.stored.judge_stored` over the stored segments, by the rulebook in force),
once before and once after the new correction, and only the difference changes the stored
findings (:func:`transcribe.stored.apply_correction`): a finding the corrected text no longer
raises is superseded by ``correction:<id>`` and keeps its row and review; a new one is marked
with the correction's id. A re-analysis of the audio gives the corrections in force their effect
again (the worker, :func:`transcribe.stored.reapply`). Search finds a line by its recognised and
by its corrected text (:mod:`services.search`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain import pii
from domain.displaynames import refused_character
from domain.errors import Invalid, NotFound
from domain.vocab import CHANNEL_MAPS
from services.accounts import Principal
from services.interactions import visible_interaction
from services.rulebooks import current
from storage.engine import write_session
from storage.tables import Counter, Interaction, RecordingSession, Segment, TranscriptCorrection, User, now_s
from transcribe.judge import Judge
from transcribe.rules import Rulebook
from transcribe.stored import SAME_LINE_S, apply_correction, lines_in_force

MAX_TEXT_CHARS = 500
MAX_REASON_CHARS = 2000


class LineNotFound(NotFound):
    code = "segment_not_found"

    def __init__(self, segment_id: int) -> None:
        super().__init__(f"transcript line {segment_id}", "not found in this interaction", segment_id=segment_id)


def checked(field_name: str, value: str, *, max_chars: int, code: str) -> str:
    """``value`` stripped, if it is fit text for one line.

    Raises:
        Invalid (``code``, naming ``field_name``): empty, longer than ``max_chars``, or holding a
            control, format or line-separator character (named by its code point).
    """
    text = value.strip()
    if not text:
        raise Invalid(field_name, "must not be empty", code=code, field=field_name)
    if len(text) > max_chars:
        raise Invalid(field_name, f"must have at most {max_chars} characters", code=code, field=field_name)
    bad = refused_character(text)
    if bad:
        raise Invalid(field_name, f"must not contain {bad}", code=code, field=field_name)
    return text


@dataclass(frozen=True)
class CorrectionView:
    id: int
    interaction_id: int
    segment_id: int
    line_start_s: float
    line_end_s: float
    speaker: str
    recognised: str             # the line as recognised (原识别)
    text: str                   # as corrected (更正)
    version: int
    current: bool
    reason: str
    by: str
    at_s: float


@dataclass(frozen=True)
class Corrected:
    """A correction stored, and what the rules made of the corrected text."""

    correction: CorrectionView
    #: flags the corrected text raised (new ones, marked with the correction, or revived)
    raised: list[int] = field(default_factory=list)
    #: flags it no longer raises (kept, superseded by ``correction:<id>``)
    superseded: list[int] = field(default_factory=list)


def _mono(s: Session, inter: Interaction) -> bool:
    """Whether the interaction is judged as mono (as the rule bench judges it)."""
    channels = s.scalar(select(RecordingSession.channels).where(RecordingSession.id == inter.session_id))
    counter_channels = s.scalar(select(Counter.channels).where(Counter.id == inter.counter_id))
    return channels == 1 or CHANNEL_MAPS.get(counter_channels or "") is None


def correct_line(engine: Engine, user: Principal, interaction_id: int, segment_id: int, *, text: str, reason: str,
                 default: Rulebook) -> Corrected:
    """Correct one line of the interaction's transcript and re-judge the interaction by the
    rulebook in force (``default``: the settings' one, when none was applied).

    Raises:
        InteractionNotFound: not in the user's sites. LineNotFound: no such line in it.
        Invalid ``correction_text`` (empty, too long, control characters, or the text in force
        already) or ``correction_reason``.
    """
    text = checked("text", text, max_chars=MAX_TEXT_CHARS, code="correction_text")
    reason = checked("reason", reason, max_chars=MAX_REASON_CHARS, code="correction_reason")
    with write_session(engine) as s:
        inter, _, _ = visible_interaction(s, user, interaction_id)
        # One correction of an interaction at a time: the next waits here and then reads this one's
        # row, so versions never repeat (PostgreSQL: a row lock; SQLite's write lock already does).
        s.execute(select(Interaction.id).where(Interaction.id == inter.id).with_for_update())
        segments = list(inter.segments)
        line = next((g for g in segments if g.id == segment_id), None)
        if line is None:
            raise LineNotFound(segment_id)
        stored = list(s.scalars(select(TranscriptCorrection).where(TranscriptCorrection.interaction_id == inter.id)))
        before = {gid: c.text for gid, c in lines_in_force(stored, segments).items()}
        if text == before.get(line.id, line.text):
            raise Invalid("text", "is the line's text already", code="correction_text", field="text")
        previous = [c for c in stored if c.segment_id == line.id or (c.recognised == line.text and abs(
            c.line_start_s - line.start_s) <= SAME_LINE_S)]
        for c in previous:
            c.current = False
        corr = TranscriptCorrection(interaction_id=inter.id, segment_id=line.id, line_start_s=line.start_s,
                                    line_end_s=line.end_s, speaker=line.speaker, recognised=line.text, text=text,
                                    version=max((c.version for c in previous), default=0) + 1, current=True,
                                    reason=reason, user_id=user.id, at_s=now_s())
        s.add(corr)
        s.flush()
        judge = Judge(current(s, default))
        raised, superseded = apply_correction(inter, judge, mono=_mono(s, inter), before=before,
                                              after={**before, line.id: text}, correction_id=corr.id, at_s=corr.at_s)
        s.flush()
        return Corrected(_view(corr, user.name, lambda t: t), [f.id for f in raised], [f.id for f in superseded])


def _view(c: TranscriptCorrection, by: str, show: Callable[[str], str]) -> CorrectionView:
    return CorrectionView(c.id, c.interaction_id, c.segment_id, c.line_start_s, c.line_end_s, c.speaker,
                          show(c.recognised), show(c.text), c.version, c.current, c.reason, by, c.at_s)


def corrections_of(db: Session, user: Principal, interaction_id: int) -> list[CorrectionView]:
    """Every correction of the interaction's lines, by line time and then newest version first,
    the text masked as the user reads transcripts (domain.pii). ``segment_id`` names the line as
    it is now (after a re-analysis, the segment the correction is matched to).

    Raises:
        InteractionNotFound: not in the user's sites.
    """
    inter, _, _ = visible_interaction(db, user, interaction_id)
    rows = list(db.scalars(select(TranscriptCorrection).where(TranscriptCorrection.interaction_id == inter.id)
                           .order_by(TranscriptCorrection.line_start_s, TranscriptCorrection.version.desc(),
                                     TranscriptCorrection.id.desc())))
    if not rows:
        return []
    names = dict(db.execute(select(User.id, User.name).where(User.id.in_({c.user_id for c in rows}))).all())
    now = {c.id: gid for gid, c in lines_in_force(rows, list(inter.segments)).items()}
    show = pii.for_role(user.role)
    out = []
    for c in rows:
        v = _view(c, names.get(c.user_id, ""), show)
        gid = now.get(c.id)
        out.append(v if gid is None or gid == c.segment_id else dataclasses.replace(v, segment_id=gid))
    return out


def corrected_texts(db: Session, interaction_ids: Sequence[int]) -> dict[int, dict[int, str]]:
    """Per interaction, the corrected text in force of each corrected line, by segment id."""
    if not interaction_ids:
        return {}
    rows = list(db.scalars(select(TranscriptCorrection).where(TranscriptCorrection.interaction_id.in_(interaction_ids),
                                                              TranscriptCorrection.current)))
    if not rows:
        return {}
    by_inter: dict[int, list[TranscriptCorrection]] = {}
    for c in rows:
        by_inter.setdefault(c.interaction_id, []).append(c)
    segs: dict[int, list[Segment]] = {i: [] for i in by_inter}
    for g in db.scalars(select(Segment).where(Segment.interaction_id.in_(list(by_inter)))):
        segs[g.interaction_id].append(g)
    return {i: {gid: c.text for gid, c in lines_in_force(cs, segs[i]).items()} for i, cs in by_inter.items()}

