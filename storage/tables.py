"""Every table of the metadata database, on one SQLAlchemy metadata (``Base.metadata``).

One metadata holds them all, so a process that imports any table has every foreign key target
(an agent storing an alarm needs ``signage_screens`` known), and Alembic's ``migrations/env.py``
sees the whole schema. The schema itself is created and changed only by the migrations
(:mod:`storage.schema`), never by ``create_all``, so SQLite and PostgreSQL follow one history.

Recordings: sites, counters, staff and shifts, recording sessions and their chunks, hall events,
alarms, the job queue, interactions with their transcript segments and flags. People: users,
tokens, the audit log, complaints. Waiting-area screens: the ``signage_*`` tables (everything
belongs to a site; each screen has a machine user whose token reads that screen's manifest).
"""
from __future__ import annotations

import time

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from domain.timezones import DEFAULT_TIMEZONE


def now_s() -> float:
    """The time as stored in the tables: Unix seconds."""
    return time.time()


class Base(DeclarativeBase):
    pass


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    #: The site's display name (市民服务中心一楼), shown to people and on the screens; the name is its id.
    title: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    retention_days: Mapped[int] = mapped_column(Integer, default=180)
    #: The rating terminals' scale (migration h21): ``four`` (非常满意…不满意) or ``five`` (好差评).
    rating_scale: Mapped[str] = mapped_column(String(8), default="four", server_default="four")
    #: Days a staff member has to appeal a finding (migration 0024_inspection_loop; domain.vocab.APPEAL_WINDOW_DAYS).
    appeal_window_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")


