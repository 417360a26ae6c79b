"""Tables of the waiting-area screens (on storage.db.Base, so Alembic's metadata has them).

Everything belongs to a site: supervisors manage the screens, content, playlists, schedules
and interrupts of their sites. Screens are named like counters; each has a machine user (role
``screen``) whose token reads that screen's manifest only.
"""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base, now_s


class SignageScreen(Base):
    __tablename__ = "signage_screens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    groups: Mapped[list] = mapped_column(JSON, default=list)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    last_heartbeat_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The player's last report: what plays, cache state, offline periods it lived through.
    status: Mapped[dict] = mapped_column(JSON, default=dict)


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


class SignagePlay(Base):
    """Proof of play: one row per item shown (or skipped), as the player reported it."""

    __tablename__ = "signage_plays"
    __table_args__ = (Index("ix_signage_plays_screen_time", "screen_id", "started_s"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)   # from the player: resends are idempotent
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
