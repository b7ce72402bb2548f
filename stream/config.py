"""Settings from the environment (prefix ``COSTREAM_``) or a ``.env`` file.

An invalid setting stops the process at start with one line naming it
(:func:`load_settings`), rather than a pydantic traceback halfway through startup.
"""

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

ENV_PREFIX = "COSTREAM_"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: object) -> float:
    """``90``, ``"90s"``, ``"5m"``, ``"1h"`` -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _DURATION_SECONDS[match.group(2)]
    else:
        raise ValueError("expected a duration such as 60, '90s', '5m' or '1h'")
    if seconds <= 0:
        raise ValueError("must be a positive duration")
    return seconds


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Path("./var")
    """Where the embedded store (chDB) and local state live."""

    # --- Kafka -------------------------------------------------------------------------
    kafka_bootstrap_servers: str | None = None
    """``host:port[,host:port]``; unset means: start the embedded Tansu broker."""
    embedded_broker_port: int = Field(default=19092, ge=1, le=65535)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    topic_partitions: int = Field(default=8, ge=1, le=1024)
    topic_replication_factor: int = Field(default=1, ge=1, le=16)
    consumer_group: str = Field(default="costream", min_length=1)

    topic_raw: str = Field(default="llm.usage.raw", min_length=1)
    topic_priced: str = Field(default="llm.usage.priced", min_length=1)
    topic_dlq: str = Field(default="llm.usage.dlq", min_length=1)
    topic_aggregates: str = Field(default="llm.usage.aggregates", min_length=1)
    topic_breaches: str = Field(default="llm.budget.breaches", min_length=1)
    topic_budget_status: str = Field(default="llm.budget.status", min_length=1)
    topic_budget_definitions: str = Field(default="llm.budget.definitions", min_length=1)

    # --- ClickHouse --------------------------------------------------------------------
    clickhouse_url: str | None = None
    """``chdb:///abs/path`` (embedded) or ``http(s)://user:pass@host:8123/db``; unset means
    the embedded store under ``data_dir/clickhouse``."""

    # --- processing --------------------------------------------------------------------
    window_size: float = 60.0
    """Tumbling window size (seconds, or ``'1m'``, ``'5m'``, ``'1h'``)."""
    window_grace: float = 300.0
    """How long after its end (in event time) a window stays open for late events."""
    window_dimensions: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["feature"])
    """Attribute keys that split a tenant's window into groups (besides provider and model):
    feature, agent, operation, user_id, api_key_id, session_id, request_id, tags.<key>."""
    window_max_groups: int = Field(default=200, ge=2, le=100_000)
    """Most groups per tenant window; the smallest beyond it fold into one 'other' group."""
    window_flush_interval: float = 1.0
    """How often changed windows are emitted (and closed windows emitted final)."""
    state_checkpoint_interval: float = 5.0
    """How often the worker checkpoints its state (windows, budget spend) to ClickHouse;
    a new owner of a partition replays the events stored since the last one."""
    reconcile_interval: float = 60.0
    """How often worker state is compared with the store (drift is repaired and reported)."""
    insert_batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    """Most messages taken from Kafka per ClickHouse insert."""
    insert_batch_wait: float = 0.2
    """Longest wait (seconds) from a batch's first message to its insert (see
    stream/ingest/intake.py). Under load batches fill while the previous one is worked on;
    at low traffic an event (and its breach) waits at most this long, and a longer wait
    means fewer, larger inserts."""
    insert_retry_max_backoff: float = 30.0
    consumer_fetch_max_wait: float = Field(default=0.1, gt=0, le=30)
    """Longest time (seconds) the broker may hold a fetch of partitions without new data
    (see stream/broker/transport.py): bounds how late an event on a quiet partition is seen."""
    stall_warning_after: float = 60.0
    """A partition whose batch keeps failing (a store or broker outage) this long is
    reported: a WARNING naming it, ``costream_partition_stalled_seconds``, and ``/readyz``."""
    insert_fault_file: Path | None = None
    """Fault injection for reliability drills: while this file exists, every ClickHouse insert
    fails as if the store were down (retry, backpressure and recovery can then be watched)."""
    price_overrides_file: Path | None = None
    price_data_file: Path | None = None
    """A genai-prices data file (its data.json) to price from instead of the bundled data;
    reloaded by the worker when it changes (a broken file is refused, the data in force stays)."""
    price_data_url: str | None = None
    """As price_data_file, fetched from a URL (at start and every price_data_url_interval seconds)."""
    price_data_url_interval: float = Field(default=3600.0, ge=60)
    budgets_file: Path | None = None
    """Budgets loaded at start (YAML); changes at run time go through the definitions topic."""

    clickhouse_username: str | None = None
    clickhouse_password: SecretStr | None = None
    """Kept out of the URL so it is never printed; from the environment or a secrets file."""
    clickhouse_ca_file: Path | None = None
    """CA bundle for an https:// ClickHouse URL with a private CA."""

    # --- worker HTTP (reports API, dashboard, queries in embedded mode, health) ----------
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=6066, ge=1, le=65535)
    api_tokens_file: Path | None = None
    """YAML of bearer tokens (SHA-256 digests) mapped to a tenant or admin; without it the
    API is open only on a loopback address."""
    api_token: SecretStr | None = None
    """The token the CLI sends to a worker that requires one."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator(
        "window_size", "window_grace", "window_flush_interval", "state_checkpoint_interval", "reconcile_interval",
        "insert_batch_wait", "insert_retry_max_backoff", "stall_warning_after", "consumer_fetch_max_wait",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("window_size")
    @classmethod
    def _whole_window(cls, value: float) -> float:
        if value < 1 or value != int(value) or 3600 % value:
            raise ValueError("must be a whole number of seconds that divides an hour (e.g. 1m, 5m, 1h)")
        return value

    @field_validator("window_dimensions", mode="before")
    @classmethod
    def _dimension_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.strip("[]").replace('"', "").split(",") if part.strip()]
        return value

    @field_validator("window_dimensions")
    @classmethod
    def _known_dimensions(cls, value: list[str]) -> list[str]:
        from stream.windows.compute import dimension_expression

        for name in value:
            dimension_expression(name)
        if len(set(value)) != len(value):
            raise ValueError("lists a dimension twice")
        return value

    @field_validator("clickhouse_url")
    @classmethod
    def _clickhouse_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlsplit(value).scheme
        if scheme not in ("chdb", "http", "https"):
            raise ValueError("must start with chdb://, http:// or https://")
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _bootstrap(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for server in value.split(","):
            host, sep, port = server.strip().removeprefix("kafka://").rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"'{server.strip()}' is not host:port")
        return value

    @model_validator(mode="after")
    def _security_consistent(self) -> "Settings":
        if self.kafka_security_protocol.startswith("SASL"):
            if self.kafka_sasl_mechanism is None:
                raise ValueError("kafka_sasl_mechanism: required when kafka_security_protocol is SASL_*")
            if not self.kafka_sasl_username or self.kafka_sasl_password is None:
                raise ValueError(
                    "kafka_sasl_username: username and password are required for SASL authentication"
                )
        return self

    @property
    def embedded_broker(self) -> bool:
        return self.kafka_bootstrap_servers is None

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.embedded_broker_port}"

    @cached_property
    def clickhouse_dsn(self) -> str:
        if self.clickhouse_url:
            return self.clickhouse_url
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def embedded_store(self) -> bool:
        return self.clickhouse_dsn.startswith("chdb://")

    @property
    def worker_url(self) -> str:
        return f"http://{self.http_host}:{self.http_port}"


class SettingsError(Exception):
    """One line naming the first invalid setting."""


DEFAULT_SECRETS_DIR = Path("/run/secrets")


def secrets_dir() -> Path | None:
    """Where secrets files live, one per setting and named like its environment variable
    (e.g. ``COSTREAM_CLICKHOUSE_PASSWORD``, any case): ``COSTREAM_SECRETS_DIR``, else
    /run/secrets when it exists (Docker and Kubernetes secrets)."""
    configured = os.environ.get(f"{ENV_PREFIX}SECRETS_DIR")
    if configured:
        return Path(configured)
    return DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(_secrets_dir=secrets_dir(), **overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        field = ".".join(str(part) for part in first["loc"])
        if not field and ":" in message:
            field, message = (part.strip() for part in message.split(":", 1))
        raise SettingsError(f"invalid setting {ENV_PREFIX}{field.upper()}: {message}") from None
    except SourceError as exc:
        raise SettingsError(f"invalid settings: {exc}") from None
