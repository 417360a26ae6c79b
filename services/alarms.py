"""Health alarms of counters and waiting-area screens, in the ``alarms`` table.

An agent's heartbeat raises or clears the alarms named like its status (spool near its quota,
spool full, store unreachable: :func:`set_counter_alarm`, called by the catalog). A sweep
(:func:`evaluate`: every worker's, ``counterwatch up``'s health loop, ``counterwatch status``)
raises or clears the alarms that come from silence: ``agent-gone`` (no heartbeat),
``silent-microphone`` (input below the threshold during the site's opening hours, in the
site's time zone, while the counter is not paused) and ``screen-gone``; and
``unintelligible-audio``, a counter whose recent interactions the recogniser often could not
follow (无法判定: a microphone turned away, covered or too far from the staff). Raising is idempotent
under concurrent sweeps: the counter's or screen's row is locked before its open alarm is
looked for.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import Invalid, NotFound
from domain.timezones import local_time
from domain.vocab import LABELS, PERSON_CLEARED_ALARMS, UNINTELLIGIBLE_MIN, UNINTELLIGIBLE_SHARE, UNINTELLIGIBLE_WINDOW_S
from services.accounts import Principal
from storage.engine import read_session, write_session
from storage.tables import Alarm, Counter, Interaction, RecordingSession, SignageScreen, Site, now_s

logger = logging.getLogger(__name__)

#: (where: ``site/counter`` or ``site/screen:NAME``, kind, detail)
OpenAlarm = tuple[str, str, str]


@dataclass(frozen=True)
class AlarmOptions:
    """Thresholds of the silence alarms. ``opening_hours``: [from, to) hour of the day, in each
    site's own time zone, when a quiet microphone is an alarm."""

    silent_after_s: float = 600.0
    gone_after_s: float = 60.0
    #: A registered screen silent this long (its player sends a heartbeat every 10 s).
    screen_gone_after_s: float = 120.0
    opening_hours: tuple[int, int] = (0, 24)
    #: ``unintelligible-audio``: this share of not-assessable interactions, of at least
    #: ``unintelligible_min`` analysed in the last ``unintelligible_window_s``.
    unintelligible_share: float = UNINTELLIGIBLE_SHARE
    unintelligible_min: int = UNINTELLIGIBLE_MIN
    unintelligible_window_s: float = UNINTELLIGIBLE_WINDOW_S


def set_counter_alarm(s: Session, counter_id: int, kind: str, active: bool, at: float, detail: str) -> None:
    """Raise (``active``) or clear the counter's alarm of ``kind``, in the caller's transaction."""
    alarm = s.scalar(select(Alarm).where(Alarm.counter_id == counter_id, Alarm.kind == kind, Alarm.cleared_s.is_(None)))
    if active and alarm is None:
        s.add(Alarm(counter_id=counter_id, kind=kind, since_s=at, detail=detail))
        logger.warning("alarm: counter #%s %s raised: %s", counter_id, kind, detail)
    elif active and alarm is not None:
        alarm.detail = detail
    elif not active and alarm is not None:
        alarm.cleared_s = at
        logger.info("alarm: counter #%s %s cleared", counter_id, kind)


def set_screen_alarm(db: Session, screen_id: int, *, gone: bool, at_s: float, detail: str = "") -> None:
    """Raise (``gone``) or clear the screen's ``screen-gone`` alarm, in the caller's transaction.

    Idempotent when several run at once (the worker sweep and ``up``'s health loop): the screen's
    row is locked (``FOR UPDATE``; SQLite's write transactions are serial anyway) before the open
    alarm is looked for, so a second caller waits and then finds the first one's alarm."""
    db.execute(select(SignageScreen.id).where(SignageScreen.id == screen_id).with_for_update())
    alarm = db.scalar(select(Alarm).where(Alarm.screen_id == screen_id, Alarm.kind == "screen-gone",
                                          Alarm.cleared_s.is_(None)))
    if gone and alarm is None:
        db.add(Alarm(screen_id=screen_id, kind="screen-gone", since_s=at_s, detail=detail))
        logger.warning("alarm: screen #%s screen-gone raised: %s", screen_id, detail)
    elif gone and alarm is not None:
        alarm.detail = detail
    elif alarm is not None:
        alarm.cleared_s = at_s
        logger.info("alarm: screen #%s screen-gone cleared", screen_id)


def evaluate_screen_alarms(db: Session, *, now_s: float, gone_after_s: float = AlarmOptions.screen_gone_after_s) -> None:
    """Raise ``screen-gone`` for each screen that has sent heartbeats but none for more than
    ``gone_after_s``; clear it for the others. Runs in the caller's transaction; screens are
    taken in id order (see :func:`set_screen_alarm`)."""
    for screen in db.scalars(select(SignageScreen).order_by(SignageScreen.id)):
        age = None if screen.last_heartbeat_s is None else now_s - screen.last_heartbeat_s
        set_screen_alarm(db, screen.id, gone=age is not None and age > gone_after_s, at_s=now_s,
                         detail=f"已 {age or 0:.0f} 秒没有收到心跳")


def evaluate_unintelligible(s: Session, counter_id: int, *, now: float, options: AlarmOptions = AlarmOptions()) -> None:
    """Raise or clear the counter's ``unintelligible-audio`` alarm from its interactions of the
    last ``unintelligible_window_s`` (by wall-clock start), in the caller's transaction."""
    since = now - options.unintelligible_window_s
    total, bad = s.execute(select(func.count(), func.coalesce(func.sum(
        case((Interaction.assessable.is_(False), 1), else_=0)), 0)).where(
        Interaction.counter_id == counter_id, Interaction.wall_start_s >= since,
        Interaction.analyzed_s.is_not(None))).one()
    share = bad / total if total else 0.0
    active = total >= options.unintelligible_min and share >= options.unintelligible_share
    set_counter_alarm(s, counter_id, "unintelligible-audio", active, now,
                      f"最近 {options.unintelligible_window_s / 3600:.0f} 小时 {total} 段服务中 {bad} 段无法判定"
                      f"（{share:.0%}），请检查麦克风")


