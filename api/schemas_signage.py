"""Request and response models of the signage routes."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import MAX_ROW_ID

MAX_ID = MAX_ROW_ID


# -- models ---------------------------------------------------------------------------------------

class ScreenCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    groups: list[Annotated[str, Field(min_length=1, max_length=63)]] = Field(default_factory=list, max_length=20)
    token_ttl_days: int | None = Field(365, ge=1, le=3650,
                                       description="the token expires after this many days; null: never (explicitly)")
    display_name: str | None = Field(None, min_length=1, max_length=100, description="e.g. 一楼大厅屏")


class ScreenEdit(BaseModel):
    """Give one or both: the display name, the display groups (replacing the screen's)."""

    display_name: str | None = Field(None, min_length=1, max_length=100)
    groups: list[Annotated[str, Field(min_length=1, max_length=63)]] | None = Field(
        None, max_length=20, description="the screen's display groups, replacing its current ones ([]: none)")


class ScreenEdited(BaseModel):
    """A screen after an edit: its name, display name and label, and its groups."""

    id: int
    name: str
    display_name: str
    label: str
    groups: list[str]


class ScreenPublic(BaseModel):
    """A screen as the console sees it: :class:`services.signage.ScreenView` plus the bearer
    token, returned once at registration (kept: the view has no token; issue 22)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    site: str
    name: str
    groups: list[str]
    last_heartbeat_s: float | None = None
    status: dict = Field(default_factory=dict)
    alarms: list[str] = Field(default_factory=list, description="open alarms, e.g. screen-gone")
    display_name: str = ""
    token: str | None = Field(None, description="the screen's bearer token; returned once, at registration")


class TextContentCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field("", max_length=20000)


class TextContentEdit(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    title: str | None = Field(None, min_length=1, max_length=200)
    body: str | None = Field(None, max_length=20000)



class PlaylistItemIn(BaseModel):
    content_id: int = Field(ge=1, le=MAX_ID)
    duration_s: float = Field(gt=0, le=86400)


class PlaylistCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=100)
    items: list[PlaylistItemIn] = Field(max_length=500)


class PlaylistPublic(BaseModel):
    """A playlist: :class:`services.signage.PlaylistView` with its items typed (the view keeps them
    as plain dicts; kept so the schema says what an item holds, issue 22)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    site: str
    name: str
    items: list[PlaylistItemIn]


class ScheduleCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    playlist_id: int = Field(ge=1, le=MAX_ID)
    screens: list[str] = Field(default_factory=list, max_length=200)
    groups: list[str] = Field(default_factory=list, max_length=50)
    weekdays: list[int] = Field(default_factory=lambda: list(range(7)), description="0 = Monday")
    start_time: str = Field("00:00", description="HH:MM, local to the site")
    end_time: str = Field("24:00", description="HH:MM, exclusive")
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    priority: int = Field(0, ge=-1000, le=1000)
    layout_id: int | None = Field(None, ge=1, le=MAX_ID, description="the layout its screens show; none: full screen")
    share_s_per_hour: int | None = Field(None, ge=1, le=3600, description="interrupt content: this many seconds of "
                                         "each clock hour, interleaved with the other schedules; none: an ordinary schedule")
    share_pct: float | None = Field(None, gt=0, le=100, description="the same share as a percentage of the hour "
                                    "(stored as seconds; give one of the two)")


class RegionIn(BaseModel):
    kind: Literal["main", "playlist", "clock", "ticker", "queue_board", "feed"]
    x: int = Field(0, ge=0, le=1000, description="thousandths of the screen's picture area")
    y: int = Field(0, ge=0, le=1000)
    w: int = Field(1000, ge=1, le=1000)
    h: int = Field(1000, ge=1, le=1000)
    text: str = Field("", max_length=500, description="the ticker's text; a feed's heading")
    playlist_id: int | None = Field(None, ge=1, le=MAX_ID, description="a playlist region's playlist (images); "
                                    "a ticker's playlist of text announcements, scrolled in turn")
    url: str = Field("", max_length=500, description="a feed region's RSS 2.0 or JSON URL (http/https) on the hall's "
                     "network; fetched by the screen box, never by the server")
    refresh_s: int = Field(300, ge=5, le=86400, description="how often the screen box fetches a feed")
    max_items: int = Field(5, ge=1, le=10, description="how many of a feed's titles it shows")


class LayoutCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=100)
    regions: list[RegionIn] = Field(min_length=1, max_length=6)


class LayoutPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site: str
    name: str
    regions: list[RegionIn]


class SchedulePublic(ScheduleCreate):
    id: int


class InterruptCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field("", max_length=5000)
    screens: list[str] = Field(default_factory=list, description="empty: every screen of the site")
    expires_s: float | None = Field(None, ge=0, le=1e11, description="ends by itself then (unix seconds); none: until cleared")



class _PlayFields(BaseModel):
    uid: str = Field(min_length=8, max_length=40)
    kind: str = Field(pattern=r"^(playlist|interrupt|default)$")
    status: str = Field(pattern=r"^(played|skipped)$")
    content_id: int | None = Field(None, ge=1, le=MAX_ID)
    playlist_id: int | None = Field(None, ge=1, le=MAX_ID)
    schedule_id: int | None = Field(None, ge=1, le=MAX_ID)
    interrupt_id: int | None = Field(None, ge=1, le=MAX_ID)
    started_s: float = Field(ge=0, le=1e11)
    ended_s: float | None = Field(None, ge=0, le=1e11)
    reason: str = Field("", max_length=2000)


class PlayIn(_PlayFields):
    @model_validator(mode="after")
    def _ends_after_start(self) -> PlayIn:
        if self.ended_s is not None and self.ended_s < self.started_s:
            raise ValueError("ended_s is before started_s")
        return self


class PlayPublic(_PlayFields):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_s: float


Moment = Annotated[float, Field(ge=0, le=1e11)]


class Heartbeat(BaseModel):
    playing: str = Field("", max_length=300)
    cache_items: int = Field(0, ge=0, le=1_000_000)
    offline_periods: list[tuple[Moment, Moment]] = Field(default_factory=list, max_length=100,
                                                         description="(from_s, to_s) the server could not be reached")
    errors: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _periods_in_order(self) -> Heartbeat:
        if any(b < a for a, b in self.offline_periods):
            raise ValueError("an offline period ends before it starts")
        return self
