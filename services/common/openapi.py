"""Make each service's OpenAPI declare the error bodies it really sends.

FastAPI declares every 422 as its own `HTTPValidationError` (`{"detail": [{loc, msg,
type}]}`), while errors.py answers `{"detail": "<message>"}` for every error, 422
included. Clients generated from the document, and schemathesis's conformance checks,
would then expect the wrong shape. After FastAPI has built the document this declares
`ErrorBody` for the 422s, for every 4xx/5xx a route lists without a body, and as the
`default` answer (any other error: 401, 404, 405, 413, 431, 500, 503...).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.common.errors import ErrorBody

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
ERROR_CONTENT = {"application/json": {"schema": ERROR_REF}}
DEFAULT_RESPONSE = {"description": 'Error: {"detail": "<message>"}', "content": ERROR_CONTENT}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def declare_error_bodies(app: FastAPI) -> None:
    """Wrap `app.openapi` so that the document it builds (once) declares `ErrorBody`."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_error_bodies(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_error_bodies(schema: dict[str, Any]) -> dict[str, Any]:
    for path_item in schema.get("paths", {}).values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status[0] in "45" and _needs_body(response, status):
                    response["content"] = ERROR_CONTENT
            responses.setdefault("default", DEFAULT_RESPONSE)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    # FastAPI's validation error shapes are referenced nowhere now.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return schema


def _needs_body(response: dict[str, Any], status: str) -> bool:
    """A 422 always (FastAPI's shape is wrong), others when they declare no schema."""
    if status == "422":
        return True
    content = response.get("content")
    if not content:
        return True
    return all(not media.get("schema") for media in content.values())