class Counter(Base):
    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("site_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(String(63))
    #: What people call the counter (3号窗口): the console and the screens show it (migration 0016).
    display_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    channels: Mapped[str] = mapped_column(String(20), default="staff,customer")
    # Health, from agent heartbeats.
    last_heartbeat_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_level_dbfs: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_loud_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent_status: Mapped[str] = mapped_column(String(40), default="unknown")
    paused: Mapped[bool] = mapped_column(default=False)
    # Live listen (migration 0005): the newest ~1 s live segment the agent published, so any
    # API process can follow the feed through this row (issue 4, item 4).
    live_session: Mapped[str | None] = mapped_column(String(32), nullable=True)
    live_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    live_wall_start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    live_at_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Live on demand (migration 0023_live_on_demand, issue 23): listeners keep ``live_wanted_until_s`` ahead of
    # now while they listen; the agent publishes live segments only until then. ``live_asked_s``:
    # when the counter's agent last asked (an agent that asks publishes on demand).
    live_wanted_until_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    live_asked_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    site: Mapped[Site] = relationship()


class Staff(Base):
    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("site_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(String(100))
    #: 工号, shown on the rating terminal (migration h21).
    staff_no: Mapped[str] = mapped_column(String(40), default="", server_default="")
    #: Their photo on the rating terminal (migration h27): the object ``staff/photos/<sha256>``
    #: in the store and its type (image/jpeg or image/png); None: no photo given.
    photo_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    photo_type: Mapped[str | None] = mapped_column(String(20), nullable=True)


class Shift(Base):
    """Who was on duty at a counter, and when (unix seconds; end open while on duty)."""

    __tablename__ = "shifts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class RecordingSession(Base):
    """One run of a capture agent (a recording session): chunks are numbered within it."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    wall_start_s: Mapped[float] = mapped_column(Float)
    sample_rate_hz: Mapped[int] = mapped_column(Integer)
    channels: Mapped[int] = mapped_column(Integer)
    ended_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Samples up to here have been cut into interactions (the worker's cursor).
    planned_until_sample: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The worker's VAD stream over this session (transcribe.planning.PlanState), so that each
    #: plan looks only at audio it has not seen; NULL: not planned yet.
    plan_state: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    #: The server's clock (migration 0020_evidence_identity): when its first chunk arrived, and the longest a chunk
    #: of it arrived after its claimed end (an upload after an outage, 补传; 0: on time).
    received_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    late_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("session_id", "seq"), Index("ix_chunks_counter_time", "counter_id", "wall_start_s"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    start_sample: Mapped[int] = mapped_column(BigInteger)
    samples: Mapped[int] = mapped_column(Integer)
    sample_rate_hz: Mapped[int] = mapped_column(Integer)
    channels: Mapped[int] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(1024), unique=True)
    wall_start_s: Mapped[float] = mapped_column(Float)
    rms_dbfs: Mapped[float] = mapped_column(Float)
    peak_dbfs: Mapped[float] = mapped_column(Float)
    stored_s: Mapped[float] = mapped_column(Float, default=now_s)
    # The counter's hash chain over chunks (migration 0006, storage/integrity.py).
    prev_chain_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    chain_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Event(Base):
    """Hall events: queue calls, rating presses, pause/resume."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_counter_time", "counter_id", "at_s"),
                      UniqueConstraint("counter_id", "dedup_key", name="uq_events_counter_dedup"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    kind: Mapped[str] = mapped_column(String(20))     # domain.vocab.EVENT_KINDS
    at_s: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    #: A sender's key for the event (migration h21): a rating terminal's resend of the same
    #: service's press finds the row already there (one rating per service).
    dedup_key: Mapped[str | None] = mapped_column(String(80), nullable=True)


class Alarm(Base):
    """An alarm about a counter, or (migration 0007, ``screen-gone``) a waiting-area screen."""

    __tablename__ = "alarms"
    __table_args__ = (Index("ix_alarms_open", "counter_id", "kind", "cleared_s"),
                      Index("ix_alarms_screen_open", "screen_id", "kind", "cleared_s"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    screen_id: Mapped[int | None] = mapped_column(ForeignKey("signage_screens.id", name="fk_alarms_screen_id"),
                                                  nullable=True)
    #: one of domain.vocab.ALARM_KINDS
    kind: Mapped[str] = mapped_column(String(40))
    since_s: Mapped[float] = mapped_column(Float)
    cleared_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "lease_until_s"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))     # plan | analyze
    key: Mapped[str] = mapped_column(String(300), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="queued")   # domain.vocab.JOB_STATES
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Asked for again while running: queue it once more when this run finishes.
    rerun: Mapped[bool] = mapped_column(default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_s: Mapped[float] = mapped_column(Float, default=now_s)
    #: When the job was last (re)queued (migration 0006), for the queue-age metric.
    queued_s: Mapped[float | None] = mapped_column(Float, nullable=True, default=now_s)
    finished_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    #: Temporary failures (store unavailable) since the job last succeeded or was (re)queued,
    #: and when the first of them happened (migration 0008): they do not use up ``attempts``,
    #: but set the backoff and, lasting long enough, fail the job for good (storage.jobs).
    temp_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    temp_failing_since_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (UniqueConstraint("session_id", "start_sample"), Index("ix_inter_counter_time", "counter_id", "wall_start_s"),
                      Index("ix_inter_staff_time", "staff_id", "wall_start_s"),
                      # Newest first over every counter (the default ``-time`` sort, search's
                      # newest-first walk; migration 0003).
                      Index("ix_interactions_wall_start", "wall_start_s", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    start_sample: Mapped[int] = mapped_column(BigInteger)
    end_sample: Mapped[int] = mapped_column(BigInteger)
    wall_start_s: Mapped[float] = mapped_column(Float)
    wall_end_s: Mapped[float] = mapped_column(Float)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    rulebook_version: Mapped[str] = mapped_column(String(100), default="")
    analyzed_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    # Legal hold (migration 0006): retention keeps a held interaction and its audio.
    hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    hold_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    hold_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Whether the recogniser could follow the speech well enough to judge it (migration 0010);
    #: an interaction that is not assessable (无法判定) gets no courtesy flags and counts in no score.
    assessable: Mapped[bool] = mapped_column(default=True, server_default=true())
    assessable_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Stereo turns from the channels, [[speaker, start_s, end_s, level_db], ...] (what the audio
    #: rules judge; the rule bench re-judges them), and the recognition signals behind
    #: ``assessable`` ({"snr_db", "avg_logprob", "chars_per_voiced_s", ...}) (migration 0011).
    turns: Mapped[list] = mapped_column(JSON, default=list)
    signals: Mapped[dict] = mapped_column(JSON, default=dict)
    segments: Mapped[list[Segment]] = relationship(cascade="all, delete-orphan", order_by="Segment.start_s")
    flags: Mapped[list[Flag]] = relationship(cascade="all, delete-orphan", order_by="Flag.start_s")


class Segment(Base):
    """A transcribed utterance; times in seconds from the interaction's start."""

    __tablename__ = "segments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str] = mapped_column(String(10))
    speaker_confidence: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    #: The sound-alike key of ``text`` (transcribe.soundalike.sound_key; migration 0017), indexed
    #: like the text; NULL: not keyed.
    sound: Mapped[str | None] = mapped_column(Text, nullable=True)


class Flag(Base):
    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_rule", "rule"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(50))
    phrase: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float] = mapped_column(Float)
    review_state: Mapped[str] = mapped_column(String(12), default="open")   # domain.vocab.REVIEW_STATES
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewed_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    review_note: Mapped[str] = mapped_column(Text, default="")
    #: The rule's severity when the flag was made, and why the flag has its confidence (match
    #: cost, speaker certainty, audio quality): [{"kind", "value", "text"}] (migration 0010).
    severity: Mapped[str] = mapped_column(String(10), default="", server_default="")
    confidence_reasons: Mapped[list] = mapped_column(JSON, default=list)
    #: The rulebook version that raised it, and when a later analysis (``superseded_by``) no
    #: longer did (migration 0020_evidence_identity): a superseded finding keeps its review and counts nowhere.
    rulebook_version: Mapped[str] = mapped_column(String(100), default="", server_default="")
    superseded_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    superseded_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    #: The transcript correction whose text raised it (None: the recognised text did;
    #: migration 0026_transcript_corrections). A finding a correction no longer raises is
    #: superseded by ``correction:<id>``.
    correction_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class TranscriptCorrection(Base):
    """A reviewer's correction of one transcript line, kept beside the recognised text (which
    stays as it is in ``segments``, its exports and the evidence). Append-only: a second
    correction of the same line is a new version and the earlier one stays as its history; the
    ``current`` row of a line is the text the rules judge and search finds besides the
    recognised one (migration 0026_transcript_corrections). The line is named by its segment
    id and, should a re-analysis make new segment rows, by its time and recognised text."""

    __tablename__ = "transcript_corrections"
    __table_args__ = (Index("ix_transcript_corrections_interaction_current", "interaction_id", "current"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(Integer, index=True)
    line_start_s: Mapped[float] = mapped_column(Float)     # seconds from the interaction's start
    line_end_s: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str] = mapped_column(String(10))
    #: the recognised text of the line when it was corrected (as stored, unmasked)
    recognised: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)          # 1, 2, ... per line
    current: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at_s: Mapped[float] = mapped_column(Float, default=now_s)


# -- what people decided about an interaction (issue 20 item 4, issue 19 item 4) ------------------
# Kept in tables of their own, keyed by the interaction's id (stable across re-analysis) and never
# in the rows the worker rewrites (flags, segments): a flag is named by its id and, should a
# re-analysis make new flag rows, by its rule and start (``flag_rule``, ``flag_start_s``).

class FlagReviewNote(Base):
    """One review of a flag (confirm or dismiss, with its note), kept for good: a later review
    replaces the flag's own ``review_state``/``review_note`` but not these rows (the workbench
    shows them as the flag's history)."""

    __tablename__ = "flag_review_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    flag_id: Mapped[int] = mapped_column(Integer, index=True)
    flag_rule: Mapped[str] = mapped_column(String(50), default="")
    flag_start_s: Mapped[float] = mapped_column(Float, default=0.0)
    state: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at_s: Mapped[float] = mapped_column(Float, default=now_s)


class FindingAck(Base):
    """A staff member has read (已阅) one of their findings."""

    __tablename__ = "finding_acks"
    __table_args__ = (UniqueConstraint("user_id", "flag_id", name="uq_finding_acks_user_flag"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    flag_id: Mapped[int] = mapped_column(Integer)
    flag_rule: Mapped[str] = mapped_column(String(50), default="")
    flag_start_s: Mapped[float] = mapped_column(Float, default=0.0)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at_s: Mapped[float] = mapped_column(Float, default=now_s)


class Appeal(Base):
    """A staff member's appeal (申诉) of a finding, and the second reviewer's ruling on it."""

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_site_state", "site_id", "state"), Index("ix_appeals_staff", "staff_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    flag_id: Mapped[int] = mapped_column(Integer)
    flag_rule: Mapped[str] = mapped_column(String(50))
    flag_start_s: Mapped[float] = mapped_column(Float)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    appellant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_s: Mapped[float] = mapped_column(Float, default=now_s)
    state: Mapped[str] = mapped_column(String(12), default="open")   # domain.vocab.APPEAL_STATES
    #: Who had confirmed the finding when it was appealed (None: the machine's, never reviewed).
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    ruled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    ruled_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    ruling_note: Mapped[str] = mapped_column(Text, default="")


class InteractionOverride(Base):
    """A supervisor's 可判定/无法判定 verdict on an interaction, with the reason; append-only, the
    newest row is in force (it outranks the recogniser's ``Interaction.assessable``)."""

    __tablename__ = "interaction_overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    assessable: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at_s: Mapped[float] = mapped_column(Float, default=now_s)


class ManualFinding(Base):
    """A finding a supervisor added by hand at a time in the recording (人工发现); withdrawn, it
    stays as history and counts no more."""

    __tablename__ = "manual_findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20))          # forbidden | missing_courtesy (domain.vocab)
    rule: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(10), default="")
    at_s: Mapped[float] = mapped_column(Float)             # seconds from the interaction's start
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_s: Mapped[float] = mapped_column(Float, default=now_s)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    withdrawn_s: Mapped[float | None] = mapped_column(Float, nullable=True)


# -- sampling (抽检, issue 20 item 2) ---------------------------------------------------------------

class SamplingPlan(Base):
    """A supervisor's sampling plan: which of a site's interactions to draw each day or week
    (``amount`` of them, or ``amount`` per cent, per staff member, per counter or over the
    site), from which counters and staff, with or without flags, and who reviews them."""

    __tablename__ = "sampling_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    per: Mapped[str] = mapped_column(String(10))            # staff | counter | site
    period: Mapped[str] = mapped_column(String(10))         # day | week
    mode: Mapped[str] = mapped_column(String(10))           # count | percent
    amount: Mapped[int] = mapped_column(Integer)
    flags: Mapped[str] = mapped_column(String(10))          # any | with | without
    #: Filters (empty: all): counter and staff ids, and the hours of the day on the site's clock.
    counter_ids: Mapped[list] = mapped_column(JSON, default=list)
    staff_ids: Mapped[list] = mapped_column(JSON, default=list)
    hour_from: Mapped[int] = mapped_column(Integer, default=0)
    hour_to: Mapped[int] = mapped_column(Integer, default=24)
    #: The reviewers (user ids), assigned in turn.
    reviewer_ids: Mapped[list] = mapped_column(JSON, default=list)
    seed: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_s: Mapped[float] = mapped_column(Float, default=now_s)


class SampleDraw(Base):
    """One draw of a plan for one period (the period's first day on the site's clock), with the
    seed it used and the ids it drew, kept for good."""

    __tablename__ = "sample_draws"
    __table_args__ = (UniqueConstraint("plan_id", "period_start", name="uq_sample_draws_plan_period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sampling_plans.id"), index=True)
    period_start: Mapped[str] = mapped_column(String(10))   # YYYY-MM-DD
    seed: Mapped[int] = mapped_column(BigInteger)
    population: Mapped[int] = mapped_column(Integer)
    interaction_ids: Mapped[list] = mapped_column(JSON, default=list)
    drawn_by: Mapped[str] = mapped_column(String(100))
    drawn_s: Mapped[float] = mapped_column(Float, default=now_s)


class SampleAssignment(Base):
    """A drawn interaction given to a reviewer, and the outcome the reviewer recorded (抽检结果):
    the score of :mod:`services.scoring` at that moment, 达标 or not, and a note."""

    __tablename__ = "sample_assignments"
    __table_args__ = (UniqueConstraint("draw_id", "interaction_id", name="uq_sample_assignments_draw_interaction"),
                      Index("ix_sample_assignments_reviewer", "reviewer_id", "scored_s"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("sample_draws.id"), index=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    scored_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The score when recorded (None: 无法判定, or not scored yet), and 达标.
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    passed: Mapped[bool | None] = mapped_column(nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class StoredRulebook(Base):
    """A rulebook applied from the rule bench (migration 0012). The newest ``active`` one is what
    the workers judge by, ahead of the file in the settings; its ``text`` is the YAML."""

    __tablename__ = "rulebooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_s: Mapped[float] = mapped_column(Float, default=now_s)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: The period re-analysed when it was applied (wall-clock seconds).
    period_from_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    period_to_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class User(Base):
    """A person (admin, supervisor, viewer) or a machine (agent, screen)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))     # domain.vocab.ROLES
    #: Sites this user may see; empty: every site (admins and cluster-wide machines only).
    sites: Mapped[list] = mapped_column(JSON, default=list)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_s: Mapped[float] = mapped_column(Float, default=now_s)
    #: An agent's one counter (migration 0013): its token writes that counter's audio only.
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id", name="fk_users_counter_id"),
                                                   nullable=True)
    #: A ``staff`` user's own Staff record (migration 0024_inspection_loop): they see that person's interactions only.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", name="fk_users_staff_id"), nullable=True)


class ApiToken(Base):
    """Bearer tokens; only their sha256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_s: Mapped[float] = mapped_column(Float, default=now_s)
    expires_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_used_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class AuditLog(Base):
    """Who did what to which recording, when and from where. Append-only: the API has no
    route that changes or deletes rows, a trigger refuses UPDATE and DELETE (migration 0014),
    and each row carries the hash of the one before (``services.audit``)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_time", "at_s"), Index("ix_audit_action_user", "action", "user_name", "at_s"),
                      Index("ix_audit_action_client", "action", "client", "at_s"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at_s: Mapped[float] = mapped_column(Float, default=now_s)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    user_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))    # e.g. audio.play, audio.download, audio.live, login
    target: Mapped[str] = mapped_column(String(300), default="")
    client: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    #: The hash chain (migration 0013): the previous row's ``row_sha256`` and this row's own.
    prev_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ChunkClaim(Base):
    """The first upload of a session's chunk number claims it with its content (migration 0013):
    only that content is ever written under the chunk's key (``services.ingest``)."""

    __tablename__ = "chunk_claims"
    __table_args__ = (Index("ix_chunk_claims_pcm", "pcm_sha256"),)
    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    start_sample: Mapped[int] = mapped_column(BigInteger)
    claimed_s: Mapped[float] = mapped_column(Float, default=now_s)
    #: sha256 of the decoded samples (migration 0020_evidence_identity): the same audio under another recording
    #: is a replay.
    pcm_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ChunkTombstone(Base):
    """Audio that retention deleted (migration 0030_chunk_tombstones): the sha256 of its decoded
    samples, its counter and when it was recorded, no audio and no text. The same audio sent
    again is a replay (``services.evidence.replayed_from``)."""

    __tablename__ = "chunk_tombstones"
    __table_args__ = (Index("ix_chunk_tombstones_deleted", "deleted_s"),)
    pcm_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    wall_start_s: Mapped[float] = mapped_column(Float)
    deleted_s: Mapped[float] = mapped_column(Float)


class Complaint(Base):
    """A complaint (投诉) linked to an interaction, with its finding; every one gets an answer."""

    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"),
                                                       nullable=True)
    received_s: Mapped[float] = mapped_column(Float, default=now_s)
    complainant: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text)
    due_s: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(12), default="open")   # domain.vocab.COMPLAINT_STATES
    finding: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    answered_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    # What the complaint is about (migration 0016): the counter, the staff member, when it happened.
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id", name="fk_complaints_counter_id"),
                                                   nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", name="fk_complaints_staff_id"), nullable=True)
    incident_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class ComplaintRevision(Base):
    """One change to a complaint, kept for good: who, when, and each changed field's old and new
    value (``{"finding": ["old", "new"], ...}``). Answered complaints stay editable because of it."""

    __tablename__ = "complaint_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    at_s: Mapped[float] = mapped_column(Float, default=now_s)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    user_name: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(20))     # create | edit | answer
    changes: Mapped[dict] = mapped_column(JSON, default=dict)


class ComplaintDraft(Base):
    """A complaint form being typed, kept for its author only (survives a session expiry): personal
    data (names, phone numbers) stays on the server, not in a shared hall PC's browser."""

    __tablename__ = "complaint_drafts"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))        # "new", or "complaint:<id>" for an answer
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_s: Mapped[float] = mapped_column(Float, default=now_s)


# -- waiting-area screens ----------------------------------------------------------------------

class SignageScreen(Base):
    __tablename__ = "signage_screens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="", server_default="")   # migration 0016
    groups: Mapped[list] = mapped_column(JSON, default=list)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    last_heartbeat_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The player's last report: what plays, cache state, offline periods it lived through.
    status: Mapped[dict] = mapped_column(JSON, default=dict)


class SignageScreenshot(Base):
    """The last picture a screen took of itself (migration 0022_screen_screenshots, issue 24): one row per screen,
    replaced by the next; what the player said it played, and any skip or stall, in ``state``."""
    __tablename__ = "signage_screenshots"
    screen_id: Mapped[int] = mapped_column(ForeignKey("signage_screens.id", ondelete="CASCADE"), primary_key=True)
    taken_s: Mapped[float] = mapped_column(Float)
    received_s: Mapped[float] = mapped_column(Float)
    content_type: Mapped[str] = mapped_column(String(30))
    width_px: Mapped[int] = mapped_column(Integer)
    height_px: Mapped[int] = mapped_column(Integer)
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class SignageContent(Base):
    __tablename__ = "signage_content"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))          # video | image | text
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), default="")   # empty for text
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_s: Mapped[float] = mapped_column(Float, default=now_s)


