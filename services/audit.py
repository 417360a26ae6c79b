"""The audit log: who did what to which recording, when and from where.

Every access to a recording or a transcript, every change a person makes and every refusal of a
cross-site attempt is written here before the answer goes out (:func:`record`). The log is
append-only: nothing in the product changes or deletes its rows.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.accounts import Principal
from storage.engine import read_session, write_session
from storage.tables import AuditLog, now_s


def record(engine: Engine, user: Principal | None, *, action: str, target: str = "", client: str = "",
           detail: str = "", user_name: str | None = None) -> None:
    """Append one row and commit it. ``user``: the acting principal (None for the system, e.g.
    retention, or a failed login, named by ``user_name``)."""
    with write_session(engine) as s:
        s.add(AuditLog(at_s=now_s(), user_id=user.id if user else None,
                       user_name=(user.name if user else user_name or "")[:100], action=action,
                       target=target[:300], client=client[:100], detail=detail))


def rows(db: Session, *, action: str | None = None, since_s: float | None = None, limit: int = 200) -> list[AuditLog]:
    """Audit rows, newest first."""
    q = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action:
        q = q.where(AuditLog.action == action)
    if since_s is not None:
        q = q.where(AuditLog.at_s >= since_s)
    return list(db.scalars(q))


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
