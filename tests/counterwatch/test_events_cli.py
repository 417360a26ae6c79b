"""`counterwatch events token|revoke` (the queue and rating systems' own principal) and `alarm
clear` (a person clears chunk-conflict), on an embedded database (issue 18)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.slow


def test_event_source_tokens_and_alarm_clear_from_the_cli(tmp_path: Path):
    env = {"COUNTERWATCH_DATA": str(tmp_path / "data")}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    assert run_cli("counter", "add", "c1", env=env).returncode == 0
    issued = run_cli("events", "token", env=env)
    token = tmp_path / "data" / "events" / "hall.token"
    assert issued.returncode == 0 and str(token) in issued.stdout, issued.stderr
    assert token.stat().st_mode & 0o777 == 0o600 and token.read_text().startswith("cw_")
    one = run_cli("events", "token", "--counter", "c1", "--out", "-", env=env)
    assert one.returncode == 0 and one.stdout.startswith("cw_")
    listed = run_cli("user", "tokens", "events:hall/c1", env=env)
    assert listed.returncode == 0 and "events" in listed.stdout
    revoked = run_cli("events", "revoke", env=env)
    assert revoked.returncode == 0 and "1 token(s)" in revoked.stdout
    bad = run_cli("events", "token", "--counter", "c9", env=env)
    assert bad.returncode == 2 and "c9" in bad.stderr
    bad = run_cli("event", "queue_call", "--counter", "c1", "--ticket", "<svg onload=x>", env=env)
    assert bad.returncode == 2 and "ticket" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli("event", "queue_call", "--counter", "c1", "--ticket", "A012", env=env).returncode == 0
    not_open = run_cli("alarm", "clear", "--counter", "c1", "--note", "checked", env=env)
    assert not_open.returncode == 2 and "is not open" in not_open.stderr
    bad = run_cli("counter", "add", "c2", "--display-name", "窗\u202e口", env=env)
    assert bad.returncode == 2 and "U+202E" in bad.stderr
