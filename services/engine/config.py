"""Engine settings, read from the environment (see README.md for each variable)."""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from services.common.config import PLACEHOLDER_SECRETS, DatabaseSettings, load_settings

# AWS access key ids are 16-128 word characters (IAM's AccessKeyId pattern).
ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9]{16,128}")
MIN_SECRET_LENGTH = 20


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
    # Replicas sharing a database: a background job's lease lasts this long unless renewed
    # (every third of it); a dead replica's jobs are taken over once it passes.
    LEASE_SECONDS: float = Field(default=30.0, gt=0)
    # How often a replica reads the PutEvents rows other replicas stored into its histories.
    EVENTS_POLL_SECONDS: float = Field(default=1.0, gt=0)
    # BLAS/OpenMP/torch threads per training worker; 0: one per core. The worker runs at a
    # lower CPU priority (TRAINING_NICE), so serving keeps the cores it needs.
    TRAINING_THREADS: int = Field(default=0, ge=0)
    TRAINING_NICE: int = Field(default=10, ge=0, le=19)
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
    # Directories a file:// dataLocation may point into, after `..` and symlinks are
    # resolved (services/engine/import_roots.py); empty refuses every file:// import, so
    # an API caller cannot make the engine read its host's files. Comma- or
    # os.pathsep-separated, or a JSON list.
    IMPORT_ROOTS: Annotated[list[str], NoDecode] = []
    # Apply Alembic migrations at startup (the embedded mode relies on it).
    AUTO_MIGRATE: bool = True
    # Signature V4 credentials every API caller signs with (services/engine/wire/auth.py).
    # Required unless ENGINE_ALLOW_ANONYMOUS; more pairs, e.g. during a rotation, go in
    # ENGINE_ADDITIONAL_KEYS as "KEYID:SECRET,KEYID2:SECRET2".
    ENGINE_ACCESS_KEY_ID: str | None = None
    ENGINE_SECRET_ACCESS_KEY: SecretStr | None = None
    ENGINE_ADDITIONAL_KEYS: SecretStr | None = None
    # Development only: answer unsigned requests from anyone who can reach the port.
    ENGINE_ALLOW_ANONYMOUS: bool = False
    # The admin console at /console/ (services/engine/console): sign-in rules as the
    # registry's. Outside development it refuses to serve until these are set.
    CONSOLE_ENABLED: bool = True
    ADMIN_USERNAME: str | None = None
    ADMIN_PASSWORD: SecretStr | None = None
    ADMIN_PASSWORD_HASH: SecretStr | None = None
    SECRET_KEY: SecretStr | None = None
    # None means: Secure cookie in production, not in development (plain-HTTP localhost).
    SESSION_COOKIE_SECURE: bool | None = None
    # Per username + client address, and per username from all addresses together.
    LOGIN_MAX_FAILURES: int = 5
    LOGIN_MAX_FAILURES_PER_USERNAME: int = 20
    LOGIN_LOCKOUT_SECONDS: float = 15 * 60

    @field_validator("IMPORT_ROOTS", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError as exc:
                    raise ValueError(f"is not a valid JSON list ({exc})") from None
            return [part for part in re.split(f"[,{re.escape(os.pathsep)}]", text) if part]
        return value

    @field_validator("IMPORT_ROOTS")
    @classmethod
    def _absolute_roots(cls, value: list[str]) -> list[str]:
        roots = [root.strip() for root in value if root.strip()]
        relative = [root for root in roots if not os.path.isabs(root)]
        if relative:
            raise ValueError(f"must be absolute directories, not {', '.join(relative)}")
        return roots

    @field_validator("ARTIFACTS_URL")
    @classmethod
    def _artifacts_scheme(cls, value: str) -> str:
        if not value.startswith(("file://", "s3://")):
            raise ValueError("must be file:///dir or s3://bucket/prefix")
        return value


    @model_validator(mode="after")
    def _credentials(self) -> Settings:
        if not self.ENGINE_ALLOW_ANONYMOUS:
            self.access_keys()  # raises naming what is missing or wrong
        return self

    def access_keys(self) -> dict[str, str]:
        """Access key id -> secret of every pair the engine accepts."""
        if self.ENGINE_ALLOW_ANONYMOUS and not self.ENGINE_ACCESS_KEY_ID:
            return {}
        if not self.ENGINE_ACCESS_KEY_ID or self.ENGINE_SECRET_ACCESS_KEY is None:
            raise ValueError(
                "ENGINE_ACCESS_KEY_ID and ENGINE_SECRET_ACCESS_KEY must be set (the key pair "
                "API callers sign with), or ENGINE_ALLOW_ANONYMOUS=true for development"
            )
        pairs = [(self.ENGINE_ACCESS_KEY_ID, self.ENGINE_SECRET_ACCESS_KEY.get_secret_value())]
        extra = self.ENGINE_ADDITIONAL_KEYS
        extra = extra.get_secret_value() if extra else ""
        for item in filter(None, (part.strip() for part in extra.split(","))):
            key_id, sep, secret = item.partition(":")
            if not sep or not key_id.strip():
                raise ValueError(
                    "ENGINE_ADDITIONAL_KEYS must be KEYID:SECRET pairs, comma-separated"
                )
            pairs.append((key_id.strip(), secret.strip()))
        keys: dict[str, str] = {}
        for key_id, secret in pairs:
            if not ACCESS_KEY_ID.fullmatch(key_id):
                raise ValueError(f"access key id {key_id!r} must be 16-128 letters and digits")
            if len(secret) < MIN_SECRET_LENGTH or secret.lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"the secret of access key {key_id} must be at least {MIN_SECRET_LENGTH} "
                    "characters and not a placeholder"
                )
            keys[key_id] = secret
        return keys


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; exits naming the missing variable if one is not set."""
    return load_settings(Settings)
