"""Working days (工作日) of a site: the statutory calendar of mainland China (holidays and the
weekends made working days, 调休, from the ``chinesecalendar`` package), overridden by the site's
own days (``calendar_days``). Work-order deadlines count in these days.

Years the package does not know yet fall back to Monday–Friday (a site adds its own days then).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.timezones import site_zone
from storage.tables import CalendarDay


@dataclass(frozen=True)
class Calendar:
    """A site's working days: its own days (ISO date -> working?) over the statutory ones."""

    own: dict[str, bool]
    timezone: str

    def is_working(self, day: dt.date) -> bool:
        if day.isoformat() in self.own:
            return self.own[day.isoformat()]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:     # a year the package does not cover yet
            return day.weekday() < 5

    def day_of(self, at_s: float) -> dt.date:
        return dt.datetime.fromtimestamp(at_s, site_zone(self.timezone)).date()

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
        day, left = start, days
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_working(day):
                left -= 1
        return day

    def end_of(self, day: dt.date) -> float:
        """The last second of ``day`` in the site's time zone (a deadline is the end of its day)."""
        nxt = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), site_zone(self.timezone))
        return nxt.timestamp() - 1.0

    def due_s(self, received_s: float, working_days: int) -> float:
        """The deadline of something received at ``received_s`` with ``working_days`` to answer."""
        return self.end_of(self.add_working_days(self.day_of(received_s), working_days))

    def working_days_between(self, start_s: float, end_s: float) -> int:
        """Working days after ``start_s``'s day up to and including ``end_s``'s day (0 if not after)."""
        a, b = self.day_of(start_s), self.day_of(end_s)
        n = 0
        while a < b:
            a += dt.timedelta(days=1)
            n += self.is_working(a)
        return n


def calendar_of(s: Session, *, site_id: int, timezone: str) -> Calendar:
    own = {d.day: d.working for d in s.scalars(select(CalendarDay).where(CalendarDay.site_id == site_id))}
    return Calendar(own=own, timezone=timezone)
