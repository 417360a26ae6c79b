"""Console login with throttling (issue 11; OWASP ASVS 2.2.1).

Failed logins are audit rows (``login.failed``, with the name tried and the client address), so
every API process behind a load balancer counts the same failures. Before a password is even
checked:

* per account: after :data:`ACCOUNT_FREE_FAILURES` failures for the name within
  :data:`FAIL_WINDOW_S` (since its last successful login), each further try waits
  ``2 ** (failures - free)`` seconds after the last failure, at most :data:`MAX_WAIT_S`;
* per client: the same after :data:`CLIENT_FREE_FAILURES` failures from the address, whatever
  names it tried (password spraying).

A refused try answers 429 with ``Retry-After`` and is audited as ``login.throttled``; it does not
count as a failure, so waiting out the delay always gives one more try. Unknown names are
throttled alike and verified against a dummy hash, so neither the answer nor its time tells
whether a name exists.
"""
from __future__ import annotations

import unicodedata

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from domain.errors import Throttled
from services import accounts, audit
from services.accounts import ConsoleSession
from storage.engine import read_session
from storage.tables import AuditLog, now_s

FAIL_WINDOW_S = 900.0
ACCOUNT_FREE_FAILURES = 5
CLIENT_FREE_FAILURES = 20
MAX_WAIT_S = 300.0


def _wait_s(failures: int, free: int, last_s: float | None, now: float) -> float:
    if failures < free or last_s is None:
        return 0.0
    return max(0.0, last_s + min(MAX_WAIT_S, 2.0 ** (failures - free)) - now)


def retry_after_s(engine: Engine, name: str, client: str, *, now: float | None = None) -> float:
    """Seconds until ``name`` may be tried again from ``client`` (0: now)."""
    now = now or now_s()
    since = now - FAIL_WINDOW_S
    with read_session(engine) as s:
        last_ok = s.scalar(select(func.max(AuditLog.at_s)).where(AuditLog.action == "login",
                                                                 AuditLog.user_name == name))
        account_since = max(since, last_ok or since)
        n_account, last_account = s.execute(select(func.count(), func.max(AuditLog.at_s)).where(
            AuditLog.action == "login.failed", AuditLog.user_name == name, AuditLog.at_s > account_since)).one()
        n_client, last_client = s.execute(select(func.count(), func.max(AuditLog.at_s)).where(
            AuditLog.action == "login.failed", AuditLog.client == client, AuditLog.at_s > since)).one()
    return max(_wait_s(n_account, ACCOUNT_FREE_FAILURES, last_account, now),
               _wait_s(n_client, CLIENT_FREE_FAILURES, last_client, now))


def login(engine: Engine, name: str, password: str, *, client: str) -> ConsoleSession | None:
    """A console session for ``name`` if the password matches and no throttle holds; audited
    (``login``, ``login.failed``, ``login.throttled``). None for a wrong name or password.

    Raises:
        Throttled: too many recent failures for the account or from the client.
    """
    name = unicodedata.normalize("NFKC", name).strip()[:100]
    wait = retry_after_s(engine, name, client)
    if wait > 0:
        audit.record(engine, None, action="login.throttled", user_name=name, client=client,
                     detail=f"登录失败次数过多，{wait:.0f} 秒后可再试")
        raise Throttled("login", f"too many failed logins; try again in {wait:.0f} s", retry_after_s=wait,
                        code="login_throttled")
    session = accounts.login(engine, name, password)
    if session is None:
        audit.record(engine, None, action="login.failed", user_name=name, client=client)
        return None
    audit.record(engine, session.principal, action="login", client=client)
    return session
