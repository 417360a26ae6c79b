"""The audit log: who did what to which recording, when and from where.

Every access to a recording or a transcript, every change a person makes and every refusal of a
cross-site attempt is written here before the answer goes out (:func:`record`). The log is
append-only: nothing in the product changes or deletes its rows, and on both backends a trigger
refuses UPDATE and DELETE (migration 0014).

Tamper evidence (issue 11): each row carries ``prev_sha256``, the ``row_sha256`` of the row
before it (64 zeros for the first), and its own ``row_sha256`` = sha256 over that and the row's
fields (:func:`row_hash`). Rows are appended under a lock (PostgreSQL: a transaction-level
advisory lock; SQLite's write transactions are serial anyway), so the chain never forks.
:func:`verify_chain` walks it and names the first row that does not fit: an edited row fails its
own hash, a deleted one breaks the next row's link. Cutting rows off the end leaves a shorter
valid chain: keep the head (:attr:`ChainReport.head_sha256`, printed by ``counterwatch verify
--audit``) somewhere else to notice that.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import String, cast, func, insert, literal, or_, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from domain.timezones import DEFAULT_TIMEZONE, local_time
from services.accounts import Principal
from storage.engine import read_session, writer
from storage.tables import AuditLog, Complaint, Counter, Flag, Interaction, Site, now_s

GENESIS = "0" * 64
#: Any fixed number: the key of the advisory lock appends take on PostgreSQL.
_PG_LOCK = 7_361_001


def row_hash(prev: str, at_s: float, user_id: int | None, user_name: str, action: str, target: str, client: str,
             detail: str) -> str:
    """The chain hash of a row whose predecessor's hash is ``prev`` (JSON of the fields, so no
    separator inside a field can make two rows hash alike)."""
    fields = [prev, repr(float(at_s)), user_id, user_name, action, target, client, detail]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def expiry_detail(expires_s: float | None) -> str:
    """A token's expiry as the audit log says it, in plain Chinese on the sites' default clock
    (issue 20: not "expires 1828184476")."""
    if expires_s is None:
        return "长期有效"
    return f"有效期至 {local_time(expires_s, DEFAULT_TIMEZONE):%Y-%m-%d %H:%M}"


def local_stamp(at_s: float) -> str:
    """A moment as an audit detail writes it, on the sites' default clock ("2026-12-07 18:00")."""
    try:
        return f"{local_time(at_s, DEFAULT_TIMEZONE):%Y-%m-%d %H:%M}"
    except (OverflowError, OSError, ValueError):     # beyond the calendar: the number itself
        return f"{at_s:g}"


def token_detail(token_id: int, label: str = "") -> str:
    """One token as the audit log names it: "令牌 #12（采集端）" (the id kept, searchable)."""
    return f"令牌 #{token_id}（{label}）" if label else f"令牌 #{token_id}"


def tokens_revoked_detail(n: int) -> str:
    """How many tokens a disable or revoke ended: "作废令牌 2 个"."""
    return f"作废令牌 {n} 个"


def role_label(role: str) -> str:
    """A role in plain Chinese for an audit detail (the code itself where the vocabulary lacks it)."""
    from domain.vocab import LABELS

    return LABELS["role"].get(role, role)


#: The newest row's hash: what the next row links to.
_HEAD = select(AuditLog.row_sha256).order_by(AuditLog.id.desc()).limit(1)
_INSERT = insert(AuditLog)


def _take_lock(conn: Session | Connection) -> None:
    """Serialise appends (PostgreSQL: an advisory lock until the transaction ends; SQLite's write
    transactions are serial already), so the chain never forks."""
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if bind.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})


def _chained(prev: str, *, user_id: int | None, user_name: str, action: str, target: str, client: str,
             detail: str) -> dict:
    """The columns of a row linked to ``prev``, cut to their lengths, with its own hash."""
    at_s, name, act, tgt, cli = now_s(), user_name[:100], action[:40], target[:300], client[:100]
    return {"at_s": at_s, "user_id": user_id, "user_name": name, "action": act, "target": tgt, "client": cli,
            "detail": detail, "prev_sha256": prev,
            "row_sha256": row_hash(prev, at_s, user_id, name, act, tgt, cli, detail)}


def append(s: Session, *, user_id: int | None, user_name: str, action: str, target: str = "", client: str = "",
           detail: str = "") -> AuditLog:
    """Append one chained row in the caller's write transaction (committed with it)."""
    _take_lock(s)
    row = AuditLog(**_chained(s.scalar(_HEAD) or GENESIS, user_id=user_id, user_name=user_name, action=action,
                              target=target, client=client, detail=detail))
    s.add(row)
    return row


