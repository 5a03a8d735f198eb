"""Engine settings, read from the environment (see README.md for each variable)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr, field_validator

from services.common.config import DatabaseSettings, load_settings


class Settings(DatabaseSettings):
    """Where metadata and model artifacts live, and how fast resources change state."""

    # file:///abs/dir or s3://bucket/prefix
    ARTIFACTS_URL: str
    # S3 endpoint for imports and s3:// artifacts (moto or MinIO locally; unset means AWS).
    S3_ENDPOINT_URL: str | None = None
    AWS_REGION: str = "us-east-1"
    ACCOUNT_ID: str = "000000000000"
    # Each lifecycle step (PENDING -> IN_PROGRESS -> ...) lasts at least this long, so
    # clients can observe it, as they would on AWS.
    STATUS_STEP_SECONDS: float = 0.3
    TRAINING_WORKERS: int = 1
    # BLAS/OpenMP/torch threads per training worker; the API shares the machine's cores.
    TRAINING_THREADS: int = 1
    TRAINING_SEED: int = 42
    # AWS needs 1,000 records in a FULL interactions import.
    MIN_INTERACTIONS_PER_IMPORT: int = 1000
    # Interaction filters look at this many recent interactions per user and event type.
    FILTER_INTERACTION_WINDOW: int = 100
    # Per campaign, finished scores of recent (history, user features) inputs, so a user who
    # asks again before a new event skips the model's arithmetic; 0 turns it off.
    SCORE_CACHE_MB: float = 64
    # Local cache for models downloaded from s3:// artifacts (default: a temp dir).
    ARTIFACTS_CACHE_DIR: str | None = None
    # Apply Alembic migrations at startup (the embedded mode relies on it).
    AUTO_MIGRATE: bool = True
    # The admin console at /console/ (services/engine/console): sign-in rules as the
    # registry's. Outside development it refuses to serve until these are set.
    CONSOLE_ENABLED: bool = True
    ADMIN_USERNAME: str | None = None
    ADMIN_PASSWORD: SecretStr | None = None
    ADMIN_PASSWORD_HASH: SecretStr | None = None
    SECRET_KEY: SecretStr | None = None
    # None means: Secure cookie in production, not in development (plain-HTTP localhost).
    SESSION_COOKIE_SECURE: bool | None = None
    LOGIN_MAX_FAILURES: int = 5
    LOGIN_LOCKOUT_SECONDS: float = 15 * 60

    @field_validator("ARTIFACTS_URL")
    @classmethod
    def _artifacts_scheme(cls, value: str) -> str:
        if not value.startswith(("file://", "s3://")):
            raise ValueError("must be file:///dir or s3://bucket/prefix")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; exits naming the missing variable if one is not set."""
    return load_settings(Settings)
