"""A site's time zone, with the one documented fallback.

Every site row has a time zone (``sites.timezone``, default :data:`DEFAULT_TIMEZONE`). Where a
name is empty or unknown to this machine's tz database, the product uses
:data:`DEFAULT_TIMEZONE` (China Standard Time, where the halls are) and logs it once per name;
never UTC, never the server's local zone. Day and month bounds, opening hours and the times
shown to people all go through :func:`site_zone`.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"


@functools.lru_cache(maxsize=256)
def site_zone(name: str | None) -> ZoneInfo:
    """The zone called ``name``, or :data:`DEFAULT_TIMEZONE` when it is empty or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("time zone %r is unknown here; using %s", name, DEFAULT_TIMEZONE)
    return ZoneInfo(DEFAULT_TIMEZONE)


def is_known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_time(t_s: float, zone: str | None) -> dt.datetime:
    """Unix time ``t_s`` as an aware datetime in the site's zone."""
    return dt.datetime.fromtimestamp(t_s, site_zone(zone))


def day_bounds(date: dt.date, zone: str | None) -> tuple[float, float]:
    """Unix seconds of the start of ``date`` and of the next day, in the site's zone."""
    tz = site_zone(zone)
    start = dt.datetime.combine(date, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start.timestamp(), end.timestamp()


def month_bounds(month: str, zone: str | None) -> tuple[float, float]:
    """Unix seconds of the first instant of ``month`` (``YYYY-MM``) and of the next, in the site's zone."""
    tz = site_zone(zone)
    y, m = (int(p) for p in month.split("-"))
    start = dt.datetime(y, m, 1, tzinfo=tz)
    end = dt.datetime(y + m // 12, m % 12 + 1, 1, tzinfo=tz)
    return start.timestamp(), end.timestamp()