class SignagePlaylist(Base):
    __tablename__ = "signage_playlists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    items: Mapped[list] = mapped_column(JSON, default=list)    # [{content_id, duration_s}]


class SignageLayout(Base):
    """A screen layout: regions (main playlist, clock, ticker, queue board) in thousandths of
    the screen (signage.layout); migration 0028."""
    __tablename__ = "signage_layouts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    regions: Mapped[list] = mapped_column(JSON, default=list)  # [{kind, x, y, w, h, text}]


class SignageSchedule(Base):
    __tablename__ = "signage_schedules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("signage_playlists.id"))
    screens: Mapped[list] = mapped_column(JSON, default=list)
    groups: Mapped[list] = mapped_column(JSON, default=list)
    weekdays: Mapped[list] = mapped_column(JSON, default=list)  # 0 = Monday
    start_time: Mapped[str] = mapped_column(String(8))          # HH:MM[:SS], local to the site
    end_time: Mapped[str] = mapped_column(String(8))
    start_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    end_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # Migration 0028: the layout its screens show (None: the playlist on the whole screen).
    layout_id: Mapped[int | None] = mapped_column(ForeignKey("signage_layouts.id"), nullable=True)
    # Migration 0029: interrupt content, this many seconds of each clock hour (None: an ordinary schedule).
    share_s_per_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SignageInterrupt(Base):
    __tablename__ = "signage_interrupts"
    __table_args__ = (Index("ix_signage_interrupts_open", "site_id", "cleared_s"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    screens: Mapped[list] = mapped_column(JSON, default=list)   # empty: every screen of the site
    started_s: Mapped[float] = mapped_column(Float, default=now_s)
    cleared_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Migration 0018: an expiry (None: until cleared) and who started and cleared it.
    expires_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    cleared_by: Mapped[str] = mapped_column(String(100), default="", server_default="")


class SignagePlay(Base):
    """Proof of play: one row per item shown (or skipped), as the player reported it."""

    __tablename__ = "signage_plays"
    __table_args__ = (Index("ix_signage_plays_screen_time", "screen_id", "started_s"),
                      UniqueConstraint("screen_id", "uid", name="uq_signage_plays_screen_uid"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: From the player, unique per screen (migration 0013): its resends are idempotent.
    uid: Mapped[str] = mapped_column(String(40))
    screen_id: Mapped[int] = mapped_column(ForeignKey("signage_screens.id"))
    kind: Mapped[str] = mapped_column(String(12))               # playlist | interrupt | default
    status: Mapped[str] = mapped_column(String(10))             # played | skipped
    content_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    playlist_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    schedule_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    interrupt_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_s: Mapped[float] = mapped_column(Float)
    ended_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    received_s: Mapped[float] = mapped_column(Float, default=now_s)


# -- the hall's queue, rating terminals and supervision work orders (migration h21) -------------

class QueueService(Base):
    """A service type of a site's queue: tickets ``<prefix><number>``, served at ``counter_ids``."""

    __tablename__ = "queue_services"
    __table_args__ = (UniqueConstraint("site_id", "prefix", name="uq_queue_services_site_prefix"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(2))
    counter_ids: Mapped[list] = mapped_column(JSON, default=list)
    #: 绿色通道: higher is called first (0: normal).
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())


class QueueTicket(Base):
    """A ticket taken at the kiosk; ``day`` is the site's local date, numbers restart each day."""

    __tablename__ = "queue_tickets"
    __table_args__ = (UniqueConstraint("site_id", "day", "code", name="uq_queue_tickets_site_day_code"),
                      Index("ix_queue_tickets_waiting", "site_id", "day", "state"),
                      Index("ix_queue_tickets_counter", "counter_id", "called_s"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("queue_services.id"))
    day: Mapped[str] = mapped_column(String(10))
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(8))
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state: Mapped[str] = mapped_column(String(12))       # domain.vocab.TICKET_STATES
    #: The capability in the ticket's QR code: its status page, nothing else.
    status_key: Mapped[str] = mapped_column(String(32), unique=True)
    taken_s: Mapped[float] = mapped_column(Float)
    called_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    #: The latest queue_call event of this ticket (the interaction boundary it made).
    call_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True)
    calls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finished_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_departments_site_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(String(100))
    #: The user a work order of this department escalates to (督办).
    supervisor: Mapped[str] = mapped_column(String(100), default="", server_default="")


class WorkOrder(Base):
    """A supervision work order (工单): from a complaint, a bad rating, a confirmed finding, or by hand."""

    __tablename__ = "work_orders"
    __table_args__ = (Index("ix_work_orders_due", "site_id", "state", "due_s"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))           # domain.vocab.WORK_ORDER_KINDS
    channel: Mapped[str] = mapped_column(String(12), default="window", server_default="window")
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), nullable=True, unique=True)
    rating_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True, unique=True)
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("flags.id", ondelete="SET NULL"), nullable=True,
                                                unique=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"),
                                                       nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    owner: Mapped[str] = mapped_column(String(100), default="", server_default="")
    state: Mapped[str] = mapped_column(String(12))          # domain.vocab.WORK_ORDER_STATES
    received_s: Mapped[float] = mapped_column(Float)
    working_days: Mapped[int] = mapped_column(Integer)
    due_s: Mapped[float] = mapped_column(Float)
    replied_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    reply: Mapped[str] = mapped_column(Text, default="", server_default="")
    callback_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    callback_result: Mapped[str] = mapped_column(Text, default="", server_default="")
    escalated_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    escalated_to: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_by: Mapped[str] = mapped_column(String(100), default="", server_default="")


class WorkOrderAction(Base):
    """What was done to a work order, kept for good: create, transfer, reply, callback, escalate."""

    __tablename__ = "work_order_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    at_s: Mapped[float] = mapped_column(Float, default=now_s)
    user_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class CalendarDay(Base):
    """A site's own day over the statutory calendar: a holiday (``working`` false) or a working day."""

    __tablename__ = "calendar_days"
    __table_args__ = (UniqueConstraint("site_id", "day", name="uq_calendar_days_site_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[str] = mapped_column(String(10))
    working: Mapped[bool] = mapped_column()
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")
