"""docs/deploy/compose.yaml cannot run here (no container engine), so check what can be
checked: it parses, has MinIO, PostgreSQL, workers and the API sharing one database and one
store with secrets from env files, every counterwatch command in it is a real command whose
options exist (asked from the real CLI with --help), and every COUNTERWATCH_* name is a setting."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from counterwatch.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docs" / "deploy" / "compose.yaml"
# Options that read their own variable rather than a setting (click envvar=...).
CLI_ENVVARS = {"COUNTERWATCH_CONFIG", "COUNTERWATCH_DATA", "COUNTERWATCH_WORKER_METRICS_PORT",
               "COUNTERWATCH_AGENT_METRICS_PORT", "COUNTERWATCH_USER_PASSWORD"}
#: The S3 user (env file) of each counterwatch service: docs/deploy/minio/<role>.json.
ROLE_ENV = {"api": "s3-api.env", "worker": "s3-worker.env", "rescan": "s3-worker.env",
            "retention": "s3-retention.env"}
SHARED = ("COUNTERWATCH_S3_ENDPOINT", "COUNTERWATCH_S3_BUCKET", "COUNTERWATCH_S3_SSE", "COUNTERWATCH_SITE")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _counterwatch_services(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items() if svc.get("image") == "counterwatch:latest"}


def test_compose_has_the_production_services_sharing_database_and_store(compose: dict):
    services = compose["services"]
    assert {"minio", "postgres", "worker", "api"} <= services.keys()
    cw = _counterwatch_services(compose)
    assert {"worker", "api", "migrate"} <= cw.keys()
    for name, svc in cw.items():
        # Secrets come from env files only, never written into the compose file: the database's
        # shared, the S3 user's per role (issue 11: least privilege; none for migrate).
        assert svc["env_file"][0] == "counterwatch.env" and len(svc["env_file"]) <= 2, name
        assert svc["env_file"][1:] == ([] if name == "migrate" else [ROLE_ENV[name]]), name
        env = svc["environment"]
        assert not any(re.search(r"PASSWORD|SECRET|ACCESS_KEY|DATABASE_URL", k) for k in env), (name, env)
        assert all(env[k] == cw["worker"]["environment"][k] for k in SHARED), name
        assert env["COUNTERWATCH_S3_ENDPOINT"] == "minio:9000"
    for name in ("worker", "api"):
        assert cw[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "postgres" in cw["migrate"]["depends_on"]
    assert services["postgres"]["env_file"] == ["postgres.env"]
    assert "POSTGRES_PASSWORD" not in services["postgres"]["environment"]
    assert services["minio"]["env_file"] == ["minio.env"]
    init = "\n".join(services["minio-init"]["command"])
    assert "--with-lock" in init and "encrypt set sse-s3" in init
    env_dir = COMPOSE.parent / "env"
    for svc in services.values():
        for f in svc.get("env_file", []):
            example = env_dir / f"{f}.example"
            assert example.exists(), example
            for line in example.read_text().splitlines():
                if line.startswith("COUNTERWATCH_"):
                    _check_setting_name(line.split("=", 1)[0])


def _policy(role: str) -> tuple[dict, set[str], set[str]]:
    policy = json.loads((COMPOSE.parent / "minio" / f"{role}.json").read_text(encoding="utf-8"))
    allowed = {a for st in policy["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}
    denied = {a for st in policy["Statement"] if st["Effect"] == "Deny" for a in st["Action"]}
    return policy, allowed, denied


def _allowed_on(policy: dict, action: str) -> set[str]:
    return {r for st in policy["Statement"] if st["Effect"] == "Allow" and action in st["Action"]
            for r in st["Resource"]}


def test_minio_users_per_role_have_least_privilege_and_minio_is_not_on_all_interfaces(compose: dict):
    services = compose["services"]
    init = services["minio-init"]
    script = "\n".join(init["command"])
    # Not the built-in readwrite (s3:*, BypassGovernanceRetention included): only detached.
    assert not re.search(r"policy attach local readwrite", script)
    assert "policy detach local $$old" in script and "for old in readwrite counterwatch-app" in script
    assert "for role in api worker retention" in script
    assert "policy create local counterwatch-$$role /etc/counterwatch/minio/$$role.json" in script
    assert "policy attach local counterwatch-$$role --user" in script
    mounts = dict(v.split(":")[:2] for v in init["volumes"] if v.endswith(":ro"))
    assert mounts["./minio"] == "/etc/counterwatch/minio"
    assert {f"./{f}" for f in set(ROLE_ENV.values())} <= mounts.keys()
    assert "counterwatch.env" not in init["env_file"]          # it never sees the database password
    bucket = _counterwatch_services(compose)["worker"]["environment"]["COUNTERWATCH_S3_BUCKET"]
    probe = {"s3:ListBucket", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketVersioning", "s3:GetObject"}
    for role in ("api", "worker", "retention"):
        policy, allowed, denied = _policy(role)
        assert not any("*" in a for a in allowed | denied), (role, allowed)
        assert {"s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration", "s3:DeleteBucket",
                "s3:PutObjectLegalHold"} <= denied, role
        assert not allowed & denied and probe <= allowed, role
        for st in policy["Statement"]:
            assert all(r == f"arn:aws:s3:::{bucket}" or r.startswith(f"arn:aws:s3:::{bucket}/") for r in st["Resource"]), st
    _, worker, _ = _policy("worker")
    assert worker == probe | {"s3:GetBucketLocation"}                         # reads, nothing else
    api, allowed, _ = _policy("api")
    assert {"s3:PutObject", "s3:PutObjectRetention"} <= allowed and "s3:DeleteObjectVersion" not in allowed
    # The API deletes live segments and signage media, never a chunk.
    assert _allowed_on(api, "s3:DeleteObject") == {f"arn:aws:s3:::{bucket}/_live/*", f"arn:aws:s3:::{bucket}/signage/*"}
    _, allowed, _ = _policy("retention")
    assert "s3:PutObject" not in allowed
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:ListBucketVersions", "s3:GetObjectRetention",
            "s3:GetObjectLegalHold"} <= allowed
    # Published on an explicit address only (plain HTTP on all interfaces otherwise).
    for port in services["minio"]["ports"]:
        host = port.rsplit(":", 2)
        assert len(host) == 3 and host[0] not in ("", "0.0.0.0", "::", "[::]"), port


def _check_setting_name(name: str) -> None:
    field = name[len("COUNTERWATCH_"):].lower()
    assert field in Settings.model_fields or name in CLI_ENVVARS, f"{name} is not a counterwatch setting"


def test_every_counterwatch_environment_name_is_a_setting(compose: dict):
    for name, svc in _counterwatch_services(compose).items():
        for key in svc["environment"]:
            _check_setting_name(key)


def _split(command: list[str]) -> tuple[list[str], list[str]]:
    """(global options, subcommand words and their options) of a counterwatch command line."""
    from counterwatch.cli import cli

    words = command[1:]
    takes_value = {o for p in cli.params if not p.is_flag for o in p.opts}
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in takes_value else 1
    return words[:i], words[i:]


def _command_path(words: list[str]) -> list[str]:
    """The subcommand names at the start of ``words`` (e.g. ['catalog', 'rescan'])."""
    import click

    from counterwatch.cli import cli

    cmd, path = cli, []
    for w in words:
        if not (isinstance(cmd, click.Group) and w in cmd.commands):
            break
        cmd, path = cmd.commands[w], [*path, w]
    assert path and not isinstance(cmd, click.Group), f"{words}: not a complete counterwatch command"
    return path


def _check_command(name: str, glob: list[str], rest: list[str]) -> None:
    """``counterwatch GLOB REST`` is a real command and every option in it is one of its options:
    Click refuses an unknown command or option with exit 2 before it reads --help."""
    env = {**os.environ, "COUNTERWATCH_LOG_LEVEL": "WARNING"}
    shown = subprocess.run([sys.executable, "-m", "counterwatch", *glob, *rest, "--help"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, (name, shown.stderr)
    path = _command_path(rest)
    assert f"Usage: counterwatch {' '.join(path)} [OPTIONS]" in shown.stdout, (name, shown.stdout)
    for opt in (w for w in rest if w.startswith("--")):
        assert re.search(rf"(^|[\s,]){re.escape(opt)}\b", shown.stdout, re.M), (name, opt, shown.stdout)


@pytest.mark.slow     # a CLI in subprocesses: the full suite runs it, the fast loop does not
def test_every_counterwatch_command_and_option_in_compose_exists(compose: dict):
    services = _counterwatch_services(compose)
    assert services
    env = {**os.environ, "COUNTERWATCH_LOG_LEVEL": "WARNING"}
    for name, svc in services.items():
        command = svc["command"]
        assert command[0] == ".venv/bin/counterwatch", name
        glob, rest = _split(command)
        _check_command(name, glob, rest)
        if glob:
            top = subprocess.run([sys.executable, "-m", "counterwatch", "--help"], env=env, capture_output=True,
                                 text=True, timeout=120).stdout
            for opt in (w for w in glob if w.startswith("--")):
                assert opt in top, (name, opt)


SYSTEMD = COMPOSE.parent / "systemd"
#: The env files each systemd unit may read: the database and shared settings, then its S3 user.
UNIT_ENV = {"counterwatch-api.service": ["counterwatch.env", "s3-api.env"],
            "counterwatch-worker@.service": ["counterwatch.env", "s3-worker.env"],
            "counterwatch-retention.service": ["counterwatch.env", "s3-retention.env"],
            "counterwatch-agent@.service": ["agent-%i.env"],
            "counterwatch-player@.service": ["player-%i.env"]}


def _unit(name: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in (SYSTEMD / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    return keys


@pytest.mark.slow     # over 10 s on the loaded box: the full suite's, not the fast loop's
def test_systemd_units_read_only_the_secrets_of_their_role():
    """The systemd examples keep the trust boundary as compose does: an agent or a screen reads no
    database URL and no S3 key, each server role its own S3 user, and the API believes the proxy on
    its box; every COUNTERWATCH_* name they set is a setting, every option a real one."""
    assert {p.name for p in SYSTEMD.glob("*.service")} == UNIT_ENV.keys()
    env_dir = COMPOSE.parent / "env"
    for name, files in UNIT_ENV.items():
        unit = _unit(name)
        assert [Path(f).name for f in unit.get("EnvironmentFile", [])] == files, name
        for f in files[1:] if files[0] == "counterwatch.env" else []:
            assert (env_dir / f"{f}.example").exists(), f
        for value in unit.get("Environment", []):
            if value.startswith("COUNTERWATCH_"):
                _check_setting_name(value.split("=", 1)[0])
    shared = (SYSTEMD / "counterwatch.env.example").read_text(encoding="utf-8")
    assert "COUNTERWATCH_DATABASE_URL=" in shared
    assert not re.search(r"^COUNTERWATCH_S3_(ACCESS|SECRET)_KEY", shared, re.M)     # per role only
    for line in shared.splitlines():
        if line.startswith("COUNTERWATCH_"):
            _check_setting_name(line.split("=", 1)[0])
    agent = _unit("counterwatch-agent@.service")
    assert agent["LoadCredential"] == ["token:/etc/counterwatch/agent-%i.token"]
    assert "COUNTERWATCH_TOKEN_FILE=%d/token" in agent["Environment"]
    api = _unit("counterwatch-api.service")
    assert "COUNTERWATCH_TRUSTED_PROXIES=127.0.0.1,::1" in api["Environment"]
    assert "--host 127.0.0.1" in api["ExecStart"][0]                  # behind that proxy only
    for name in UNIT_ENV:
        [start] = _unit(name)["ExecStart"]
        words = re.sub(r"\$\$\(\([^)]*\)\)", "9201", start.replace("%i", "c1")).strip("'").split()
        words = words[words.index(next(w for w in words if w.endswith("/counterwatch"))):]
        glob, rest = _split(["value" if w.startswith("${") else w for w in words])
        _check_command(name, glob, rest)


def test_compose_api_believes_only_the_proxy_on_its_network_gateway(compose: dict):
    [net] = compose["networks"]["default"]["ipam"]["config"]
    api = compose["services"]["api"]
    assert api["environment"]["COUNTERWATCH_TRUSTED_PROXIES"] == net["gateway"]
    assert all(p.startswith("127.0.0.1:") for p in api["ports"])
