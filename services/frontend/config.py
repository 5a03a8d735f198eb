"""Frontend settings: where the static app lives and which APIs it may proxy."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator

from services.common.config import BaseServiceSettings, load_settings

# The SPA's files sit next to `services/` in the project (and in the image).
DEFAULT_FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"

# The downstream APIs the SPA calls, by the name used in `/api/<name>/...`.
SERVICES = ("catalog", "registry", "recommender")
# The SPA calls `/api/<service>/...` on its own origin (nginx or this app's proxy routes it).
API_PREFIX = "/api"


class Settings(BaseServiceSettings):
    """Every downstream URL is optional: unset means nginx (or nothing) routes that prefix."""

    CATALOG_URL: str | None = None
    REGISTRY_URL: str | None = None
    RECOMMENDER_URL: str | None = None
    FRONTEND_DIR: Path = DEFAULT_FRONTEND_DIR
    # The recommender fans out to several campaigns; give it room, but never hang the browser.
    PROXY_CONNECT_TIMEOUT_SECONDS: float = 2.0
    PROXY_READ_TIMEOUT_SECONDS: float = 30.0
    # Requests in flight to one downstream at a time; more get 503 + Retry-After at once
    # rather than a queue that outlives the clients who asked (see proxy.py).
    PROXY_MAX_CONCURRENCY: int = Field(default=64, ge=1, le=10_000)
    # Requests this process works on at once, all routes; beyond, 503 before any work
    # (shedding.py). Room for every downstream's slots and their short queue, and more.
    MAX_REQUESTS_IN_FLIGHT: int = Field(default=256, ge=1)
    # The downstreams' /docs, /redoc and /openapi.json through /api/<name>/: off, so the
    # public origin does not list every route. Their /metrics is never proxied
    # (Prometheus scrapes each service directly).
    PUBLIC_DOCS: bool = False

    @field_validator("CATALOG_URL", "REGISTRY_URL", "RECOMMENDER_URL")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("FRONTEND_DIR")
    @classmethod
    def _has_index(cls, value: Path) -> Path:
        if not (value / "templates" / "index.html").is_file():
            raise ValueError(f"{value} holds no templates/index.html")
        return value

    def downstreams(self) -> dict[str, str]:
        """The services this process proxies: name -> base URL (only those that are set)."""
        urls = {
            "catalog": self.CATALOG_URL,
            "registry": self.REGISTRY_URL,
            "recommender": self.RECOMMENDER_URL,
        }
        return {name: url for name, url in urls.items() if url}


@lru_cache
def get_settings() -> Settings:
    """The settings of this process; exits naming the variable when one is invalid."""
    return load_settings(Settings)