def record(engine: Engine, user: Principal | None, *, action: str, target: str = "", client: str = "",
           detail: str = "", user_name: str | None = None) -> None:
    """Append one row and commit it, before the caller answers (a read's audit is never lost to
    a crash after the answer). ``user``: the acting principal (None for the system, e.g.
    retention, or a failed login, named by ``user_name``). One short write transaction without
    an ORM session (issue 23: the head's hash, then the insert), as :func:`append` chains it."""
    with writer(engine).begin() as conn:
        _take_lock(conn)
        conn.execute(_INSERT, _chained(conn.scalar(_HEAD) or GENESIS, user_id=user.id if user else None,
                                       user_name=user.name if user else user_name or "", action=action,
                                       target=target, client=client, detail=detail))


def _targets_of(sites: tuple[str, ...]):  # noqa: ANN202
    """A condition: the row's target is a recording, counter, flag, complaint or site of ``sites``."""
    site_ids = select(Site.id).where(Site.name.in_(sites))
    counters = select(Counter.id).where(Counter.site_id.in_(site_ids))
    interactions = select(Interaction.id).where(Interaction.counter_id.in_(counters))

    def ref(kind: str, column):  # noqa: ANN001, ANN202
        return literal(f"{kind}:") + cast(column, String)

    return or_(
        AuditLog.target.in_(select(ref("interaction", Interaction.id)).where(Interaction.id.in_(interactions))),
        AuditLog.target.in_(select(ref("counter", Counter.id)).where(Counter.id.in_(counters))),
        AuditLog.target.in_(select(ref("flag", Flag.id)).where(Flag.interaction_id.in_(interactions))),
        AuditLog.target.in_(select(ref("complaint", Complaint.id)).where(Complaint.site_id.in_(site_ids))),
        AuditLog.target.in_([f"site:{s}" for s in sites]),
    )


def _query(*, action: str | None, since_s: float | None, until_s: float | None, user: str | None,  # noqa: ANN202
           sites: tuple[str, ...] = (), target: str | None = None):  # noqa: ANN202 - a Select
    q = select(AuditLog)
    if sites:       # a site's admin: only rows about that site's recordings, counters, complaints
        q = q.where(_targets_of(sites))
    if target:
        q = q.where(AuditLog.target == target)
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
         user: str | None = None, offset: int = 0, limit: int = 200, sites: tuple[str, ...] = (),
         target: str | None = None) -> list[AuditLog]:
    """Audit rows, newest first (``sites``: only those about these sites; ``target``: about it)."""
    q = _query(action=action, since_s=since_s, until_s=until_s, user=user, sites=sites, target=target)
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
         user: str | None = None, offset: int = 0, limit: int = 200, sites: tuple[str, ...] = (),
         target: str | None = None) -> AuditPage:
    """Audit rows newest first with the total, each with its target's site and its time in that
    site's zone (the default zone where the target has no site: a login). ``sites``: only rows
    about these sites (a site's admin; empty: all); ``target``: only rows about it
    (``interaction:42``)."""
    q = _query(action=action, since_s=since_s, until_s=until_s, user=user, sites=sites, target=target)
    total = db.execute(select(func.count()).select_from(q.with_only_columns(AuditLog.id).subquery())).scalar_one()
    found = rows(db, action=action, since_s=since_s, until_s=until_s, user=user, offset=offset, limit=limit,
                 sites=sites, target=target)
    where = _target_sites(db, [a.target for a in found])
    items = []
    for a in found:
        site, tz = where.get(a.target, (None, DEFAULT_TIMEZONE))
        items.append(AuditView(a.id, a.at_s, f"{local_time(a.at_s, tz):%Y-%m-%d %H:%M:%S}", tz, site, a.user_name,
                               a.action, a.target, a.client, a.detail))
    return AuditPage(total, items)


@dataclass(frozen=True)
class ChainReport:
    """``rows`` checked; ``broken_id``/``problem``: the first row that does not fit (None: intact);
    ``head_sha256``: the last row's hash (keep it elsewhere to detect rows cut off the end)."""

    rows: int
    head_sha256: str
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(engine: Engine, *, batch: int = 5000) -> ChainReport:
    """Walk the audit log in id order and check every link and every row's own hash."""
    prev, n, last_id = GENESIS, 0, 0
    with read_session(engine) as s:
        while True:
            page = list(s.execute(select(AuditLog.id, AuditLog.at_s, AuditLog.user_id, AuditLog.user_name,
                                         AuditLog.action, AuditLog.target, AuditLog.client, AuditLog.detail,
                                         AuditLog.prev_sha256, AuditLog.row_sha256)
                                  .where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch)))
            if not page:
                return ChainReport(n, prev)
            for r in page:
                if r.prev_sha256 != prev:
                    why = ("has no chain hash" if r.prev_sha256 is None else
                           "does not link to the row before it (a row before it was deleted, or it was edited)")
                    return ChainReport(n, prev, r.id, why)
                if r.row_sha256 != row_hash(r.prev_sha256, r.at_s, r.user_id, r.user_name, r.action, r.target,
                                            r.client, r.detail):
                    return ChainReport(n, prev, r.id, "was edited: its fields do not match its hash")
                prev, n, last_id = r.row_sha256, n + 1, r.id


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
