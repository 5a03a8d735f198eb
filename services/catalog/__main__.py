"""`python -m services.catalog`: serve the catalog on HOST:PORT (default 127.0.0.1:8001)."""

from __future__ import annotations

import uvicorn

from services.catalog.config import get_settings


def main() -> None:
    settings = get_settings()
    # uvicorn's own access log is off: RequestContextMiddleware writes a JSON one.
    uvicorn.run(
        "services.catalog.main:app",
        host=settings.HOST,
        port=settings.PORT,
        access_log=False,
        log_config=None,  # create_app configures logging: JSON lines at LOG_LEVEL
    )


if __name__ == "__main__":
    main()
