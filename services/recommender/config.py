"""Recommender settings, read from the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from services.common.aws import AwsSettings, PersonalizeSettings
from services.common.config import load_settings


class Settings(PersonalizeSettings):
    """CATALOG_URL and REGISTRY_URL are required; Personalize is AWS unless an endpoint is set."""

    PORT: int = 8003
    CATALOG_URL: str
    REGISTRY_URL: str
    # Each campaign call (GetRecommendations, GetPersonalizedRanking) gets this long,
    # its one retry included; a slow model then costs one block, not the page.
    CAMPAIGN_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0, le=60)
    CAMPAIGN_MAX_POOL: int = Field(default=100, ge=1)
    # The registry answers /models with a DescribeCampaign per model; a short cache keeps
    # it off the hot path while an edit still shows up within seconds.
    MODELS_CACHE_SECONDS: float = Field(default=0.5, ge=0)
    SUMMARY_CACHE_SECONDS: float = Field(default=60.0, ge=0)
    # Each model's DescribeCampaign and GetSolutionMetrics get this long on the summary page.
    SUMMARY_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0, le=60)
    # The catalog is read-only once loaded, so a user's rated ids (and that the user
    # exists) can be kept a while.
    RATED_CACHE_SECONDS: float = Field(default=60.0, ge=0)
    # Film rows used to enrich items. At 200 answers/s the batch call per answer costs the
    # catalog about as much CPU as everything else together; 0 asks the catalog every time.
    MOVIES_CACHE_SECONDS: float = Field(default=60.0, ge=0)
    # An EXCLUDE filter on Interactions (see README); when set, exclude_rated uses it
    # instead of the user's ratings from the catalog.
    EXCLUDE_FILTER_ARN: str | None = None

    def runtime_aws(self) -> AwsSettings:
        """Personalize runtime: read timeout = campaign timeout, at most one retry."""
        return self.personalize_aws(
            connect_timeout=min(2.0, self.CAMPAIGN_TIMEOUT_SECONDS),
            read_timeout=self.CAMPAIGN_TIMEOUT_SECONDS,
            # botocore's max_attempts counts retries after the first request.
            max_attempts=1,
            max_pool_connections=self.CAMPAIGN_MAX_POOL,
            # Our requests are built from typed values; skipping botocore's client-side
            # check saves about 0.5 ms CPU per call (Personalize validates them anyway).
            parameter_validation=False,
        )

    def control_aws(self) -> AwsSettings:
        """Personalize control plane (metrics for the summary page): default timeouts."""
        return self.personalize_aws()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; exits naming the missing variable if one is not set."""
    return load_settings(Settings)
