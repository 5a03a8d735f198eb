"""Which processes make up the app and the environment each one gets.

One place that knows every service's settings (docs/contracts.md), shared by
`videorecs up`, the test stack (tests/utils/stack.py) and the nginx topology test, so
the three run the services the same way docker-compose does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from services.cli.secrets import Secrets

# Start order matters only for the recommender, which wants the filter ARN the
# pipeline creates; everything else starts at once.
SERVICES = ("engine", "catalog", "registry", "frontend", "recommender")
DEFAULT_PORTS = {"frontend": 8000, "catalog": 8001, "registry": 8002, "recommender": 8003,
                 "engine": 8004}
# The services whose API nginx (or the frontend's proxy) exposes under /api/<name>/.
PUBLIC_APIS = ("catalog", "registry", "recommender")
# uvicorn's FORWARDED_ALLOW_IPS: whose X-Forwarded-For a service believes (the client
# address its sign-in lockout counts by). Here the one reverse proxy is the frontend, on
# loopback, and it sets the header to its own peer; the APIs behind it believe loopback
# only. The frontend and the engine face browsers directly and believe nobody.
LOOPBACK_PROXY = "127.0.0.1,::1"


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
    # Where the engine may read file:// imports (the folder the pipeline writes its CSV
    # to); empty: none, imports come from s3://.
    import_roots: tuple[str, ...] = ()
    extra: dict[str, dict[str, str]] = field(default_factory=dict)

    def env(self, service: str) -> dict[str, str]:
        """The environment variables `service` needs (all strings)."""
        common = {
            "ENVIRONMENT": self.environment,
            "AWS_REGION": self.region,
            "FORWARDED_ALLOW_IPS": LOOPBACK_PROXY if service in PUBLIC_APIS else "",
        }
        engine_url = self.urls["engine"]
        values: dict[str, str | None]
        if service == "engine":
            values = {
                "DATABASE_URL": self.database_urls["engine"],
                "ARTIFACTS_URL": self.artifacts_url,
                "S3_ENDPOINT_URL": self.s3_endpoint_url,
                **self.secrets.engine_env(),
                # A JSON list: a folder name may hold a comma.
                "IMPORT_ROOTS": json.dumps(list(self.import_roots)),
                # The console's sign-in from secrets.env, so the engine never makes up (and
                # logs) a development password of its own.
                "ADMIN_USERNAME": self.secrets.admin_username,
                "ADMIN_PASSWORD": self.secrets.admin_password,
                "SECRET_KEY": self.secrets.secret_key,
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
                **self.secrets.engine_env(),
            }
        elif service == "frontend":
            values = {name.upper() + "_URL": self.urls[name] for name in PUBLIC_APIS}
        else:
            raise ValueError(f"unknown service {service!r}; choose from {SERVICES}")
        merged = {**common, **{k: v for k, v in values.items() if v is not None}}
        merged.update(self.extra.get(service, {}))
        return merged
