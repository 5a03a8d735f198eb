"""Which processes make up the app and the environment each one gets.

One place that knows every service's settings (docs/contracts.md), shared by
`videorecs up`, the test stack (tests/utils/stack.py) and the nginx topology test, so
the three run the services the same way docker-compose does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.cli.secrets import Secrets

# Start order matters only for the recommender, which wants the filter ARN the
# pipeline creates; everything else starts at once.
SERVICES = ("engine", "catalog", "registry", "frontend", "recommender")
DEFAULT_PORTS = {"frontend": 8000, "catalog": 8001, "registry": 8002, "recommender": 8003,
                 "engine": 8004}
# The services whose API nginx (or the frontend's proxy) exposes under /api/<name>/.
PUBLIC_APIS = ("catalog", "registry", "recommender")


def app_path(service: str) -> str:
    return f"services.{service}.main:app"


@dataclass
class Topology:
    """Base URLs, databases and secrets of one running app."""

    urls: dict[str, str]
    database_urls: dict[str, str]  # engine, catalog, registry
    artifacts_url: str
    secrets: Secrets
    environment: str = "development"
    region: str = "us-east-1"
    s3_endpoint_url: str | None = None
    exclude_filter_arn: str | None = None
    # Set when a reverse proxy (nginx, the frontend) serves the registry under /api/registry.
    registry_root_path: str = "/api/registry"
    extra: dict[str, dict[str, str]] = field(default_factory=dict)

    def env(self, service: str) -> dict[str, str]:
        """The environment variables `service` needs (all strings)."""
        common = {"ENVIRONMENT": self.environment, "AWS_REGION": self.region}
        engine_url = self.urls["engine"]
        values: dict[str, str | None]
        if service == "engine":
            values = {
                "DATABASE_URL": self.database_urls["engine"],
                "ARTIFACTS_URL": self.artifacts_url,
                "S3_ENDPOINT_URL": self.s3_endpoint_url,
            }
        elif service == "catalog":
            values = {"DATABASE_URL": self.database_urls["catalog"]}
        elif service == "registry":
            values = {
                "DATABASE_URL": self.database_urls["registry"],
                "PERSONALIZE_ENDPOINT_URL": engine_url,
                "ROOT_PATH": self.registry_root_path,
                **self.secrets.as_env(),
            }
        elif service == "recommender":
            values = {
                "CATALOG_URL": self.urls["catalog"],
                "REGISTRY_URL": self.urls["registry"],
                "PERSONALIZE_ENDPOINT_URL": engine_url,
                "EXCLUDE_FILTER_ARN": self.exclude_filter_arn,
            }
        elif service == "frontend":
            values = {name.upper() + "_URL": self.urls[name] for name in PUBLIC_APIS}
        else:
            raise ValueError(f"unknown service {service!r}; choose from {SERVICES}")
        merged = {**common, **{k: v for k, v in values.items() if v is not None}}
        merged.update(self.extra.get(service, {}))
        return merged
