"""Issue 11, item 4: brute force against the login is throttled per account and per client
(429 with ``Retry-After``, a Chinese message, audited), a made-up ``X-Forwarded-For`` does not
get round it, waiting out the delay gives the right password its try, and an unknown name
answers in about the time a real one does."""
from __future__ import annotations

import statistics
import time

import pytest

from services.login import ACCOUNT_FREE_FAILURES, CLIENT_FREE_FAILURES
from tests.support.stack import PASSWORD, AppEnv

LOGIN = "/api/v1/auth/login"


def _try(client, name: str, password: str, **headers: str):
    return client.post(LOGIN, json={"name": name, "password": password}, headers=headers)


@pytest.mark.slow     # over 10 s on the loaded box: the full suite's, not the fast loop's
def test_repeated_wrong_passwords_are_throttled_then_the_right_one_works(app_env: AppEnv):
    app_env.make_user("supervisor", ["hall"], name="李主管", password=PASSWORD)
    anon = app_env.client()
    for _ in range(ACCOUNT_FREE_FAILURES):
        assert _try(anon, "李主管", "guess").status_code == 401
    r = _try(anon, "李主管", PASSWORD)             # even the right password waits now
    assert r.status_code == 429, r.text
    wait = int(r.headers["retry-after"])
    assert wait >= 1
    detail = r.json()["detail"]
    assert detail["code"] == "login_throttled" and detail["message"] == "登录失败次数过多，请稍后再试", detail
    assert "cw_session" not in r.cookies
    assert [row.user_name for row in app_env.audit_rows("login.throttled")] == ["李主管"]
    assert len(app_env.audit_rows("login.failed")) == ACCOUNT_FREE_FAILURES   # a refused try is no failure

    time.sleep(wait + 0.2)
    assert _try(anon, "李主管", "guess again").status_code == 401      # its one more try, wrong
    r = _try(anon, "李主管", PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 2, r.text   # the delay doubles
    time.sleep(int(r.headers["retry-after"]) + 0.2)
    r = _try(anon, "李主管", PASSWORD)
    assert r.status_code == 200 and r.json()["name"] == "李主管", r.text
    # The successful login starts the account's count afresh.
    assert _try(anon, "李主管", "one slip").status_code == 401
    assert _try(anon, "李主管", PASSWORD).status_code == 200


@pytest.mark.slow     # over 10 s on the loaded box: the full suite's, not the fast loop's
def test_spraying_many_names_from_one_client_is_throttled_whatever_it_forwards(app_env: AppEnv):
    app_env.make_user("viewer", ["hall"], name="viewer-real", password=PASSWORD)
    anon = app_env.client()
    for i in range(CLIENT_FREE_FAILURES):   # one try per name: no account throttle ever holds
        r = _try(anon, f"guess-{i}", "123456", **{"X-Forwarded-For": f"198.51.100.{i}"})
        assert r.status_code == 401, (i, r.text)
    r = _try(anon, "viewer-real", PASSWORD, **{"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text
    assert {row.client for row in app_env.audit_rows("login.failed")} == {"testclient"}   # not the forged hops


@pytest.mark.slow     # over 10 s on the loaded box: the full suite's, not the fast loop's
def test_an_unknown_name_answers_in_about_the_time_a_real_one_does(app_env: AppEnv):
    app_env.make_user("supervisor", ["hall"], name="张主管", password=PASSWORD)
    anon = app_env.client()
    real, unknown = [], []
    for i in range(ACCOUNT_FREE_FAILURES - 1):          # below either throttle
        for name, times in (("张主管", real), (f"nobody-{i}", unknown)):
            t = time.perf_counter()
            assert _try(anon, name, "wrong password").status_code == 401
            times.append(time.perf_counter() - t)
    r_med, u_med = statistics.median(real), statistics.median(unknown)
    print(f"login answer time: real name {r_med * 1000:.0f} ms, unknown name {u_med * 1000:.0f} ms (median of "
          f"{len(real)})")
    assert u_med > 0.5 * r_med and r_med > 0.5 * u_med, (real, unknown)
