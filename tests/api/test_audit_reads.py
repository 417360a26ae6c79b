"""Every read of personal data is audited (issue 18): the complaints list and history, the
monthly report as JSON, the counters' cards; the audit page is searchable by recording and
exportable as CSV, the export itself audited."""
from __future__ import annotations

import time

from tests.support.stack import AppEnv


def test_listings_of_personal_data_write_audit_rows(app_env: AppEnv):
    tok = app_env.token("supervisor")
    sup = app_env.client(tok)
    c = sup.post("/api/v1/complaints", json={"site": "hall", "complainant": "王女士", "summary": "态度冷淡"}).json()
    assert sup.get("/api/v1/complaints").status_code == 200
    assert sup.get(f"/api/v1/complaints/{c['id']}/history").status_code == 200
    assert sup.get("/api/v1/reports/monthly", params={"month": time.strftime("%Y-%m")}).status_code == 200
    assert sup.get("/api/v1/counters").status_code == 200
    name = app_env.names[tok]
    for action, target in (("complaint.list", "site:hall"), ("complaint.history", f"complaint:{c['id']}"),
                           ("report.view", "site:hall"), ("counters.view", "site:hall")):
        rows = [r for r in app_env.audit_rows(action) if r.user_name == name]
        assert len(rows) == 1 and rows[0].target == target, (action, [(r.target, r.detail) for r in rows])


def test_the_audit_page_is_searchable_by_recording_and_exportable(app_env: AppEnv):
    one = app_env.add_interaction()
    two = app_env.add_interaction()
    sup = app_env.client(app_env.token("supervisor"))
    for iid in (one, two, one):
        assert sup.get(f"/api/v1/interactions/{iid}/transcript").status_code == 200
    admin = app_env.client(app_env.token("admin", []))
    r = admin.get("/api/v1/audit", params={"interaction": one})
    assert r.status_code == 200 and r.headers["x-total-count"] == "2"
    assert {row["target"] for row in r.json()} == {f"interaction:{one}"}
    csv = admin.get("/api/v1/audit/export", params={"interaction": one})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("编号,时间") and len(lines) == 3 and all(f"interaction:{one}" in x for x in lines[1:])
    (row,) = app_env.audit_rows("audit.export")
    assert row.detail == f"导出 2 条，录音编号：{one}", row.detail      # plain Chinese (issue 20)
    assert sup.get("/api/v1/audit/export").status_code == 403
