"""Registry settings, read from the environment once per process."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr, field_validator

from services.common.admin_auth import missing_settings
from services.common.aws import AwsSettings, PersonalizeSettings
from services.common.config import PLACEHOLDER_SECRETS, DatabaseSettings, load_settings

# Shorter than the shared defaults: a registry write waits on these calls.
PERSONALIZE_CONNECT_TIMEOUT = 2.0
PERSONALIZE_READ_TIMEOUT = 5.0
MIN_API_TOKEN_LENGTH = 16


class Settings(DatabaseSettings, PersonalizeSettings):
    """Everything the registry reads; secrets are required outside development."""

    PERSONALIZE_CONNECT_TIMEOUT: float = PERSONALIZE_CONNECT_TIMEOUT
    PERSONALIZE_READ_TIMEOUT: float = PERSONALIZE_READ_TIMEOUT
    # Attempts include the first call: 2 means one retry.
    PERSONALIZE_MAX_ATTEMPTS: int = 2
    # How long GET /models remembers a campaign's recipe, and how long it waits for them.
    RECIPE_CACHE_SECONDS: float = 60.0
    RECIPE_FAILURE_CACHE_SECONDS: float = 10.0
    RECIPE_LOOKUP_TIMEOUT_SECONDS: float = 2.0

    ADMIN_USERNAME: str | None = None
    ADMIN_PASSWORD: SecretStr | None = None
    ADMIN_PASSWORD_HASH: SecretStr | None = None
    SECRET_KEY: SecretStr | None = None
    API_TOKEN: SecretStr | None = None

    # None means: Secure in production, not in development (plain-HTTP localhost).
    SESSION_COOKIE_SECURE: bool | None = None
    SESSION_MAX_AGE_SECONDS: int = 8 * 3600
    # Per username + client address, and per username from all addresses together.
    LOGIN_MAX_FAILURES: int = 5
    LOGIN_MAX_FAILURES_PER_USERNAME: int = 20
    LOGIN_WINDOW_SECONDS: float = 15 * 60
    LOGIN_LOCKOUT_SECONDS: float = 15 * 60

    # The path prefix a reverse proxy serves us under (e.g. /api/registry); links use it.
    ROOT_PATH: str = ""
    # Where the admin pages' "home" link points (the web app).
    HOME_URL: str = "/"
    # Apply Alembic migrations in the lifespan (the prestart step of a single-instance setup).
    AUTO_MIGRATE: bool = True

    @field_validator("ROOT_PATH")
    @classmethod
    def _root_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith("/"):
            raise ValueError("must start with '/' (e.g. /api/registry)")
        return value

    @property
    def aws(self) -> AwsSettings:
        return self.personalize_aws(
            connect_timeout=self.PERSONALIZE_CONNECT_TIMEOUT,
            read_timeout=self.PERSONALIZE_READ_TIMEOUT,
            max_attempts=self.PERSONALIZE_MAX_ATTEMPTS,
        )

    @property
    def cookie_secure(self) -> bool:
        if self.SESSION_COOKIE_SECURE is None:
            return not self.is_development
        return self.SESSION_COOKIE_SECURE

    def startup_problems(self) -> list[str]:
        """What stops the service from starting in production (empty in development)."""
        if self.is_development:
            return []
        # The admin rules every service with admin pages shares (services.common.admin_auth).
        problems = missing_settings(self)
        if self.API_TOKEN is not None:
            token = self.API_TOKEN.get_secret_value()
            if token.strip().lower() in PLACEHOLDER_SECRETS:
                problems.append("API_TOKEN is a placeholder value; set a real secret")
            elif len(token) < MIN_API_TOKEN_LENGTH:
                problems.append(f"API_TOKEN must be at least {MIN_API_TOKEN_LENGTH} characters")
        return problems

    def check_startup(self) -> None:
        """Exit naming every missing or unsafe secret (production only)."""
        problems = self.startup_problems()
        if problems:
            raise SystemExit(
                f"registry refuses to start with ENVIRONMENT={self.ENVIRONMENT}: "
                + "; ".join(problems)
            )


@lru_cache
def get_settings() -> Settings:
    """The process's settings; exits naming the missing variable if any is missing."""
    settings = load_settings(Settings)
    settings.check_startup()
    return settings
