"""AWS-shaped errors: `{"__type": name, "message": text}` plus `x-amzn-ErrorType`.

    PersonalizeError                  400 (base)
    ├── InvalidInputException         400
    ├── ResourceNotFoundException     400 on the control plane, 404 at runtime
    ├── ResourceAlreadyExistsException 400
    ├── ResourceInUseException        400
    ├── LimitExceededException        400
    ├── InvalidNextTokenException     400
    ├── UnknownOperationException     400 (bad X-Amz-Target) / 404 (bad path)
    └── AuthError (Signature V4)      400 on the control plane, 403 at runtime and events
        ├── MissingAuthenticationTokenException
        ├── IncompleteSignatureException
        ├── UnrecognizedClientException
        └── InvalidSignatureException

botocore reads the code from `x-amzn-ErrorType` (then `__type`), so each raises the
matching `client.exceptions.<Name>`. Client mistakes never get a 5xx: botocore would
retry them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import orjson
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

logger = logging.getLogger(__name__)

JSON_11 = "application/x-amz-json-1.1"


class PersonalizeError(Exception):
    code = "InvalidInputException"
    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class InvalidInput(PersonalizeError):
    code = "InvalidInputException"


class NotFound(PersonalizeError):
    code = "ResourceNotFoundException"

    @classmethod
    def arn(cls, arn: str, *, status_code: int = 400) -> NotFound:
        return cls(f"Resource Arn {arn} does not exist.", status_code=status_code)


class AlreadyExists(PersonalizeError):
    code = "ResourceAlreadyExistsException"


class InUse(PersonalizeError):
    code = "ResourceInUseException"


class LimitExceeded(PersonalizeError):
    code = "LimitExceededException"


class InvalidNextToken(PersonalizeError):
    code = "InvalidNextTokenException"


class UnknownOperation(PersonalizeError):
    code = "UnknownOperationException"


class AuthError(PersonalizeError):
    """A request the SigV4 check refused; its status depends on the API (wire/auth.py)."""

    code = "MissingAuthenticationTokenException"


class MissingToken(AuthError):
    code = "MissingAuthenticationTokenException"


class IncompleteSignature(AuthError):
    code = "IncompleteSignatureException"


class UnrecognizedClient(AuthError):
    code = "UnrecognizedClientException"


class InvalidSignature(AuthError):
    code = "InvalidSignatureException"


def error_response(
    code: str,
    message: str,
    status_code: int,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = orjson.dumps({"__type": code, "message": message})
    return Response(
        body,
        status_code=status_code,
        media_type=content_type,
        headers={**(headers or {}), "x-amzn-ErrorType": code},
    )


def render(exc: PersonalizeError, content_type: str = "application/json") -> Response:
    return error_response(exc.code, exc.message, exc.status_code, content_type)


async def _personalize_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, PersonalizeError)
    return render(exc)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:  # Starlette's exception carries the Allow header
        return error_response(
            "UnknownOperationException", "Method not allowed.", 405, "application/json",
            exc.headers,
        )
    if exc.status_code == 404:
        return error_response(
            "UnknownOperationException", "Unknown operation.", 404, "application/json"
        )
    # A 413 or 408 from reading the body (services/common/request_body.py) keeps its code
    # and its `Connection: close`.
    return render_refusal(exc.status_code, str(exc.detail), dict(exc.headers or {}))


# botocore's standard retry mode retries RequestTimeoutException: a body that came too
# slowly may well come in time on a second try.
_REFUSAL_CODES = {413: "RequestEntityTooLargeException", 408: "RequestTimeoutException"}


def render_refusal(status: int, message: str, headers: dict[str, str]) -> Response:
    """A request refused for its size (413 body, 431 headers) or for a body that did not
    arrive in time (408), AWS-shaped."""
    code = _REFUSAL_CODES.get(status, "InvalidInputException")
    return error_response(code, message, status, "application/json", headers)


async def render_unexpected(request: Request, exc: Exception) -> Response:
    """An unhandled exception as the AWS-shaped 500 (the log has the trace, the body none).

    Given to create_app(unexpected=...), so the shared middleware answers it with the
    request id and does not re-raise: a re-raised exception reaches uvicorn, which then
    closes the connection, and a client's next pooled request on it fails with a reset.
    """
    content_type = JSON_11 if request.url.path == "/" else "application/json"
    # Imported here, as in services.common.errors: SQLAlchemy's error classes.
    from services.common.db import database_problem

    problem = database_problem(exc)
    if problem is not None:
        # An outage (PostgreSQL restarting, say), not a bug: a 503, which AWS SDKs retry
        # with backoff, and no trace in the log.
        logger.warning("%s on %s %s: %r", problem, request.method, request.url.path, exc)
        return error_response(
            "ServiceUnavailableException",
            f"Service unavailable: {problem}. Retry later.",
            503,
            content_type,
            {"Retry-After": "5"},
        )
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response("ServiceUnavailableException", "Internal error.", 500, content_type)



def install_aws_error_handlers(app: FastAPI) -> None:
    """Every error the engine answers keeps the AWS shape, even the unexpected ones (the
    `Exception` handler is Starlette's last resort, for an error after the middleware)."""
    app.add_exception_handler(PersonalizeError, _personalize_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, render_unexpected)
