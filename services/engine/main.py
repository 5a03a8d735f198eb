"""The engine: Amazon Personalize's control plane, runtime and events APIs on one port (8004).

Wiring only; see README.md for what each module holds.
"""

from __future__ import annotations

import logging

from services.common.app import create_app
from services.engine import events
from services.engine.config import get_settings
from services.engine.console import mount_console
from services.engine.controlplane import OPERATIONS
from services.engine.health import campaigns_loaded, database_ready
from services.engine.runtime import routes as runtime_routes
from services.engine.startup import lifespan_for
from services.engine.wire.auth import SigV4Gate
from services.engine.wire.errors import (
    install_aws_error_handlers,
    render_refusal,
    render_unexpected,
)
from services.engine.wire.routing import control_plane_route

settings = get_settings()
app = create_app(
    service="engine",
    settings=settings,
    routers=[],
    lifespan=lifespan_for(settings),
    readiness={"database": database_ready, "campaigns": campaigns_loaded},
    description="Amazon Personalize-compatible engine "
    "(personalize, personalize-runtime, personalize-events).",
    install_errors=False,  # the engine answers in the AWS error shape
    id_headers=["x-amzn-RequestId"],  # botocore's ResponseMetadata.RequestId
    # Control-plane JSON and PutEvents batches; 413 above (MAX_BODY_BYTES overrides).
    max_body_bytes=4 * 1024 * 1024,
    unexpected=render_unexpected,  # answered, not re-raised: the connection stays open
    render_refusal=render_refusal,
    gate=None
    if settings.ENGINE_ALLOW_ANONYMOUS
    else SigV4Gate(keys=settings.access_keys(), region=settings.AWS_REGION),
)
if settings.ENGINE_ALLOW_ANONYMOUS:
    logging.getLogger("services.engine").warning(
        "ENGINE_ALLOW_ANONYMOUS=true: the engine checks no signature and answers anyone who "
        "can reach its port. Development only: never expose this engine."
    )
install_aws_error_handlers(app)
# The runtime routes first: the hot path should match on the first try.
app.router.routes[0:0] = runtime_routes.routes
app.router.routes.append(control_plane_route(OPERATIONS))
app.router.routes.extend(events.routes)
mount_console(app, settings)  # the admin console at /console (CONSOLE_ENABLED)
