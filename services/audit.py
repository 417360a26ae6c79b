"""The audit log: who did what to which recording, when and from where.

Every access to a recording or a transcript, every change a person makes and every refusal of a
cross-site attempt is written here before the answer goes out (:func:`record`). The log is
append-only: nothing in the product changes or deletes its rows.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.timezones import DEFAULT_TIMEZONE, local_time
from services.accounts import Principal
from storage.engine import read_session, write_session
from storage.tables import AuditLog, Complaint, Counter, Flag, Interaction, Site, now_s


def record(engine: Engine, user: Principal | None, *, action: str, target: str = "", client: str = "",
           detail: str = "", user_name: str | None = None) -> None:
    """Append one row and commit it. ``user``: the acting principal (None for the system, e.g.
    retention, or a failed login, named by ``user_name``)."""
    with write_session(engine) as s:
        s.add(AuditLog(at_s=now_s(), user_id=user.id if user else None,
                       user_name=(user.name if user else user_name or "")[:100], action=action,
                       target=target[:300], client=client[:100], detail=detail))


def _query(*, action: str | None, since_s: float | None, until_s: float | None, user: str | None):  # noqa: ANN202
    q = select(AuditLog)
    if action:
        q = q.where(AuditLog.action == action)
    if since_s is not None:
        q = q.where(AuditLog.at_s >= since_s)
    if until_s is not None:
        q = q.where(AuditLog.at_s < until_s)
    if user:
        q = q.where(AuditLog.user_name == user)
    return q


def rows(db: Session, *, action: str | None = None, since_s: float | None = None, until_s: float | None = None,
         user: str | None = None, offset: int = 0, limit: int = 200) -> list[AuditLog]:
    """Audit rows, newest first."""
    q = _query(action=action, since_s=since_s, until_s=until_s, user=user)
    return list(db.scalars(q.order_by(AuditLog.id.desc()).offset(offset).limit(limit)))


@dataclass(frozen=True)
class AuditView:
    id: int
    at_s: float
    at: str                 # local time in the site's zone, YYYY-MM-DD HH:MM:SS
    timezone: str
    site: str | None        # the site of the target, where it has one
    user_name: str
    action: str
    target: str
    client: str
    detail: str


@dataclass(frozen=True)
class AuditPage:
    total: int
    items: list[AuditView]


def _target_sites(db: Session, targets: list[str]) -> dict[str, tuple[str, str]]:
    """(site name, time zone) of each target that names a recording, counter, flag, complaint or site."""
    ids: dict[str, list[int]] = {}
    names: list[str] = []
    for t in targets:
        kind, _, ref = t.partition(":")
        if kind == "site":
            names.append(ref)
        elif ref.isdigit() and kind in ("interaction", "counter", "flag", "complaint"):
            ids.setdefault(kind, []).append(int(ref))
    site_cols = (Site.name, Site.timezone)
    queries = {
        "interaction": select(Interaction.id, *site_cols).join(Counter, Interaction.counter_id == Counter.id)
        .join(Site, Counter.site_id == Site.id).where(Interaction.id.in_(ids.get("interaction", []))),
        "counter": select(Counter.id, *site_cols).join(Site, Counter.site_id == Site.id)
        .where(Counter.id.in_(ids.get("counter", []))),
        "flag": select(Flag.id, *site_cols).join(Interaction, Flag.interaction_id == Interaction.id)
        .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
        .where(Flag.id.in_(ids.get("flag", []))),
        "complaint": select(Complaint.id, *site_cols).join(Site, Complaint.site_id == Site.id)
        .where(Complaint.id.in_(ids.get("complaint", []))),
    }
    out = {f"{kind}:{i}": (site, tz) for kind, q in queries.items() if ids.get(kind) for i, site, tz in db.execute(q)}
    out.update({f"site:{n}": (n, tz) for n, tz in db.execute(select(Site.name, Site.timezone).where(Site.name.in_(names)))})
    return out


def page(db: Session, *, action: str | None = None, since_s: float | None = None, until_s: float | None = None,
         user: str | None = None, offset: int = 0, limit: int = 200) -> AuditPage:
    """Audit rows newest first with the total, each with its target's site and its time in that
    site's zone (the default zone where the target has no site: a login)."""
    q = _query(action=action, since_s=since_s, until_s=until_s, user=user)
    total = db.execute(select(func.count()).select_from(q.with_only_columns(AuditLog.id).subquery())).scalar_one()
    found = rows(db, action=action, since_s=since_s, until_s=until_s, user=user, offset=offset, limit=limit)
    sites = _target_sites(db, [a.target for a in found])
    items = []
    for a in found:
        site, tz = sites.get(a.target, (None, DEFAULT_TIMEZONE))
        items.append(AuditView(a.id, a.at_s, f"{local_time(a.at_s, tz):%Y-%m-%d %H:%M:%S}", tz, site, a.user_name,
                               a.action, a.target, a.client, a.detail))
    return AuditPage(total, items)


#: Range requests of one listening share one ``audio.play`` row while it is younger than this.
PLAY_AUDIT_WINDOW_S = 60.0


def record_play(engine: Engine, user: Principal, *, target: str, client: str, detail: str) -> None:
    """Audit a playback: seeking sends many Range requests for one listening, so requests by the
    same user for the same target share one ``audio.play`` row while an earlier one is less than
    :data:`PLAY_AUDIT_WINDOW_S` old (two requests racing may both write one: never zero)."""
    with read_session(engine) as s:
        recent = s.scalar(select(AuditLog.id).where(
            AuditLog.user_id == user.id, AuditLog.action == "audio.play", AuditLog.target == target,
            AuditLog.at_s >= now_s() - PLAY_AUDIT_WINDOW_S).limit(1))
    if recent is None:
        record(engine, user, action="audio.play", target=target, client=client, detail=detail)