def _ended_cleanly(s: Session, counter_id: int, last_heartbeat_s: float, gone_after_s: float) -> bool:
    """The counter's newest recording session was ended by its agent (``/end``) around its last
    heartbeat: the agent stopped on purpose (a file source that reached its end), not gone
    (issue 18)."""
    ended = s.scalar(select(RecordingSession.ended_s).where(RecordingSession.counter_id == counter_id)
                     .order_by(RecordingSession.wall_start_s.desc()).limit(1))
    return ended is not None and ended >= last_heartbeat_s - gone_after_s


def evaluate(engine: Engine, options: AlarmOptions = AlarmOptions(), *, now: float | None = None) -> list[OpenAlarm]:
    """Raise or clear the silence alarms of every counter and screen; return the open alarms."""
    now = now or now_s()
    lo, hi = options.opening_hours
    with write_session(engine) as s:
        # Counter rows locked in id order: two sweeps at once (workers, `up`) cannot both see
        # no open alarm and raise it twice, nor deadlock (SQLite serialises writers anyway).
        for c, zone in s.execute(select(Counter, Site.timezone).join(Site, Counter.site_id == Site.id)
                                 .order_by(Counter.id).with_for_update(of=Counter)):
            gone = (c.last_heartbeat_s is not None and now - c.last_heartbeat_s > options.gone_after_s
                    and not _ended_cleanly(s, c.id, c.last_heartbeat_s, options.gone_after_s))
            set_counter_alarm(s, c.id, "agent-gone", gone, now, f"已 {now - (c.last_heartbeat_s or now):.0f} 秒没有收到心跳")
            open_now = lo <= local_time(now, zone).hour < hi
            silent = (open_now and not gone and not c.paused and c.last_loud_s is not None
                      and now - c.last_loud_s > options.silent_after_s)
            set_counter_alarm(s, c.id, "silent-microphone", silent, now,
                              f"已 {now - (c.last_loud_s or now):.0f} 秒声音低于阈值")
            evaluate_unintelligible(s, c.id, now=now, options=options)
        evaluate_screen_alarms(s, now_s=now, gone_after_s=options.screen_gone_after_s)
    return open_alarms(engine)


def open_alarms(engine: Engine) -> list[OpenAlarm]:
    """Every open alarm, counters' first (by site and counter), then screens'."""
    with read_session(engine) as s:
        rows = s.execute(select(Site.name, Counter.name, Alarm.kind, Alarm.detail).select_from(Alarm)
                         .join(Counter, Counter.id == Alarm.counter_id).join(Site)
                         .where(Alarm.cleared_s.is_(None)).order_by(Site.name, Counter.name, Alarm.kind))
        counters = [(f"{a}/{b}", k, d) for a, b, k, d in rows]
        screens = s.execute(select(Site.name, SignageScreen.name, Alarm.kind, Alarm.detail).select_from(Alarm)
                            .join(SignageScreen, SignageScreen.id == Alarm.screen_id)
                            .join(Site, Site.id == SignageScreen.site_id)
                            .where(Alarm.cleared_s.is_(None)).order_by(Site.name, SignageScreen.name, Alarm.kind))
        return counters + [(f"{site}/screen:{name}", kind, detail) for site, name, kind, detail in screens]


class AlarmNotOpen(NotFound):
    code = "alarm_not_found"

    def __init__(self, where: str, kind: str) -> None:
        super().__init__(f"alarm {kind} of {where}", "is not open", kind=kind)


class AlarmNotClearable(Invalid):
    code = "alarm_not_clearable"

    def __init__(self, kind: str) -> None:
        super().__init__(f"alarm {kind}", f"clears itself; a person clears only {', '.join(PERSON_CLEARED_ALARMS)}",
                         kind=kind)


def clear_by_person(engine: Engine, *, counter_id: int, kind: str, user: Principal | None, note: str,
                    client: str = "", actor: str = "") -> None:
    """A person clears the counter's open alarm ``kind`` (one of :data:`PERSON_CLEARED_ALARMS`),
    with a note saying what was checked; audited ``alarm.clear`` in the same transaction.
    ``user``: the person (None: the operator CLI, named by ``actor``).

    Raises:
        AlarmNotClearable; CounterNotFound (or not of the user's sites); AlarmNotOpen.
    """
    from services import audit
    from services.catalog import CounterNotFound

    if kind not in PERSON_CLEARED_ALARMS:
        raise AlarmNotClearable(kind)
    with write_session(engine) as s:
        row = s.execute(select(Counter.id, Site.name).join(Site, Counter.site_id == Site.id)
                        .where(Counter.id == counter_id).with_for_update(of=Counter)).first()
        if row is None or (user is not None and not user.can_see(row[1])):
            raise CounterNotFound(counter_id)
        open_ = s.scalar(select(Alarm.id).where(Alarm.counter_id == counter_id, Alarm.kind == kind,
                                                Alarm.cleared_s.is_(None)))
        if open_ is None:
            raise AlarmNotOpen(f"counter #{counter_id}", kind)
        set_counter_alarm(s, counter_id, kind, False, now_s(), "")
        audit.append(s, user_id=user.id if user else None, user_name=user.name if user else actor,
                     action="alarm.clear", target=f"counter:{counter_id}",
                     client=client, detail=f"{LABELS['alarm'].get(kind, kind)}：{note}"[:2000])
