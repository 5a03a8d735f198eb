"""The small shared kernel every videorecs service builds on.

It depends on no service. Services never import each other: they talk over HTTP or
the Personalize API, so each can run and deploy alone.
"""

from services.common.app import create_app
from services.common.config import BaseServiceSettings, load_settings
from services.common.errors import (
    BadGateway,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    Unauthorized,
    UpstreamUnavailable,
)
from services.common.time import utc_now

__all__ = [
    "BadGateway",
    "BadRequest",
    "BaseServiceSettings",
    "Conflict",
    "Forbidden",
    "NotFound",
    "ServiceError",
    "Unauthorized",
    "UpstreamUnavailable",
    "create_app",
    "load_settings",
    "utc_now",
]
