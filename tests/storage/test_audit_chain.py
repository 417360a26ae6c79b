"""Issue 11, item 3: the audit log is append-only for the application and tamper-evident for
anyone who gets round that (the database owner turning the trigger off): ``counterwatch verify
--audit`` finds an edited or a deleted row and names the first broken one. Both backends."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services import audit
from services.audit import verify_chain
from storage.engine import make_engine
from storage.tables import AuditLog
from tests.support.cli import run_cli


@pytest.fixture()
def logged(db_url: str):
    eng = make_engine(db_url)
    for i in range(6):
        audit.record(eng, None, user_name=f"管理员{i}", action="audio.play", target=f"interaction:{i + 1}",
                     client="127.0.0.1", detail=f"bytes=0-{i}")
    try:
        yield eng
    finally:
        eng.dispose()


def _rows(eng) -> list[tuple]:
    with Session(eng) as s:
        return [tuple(r) for r in s.execute(select(AuditLog.id, AuditLog.user_name, AuditLog.detail,
                                                   AuditLog.row_sha256).order_by(AuditLog.id))]


def _cli_env(db_url: str, tmp_path) -> dict[str, str]:
    return {"COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_DATA_DIR": str(tmp_path / "data")}


def _untriggered(eng, statement) -> None:
    """Run ``statement`` as the database's owner would after switching the append-only trigger
    off (an attacker with the owner's rights, not the application)."""
    with eng.begin() as c:
        if eng.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            c.execute(statement)
            c.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            c.execute(text("DROP TRIGGER audit_log_no_update"))
            c.execute(text("DROP TRIGGER audit_log_no_delete"))
            c.execute(statement)


def test_the_application_cannot_change_or_delete_audit_rows(logged, db_url: str, tmp_path):
    before = _rows(logged)
    assert len(before) == 6
    for statement in (update(AuditLog).where(AuditLog.id == before[2][0]).values(detail="edited"),
                      delete(AuditLog).where(AuditLog.id == before[2][0]), delete(AuditLog)):
        with pytest.raises(DBAPIError, match="append-only"), logged.begin() as c:
            c.execute(statement)
    assert _rows(logged) == before
    ok = run_cli("verify", "--audit", env=_cli_env(db_url, tmp_path))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"OK audit log: 6 rows, chain intact, head {before[-1][3]}"


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_verify_audit_names_the_first_row_edited_or_after_a_deleted_one(logged, db_url: str, tmp_path, tamper: str):
    ids = [r[0] for r in _rows(logged)]
    if tamper == "edit":
        _untriggered(logged, update(AuditLog).where(AuditLog.id == ids[2]).values(user_name="别人"))
        broken, why = ids[2], "was edited: its fields do not match its hash"
    else:
        _untriggered(logged, delete(AuditLog).where(AuditLog.id == ids[2]))
        broken, why = ids[3], "does not link to the row before it"
    report = verify_chain(logged)
    assert (report.broken_id, report.rows) == (broken, 2) and report.problem.startswith(why), report
    bad = run_cli("verify", "--audit", env=_cli_env(db_url, tmp_path))
    assert bad.returncode == 1, bad.stderr
    assert bad.stdout.startswith(f"BROKEN audit log: row {broken} {why}"), bad.stdout
    assert "(2 rows before it verified)" in bad.stdout


def test_rehashing_an_edited_row_breaks_the_next_link(logged, db_url: str, tmp_path):
    """An editor who also recomputes the edited row's own hash still breaks the link of the row
    after it; only rewriting every later row hides an edit (keep the printed head elsewhere)."""
    rows = _rows(logged)
    with Session(logged) as s:
        r = s.get(AuditLog, rows[1][0])
        assert r is not None
        forged = audit.row_hash(r.prev_sha256 or "", r.at_s, r.user_id, r.user_name, r.action, r.target, r.client,
                                "bytes=0-999")
    _untriggered(logged, update(AuditLog).where(AuditLog.id == rows[1][0]).values(detail="bytes=0-999",
                                                                                    row_sha256=forged))
    report = verify_chain(logged)
    assert report.broken_id == rows[2][0] and "does not link" in report.problem, report
