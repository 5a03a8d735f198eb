"""Settings shared by every service, read from the environment.

Each service subclasses `BaseServiceSettings` with its own UPPER_CASE fields. Required
values have no default; `load_settings` turns a missing or invalid one into a
`SystemExit` whose message names the variable, so a service fails fast at startup.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that look like secrets but are placeholders; refused outside development.
PLACEHOLDER_SECRETS = frozenset({"changethis", "changeme", "secret", "password", "admin", ""})


def normalise_database_url(url: str) -> str:
    """Map plain `postgres://`/`postgresql://`/`sqlite://` URLs to their async drivers."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


class BaseServiceSettings(BaseSettings):
    """What every service reads: where it runs, how it logs."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=True)

    ENVIRONMENT: Literal["development", "production", "test"] = "production"
    LOG_LEVEL: str = "INFO"
    # Access logs cost a few percent of throughput; on by default, off in benchmarks.
    ACCESS_LOG: bool = True
    # FastAPI's native OpenTelemetry spans, metrics and logs, for an OpenTelemetry SDK the
    # deployment configures. Off by default: the services export Prometheus metrics and
    # JSON logs, and with no provider set up the hooks only cost lookups on every request.
    OTEL_TELEMETRY: bool = False
    # Request size limits (413 / 431 above them). MAX_BODY_BYTES unset: the service's own
    # default, 1 MiB for the JSON APIs (create_app's max_body_bytes; the engine's is larger).
    MAX_BODY_BYTES: int | None = Field(default=None, ge=0)
    # All header names and values together; nginx allows 16k per line in front of this.
    MAX_HEADER_BYTES: int = Field(default=32 * 1024, ge=1024)
    # Seconds a request's whole body may take to arrive after its headers; later, 408 and
    # the connection closed (uvicorn itself never times a body out, so a client could
    # hold a request open by sending less than it announced). 10 s leaves a 4 MiB
    # engine body ~400 kB/s.
    REQUEST_BODY_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=3600)

    @property
    def is_development(self) -> bool:
        return self.ENVIRONMENT in ("development", "test")


class DatabaseSettings(BaseServiceSettings):
    """Settings of a service that owns a database."""

    DATABASE_URL: str
    DATABASE_POOL_SIZE: int = 10
    DATABASE_ECHO: bool = False

    @field_validator("DATABASE_URL")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        url = normalise_database_url(value.strip())
        if not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must be a postgresql:// or sqlite:// URL")
        return url


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: object) -> S:
    """Build settings from the environment, or exit naming every missing or bad variable."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(part) for part in err["loc"]) or "settings"
            if err["type"] == "missing":
                problems.append(f"{name} is not set")
            else:
                problems.append(f"{name}: {err['msg']}")
        raise SystemExit(f"{cls.__name__}: " + "; ".join(problems)) from None
