"""Issue 11, item 7: the authorization matrix, generated from the OpenAPI description.

Every operation is called by every kind of principal: nobody, a forged token, an admin, a
supervisor and a viewer of site ``hall``, a member of its counter staff (``staff``, linked to
the roster's 张三), a screen of ``hall``, the capture agent of ``hall/c1``, the event source
(queue and rating system) of ``hall``, its ticket kiosk, rating terminal and a department's
handler; every reading operation with a ``site`` query parameter is called once more asking
for the other site (``annex``); required query parameters get example values
(:data:`EXAMPLES`). Each answer is classed ``401``, ``403``/``404`` (refused) or ``pass`` (the
gate let it through: 2xx, or 404/409/422 about the request itself), and the whole table must
equal the one in ``authz_matrix.txt`` beside this file, which is the reviewed promise. A new
operation fails the test until its row is added there. ``COUNTERWATCH_WRITE_AUTHZ=1`` writes the
table the server answers now (then review the diff: it is the authorization change).

Requests carry no body and dummy path ids (``1``): the role gates run before the body and the
query are read, so a ``pass`` of a person at a route is ``422``/``404`` there, never data. The
answers about real data of another site are in tests/api/test_security.py and
tests/api/test_agent_ingest.py.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from services.accounts import add_user
from services.devices import issue as issue_device
from services.tokens import issue_agent_token, issue_event_token
from tests.support.stack import AppEnv

TABLE = Path(__file__).with_name("authz_matrix.txt")
PRINCIPALS = ("anonymous", "forged", "admin", "supervisor", "viewer", "staff", "screen", "agent", "events", "kiosk",
              "rater", "handler")
#: Called last: it ends the caller's session.
LAST = {("post", "/api/v1/auth/logout")}
PUBLIC = {("post", "/api/v1/auth/login")}
#: Values for required query parameters, so that a site's check is reached rather than a 422.
EXAMPLES = {"q": "您好", "month": "2026-03", "since_s": "0", "until_s": "2000000000", "day": "2026-03-02",
            "name": "王芳"}
#: All a kiosk may do: the labels, its services and the queue board, take a ticket.
KIOSK = {"GET /api/v1/dictionary", "GET /api/v1/queue/services", "GET /api/v1/queue/stats", "POST /api/v1/queue/tickets",
         "POST /api/v1/devices/session", "GET /api/v1/auth/me", "POST /api/v1/auth/logout"}
#: All a rating terminal may do: the labels, its terminal state and the photo of its staff on duty, its presses.
RATER = {"GET /api/v1/dictionary", "GET /api/v1/ratings/terminal", "GET /api/v1/ratings/terminal/photo",
         "POST /api/v1/ratings/presses",
         "POST /api/v1/devices/session", "GET /api/v1/auth/me", "POST /api/v1/auth/logout"}
#: A counter's hardware call button works that counter's queue through its capture agent (issue 21);
#: the agent still posts no events of its own (issue 18): the server makes the queue call.
AGENT_QUEUE = {f"POST /api/v1/queue/counters/1/{action}"
               for action in ("call-next", "recall", "skip", "finish", "transfer", "pause", "resume")}
#: Whoever is logged in reads who they are.
OWN = {"GET /api/v1/auth/me"}
#: Besides their own page (/my/...), a staff member reads the labels, plays their own recordings
#: (another's reads as missing: tests/api/test_appeals.py) and logs out.
STAFF_ALSO = {"GET /api/v1/dictionary", "GET /api/v1/interactions/1/audio", "POST /api/v1/auth/logout"}


def _cell(status: int, *, other_site: bool) -> str:
    if status in (401, 403):
        return str(status)
    if other_site and status == 404:       # another site's data reads as missing
        return "404"
    assert status < 500, status
    return "pass"


def _requests(app) -> list[tuple[str, str, dict[str, str]]]:
    out, last = [], []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or (method, path) in PUBLIC:
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            query = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
            example = {k: v for k, v in EXAMPLES.items() if k in query}
            rows = [(method, url, example)]
            if method == "get" and "site" in query:
                rows.append((method, url, {**example, "site": "annex"}))
            (last if (method, path) in LAST else out).extend(rows)
    return out + last


def _label(method: str, url: str, params: dict[str, str]) -> str:
    return f"{method.upper()} {url}" + (f"?site={params['site']}" if "site" in params else "")


def _matrix(app_env: AppEnv) -> dict[str, dict[str, str]]:
    tokens = {"anonymous": None, "forged": "cw_not-a-real-token", "admin": app_env.make_user("admin"),
              "supervisor": app_env.make_user("supervisor", ["hall"]), "viewer": app_env.make_user("viewer", ["hall"]),
              "staff": add_user(app_env.engine, "staff-zhang", role="staff", sites=["hall"], staff="张三").token,
              "screen": app_env.make_user("screen", ["hall"]),
              "agent": issue_agent_token(app_env.engine, site="hall", counter="c1", actor="test").token,
              "events": issue_event_token(app_env.engine, site="hall", actor="test").token,
              "kiosk": issue_device(app_env.engine, role="kiosk", site="hall", name="k1", actor="test").token,
              "rater": issue_device(app_env.engine, role="rater", site="hall", name="c1", actor="test").token,
              "handler": app_env.make_user("handler", ["hall"])}
    clients = {who: app_env.client(t) for who, t in tokens.items()}
    table: dict[str, dict[str, str]] = {}
    for method, url, params in _requests(app_env.app):
        row = table.setdefault(_label(method, url, params), {})
        for who in PRINCIPALS:
            r = clients[who].request(method, url, params=params)
            assert r.status_code < 500, (method, url, who, r.status_code, r.text)
            row[who] = _cell(r.status_code, other_site="site" in params)
    return table


def _format(table: dict[str, dict[str, str]]) -> str:
    width = max(len(k) for k in table) + 2
    lines = ["# operation".ljust(width) + " ".join(f"{p:>10}" for p in PRINCIPALS)]
    for op in sorted(table):
        lines.append(op.ljust(width) + " ".join(f"{table[op][p]:>10}" for p in PRINCIPALS))
    return "\n".join(lines) + "\n"


def _parse(text: str) -> dict[str, dict[str, str]]:
    table = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            *op, = line.split()
            cells = op[-len(PRINCIPALS):]
            table[" ".join(op[:-len(PRINCIPALS)])] = dict(zip(PRINCIPALS, cells, strict=True))
    return table


@pytest.mark.slow     # over 10 s on the loaded box: the full suite's, not the fast loop's
def test_every_operation_answers_every_principal_as_the_table_says(app_env: AppEnv):
    got = _matrix(app_env)
    if os.environ.get("COUNTERWATCH_WRITE_AUTHZ") == "1":
        TABLE.write_text(_format(got), encoding="utf-8")
    want = _parse(TABLE.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(want), ("operations not in the table (add them) or gone from the API",
                                         sorted(set(got) ^ set(want)))
    diffs = [f"{op} {who}: table {want[op][who]}, server {got[op][who]}"
             for op in sorted(got) for who in PRINCIPALS if got[op][who] != want[op][who]]
    assert not diffs, "\n".join(diffs)
    # The promises the table must keep, whatever is written in it:
    for op, row in got.items():
        assert row["anonymous"] == row["forged"] == "401", op
        if "/agent/" in op:
            assert {who for who, c in row.items() if c == "pass"} == {"agent"}, op
        if op.startswith("GET ") and "/agent/" not in op and op not in OWN:
            assert row["agent"] == "403", f"an agent token reads {op}"
            assert row["events"] == "403", f"an event source's token reads {op}"
        if op not in OWN and op != "POST /api/v1/auth/logout":
            assert row["events"] == "403" or op == "POST /api/v1/events", f"an event source's token reaches {op}"
            assert row["agent"] == "403" or "/agent/" in op or op in AGENT_QUEUE, f"an agent token reaches {op}"
        if "?site=annex" in op:
            assert all(row[who] != "pass" for who in ("supervisor", "viewer", "staff", "screen", "agent", "events", "kiosk",
                                                      "rater", "handler")), op
        # the hall's devices do their one job: a kiosk takes tickets, a rater rates (issue 21)
        if row["kiosk"] == "pass":
            assert op in KIOSK, f"a kiosk token reaches {op}"
        if row["rater"] == "pass":
            assert op in RATER, f"a rating terminal's token reaches {op}"
        if "/my/" in op:
            assert {who for who, c in row.items() if c == "pass"} == {"staff"}, op
        if row["staff"] == "pass" and "/my/" not in op:      # the staff reach only their own things
            assert op in OWN | STAFF_ALSO, f"a staff member reaches {op}"
        if "/audit" in op:
            assert {who for who, c in row.items() if c == "pass"} == {"admin"}, op


def _documented() -> dict[str, dict[str, str]]:
    """The matrix as docs/security.md writes it (its markdown table of operations)."""
    doc = (Path(__file__).parents[2] / "docs" / "security.md").read_text(encoding="utf-8")
    section = doc.split("## The authorization matrix, cell for cell", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `"):
            table[cells[0].strip("`")] = dict(zip(PRINCIPALS, cells[1:], strict=True))
        elif line.startswith("| operation"):
            assert tuple(cells[1:]) == PRINCIPALS, cells
    return table


def test_the_documented_matrix_is_the_tested_one():
    assert _documented() == _parse(TABLE.read_text(encoding="utf-8"))
