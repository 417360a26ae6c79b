"""Process settings: environment variables (COUNTERWATCH_*) over an optional TOML file.

Read once, at the entry point (the CLI); library packages take plain arguments.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.vocab import DEFAULT_CHANNELS, ChannelMap

CONFIG_ENV = "COUNTERWATCH_CONFIG"


class SettingsError(Exception):
    """The settings file or environment holds an invalid value."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COUNTERWATCH_", extra="forbid")

    model: str = Field("base", description="bundled 'base', a CTranslate2 model directory, or a model name")
    model_cache_dir: Path | None = Field(None, description="where the bundled model is assembled")
    device: Literal["cpu", "cuda", "auto"] = Field("cpu", description="where the speech model runs; auto: CUDA "
                                                                     "when there is a GPU")
    compute_type: str = Field("int8", pattern=r"^[a-z0-9_]+$",
                              description="CTranslate2 compute type: int8, int8_float16, float16, float32, ...")
    cpu_threads: int = Field(0, ge=0, description="0: as many as CTranslate2 likes")
    beam_size: int = Field(5, ge=1, le=10)
    asr_batch_size: int = Field(8, ge=0, le=64, description="speech windows decoded together (faster-whisper's "
                                                              "batched pipeline); 0: the sequential decoder")
    worker_batch_interactions: int = Field(8, ge=1, le=64,
                                           description="queued interactions a worker transcribes in one batch")
    worker_nice: int = Field(10, ge=0, le=19, description="niceness the worker runs at, so an API on the same "
                                                          "box is served first (0: as started)")
    rules: Path | None = Field(None, description="rulebook YAML; default: the shipped one")
    channels: ChannelMap = DEFAULT_CHANNELS
    split_silence_s: float = Field(8.0, gt=0)
    # -- the recording pipeline --
    data_dir: Path = Field(Path("counterwatch-data"), description="state of the embedded stack (counterwatch up)")
    # A secret: a PostgreSQL URL carries the password (printed only with it masked).
    database_url: SecretStr | None = Field(None, description="SQLAlchemy URL; default: SQLite in data_dir")
    db_pool_size: int = Field(10, ge=1, le=500, description="database connections kept open per process")
    db_max_overflow: int = Field(20, ge=0, le=1000, description="extra connections under load, per process")
    sqlite_busy_timeout_s: float = Field(30.0, gt=0, le=3600,
                                         description="how long a SQLite statement waits for another process's lock")
    s3_endpoint: str | None = Field(None, description="host:port of MinIO/S3; default: the embedded server")
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_bucket: str = "counterwatch"
    s3_region: str = "us-east-1"
    s3_secure: bool = False
    s3_sse: str = Field("off", pattern=r"^(off|s3|kms:[A-Za-z0-9][A-Za-z0-9._:/-]{0,255})$",
                        description="server-side encryption of every PUT: off, s3 (SSE-S3) or kms:KEY_ID (SSE-KMS, TLS only)")
    s3_object_lock: Literal["auto", "off", "governance", "compliance"] = Field(
        "auto", description="write chunks under Object Lock retention until their retention date; auto: "
                            "governance mode when the bucket has Object Lock")
    # -- capture agents (issue 11): the API and a token bound to the counter, nothing else --
    api_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
                                description="the API agents send to, e.g. https://cw.hall.local; default: the "
                                            "embedded stack's (stack.json)")
    token_file: Path | None = Field(None, description="an agent's token file (mode 0600, from `counterwatch agent "
                                                      "token`); default: data_dir/agents/<counter>.token")
    trusted_proxies: str = Field("", pattern=r"^[0-9A-Fa-f.:/, ]*$",
                                 description="comma-separated addresses or networks of reverse proxies whose "
                                             "X-Forwarded-For/-Proto/-Host the API believes; default: none")
    agent_clock_skew_s: float = Field(120.0, ge=0, le=3600, description="how far past the server's clock an "
                                                                        "agent's chunk may end (its clock's drift)")
    agent_backlog_days: float = Field(14.0, gt=0, le=3650, description="how far back an agent's chunk may start "
                                                                       "(the backlog of an outage; never more than "
                                                                       "the site's retention)")
    site: str = Field("hall", description="site name of this box's counters")
    chunk_s: float = Field(10.0, gt=0, le=300)
    live_s: float = Field(1.0, ge=0, le=10, description="live segment length for live listening; 0: off")
    spool_dir: Path | None = Field(None, description="agent spool; default: data_dir/spool")
    spool_quota_mb: float = Field(2048.0, gt=0)
    heartbeat_s: float = Field(10.0, gt=0)
    lease_s: float = Field(120.0, gt=5)
    silent_after_s: float = Field(600.0, gt=0, description="silent-microphone alarm after this long")
    gone_after_s: float = Field(60.0, gt=0, description="agent-gone alarm after this long without heartbeat")
    screen_gone_after_s: float = Field(120.0, gt=0,
                                       description="screen-gone alarm after a waiting-area screen's heartbeats stop this long")
    opening_hours: str = Field("0-24", pattern=r"^\d{1,2}-\d{1,2}$", description="hours when silence alarms")
    signage_chime: bool = Field(False, description="screen players chime when a new queue call appears")
    signage_announce: bool = Field(True, description="screen players say each new queue call in Mandarin "
                                                     "(the API's announcement.wav), after the chime")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["text", "json"] = "text"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v


def load_settings(config: str | Path | None = None, **overrides: object) -> Settings:
    """Settings from ``config`` (or $COUNTERWATCH_CONFIG), then the environment, then
    ``overrides`` (command-line options that were given; ``None`` values are ignored).

    Raises:
        SettingsError: unreadable file, bad TOML, or an invalid value (named).
    """
    path = config or os.environ.get(CONFIG_ENV)
    file_values: dict = {}
    if path:
        try:
            with open(path, "rb") as f:
                file_values = tomllib.load(f)
        except OSError as e:
            raise SettingsError(str(path), f"cannot read: {e.strerror}") from e
        except tomllib.TOMLDecodeError as e:
            raise SettingsError(str(path), f"not valid TOML: {e}") from e
        file_values = file_values.get("counterwatch", file_values)
    env_keys = {k[len("COUNTERWATCH_"):].lower() for k in os.environ if k.startswith("COUNTERWATCH_")}
    values = {k: v for k, v in file_values.items() if k not in env_keys}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as e:
        errs = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise SettingsError(str(path) if path else "environment", errs) from e
